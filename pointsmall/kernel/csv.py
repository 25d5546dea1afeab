"""CSV cells a spreadsheet will not run: the one guard every CSV export uses (OWASP "CSV
injection"). Exports: the operators' dashboard (pointsmall.dashboard.views), the orders export
(catalog.admin.orders) and the lottery's reports (lottery.admin). And the bounds every CSV import
checks before it reads a row (docs/decisions/0054): the purchases and the codes imports."""

from __future__ import annotations

import csv
import io
import unicodedata

# A cell whose first visible character is one of these is read as a formula by Excel, LibreOffice
# or Google Sheets (a tab or a carriage return at the very start is, too).
FORMULA_STARTS = frozenset("=+-@")
RAW_STARTS = frozenset("\t\r")


def _first_visible(text: str) -> str:
    """The first character of ``text`` that is not whitespace, a control or a format character
    (zero-width space, BOM, direction marks), folded to its plain form (NFKC: "＝" is "="); ""
    when there is none."""
    for ch in text:
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp"):
            continue
        return unicodedata.normalize("NFKC", ch)[:1]
    return ""


def csv_cell(value: object) -> object:
    """``value`` unchanged, except a text a spreadsheet could run as a formula, which gets a leading
    ``'``: one starting with a tab or a return, or whose first visible character (after leading
    spaces, line breaks, control or invisible characters) is = + - or @, in plain or full width.
    Numbers stay numbers: pass ``-5`` as an int, not as "-5". Pure."""
    if isinstance(value, str) and value and (value[0] in RAW_STARTS or _first_visible(value) in FORMULA_STARTS):
        return "'" + value
    return value


def csv_data_rows(text: str, *, header: bool) -> int:
    """How many records of ``text`` (a CSV, the ``csv`` module's dialect) have a non-blank cell,
    less the first one when ``header``. A quoted cell may span lines: this counts records, not
    lines. Raises ``csv.Error`` for text the module cannot read, e.g. a cell longer than
    ``csv.field_size_limit()`` (128 KiB): check before importing, so such a file is refused
    with a message instead of failing halfway. Pure."""
    rows = sum(1 for record in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in record))
    if header and rows:
        rows -= 1
    return rows


def csv_size_text(limit: int) -> str:
    """A byte limit as the CSV imports' messages say it: ``2097152`` → "2 MB" (binary megabytes,
    at most two decimals)."""
    return f"{limit / (1024 * 1024):.2f}".rstrip("0").rstrip(".") + " MB"
