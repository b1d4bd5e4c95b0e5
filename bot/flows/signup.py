"""Open sign-up: the plain link with no code -> language -> privacy notice -> four questions
-> check -> sent. Then the applicant waits (and can see their status or withdraw).

States (conversation.flow == FLOW):
    LANGUAGE    the language picker is shown
    CONSENT     the privacy notice is shown; nothing is stored about the person yet
    NAME        what to call them (free text, or their Telegram first name with a button)
    AREA        where they live (buttons from the project's data file, or "Other")
    AREA_OTHER  "Other" was chosen: the place in free text
    TOPICS      what they want help with (toggles, then Done)
    GENDER      for the ESF report, with "I prefer not to say"
    CONFIRM     their answers, to send or to start again
    WITHDRAW    an applicant asked to withdraw; asked to confirm
Free-text answers go straight to the encrypted draft (`signup_draft`), never to the
conversation row. Anything typed is also read by triage: an applicant who writes about
danger gets the emergency numbers at once, and their application goes first in the list.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.callbacks import pack
from bot.config import SUPPORTED_LOCALES
from bot.domain import signup as domain
from bot.domain.onboarding import record_refusal
from bot.domain.signup import Blocked, Gender, InputProblem, Topic
from bot.i18n import LANGUAGE_NAMES, N_
from bot.messaging import Button, Keyboard
from bot.triage import triage
from bot.turn import Turn, turn_handler
from storage.models import ParticipantStatus, SignupDraft

from . import onboarding
from .common import show_menu, stale_button
from .registry import APPLICANTS, PARTICIPANTS, VISITORS, FlowRegistry, MenuItem, Role, role_of

log = logging.getLogger(__name__)

FLOW = "sig"
LANGUAGE = "language"
CONSENT = "consent"
NAME = "name"
AREA = "area"
AREA_OTHER = "area_other"
TOPICS = "topics"
GENDER = "gender"
CONFIRM = "confirm"
WITHDRAW = "withdraw"
INTAKE = (NAME, AREA, AREA_OTHER, TOPICS, GENDER, CONFIRM)

INPUT_PROBLEMS = {
    InputProblem.EMPTY: N_("I did not get any text. Please write it again."),
    InputProblem.NO_LETTERS: N_("Please write it with letters."),
}


def areas(turn: Turn) -> tuple[domain.Area, ...]:
    return domain.load_areas(turn.deps.settings.signup_areas_file)


def places(turn: Turn) -> tuple[domain.Place, ...]:
    return domain.load_elsewhere(turn.deps.settings.signup_elsewhere_file)


def sign_up_open(turn: Turn) -> bool:
    return turn.deps.settings.signup_open


def ended(turn: Turn) -> bool:
    """A former participant, where the project has open sign-up."""
    participant = turn.participant
    return (
        sign_up_open(turn)
        and participant is not None
        and participant.status is ParticipantStatus.ENDED
    )


# Entry points (from /start in onboarding, and the visitor's menu button)


async def start(turn: Turn) -> None:
    """The plain link: begin a sign-up, or resume one, or say why not."""
    if not sign_up_open(turn):
        await show_menu(turn)
        return
    step = turn.step
    if step is not None and step[0] == FLOW and step[1] in INTAKE:
        draft = await domain.draft_of(turn.uow, turn.actor.telegram_user_id)
        if draft is not None:
            await turn.reply(turn.t("Welcome back! Let's continue where you were."))
            await ask(turn, step[1], draft)
            return
    if not await _may_start(turn):
        return
    await turn.set_state(FLOW, LANGUAGE)
    await onboarding.ask_language(turn, FLOW)


async def returning(turn: Turn) -> None:
    """/start from an applicant (their status), from someone whose application was
    answered or withdrawn, or from someone whose contact ended."""
    participant = turn.participant
    assert participant is not None
    if participant.status is ParticipantStatus.APPLIED:
        await show_status(turn)
        return
    if turn.step is not None and turn.step[0] == FLOW:
        await start(turn)  # signing up again, half-way: carry on
        return
    _ = turn.t
    if not sign_up_open(turn):
        await turn.reply(
            _(
                "Your contact with the project has ended. If you want support again, "
                "ask the project for a new invitation."
            )
        )
        return
    check = await domain.may_start(
        turn.uow,
        turn.actor.telegram_user_id,
        participant,
        turn.clock.now(),
        starts_per_day=turn.deps.settings.signup_starts_per_day,
    )
    if check.blocked is Blocked.RECENTLY_DECLINED:
        await _may_start(turn)
        return
    if participant.mentor_id is None:  # never had a place: applied, then a no or withdrawn
        await turn.reply(
            _("You have no application waiting. If you want a mentor, you can sign up here."),
            [[Button(_("Sign up"), pack(FLOW, "begin"))]],
        )
        return
    await turn.reply(
        _(
            "Your contact with the project has ended. If you want support again, "
            "you can sign up here."
        ),
        [[Button(_("Sign up again"), pack(FLOW, "begin"))]],
    )


async def _may_start(turn: Turn) -> bool:
    """Whether this account may begin now; if not, tells them why, kindly."""
    _ = turn.t
    now = turn.clock.now()
    check = await domain.may_start(
        turn.uow,
        turn.actor.telegram_user_id,
        turn.participant,
        now,
        starts_per_day=turn.deps.settings.signup_starts_per_day,
    )
    if check.blocked is None:
        return True
    log.info(
        "update=%s user=%s sign-up not started: %s",
        turn.update_id,
        turn.actor.telegram_user_id,
        check.blocked,
    )
    if check.blocked is Blocked.PENDING:
        await show_status(turn)
    elif check.blocked is Blocked.MEMBER:
        await show_menu(turn)
    elif check.blocked is Blocked.RECENTLY_DECLINED and check.since is not None:
        await turn.reply(
            _(
                "The project answered your application on {date}. You can apply again from {again}."
            ).format(
                date=turn.t.date(check.since),
                again=turn.t.date(check.since + domain.REAPPLY_AFTER),
            )
        )
    else:
        await turn.reply(
            "\n\n".join(
                [
                    _(
                        "You have started to sign up many times today. Please wait until "
                        "tomorrow and try again."
                    ),
                    _("If you are in danger right now, call 112."),
                ]
            )
        )
    return False


async def show_status(turn: Turn) -> None:
    """What an applicant sees: that they are waiting, and how long it usually takes."""
    _ = turn.t
    days = turn.deps.settings.signup_answer_days
    await show_menu(
        turn,
        "\n\n".join(
            [
                _("Your application has been sent. We are looking for a mentor for you."),
                turn.t.ngettext(
                    "We usually answer within {count} working day.",
                    "We usually answer within {count} working days.",
                    days,
                ).format(count=days),
                _("If you are in danger right now, call 112."),
            ]
        ),
    )


# The questions


def name_buttons(turn: Turn) -> Keyboard | None:
    suggestion = domain.clean_text(turn.actor.first_name, domain.NAME_MAX)
    if isinstance(suggestion, InputProblem):
        return None
    return [[Button(suggestion, pack(FLOW, "telegram_name"))]]


def area_buttons(turn: Turn) -> Keyboard:
    buttons = [Button(area.name(turn.locale), pack(FLOW, "area", area.key)) for area in areas(turn)]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    rows.append([Button(turn.t("Another place"), pack(FLOW, "area", domain.OTHER_AREA))])
    return rows


def topic_buttons(turn: Turn, chosen: list[str]) -> Keyboard:
    rows = [
        [
            Button(
                ("☑ " if topic.value in chosen else "☐ ") + turn.t(domain.TOPIC_LABELS[topic]),
                pack(FLOW, "topic", topic.value),
            )
        ]
        for topic in Topic
    ]
    rows.append([Button("✓ " + turn.t("Done"), pack(FLOW, "topics_done"))])
    return rows


def gender_buttons(turn: Turn) -> Keyboard:
    return [
        [Button(turn.t(domain.GENDER_LABELS[gender]), pack(FLOW, "gender", gender.value))]
        for gender in Gender
    ]


def place_text(turn: Turn, draft: SignupDraft) -> str:
    if draft.area == domain.OTHER_AREA:
        return draft.area_other or ""
    return domain.area_name(areas(turn), draft.area, turn.locale) or ""


def summary(turn: Turn, draft: SignupDraft) -> str:
    _ = turn.t
    gender = Gender(draft.gender) if draft.gender in set(Gender) else Gender.UNDISCLOSED
    return "\n".join(
        [
            _("Please check your answers:"),
            "",
            _("Name: {name}").format(name=draft.display_name or ""),
            _("Lives in: {place}").format(place=place_text(turn, draft)),
            _("Wants help with: {topics}").format(
                topics=domain.topics_text(turn.t, list(draft.topics))
            ),
            _("Gender: {gender}").format(gender=_(domain.GENDER_LABELS[gender])),
        ]
    )


async def ask(turn: Turn, step: str, draft: SignupDraft) -> None:
    """Ask the question of `step` (again)."""
    _ = turn.t
    if step == NAME:
        await turn.reply(
            _("What should we call you? Write your first name or a nickname."),
            name_buttons(turn),
        )
    elif step == AREA:
        await turn.reply(_("Where do you live?"), area_buttons(turn))
    elif step == AREA_OTHER:
        await turn.reply(_("Write the name of your municipality or part of town."))
    elif step == TOPICS:
        await turn.reply(
            _("What do you want help with? Choose one or more, then press Done."),
            topic_buttons(turn, list(draft.topics)),
        )
    elif step == GENDER:
        await turn.reply(
            "\n\n".join(
                [
                    _(
                        "The project reports to the EU's social fund (ESF) how many women "
                        "and men it helps. The report has no names. That is why we ask."
                    ),
                    _("What is your gender?"),
                ]
            ),
            gender_buttons(turn),
        )
    elif step == CONFIRM:
        await turn.reply(
            summary(turn, draft),
            [
                [Button(_("Send my application"), pack(FLOW, "send"))],
                [Button(_("Start again"), pack(FLOW, "again"))],
            ],
        )


async def go(turn: Turn, step: str, draft: SignupDraft) -> None:
    await turn.set_state(FLOW, step)
    await ask(turn, step, draft)


# Buttons


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    if callback is None:
        await stale_button(turn)
        return
    if callback.is_("begin", 0):
        await _begin_from_button(turn)
        return
    if callback.is_("status", 0) and role_of(turn) is Role.APPLICANT:
        await show_status(turn)
        return
    if callback.is_("withdraw", 0) and role_of(turn) is Role.APPLICANT:
        await ask_withdraw(turn)
        return
    step = turn.step
    if step is None or step[0] != FLOW:
        await stale_button(turn)
        return
    if step[1] == LANGUAGE and callback.is_("lang", 1) and callback.arg(0) in SUPPORTED_LOCALES:
        await choose_language(turn, str(callback.arg(0)))
    elif step[1] == CONSENT and callback.is_("consent", 1):
        await consent(turn, str(callback.arg(0)))
    elif (
        step[1] == WITHDRAW
        and callback.is_("withdraw_answer", 1)
        and callback.arg(0) in ("yes", "no")
    ):
        await answer_withdraw(turn, callback.arg(0) == "yes")
    elif step[1] in INTAKE:
        await intake_button(turn, step[1])
    else:
        await stale_button(turn)


async def _begin_from_button(turn: Turn) -> None:
    if not sign_up_open(turn) or not (role_of(turn) is Role.VISITOR or ended(turn)):
        await stale_button(turn)
        return
    turn.answer()
    await start(turn)


async def choose_language(turn: Turn, locale: str) -> None:
    _ = turn.t
    await turn.set_state(FLOW, CONSENT, locale=locale)
    turn.set_locale(locale)
    if turn.participant is not None:
        turn.participant.locale = locale
    if turn.callback_message_id is not None:
        await turn.edit(turn.callback_message_id, "✓ " + LANGUAGE_NAMES[locale])
    await turn.reply(
        "\n\n".join(
            [
                turn.t(
                    "Here you can ask for a mentor: someone who helps you on the way to "
                    "work or studies, and with what stands in the way."
                ),
                turn.t("If you got an invitation link from a project, open that link instead."),
            ]
        )
    )
    await turn.reply(onboarding.privacy_notice(turn), onboarding.consent_buttons(turn, FLOW))


async def consent(turn: Turn, answer: str) -> None:
    _ = turn.t
    if answer == "more":
        await turn.reply(
            onboarding.privacy_details(turn)
            + "\n\n"
            + _(
                "When you sign up, we also save where you live, what you want help with "
                "and your gender, so that the project can find the right mentor for you."
            ),
            onboarding.consent_buttons(turn, FLOW),
        )
        return
    if answer not in ("yes", "no"):
        await stale_button(turn)
        return
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    if answer == "no":
        await turn.clear_state()
        if turn.participant is not None:  # someone who took part before: nothing changes
            await turn.reply(
                _("That is fine. Nothing has changed. To sign up later, press /start.")
            )
            return
        await record_refusal(turn.uow, invite=None, locale=turn.locale, now=turn.clock.now())
        await turn.reply(
            _(
                "That is fine. We have not saved anything about you. If you change your "
                "mind, press /start."
            )
        )
        return
    if not await _may_start(turn):
        await turn.clear_state()
        return
    draft = await domain.begin(
        turn.uow,
        telegram_user_id=turn.actor.telegram_user_id,
        chat_id=turn.actor.chat_id,
        locale=turn.locale,
        now=turn.clock.now(),
    )
    await turn.reply(_("Thank you! Four short questions, then you are done."))
    await go(turn, NAME, draft)


async def _draft(turn: Turn) -> SignupDraft | None:
    """The draft behind the current step; when it is gone (not finished in two weeks),
    says so and begins again."""
    draft = await domain.draft_of(turn.uow, turn.actor.telegram_user_id)
    if draft is None:
        await turn.clear_state()
        await turn.reply(turn.t("Your sign-up was not finished in time. Let's start again."))
        await start(turn)
    return draft


async def intake_button(turn: Turn, step: str) -> None:
    callback = turn.callback
    assert callback is not None
    draft = await _draft(turn)
    if draft is None:
        return
    now = turn.clock.now()
    if step == NAME and callback.is_("telegram_name", 0):
        problem = domain.set_name(draft, turn.actor.first_name, now)
        if problem is not None:
            await stale_button(turn)
            return
        await _done_with(turn, draft.display_name or "")
        await go(turn, AREA, draft)
    elif step == AREA and callback.is_("area", 1):
        key = str(callback.arg(0))
        if key == domain.OTHER_AREA:
            await _done_with(turn, turn.t("Another place"))
            await go(turn, AREA_OTHER, draft)
            return
        name = domain.area_name(areas(turn), key, turn.locale)
        if name is None:
            await stale_button(turn)
            return
        domain.set_area(draft, key, now)
        await _done_with(turn, name)
        await go(turn, TOPICS, draft)
    elif step == TOPICS and callback.is_("topic", 1) and callback.arg(0) in set(Topic):
        chosen = domain.toggle_topic(draft, Topic(str(callback.arg(0))), now)
        turn.answer()
        if turn.callback_message_id is not None:
            await turn.edit(
                turn.callback_message_id,
                turn.t("What do you want help with? Choose one or more, then press Done."),
                topic_buttons(turn, chosen),
            )
    elif step == TOPICS and callback.is_("topics_done", 0):
        if not draft.topics:
            turn.answer(turn.t("Choose at least one."), alert=True)
            return
        await _done_with(turn, domain.topics_text(turn.t, list(draft.topics)))
        await go(turn, GENDER, draft)
    elif step == GENDER and callback.is_("gender", 1) and callback.arg(0) in set(Gender):
        gender = Gender(str(callback.arg(0)))
        domain.set_gender(draft, gender, now)
        await _done_with(turn, turn.t(domain.GENDER_LABELS[gender]))
        await go(turn, CONFIRM, draft)
    elif step == CONFIRM and callback.is_("again", 0):
        if turn.callback_message_id is not None:
            await turn.remove_buttons(turn.callback_message_id)
        await go(turn, NAME, draft)
    elif step == CONFIRM and callback.is_("send", 0) and domain.complete(draft):
        await send(turn, draft)
    else:
        await stale_button(turn)


async def _done_with(turn: Turn, answer: str) -> None:
    """The question's message keeps the answer and loses its buttons."""
    if turn.callback_message_id is not None:
        await turn.edit(turn.callback_message_id, "✓ " + answer)


async def send(turn: Turn, draft: SignupDraft) -> None:
    _ = turn.t
    # The same account cannot have two applications waiting, whatever the buttons say.
    if turn.participant is not None and turn.participant.status is not ParticipantStatus.ENDED:
        await turn.clear_state()
        await stale_button(turn)
        return
    name = draft.display_name or ""
    submitted = await domain.submit(
        turn.uow,
        draft,
        participant=turn.participant,
        now=turn.clock.now(),
        randomness=turn.deps.randomness,
    )
    turn.participant = submitted.participant
    await turn.clear_state()
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    log.info(
        "update=%s participant=%s applied application=%s",
        turn.update_id,
        submitted.participant.public_id,
        submitted.application.id,
    )
    days = turn.deps.settings.signup_answer_days
    await show_menu(
        turn,
        "\n\n".join(
            [
                _("Thank you, {name}! Your application has been sent.").format(name=name),
                _(
                    "What happens now: someone in the project reads it and looks for a "
                    "mentor who speaks your language. You will get a message here."
                ),
                turn.t.ngettext(
                    "We usually answer within {count} working day.",
                    "We usually answer within {count} working days.",
                    days,
                ).format(count=days),
                _("If you are in danger right now, call 112."),
            ]
        ),
    )
    await domain.tell_coordinators(
        turn.uow,
        turn.notifier,
        turn.deps.translator,
        submitted,
        default_locale=turn.deps.settings.default_locale,
    )


# Typed answers


async def on_message_in_flow(turn: Turn, message: Message) -> None:
    step = turn.step
    assert step is not None
    _ = turn.t
    if step[1] not in (NAME, AREA_OTHER):
        await turn.reply(_("Please choose one of the buttons."))
        if step[1] in (LANGUAGE, CONSENT, WITHDRAW):
            await _ask_again_outside_intake(turn, step[1])
            return
        draft = await _draft(turn)
        if draft is not None:
            await ask(turn, step[1], draft)
        return
    draft = await _draft(turn)
    if draft is None:
        return
    if message.text is None:
        await turn.reply(_("Please write it as text."))
        await ask(turn, step[1], draft)
        return
    await _screen(turn, draft, message.text)
    now = turn.clock.now()
    if step[1] == NAME:
        problem = domain.set_name(draft, message.text, now)
        limit = domain.NAME_MAX
    else:
        problem = domain.set_area_other(draft, message.text, now)
        limit = domain.AREA_OTHER_MAX
    if problem is InputProblem.TOO_LONG:
        await turn.reply(
            turn.t.ngettext(
                "Please keep it shorter, at most {count} character.",
                "Please keep it shorter, at most {count} characters.",
                limit,
            ).format(count=limit)
        )
        return
    if problem is not None:
        await turn.reply(_(INPUT_PROBLEMS[problem]))
        return
    await go(turn, AREA if step[1] == NAME else TOPICS, draft)


async def _screen(turn: Turn, draft: SignupDraft, text: str) -> None:
    """Someone may write about danger anywhere: answer it at once, whatever the question."""
    if not triage(text).urgent:
        return
    domain.mark_urgent(draft)
    log.info("update=%s user=%s urgent text during sign-up", turn.update_id, draft.telegram_user_id)
    lines = [place.text(turn.locale) for place in domain.places_for(places(turn), "urgent")]
    await turn.reply(
        "\n\n".join(
            [
                turn.t(
                    "What you wrote sounds serious. You do not have to wait for a mentor to "
                    "get help:"
                ),
                "\n".join(lines),
                turn.t("When you send your application, it will be read first."),
            ]
        )
    )


async def _ask_again_outside_intake(turn: Turn, step: str) -> None:
    if step == LANGUAGE:
        await onboarding.ask_language(turn, FLOW)
    elif step == CONSENT:
        await turn.reply(onboarding.privacy_notice(turn), onboarding.consent_buttons(turn, FLOW))
    else:
        await ask_withdraw(turn)


# Withdrawing


async def ask_withdraw(turn: Turn) -> None:
    _ = turn.t
    await turn.set_state(FLOW, WITHDRAW)
    await turn.reply(
        _("Do you want to withdraw your application? We will then erase your name."),
        [
            [Button(_("Yes, withdraw it"), pack(FLOW, "withdraw_answer", "yes"))],
            [Button(_("No, keep it"), pack(FLOW, "withdraw_answer", "no"))],
        ],
    )


async def answer_withdraw(turn: Turn, yes: bool) -> None:
    _ = turn.t
    await turn.clear_state()
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    participant = turn.participant
    if participant is None or participant.status is not ParticipantStatus.APPLIED:
        await stale_button(turn)
        return
    if not yes:
        await show_status(turn)
        return
    await domain.withdraw(turn.uow, participant, turn.clock.now())
    log.info("update=%s participant=%s withdrew", turn.update_id, participant.public_id)
    await turn.reply(
        _("Your application is withdrawn, and your name is erased. To apply again, press /start.")
    )


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_flow(FLOW, on_message_in_flow)
    registry.add_menu(
        [
            MenuItem(N_("Sign up"), pack(FLOW, "begin"), VISITORS, order=5, visible=sign_up_open),
            MenuItem(N_("My application"), pack(FLOW, "status"), APPLICANTS, order=10),
            MenuItem(N_("Withdraw my application"), pack(FLOW, "withdraw"), APPLICANTS, order=80),
            MenuItem(
                N_("Sign up again"), pack(FLOW, "begin"), PARTICIPANTS, order=5, visible=ended
            ),
        ]
    )
    return [CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:")]
