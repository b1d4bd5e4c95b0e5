"""/mydata and /delete: a participant sees everything stored about them, or erases it.

/mydata sends two files: a page in the participant's language (opens in the phone's
browser, right-to-left for Arabic) and the same content machine-readable (JSON).
/delete explains what goes and what stays, and acts only after a confirmation given
in this conversation (state in the database, so an old button cannot erase by surprise).
"""

from __future__ import annotations

import logging

from jinja2 import Environment
from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import pack
from bot.domain import privacy
from bot.i18n import N_, Translator
from bot.messaging import Button
from bot.turn import Turn, turn_handler
from storage.models import OutboxKind, SignupDraft

from .common import stale_button
from .registry import Command, FlowRegistry, MenuItem, Role, role_of

# Whose data we may hold: participants, applicants, and someone halfway through joining.
DATA_SUBJECTS = frozenset({Role.PARTICIPANT, Role.APPLICANT, Role.VISITOR})

log = logging.getLogger(__name__)

FLOW = "priv"
CONFIRM = "confirm"

PAGE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="{{ lang }}" dir="{{ dir }}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:46rem;margin:1rem auto;padding:0 1rem;
line-height:1.5;color:#1d2733}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ccd}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.6rem 0 1rem;
padding:.6rem;background:#f4f6f9;border-radius:.4rem}
dt{color:#566}dd{margin:0;white-space:pre-wrap;unicode-bidi:plaintext}
.none{color:#677}
</style></head>
<body>
<h1>{{ title }}</h1>
<p>{{ intro }}</p>
{% for section in sections %}
<h2>{{ section.title }}</h2>
{% if section.records %}{% for record in section.records %}<dl>
{% for entry in record %}<dt>{{ entry.label }}</dt><dd dir="auto">{{ entry.value }}</dd>
{% endfor %}</dl>{% endfor %}{% else %}<p class="none">{{ nothing }}</p>{% endif %}
{% endfor %}
<p>{{ outro }}</p>
</body></html>
"""
)


def render_page(t: Translator, public_id: str, sections: list[privacy.Section], made: str) -> str:
    return PAGE.render(
        lang=t.locale,
        dir="rtl" if t.rtl else "ltr",
        title=t("Your data in Stegvis"),
        intro=t("Everything Stegvis has stored about you ({id}), made {when}.").format(
            id=public_id, when=made
        ),
        sections=sections,
        nothing=t("Nothing stored."),
        outro=t("You can erase your data at any time with /delete."),
    )


@turn_handler
async def on_mydata(turn: Turn, update: Update) -> None:
    _ = turn.t
    role = role_of(turn)
    if role is Role.MENTOR:
        await turn.reply(_("This command is for participants."))
        return
    participant = turn.participant
    if participant is None or participant.erased_at is not None:
        if turn.conversation is not None:
            await turn.reply(
                _(
                    "We have stored only where you are in joining (your language choice). "
                    "It goes away if you stop, or with /delete."
                )
            )
        else:
            await turn.reply(_("We have not stored anything about you."))
        return
    from bot.flows.selfrating import instrument_of

    now = turn.clock.now()
    sections = await privacy.collect(turn.uow, participant, turn.t, instrument_of(turn.deps))
    page = render_page(turn.t, participant.public_id, sections, turn.t.datetime(now))
    await turn.reply_file(
        "sendDocument",
        page.encode("utf-8"),
        filename=f"stegvis-{participant.public_id}.html",
        caption=_("Here is everything Stegvis has stored about you. Open the file to read it."),
    )
    await turn.reply_file(
        "sendDocument",
        privacy.as_json(participant.public_id, sections, now).encode("utf-8"),
        filename=f"stegvis-{participant.public_id}.json",
        caption=_("The same, in a form other programs can read."),
    )
    log.info("update=%s participant=%s exported their data", turn.update_id, participant.public_id)


@turn_handler
async def on_delete(turn: Turn, update: Update) -> None:
    _ = turn.t
    if role_of(turn) is Role.MENTOR:
        await turn.reply(_("This command is for participants."))
        return
    participant = turn.participant
    if participant is None or participant.erased_at is not None:
        await forget_visitor(turn)
        return
    await turn.set_state(FLOW, CONFIRM)
    await turn.reply(
        "\n\n".join(
            [
                _("Do you want to delete your data in Stegvis?"),
                _(
                    "We delete your name, your answers, what you have written, your plan "
                    "and your appointments. Your mentor will no longer see them, and you "
                    "will get no more messages from Stegvis."
                ),
                _(
                    "We keep only numbers without your name that the project must report, "
                    "for example that someone took part and which steps were taken."
                ),
                _("This cannot be undone."),
            ]
        ),
        [
            [Button(_("Yes, delete my data"), pack(FLOW, "delete", "yes"))],
            [Button(_("No, keep it"), pack(FLOW, "delete", "no"))],
        ],
    )


async def forget_visitor(turn: Turn) -> None:
    """Someone who never finished joining: only their place in joining is stored."""
    await turn.clear_state()
    draft = await turn.uow.session.get(SignupDraft, turn.actor.telegram_user_id)
    if draft is not None:
        await turn.uow.session.delete(draft)
    await turn.reply(turn.t("We have not stored anything about you. There is nothing to delete."))


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    participant = turn.participant
    if (
        callback is None
        or not callback.is_("delete", 1)
        or participant is None
        or participant.erased_at is not None
        or turn.step != (FLOW, CONFIRM)
    ):
        await stale_button(turn)
        return
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    await turn.clear_state()
    if callback.arg(0) != "yes":
        await turn.reply(turn.t("Okay. Nothing was deleted."))
        return
    erased = await privacy.erase(turn.uow, participant, turn.clock.now(), turn.deps.randomness)
    log.info("update=%s participant erased their data", turn.update_id)
    # From here the person is a stranger to Stegvis: the goodbye is not tied to the row.
    turn.participant = None
    await turn.reply(
        turn.t(
            "Your data has been deleted. Thank you for the time with Stegvis. If you want "
            "to take part again one day, you are welcome to sign up."
        )
    )
    mentor = erased.mentor
    if mentor is not None and mentor.telegram_user_id is not None:
        t = turn.deps.translator(mentor.locale or turn.deps.settings.default_locale)
        await turn.notifier.send_text(
            mentor.telegram_user_id,
            t(
                "{id} has deleted their data in Stegvis. Their answers and messages are "
                "gone, and they get no more messages."
            ).format(id=erased.former_public_id),
            key=f"erased:{erased.former_public_id}",
            kind=OutboxKind.NOTIFICATION,
            mentor_id=mentor.id,
        )


async def on_message_in_flow(turn: Turn, message: Message) -> None:
    await turn.reply(turn.t("Please choose one of the buttons."))


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_flow(FLOW, on_message_in_flow)
    registry.add_menu(
        [
            MenuItem(
                N_("My data"),
                pack(FLOW, "menu", "data"),
                frozenset({Role.PARTICIPANT, Role.APPLICANT}),
                order=85,
            )
        ]
    )
    registry.add_commands(
        [
            Command("mydata", N_("see your data"), DATA_SUBJECTS, order=85),
            Command("delete", N_("delete your data"), DATA_SUBJECTS, order=86),
        ]
    )
    return [
        CommandHandler("mydata", on_mydata),
        CommandHandler("delete", on_delete),
        CallbackQueryHandler(on_menu_button, pattern=rf"^{FLOW}:menu:"),
        CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:"),
    ]


@turn_handler
async def on_menu_button(turn: Turn, update: Update) -> None:
    """The menu's "My data": what /mydata and /delete do."""
    _ = turn.t
    await turn.reply(
        "\n".join(
            [
                _("/mydata – see everything Stegvis has stored about you"),
                _("/delete – delete your data"),
            ]
        )
    )
