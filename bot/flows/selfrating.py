"""The self-rating: one question per theme on a five-point scale, a summary and a chart.

States (conversation.flow == FLOW):
    answering  a question is shown; data {"selfrating": id}
The answers are rows per theme, so stopping (a button, or just walking away) loses
nothing: /rating, the menu or a later offer continues with the first unanswered theme,
also after a restart. A button names its occasion and question and is checked against
what is stored: an old question's button changes nothing.

`SelfRatingJob` offers the questionnaire when a participant's self-rating schedule is due.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import pack
from bot.charts import selfrating_chart
from bot.domain import checkin as checkin_domain
from bot.domain import selfrating as domain
from bot.domain.selfrating import Instrument, Occasion
from bot.i18n import N_, Translator
from bot.messaging import Button, Keyboard, Notifier, OutgoingText
from bot.turn import Deps, Turn, turn_handler
from storage.models import OutboxKind, SelfRating, SelfRatingStatus
from storage.models.progress import SelfRatings

from .common import default_fallback, show_menu, stale_button
from .notices import tell_mentors
from .registry import PARTICIPANTS, Command, FlowRegistry, MenuItem, Role, in_contact, role_of
from .wording import greeting, short_name

log = logging.getLogger(__name__)

FLOW = "sr"
ANSWERING = "answering"
CHART_FILE = "selfrating.png"
MAX_BATCHES_PER_TICK = 20


def instrument_of(deps: Deps) -> Instrument:
    return domain.load_instrument(deps.settings.selfrating_file)


# Rendering


def question_text(instrument: Instrument, t: Translator, index: int) -> str:
    theme = instrument.themes[index]
    heading = t("Question {number} of {total}: {theme}").format(
        number=index + 1, total=len(instrument.themes), theme=instrument.text(theme.title, t.locale)
    )
    return f"{heading}\n\n{instrument.text(theme.question, t.locale)}"


def scale_label(instrument: Instrument, t: Translator, score: int) -> str:
    point = instrument.scale[score - 1]
    return f"{point.face} {instrument.text(point.label, t.locale)}"


def scale_buttons(instrument: Instrument, t: Translator, rating_id: int, index: int) -> Keyboard:
    rows = [
        [
            Button(
                scale_label(instrument, t, point.value),
                pack(FLOW, "ans", rating_id, index, point.value),
            )
        ]
        for point in reversed(instrument.scale)
    ]
    rows.append([Button("⏸ " + t("Stop for now"), pack(FLOW, "stop", rating_id))])
    return rows


def summary_text(instrument: Instrument, t: Translator, changes: list[domain.ThemeChange]) -> str:
    lines = [t("Thank you! Here is your self-rating:"), ""]
    for change in changes:
        theme = instrument.theme(change.theme)
        title = instrument.text(theme.title, t.locale) if theme else change.theme
        if change.before is None:
            lines.append(t("{theme}: {now}").format(theme=title, now=change.now))
            continue
        arrow = "↑" if change.now > change.before else "↓" if change.now < change.before else "="
        lines.append(
            t("{arrow} {theme}: {now} (last time {before})").format(
                arrow=arrow, theme=title, now=change.now, before=change.before
            )
        )
    lines.append("")
    first = all(change.before is None for change in changes)
    better = sum(1 for change in changes if (change.difference or 0) > 0)
    lower = sum(1 for change in changes if (change.difference or 0) < 0)
    if first:
        lines.append(t("This was your first self-rating. Next time you can see what has changed."))
    elif better:
        lines.append(
            t.ngettext(
                "You have moved forward in {count} area since last time. Well done!",
                "You have moved forward in {count} areas since last time. Well done!",
                better,
            ).format(count=better)
        )
    else:
        lines.append(t("Much is as it was last time. Keeping steady counts too."))
    if lower:
        lines.append(
            t(
                "Some things feel harder than last time. That is okay. "
                "You can talk about it with your mentor."
            )
        )
    return "\n".join(lines)


def offer_buttons(t: Translator, resumes: bool) -> Keyboard:
    start = t("Continue") if resumes else t("Start")
    return [
        [Button(start, pack(FLOW, "start"))],
        [Button(t("Later"), pack(FLOW, "later"))],
    ]


async def chart_png(
    instrument: Instrument, occasions: list[Occasion], t: Translator, title: str
) -> bytes:
    """Drawing takes a moment of CPU: done in a worker thread, not on the event loop."""
    return await asyncio.to_thread(selfrating_chart, instrument, occasions, t, title)


# Handlers


async def start(turn: Turn) -> None:
    """/rating, the menu, or an offer's button: begin, or continue where they stopped."""
    _ = turn.t
    participant = turn.participant
    assert participant is not None
    instrument = instrument_of(turn.deps)
    rating, resumed = await domain.start_or_resume(
        turn.uow, participant.id, instrument, turn.clock.now()
    )
    answered = await domain.answers(turn.uow, rating)
    index = domain.next_question(instrument, answered)
    if index is None:  # cannot happen with a stored open occasion, but never loop
        await stale_button(turn)
        return
    await turn.set_state(FLOW, ANSWERING, {"selfrating": rating.id})
    if resumed:
        log.info(
            "update=%s participant=%s resumes selfrating=%s",
            turn.update_id,
            participant.public_id,
            rating.id,
        )
        await turn.reply(_("Welcome back! Let us continue where you stopped."))
    else:
        log.info(
            "update=%s participant=%s starts selfrating=%s",
            turn.update_id,
            participant.public_id,
            rating.id,
        )
        name = instrument.text(instrument.name, turn.locale)
        await turn.reply(f"{name}\n\n{instrument.text(instrument.intro, turn.locale)}")
    await ask(turn, instrument, rating.id, index)


async def ask(turn: Turn, instrument: Instrument, rating_id: int, index: int) -> None:
    await turn.reply(
        question_text(instrument, turn.t, index),
        scale_buttons(instrument, turn.t, rating_id, index),
    )


async def _own_open(turn: Turn, rating_id: int | None) -> SelfRating | None:
    """The occasion a button names, if it is this participant's and still open."""
    assert turn.participant is not None
    instrument = instrument_of(turn.deps)
    rating = await domain.own_open_rating(turn.uow, turn.participant.id, rating_id, instrument)
    if rating is not None:
        return rating
    stored = await turn.uow.repository(SelfRatings).get(rating_id) if rating_id else None
    if (
        stored is not None
        and stored.participant_id == turn.participant.id
        and stored.status is SelfRatingStatus.COMPLETED
    ):
        turn.answer(turn.t("You have finished this self-rating already. Thank you!"))
        if turn.callback_message_id is not None:
            await turn.remove_buttons(turn.callback_message_id)
        return None
    await stale_button(turn)
    return None


async def answer(turn: Turn, rating_id: int | None, index: int | None, score: int | None) -> None:
    _ = turn.t
    rating = await _own_open(turn, rating_id)
    if rating is None:
        return
    participant = turn.participant
    assert participant is not None
    instrument = instrument_of(turn.deps)
    if index is None or score is None or not 0 <= index < len(instrument.themes):
        await stale_button(turn)
        return
    problem = await domain.answer(turn.uow, rating, instrument, index, score, turn.clock.now())
    if problem is not None:
        await stale_button(turn)
        return
    if turn.callback_message_id is not None:
        await turn.edit(
            turn.callback_message_id,
            f"{question_text(instrument, _, index)}\n✓ {scale_label(instrument, _, score)}",
        )
    if rating.status is not SelfRatingStatus.COMPLETED:
        await turn.set_state(FLOW, ANSWERING, {"selfrating": rating.id})
        await ask(turn, instrument, rating.id, index + 1)
        return
    await finish(turn, instrument, rating)


async def finish(turn: Turn, instrument: Instrument, rating: SelfRating) -> None:
    _ = turn.t
    participant = turn.participant
    assert participant is not None
    if turn.step is not None and turn.step[0] == FLOW:
        await turn.clear_state()
    log.info(
        "update=%s participant=%s completed selfrating=%s",
        turn.update_id,
        participant.public_id,
        rating.id,
    )
    occasions = await domain.history(turn.uow, participant.id, instrument)
    current = occasions[-1]
    previous = occasions[-2] if len(occasions) > 1 else None
    await turn.reply(summary_text(instrument, _, domain.compare(instrument, current, previous)))
    title = _("Your self-ratings over time")
    png = await chart_png(instrument, occasions, _, title)
    await turn.reply_file("sendPhoto", png, filename=CHART_FILE, caption=title)
    await tell_mentors(
        turn.uow,
        turn.deps,
        participant,
        lambda t: t("{name} ({id}) has finished a self-rating. More: /participant {id}").format(
            name=short_name(participant.display_name), id=participant.public_id
        ),
        key=f"selfrating-done:{rating.id}",
    )


async def stop(turn: Turn, rating_id: int | None) -> None:
    rating = await _own_open(turn, rating_id)
    if rating is None:
        return
    if turn.step is not None and turn.step[0] == FLOW:
        await turn.clear_state()
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    await turn.reply(
        turn.t("Okay. Your answers so far are saved. Continue whenever you like with /rating.")
    )


@turn_handler
async def on_rating_command(turn: Turn, update: Update) -> None:
    role = role_of(turn)
    if role is Role.MENTOR:
        await turn.reply(
            turn.t("Self-ratings are for participants. To see a participant's, use /participant.")
        )
        return
    if role is not Role.PARTICIPANT or not in_contact(turn):
        await show_menu(turn)
        return
    await start(turn)


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    if callback is None or role_of(turn) is not Role.PARTICIPANT:
        await stale_button(turn)
        return
    if callback.is_("ans", 3):
        await answer(turn, callback.int_arg(0), callback.int_arg(1), callback.int_arg(2))
    elif callback.is_("stop", 1):
        await stop(turn, callback.int_arg(0))
    elif callback.is_("start", 0):
        if turn.callback_message_id is not None:
            await turn.remove_buttons(turn.callback_message_id)
        await start(turn)
    elif callback.is_("later", 0):
        if turn.callback_message_id is not None:
            await turn.remove_buttons(turn.callback_message_id)
        await turn.reply(turn.t("Okay. You can start it whenever you like with /rating."))
    else:
        await stale_button(turn)


async def on_message_in_flow(turn: Turn, message: Message) -> None:
    """Text or media while a question waits for a button: words go to triage when it is
    there (they may need a human); otherwise a hint and the question again."""
    registry = turn.deps.registry
    participant = turn.participant
    data = turn.conversation.data if turn.conversation else {}
    instrument = instrument_of(turn.deps)
    rating = (
        await domain.own_open_rating(turn.uow, participant.id, data.get("selfrating"), instrument)
        if participant is not None and isinstance(data.get("selfrating"), int)
        else None
    )
    if message.text is not None and registry.fallback is not None:
        await registry.fallback(turn, message)
        return
    if rating is None:
        await turn.clear_state()
        await default_fallback(turn, message.text is not None)
        return
    index = domain.next_question(instrument, await domain.answers(turn.uow, rating))
    await turn.reply(turn.t("Please choose one of the buttons."))
    if index is not None:
        await ask(turn, instrument, rating.id, index)


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_flow(FLOW, on_message_in_flow)
    registry.add_menu(
        [
            MenuItem(
                N_("Self-rating"), pack(FLOW, "start"), PARTICIPANTS, order=35, visible=in_contact
            )
        ]
    )
    registry.add_commands(
        [Command("rating", N_("rate how things are going for you"), PARTICIPANTS, order=25)]
    )
    return [
        CommandHandler("rating", on_rating_command),
        CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:"),
    ]


# The periodic job


class SelfRatingJob:
    """Every tick: offer the self-rating to participants whose schedule is due."""

    async def __call__(self, deps: Deps) -> int:
        policy = checkin_domain.CheckinPolicy.from_settings(deps.settings)
        instrument = instrument_of(deps)
        offered = 0
        for _ in range(MAX_BATCHES_PER_TICK):
            async with deps.unit_of_work() as uow:
                read, offers = await domain.due_offers(
                    uow,
                    deps.clock.now(),
                    deps.settings.zone,
                    policy,
                    instrument,
                    skip_locked=deps.database.is_postgres,
                )
                messages: list[OutgoingText] = []
                for offer in offers:
                    participant = offer.participant
                    assert participant.chat_id is not None
                    t = deps.translator(participant.locale)
                    if offer.resumes:
                        body = t("Your self-rating is waiting for you. Do you want to continue?")
                    else:
                        count = len(instrument.themes)
                        body = t.ngettext(
                            "It is time for your self-rating: {count} short question about "
                            "how things are going. It takes about two minutes.",
                            "It is time for your self-rating: {count} short questions about "
                            "how things are going. It takes about two minutes.",
                            count,
                        ).format(count=count)
                    messages.append(
                        OutgoingText(
                            participant.chat_id,
                            f"{greeting(participant.display_name, t)} {body}",
                            key=f"selfrating-offer:{participant.id}:{offer.due_at:%Y%m%dT%H%M}",
                            kind=OutboxKind.CHECKIN,
                            buttons=offer_buttons(t, offer.resumes),
                            participant_id=participant.id,
                        )
                    )
                await Notifier(uow, deps.clock).send_texts(messages)
                await uow.commit()
            offered += len(offers)
            if read < policy.batch_size:
                break
        return offered
