"""The ESF report as files: CSV (one table each) and XLSX (both tables, one sheet each).

Spreadsheet programs run a cell that starts with = + - @ as a formula, and cohort names
are typed by people; such cells are written with a leading apostrophe so they stay text
(OWASP's advice on CSV injection). Swedish Excel reads semicolons and a UTF-8 byte-order
mark; English gets commas. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font

from bot.domain.esf import Report
from bot.web import labels
from bot.web.i18n import N_, WebText

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int

SUMMARY_HEADER = (
    N_("Group"),
    N_("Gender"),
    N_("Taking part before the period"),
    N_("Joined in the period"),
    N_("Taking part in the period, in all"),
)
PARTICIPANTS_HEADER = (
    N_("Participant id"),
    N_("Group"),
    N_("Gender"),
    N_("Joined"),
    N_("Status"),
    N_("Reason for ending"),
)


def safe(value: Cell) -> Cell:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def summary_rows(report: Report, t: WebText) -> list[list[Cell]]:
    rows: list[list[Cell]] = [[t(title) for title in SUMMARY_HEADER]]
    for row in report.summary:
        rows.append(
            [
                safe(row.cohort),
                t(labels.GENDER[row.gender]),
                row.joined_before,
                row.joined_in_period,
                row.total,
            ]
        )
    totals = [sum(int(r[i]) for r in rows[1:]) for i in (2, 3, 4)]
    rows.append([t("All groups"), "", *totals])
    return rows


def participant_rows(report: Report, t: WebText) -> list[list[Cell]]:
    rows: list[list[Cell]] = [[t(title) for title in PARTICIPANTS_HEADER]]
    for row in report.participants:
        rows.append(
            [
                row.public_id,
                safe(row.cohort),
                t(labels.GENDER[row.gender]),
                row.joined.isoformat(),
                t(labels.STATUS[row.status]),
                safe(row.ended_reason),
            ]
        )
    return rows


def to_csv(rows: Sequence[Sequence[Cell]], language: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if language == "sv" else ",", lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(report: Report, t: WebText) -> bytes:
    book = Workbook()
    sheets = [
        (t("Summary"), summary_rows(report, t)),
        (t("Participants"), participant_rows(report, t)),
    ]
    first = book.active
    assert first is not None
    book.remove(first)
    for title, rows in sheets:
        sheet = book.create_sheet(title[:31])
        for row in rows:
            sheet.append(list(row))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for column in sheet.columns:
            width = max(len(str(cell.value or "")) for cell in column)
            letter = column[0].column_letter
            sheet.column_dimensions[letter].width = min(45, max(10, width + 2))
    book.properties.creator = "Stegvis"
    book.properties.title = t("ESF report {period}").format(period=report.period.label)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
