"""A term statement as a spreadsheet: CSV (UTF-8 with a BOM, so Excel on a Chinese
Windows opens it as UTF-8 rather than GBK) and XLSX (openpyxl).

One table: a header row (Chinese first, then English), a row per session, then a
``合计 total`` row per programme; the session rows leave 学分 empty (credits exist only
per term and year, never per session).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from recorder.certificates.figures import FORMS, PROGRAMMES, TermStatement

HEADERS = (
    "日期 date",
    "研修项目 programme",
    "形式 form",
    "标题 title",
    "会话编号 session id",
    "有效分钟 effective minutes",
    "学时 study hours",
    "学分 credits",
    "积分 points",
    "劳务费（元） pay CNY",
    "未计入说明 notes on minutes not counted",
)
TOTAL = "合计 total"
Cell = str | int | Decimal | None


def rows(statement: TermStatement) -> list[list[Cell]]:
    """The table (header first), typed: minutes and whole 学时/学分 as ints, the
    2-decimal figures as Decimals, an empty cell as None."""
    out: list[list[Cell]] = [list(HEADERS)]
    for line in statement.lines:
        out.append([
            line.date, PROGRAMMES.get(line.programme, line.programme),
            FORMS.get(line.form, line.form), line.title, line.session_id, line.minutes,
            Decimal(line.study_hours) if line.study_hours else None, None,
            Decimal(line.points), Decimal(line.pay_cny), "；".join(line.notes) or None,
        ])
    for total in statement.totals:
        out.append([
            TOTAL, PROGRAMMES.get(total.programme, total.programme),
            f"{total.sessions} 次 sessions", None, None, total.minutes, total.study_hours,
            total.credits, Decimal(total.points), Decimal(total.pay_cny), None,
        ])
    return out


def to_csv(statement: TermStatement) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")  # RFC 4180
    for row in rows(statement):
        writer.writerow("" if cell is None else _guarded(cell) for cell in row)
    return "\ufeff".encode() + text.getvalue().encode("utf-8")


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str | int) -> str | int:
    """A text cell a spreadsheet would run as a formula (a title such as ``=HYPERLINK(…)``,
    typed by whoever made the session) gets a leading apostrophe (OWASP CSV injection).
    The one rule for every CSV and XLSX the server writes."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _guarded(cell: Cell) -> str:
    return str(safe_cell(cell) if isinstance(cell, str | int) else cell)


def to_xlsx(statement: TermStatement) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "学期研修记录 statement"
    holder = statement.holder
    sheet.append([f"{holder.name or holder.person}（{holder.person}）", holder.school,
                  holder.district, f"学期 term {statement.term}"])
    sheet.append([])
    first = sheet.max_row + 1
    for row in rows(statement):
        # openpyxl writes a str beginning with "=" as a formula: the titles are text.
        sheet.append([_guarded(c) if isinstance(c, str) else c for c in row])
    for cell in sheet[first]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in sheet.iter_rows(min_row=first + 1):
        if row[0].value == TOTAL:
            for cell in row:
                cell.font = Font(bold=True)
        for index in (6, 8, 9):  # study hours, points, pay: two decimals
            if isinstance(row[index].value, Decimal):
                row[index].number_format = "0.00"
    for letter, width in zip("ABCDEFGHIJK", (12, 16, 20, 28, 22, 10, 10, 8, 10, 12, 40),
                             strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = sheet.cell(row=first + 1, column=1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
