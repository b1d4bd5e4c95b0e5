"""The few lines printed beside an invitation's QR code, in the participant's languages.

A participant is handed the sheet at a first meeting, before they have chosen a language
in the bot, so it carries every language the bot speaks. The text is in the bot's
catalog (where Arabic is complete), not the dashboard's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.config import SUPPORTED_LOCALES
from bot.i18n import N_, translator

TITLE = N_("Join Stegvis")
HOW = N_("Scan the code with your phone's camera, or open the link. Stegvis opens in Telegram.")
VALID_UNTIL = N_("The invitation can be used once, until {date}.")
ASK = N_("Questions? Ask the person who gave you this paper.")


@dataclass(frozen=True)
class HandoutText:
    locale: str
    rtl: bool
    title: str
    how: str
    valid: str
    ask: str


def handout(expires_at: datetime, zone: str) -> list[HandoutText]:
    texts = []
    for locale in SUPPORTED_LOCALES:
        t = translator(locale, zone)
        texts.append(
            HandoutText(
                locale=locale,
                rtl=t.rtl,
                title=t(TITLE),
                how=t(HOW),
                valid=t(VALID_UNTIL).format(date=t.date(expires_at)),
                ask=t(ASK),
            )
        )
    return texts
