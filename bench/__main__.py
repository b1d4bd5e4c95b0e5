"""`python -m bench [NAME [options]]`: run the benchmark module `bench/NAME.py`, or every
benchmark in turn when no name is given (`make bench`).

Modules are found by name, so adding a benchmark needs no change here.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    return sorted(
        module.name
        for module in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not module.name.startswith("_")
    )


def run(name: str, options: list[str]) -> int:
    result = importlib.import_module(f"bench.{name}").main(options)
    return int(result or 0)


def main(argv: list[str]) -> int:
    names = available()
    if not argv:
        return max((run(name, []) for name in names), default=0)
    if argv[0] not in names:
        print(f"usage: python -m bench [{'|'.join(names)}] [options]", file=sys.stderr)
        return 2
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
