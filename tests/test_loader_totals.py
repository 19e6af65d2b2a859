"""What the formula scan calls a totals line, and headers in Traditional Chinese.

The run-level proofs are in ``test_formulas_totals.py``; these pin the edges: which formulas
aggregate a column (a range over rows, a table column; not one row, not ``[@…]``), a shared
formula's followers, a side table's Total Row that is not beside the data, the Skip column and
the "no header row found" sentence.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from hhbatch.errors import ManifestError
from hhbatch.loader import load_manifest
from hhbatch.loader.formulas import is_aggregate, scan


@pytest.mark.parametrize(
    "formula",
    [
        "SUM(B2:B3)",
        "SUBTOTAL(109,[Duration (s)])",
        "SUM(Vids[Duration (s)])",
        "_xlfn.AGGREGATE(9,4,$B$2:$B$40)",
        "average(B:B)",
        'COUNTIF(C2:C9,"ready")&" done"',
        "MAX(Vids[[#Data],[Duration (s)]])",
    ],
)
def test_aggregates_of_a_column(formula: str) -> None:
    assert is_aggregate(formula)


@pytest.mark.parametrize(
    "formula",
    [
        "SUM(C2:D2)",  # one row: a row's own arithmetic
        "D2+2",
        'C2&" at sunset"',
        "SUM(Vids[@[Duration (s)]])",
        "SUM(Vids[[#This Row],[A]:[B]])",
        'UPPER("SUM(B2:B3)")',  # in a string
        "MAX(3,MIN(12,C2))",
        "VLOOKUP(C2,Sheet2!A:B,2,FALSE)",
    ],
)
def test_not_aggregates_of_a_column(formula: str) -> None:
    assert not is_aggregate(formula)


def _book(path: Path) -> tuple[xlsxwriter.Workbook, object]:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Videos")
    sheet.write_row(0, 0, ["Prompt", "Duration (s)", "Notes"])
    sheet.write_row(1, 0, ["A chestnut horse runs along the beach", 4])
    sheet.write_row(2, 0, ["A grey horse runs along the beach", 5])
    return book, sheet


def test_a_shared_formulas_followers_are_totals_too(tmp_path: Path) -> None:
    """Excel writes a formula filled right as one shared formula (``t="shared"``): the
    followers carry no text of their own."""
    path = tmp_path / "shared.xlsx"
    book, sheet = _book(path)
    sheet.write(4, 0, "Totals")
    sheet.write_formula(4, 1, "=SUM(B2:B3)")
    book.close()
    with zipfile.ZipFile(path) as archive:
        parts = [(i, archive.read(i)) for i in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in parts:
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b'<c r="B5"><f>SUM(B2:B3)</f><v>0</v></c>',
                    b'<c r="B5"><f t="shared" ref="B5:C5" si="0">SUM(B2:B3)</f><v>9</v></c>'
                    b'<c r="C5"><f t="shared" si="0"/><v>0</v></c>',
                )
                assert b'si="0"/>' in data
            archive.writestr(info, data)
    cells = {c.ref: c for c in scan(path, "Videos").cells}
    assert cells["C5"].aggregate and cells["C5"].text == "SUM(B2:B3)"


def test_a_side_tables_total_row_beside_the_data_keeps_the_data_row(tmp_path: Path) -> None:
    """A table in the user's own columns (F:G) with a Total Row on row 3: row 3 of the data
    (A:C) is still a video."""
    path = tmp_path / "side.xlsx"
    book, sheet = _book(path)
    sheet.add_table(
        0,
        5,
        2,
        6,
        {
            "name": "Costs",
            "total_row": True,
            "columns": [{"header": "Item", "total_string": "Total"}, {"header": "Cost"}],
            "data": [["music", 10]],
        },
    )
    book.close()
    assert scan(path, "Videos").table_totals == [(6, 7, 3)]
    manifest = load_manifest(path)
    assert [r.sheet_row for r in manifest.rows] == [2, 3]
    assert manifest.valid


def test_a_totals_line_in_a_users_own_column_is_not_ours(tmp_path: Path) -> None:
    path = tmp_path / "notes_total.xlsx"
    book, sheet = _book(path)
    sheet.write_formula(1, 2, "=SUM(B2:B3)")  # Notes: not a column hhbatch reads
    book.close()
    manifest = load_manifest(path)
    assert manifest.valid and len(manifest.rows) == 2


def test_traditional_skip_header_and_no_words(tmp_path: Path) -> None:
    path = tmp_path / "tw.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["提示詞", "時長（秒）", "解析度", "跳過"])
        writer.writerow(["一匹棕色的馬在海灘上奔跑", 6, "1080p", "示例"])
        writer.writerow(["夕陽下的海灘，海浪輕輕拍打沙灘", 5, "720p", "不跳過"])
    manifest = load_manifest(path)
    assert [r.skip for r in manifest.rows] == ["示例", None]
    assert manifest.rows[1].request["resolution"] == "720p"
    assert manifest.language == "zh"


def test_a_header_row_of_unknown_names_is_named(tmp_path: Path) -> None:
    path = tmp_path / "fr.csv"
    path.write_text("Texte,Durée,Remarque\nun cheval court sur la plage,6,x\n", encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert 'row 1 looks like headers ("Texte", "Durée", "Remarque")' in message
    assert "aliases:" in message
