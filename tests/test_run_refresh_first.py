"""The first sheet refresh waits longer for big workbooks (issue #5: writing ≤ 10 % of the run).

Before any write is timed, the refresher guesses the cost from the number of rows and the format:
an XLSX of 10,000 rows takes seconds to rewrite, so refreshing it after 5 s would spend a large
share of a one-minute run rewriting the same sheet.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from hhbatch import workflow


def first_delay(rows: int, suffix: str) -> float:
    batch = SimpleNamespace(
        plan=SimpleNamespace(rows=[None] * rows), output_path=Path("b" + suffix)
    )
    return workflow.Batch._first_refresh_delay(batch)  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".XLSM"])
def test_small_sheets_refresh_after_the_minimum(suffix):
    assert first_delay(20, suffix) == workflow.MIN_REFRESH_SECONDS


def test_a_big_workbook_waits_longer_than_a_big_csv():
    xlsx, csv = first_delay(10_000, ".xlsx"), first_delay(10_000, ".csv")
    assert xlsx > workflow.MIN_REFRESH_SECONDS
    assert xlsx > csv >= workflow.MIN_REFRESH_SECONDS


def test_the_guess_grows_with_the_sheet():
    assert first_delay(100_000, ".xlsx") == pytest.approx(10 * first_delay(10_000, ".xlsx"))
