"""Run the emulator on its own: ``python -m bot.sandbox [--port 8081] [--token T]``.

Point the bot at the printed Bot API URL, open the web chat page, and talk to it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from bot.sandbox.emulator import run_emulator
from bot.sandbox.state import DEFAULT_TOKEN, Persona, RateLimits

DEFAULT_PERSONAS = (
    Persona(1001, "Amina", language_code="ar", role="Participant"),
    Persona(1002, "Sara", language_code="sv", role="Participant"),
    Persona(1003, "John", language_code="en", role="Participant"),
    Persona(2001, "Erik", language_code="sv", role="Mentor"),
)


async def serve(host: str, port: int, token: str, limits: RateLimits | None) -> None:
    async with run_emulator(
        token, host=host, port=port, personas=DEFAULT_PERSONAS, rate_limits=limits
    ) as emulator:
        print(f"Web chat:    {emulator.base_url}/")
        print(f"Bot API URL: {emulator.bot_api_url}  (token {token})")
        print(f"File URL:    {emulator.file_url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument(
        "--telegram-limits",
        action="store_true",
        help="answer 429 above 30 messages/s overall or 1 message/s per chat",
    )
    args = parser.parse_args()
    limits = RateLimits(per_second=30, per_chat_per_second=1) if args.telegram_limits else None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.token, limits))


if __name__ == "__main__":
    main()
