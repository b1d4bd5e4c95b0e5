"""Triage against the labelled messages of tests/data/triage_cases.tsv, and the command
line (one message per line in, one JSON object per line out).

The set has two parts: ``holdout`` was written before any word list existed, ``dev``
while the lists were written. The floors below are what the shipped lists reach, a
little rounded down; urgent recall must stay perfect on both parts.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.triage import Category, run_triage_cli, triage
from bot.triage_eval import (
    Case,
    Report,
    Score,
    evaluate,
    main,
    markdown,
    read_cases,
    reports_by_split,
)

ROOT = Path(__file__).resolve().parent.parent
CASES_PATH = ROOT / "tests" / "data" / "triage_cases.tsv"

# (precision, recall) floors per category and for urgent; urgent recall is always 1.0.
FLOORS: dict[str, dict[str, tuple[float, float]]] = {
    "dev": {
        "housing": (0.97, 0.97),
        "debt": (0.95, 0.97),
        "violence": (0.97, 0.97),
        "health": (0.97, 0.97),
        "none": (0.97, 0.95),
        "urgent": (0.97, 1.0),
    },
    "holdout": {
        "housing": (0.95, 0.85),
        "debt": (0.90, 0.95),
        "violence": (0.90, 0.95),
        "health": (0.95, 0.95),
        "none": (0.95, 0.93),
        "urgent": (0.92, 1.0),
    },
}
ACCURACY_FLOORS = {"dev": 0.98, "holdout": 0.96}


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return read_cases(CASES_PATH)


@pytest.fixture(scope="module")
def reports(cases: list[Case]) -> dict[str, Report]:
    return {report.name: report for report in reports_by_split(cases)}


# --- the labelled set itself ------------------------------------------------------


def test_the_set_is_large_and_varied(cases: list[Case]) -> None:
    assert len(cases) >= 400
    for split in ("dev", "holdout"):
        part = [c for c in cases if c.split == split]
        assert {c.category for c in part} == set(Category)
        assert {c.lang for c in part} >= {"sv", "ar", "ar-latn", "en", "mixed"}
        assert sum(c.urgent for c in part) >= 40
        assert sum(c.category is Category.NONE for c in part) >= 40
    assert {c.split for c in cases} == {"dev", "holdout"}


def test_no_message_is_in_the_set_twice(cases: list[Case]) -> None:
    counts = Counter(c.text.strip().casefold() for c in cases)
    assert [text for text, n in counts.items() if n > 1] == []


def test_only_violence_and_health_are_urgent(cases: list[Case]) -> None:
    assert {c.category for c in cases if c.urgent} == {Category.VIOLENCE, Category.HEALTH}


# --- the figures ----------------------------------------------------------------------


@pytest.mark.parametrize("split", ["dev", "holdout"])
def test_precision_and_recall_floors(reports: dict[str, Report], split: str) -> None:
    report = reports[split]
    scores: dict[str, Score] = {c.value: report.category(c) for c in Category}
    scores["urgent"] = report.urgent()
    below = {
        label: (round(s.precision, 3), round(s.recall, 3))
        for label, s in scores.items()
        if s.precision < FLOORS[split][label][0] or s.recall < FLOORS[split][label][1]
    }
    assert below == {}, f"{split} below its floors: {below}"
    assert report.accuracy() >= ACCURACY_FLOORS[split]


def test_no_urgent_message_is_missed(reports: dict[str, Report]) -> None:
    missed = [o.case.text for o in reports["all"].outcomes if o.case.urgent and not o.result.urgent]
    assert missed == []


def test_scores_count_right() -> None:
    score = Score(true_positives=8, false_positives=2, false_negatives=0)
    assert (score.precision, score.recall, score.support) == (0.8, 1.0, 8)
    assert Score(0, 0, 0).precision == 1.0
    assert Score(0, 0, 0).recall == 1.0
    assert Score(0, 3, 3).f1 == 0.0


def test_markdown_table(cases: list[Case]) -> None:
    table = markdown(reports_by_split(cases[:20]))
    lines = table.splitlines()
    assert lines[0].startswith("| label | holdout P | holdout R | holdout F1 | n |")
    assert [line.split("|")[1].strip() for line in lines[2:]] == [
        "housing",
        "debt",
        "violence",
        "health",
        "none",
        "**urgent**",
        "category accuracy",
    ]


def test_malformed_rows_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "cases.tsv"
    path.write_text("# note\nsplit\tlang\tcategory\turgent\ttext\ndev\tsv\tmoney\tfalse\thej\n")
    with pytest.raises(ValueError, match="line 3: unknown category 'money'"):
        read_cases(path)
    path.write_text("split\tlang\tcategory\turgent\ttext\ndev\tsv\tnone\tmaybe\thej\n")
    with pytest.raises(ValueError, match="line 2: urgent must be true or false"):
        read_cases(path)
    path.write_text("split\tlang\tcategory\ttext\n")
    with pytest.raises(ValueError, match="line 1: header"):
        read_cases(path)


def test_evaluate_compares_labels_with_results() -> None:
    case = Case("dev", "sv", Category.VIOLENCE, True, "han slår mig", 1)
    wrong = Case("dev", "sv", Category.DEBT, False, "han slår mig", 2)
    report = evaluate([case, wrong])
    assert report.accuracy() == 0.5
    assert report.category(Category.VIOLENCE) == Score(1, 1, 0)
    assert report.urgent() == Score(1, 1, 0)
    assert [o.case for o in report.errors()] == [wrong]


# --- command line -------------------------------------------------------------------

MESSAGES = [
    "min man slår mig",
    "",
    "عندي ديون كتير للكرونوفوغدن",
    "I could kill for a coffee",
    "bdi mout\r",
]


def _expected(line: str) -> dict[str, object]:
    return triage(line.rstrip("\r")).as_json()


def test_cli_on_text_streams() -> None:
    stdin = io.StringIO("\n".join(MESSAGES) + "\n")
    stdout = io.StringIO()
    assert run_triage_cli(stdin, stdout) == 0
    lines = stdout.getvalue().splitlines()
    assert len(lines) == len(MESSAGES)
    objects = [json.loads(line) for line in lines]
    assert objects == [_expected(m) for m in MESSAGES]
    assert objects[0] == {
        "category": "violence",
        "urgent": True,
        "terms": ["slår mig"],
        "also": [],
    }
    assert objects[1] == {"category": "none", "urgent": False, "terms": [], "also": []}
    assert objects[2]["category"] == "debt"
    assert "كرونوفوغدن" in lines[2]  # Arabic is written as it is, not as \\u escapes
    assert objects[3]["category"] == "none"
    assert objects[4]["urgent"] is True


def test_cli_without_final_newline() -> None:
    stdout = io.StringIO()
    run_triage_cli(io.StringIO("jag vill dö"), stdout)
    assert json.loads(stdout.getvalue())["urgent"] is True


def test_module_reads_standard_input() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.triage"],
        input="\n".join(MESSAGES) + "\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        check=True,
    )
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        _expected(m) for m in MESSAGES
    ]


def test_module_evaluates_a_file(tmp_path: Path) -> None:
    path = tmp_path / "cases.tsv"
    path.write_text(
        "split\tlang\tcategory\turgent\ttext\n"
        "dev\tsv\tviolence\ttrue\than slår mig\n"
        "dev\ten\tnone\tfalse\tthis traffic is killing me\n"
        "dev\ten\tdebt\tfalse\thello\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot.triage", "--evaluate", str(path), "--errors"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        check=True,
    )
    assert "| violence | 1.000 | 1.000 | 1.000 | 1 |" in done.stdout
    assert "| category accuracy | 0.667 | | | 3 |" in done.stdout
    assert "want debt, got none" in done.stdout


def test_main_with_own_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "sv.toml").write_text('language = "sv"\n[debt]\nterms = ["pengar"]\n')
    cases_path = tmp_path / "cases.tsv"
    cases_path.write_text("split\tlang\tcategory\turgent\ttext\ndev\tsv\tdebt\tfalse\tpengar\n")
    assert main(["--evaluate", str(cases_path), "--lexicon", str(lists)]) == 0
    assert "| debt | 1.000 | 1.000 | 1.000 | 1 |" in capsys.readouterr().out
