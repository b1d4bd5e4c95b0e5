"""A local Telegram Bot API emulator with a web chat page, for trying the bot without a token.

async with run_emulator(token=TOKEN) as emu:
    bot = telegram.Bot(TOKEN, base_url=emu.bot_api_url, base_file_url=emu.file_url)
    await emu.client.send_command(user_id, "start", "CODE")
"""

from bot.sandbox.client import ChatMessage, SandboxClient, SandboxError, SandboxUser
from bot.sandbox.emulator import Emulator, build_app, run_emulator
from bot.sandbox.state import DEFAULT_TOKEN, EmulatorState, Persona, RateLimits

__all__ = [
    "DEFAULT_TOKEN",
    "ChatMessage",
    "Emulator",
    "EmulatorState",
    "Persona",
    "RateLimits",
    "SandboxClient",
    "SandboxError",
    "SandboxUser",
    "build_app",
    "run_emulator",
]
