"""Precision and recall of triage on a labelled set of messages.

The set is a tab-separated file with the columns ``split lang category urgent text``
(``#`` lines are comments, the first other line is the header). Used by the tests and by
``python -m bot.triage --evaluate PATH``, which prints the table as Markdown.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO

from bot.triage import (
    Category,
    Lexicon,
    TriageResult,
    default_lexicon,
    load_lexicon,
    run_triage_cli,
    triage,
)

COLUMNS: Final = ("split", "lang", "category", "urgent", "text")
_BOOLEANS: Final = {"true": True, "false": False}


@dataclass(frozen=True)
class Case:
    split: str
    lang: str
    category: Category
    urgent: bool
    text: str
    line: int


def read_cases(path: Path) -> list[Case]:
    """Read a labelled set; raises ValueError with the line number on a malformed row."""
    cases: list[Case] = []
    header_seen = False
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        fields = raw.split("\t")
        if not header_seen:
            if tuple(fields) != COLUMNS:
                raise ValueError(f"line {number}: header must be {' '.join(COLUMNS)}")
            header_seen = True
            continue
        if len(fields) != len(COLUMNS):
            raise ValueError(f"line {number}: {len(fields)} columns, expected {len(COLUMNS)}")
        split, lang, category, urgent, text = fields
        if urgent not in _BOOLEANS:
            raise ValueError(f"line {number}: urgent must be true or false, not {urgent!r}")
        try:
            label = Category(category)
        except ValueError:
            raise ValueError(f"line {number}: unknown category {category!r}") from None
        cases.append(Case(split, lang, label, _BOOLEANS[urgent], text, number))
    return cases


@dataclass(frozen=True)
class Score:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def support(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.support if self.support else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Outcome:
    case: Case
    result: TriageResult

    @property
    def category_right(self) -> bool:
        return self.result.category == self.case.category

    @property
    def urgent_right(self) -> bool:
        return self.result.urgent == self.case.urgent


@dataclass(frozen=True)
class Report:
    name: str
    outcomes: tuple[Outcome, ...]

    def category(self, category: Category) -> Score:
        return _score(
            (o.case.category == category, o.result.category == category) for o in self.outcomes
        )

    def urgent(self) -> Score:
        return _score((o.case.urgent, o.result.urgent) for o in self.outcomes)

    def accuracy(self) -> float:
        if not self.outcomes:
            return 1.0
        return sum(o.category_right for o in self.outcomes) / len(self.outcomes)

    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if not (o.category_right and o.urgent_right)]


def _score(pairs: Iterable[tuple[bool, bool]]) -> Score:
    tp = fp = fn = 0
    for expected, got in pairs:
        tp += expected and got
        fp += got and not expected
        fn += expected and not got
    return Score(tp, fp, fn)


def evaluate(cases: Sequence[Case], lexicon: Lexicon | None = None, name: str = "all") -> Report:
    lex = default_lexicon() if lexicon is None else lexicon
    return Report(name, tuple(Outcome(case, triage(case.text, lex)) for case in cases))


def reports_by_split(cases: Sequence[Case], lexicon: Lexicon | None = None) -> list[Report]:
    """One report per split (in the order they first appear), then one for all cases."""
    splits = list(dict.fromkeys(case.split for case in cases))
    reports = [evaluate([c for c in cases if c.split == s], lexicon, s) for s in splits]
    if len(splits) > 1:
        reports.append(evaluate(cases, lexicon, "all"))
    return reports


def markdown(reports: Sequence[Report]) -> str:
    """Precision / recall / F1 per category and for urgent, one column group per report."""
    head = "| label | " + " | ".join(f"{r.name} P | {r.name} R | {r.name} F1 | n" for r in reports)
    rule = "|---|" + "---:|---:|---:|---:|" * len(reports)
    lines = [head + " |", rule]
    rows: list[tuple[str, list[Score]]] = [
        (category.value, [r.category(category) for r in reports]) for category in Category
    ]
    rows.append(("**urgent**", [r.urgent() for r in reports]))
    for label, scores in rows:
        cells = " | ".join(
            f"{s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.support}" for s in scores
        )
        lines.append(f"| {label} | {cells} |")
    accuracy = " | ".join(f"{r.accuracy():.3f} | | | {len(r.outcomes)}" for r in reports)
    lines.append(f"| category accuracy | {accuracy} |")
    return "\n".join(lines) + "\n"


def write_errors(reports: Sequence[Report], out: TextIO) -> None:
    for report in reports:
        if report.name == "all":
            continue
        for o in report.errors():
            got = f"{o.result.category.value}{' URGENT' if o.result.urgent else ''}"
            want = f"{o.case.category.value}{' URGENT' if o.case.urgent else ''}"
            out.write(
                f"{report.name}:{o.case.line}\t[{o.case.lang}] want {want}, got {got}"
                f" {list(o.result.terms)}\t{o.case.text}\n"
            )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bot.triage``: triage standard input, or ``--evaluate PATH``."""
    parser = argparse.ArgumentParser(prog="python -m bot.triage", description=__doc__)
    parser.add_argument("--evaluate", type=Path, metavar="PATH", help="labelled TSV file")
    parser.add_argument("--lexicon", type=Path, metavar="DIR", help="word-list directory")
    parser.add_argument("--errors", action="store_true", help="also list the misjudged cases")
    args = parser.parse_args(argv)
    lexicon = load_lexicon(args.lexicon) if args.lexicon else None
    if args.evaluate is None:
        return run_triage_cli(sys.stdin, sys.stdout, lexicon)
    reports = reports_by_split(read_cases(args.evaluate), lexicon)
    sys.stdout.write(markdown(reports))
    if args.errors:
        sys.stdout.write("\n")
        write_errors(reports, sys.stdout)
    return 0
