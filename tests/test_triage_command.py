"""`stegvis triage`: one message per line in, one JSON object per line out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_stegvis_triage_reads_lines_and_prints_one_json_object_per_line() -> None:
    messages = [
        "Hyresvärden säger att vi måste flytta ut",
        "زوجي عم يضربني كل يوم",
        "I want to kill myself",
        "vi lånade böcker på biblioteket",
        "this traffic is killing me",
    ]
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "triage"],
        input="\n".join(messages) + "\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["category"], line["urgent"]) for line in lines] == [
        ("housing", False),
        ("violence", True),
        ("health", True),
        ("none", False),
        ("none", False),
    ]
    assert "يضربني" in lines[1]["terms"]
    assert lines[3]["terms"] == []
    assert all({"category", "urgent", "terms"} <= set(line) for line in lines)
