"""`python -m bench._profiled OUT ARGS...`: `stegvis ARGS...` with cProfile switched on by
SIGUSR1 and off by SIGUSR2, the profile written to OUT when the process ends; so a
profile covers what was measured, not the start-up."""

from __future__ import annotations

import atexit
import cProfile
import signal
import sys
from types import FrameType

from bot.cli import main as stegvis


def main(argv: list[str]) -> None:
    out, *args = argv
    profiler = cProfile.Profile()

    def switch_on(_signum: int, _frame: FrameType | None) -> None:
        profiler.enable()

    def switch_off(_signum: int, _frame: FrameType | None) -> None:
        profiler.disable()

    signal.signal(signal.SIGUSR1, switch_on)
    signal.signal(signal.SIGUSR2, switch_off)
    atexit.register(profiler.dump_stats, out)
    sys.argv = ["stegvis", *args]
    stegvis()


if __name__ == "__main__":
    main(sys.argv[1:])
