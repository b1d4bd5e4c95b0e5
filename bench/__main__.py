"""`python -m bench [NAME ...]`: run the named benchmarks (all when none is named).

Each benchmark is a module in this package with `main(argv) -> None`; add yours to
BENCHMARKS.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "outbox": "bench.outbox",
}


def main(argv: list[str]) -> None:
    names = [arg for arg in argv if not arg.startswith("-")][:1] or list(BENCHMARKS)
    options = [arg for arg in argv if arg.startswith("-") or arg not in BENCHMARKS]
    for name in names:
        if name not in BENCHMARKS:
            sys.exit(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
        importlib.import_module(BENCHMARKS[name]).main(options)


if __name__ == "__main__":
    main(sys.argv[1:])
