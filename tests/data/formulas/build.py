"""Builds the workbooks of this folder: formulas and totals as XlsxWriter and Excel save them.

Run from the repository root: ``python tests/data/formulas/build.py`` (needs xlsxwriter, a test
dependency; LibreOffice for ``formulas_libreoffice.xlsx``, kept as committed when missing).

XlsxWriter saves every formula's result as 0 (``<v>0</v>``) and ``<calcPr
fullCalcOnLoad="1"/>`` in ``xl/workbook.xml`` so that Excel calculates on open; openpyxl does
the same with no result at all. Excel saves the results it calculated and drops the flag. So:

- ``table_totals_row.xlsx``: an Excel table ``Vids`` (A1:B4) with a Total Row (``Totals``,
  ``SUBTOTAL(109,[Duration (s)])``), its result set to 9 as Excel saves it (``<v>0</v>`` →
  ``<v>9</v>``); the flag as XlsxWriter left it.
- ``totals_line_table.xlsx``: the table without a Total Row and a line under it, A5 ``Total
  seconds``, B5 ``=SUM(Vids[Duration (s)])`` = 9, as Excel saves it (result 9, no flag).
- ``totals_line_range.xlsx``: no table; A5 ``Total seconds``, B5 ``=SUM(B2:B3)`` = 9 patched,
  the flag as XlsxWriter left it.
- ``formulas_xlsxwriter.xlsx``: ``A horse formula test row``, 5, ``=0.5+0.2`` (CFG scale),
  ``=UPPER("cinematic")`` (Style), exactly as XlsxWriter writes it (results 0).
- ``formulas_prompt_xlsxwriter.xlsx``: Prompt ``=C2&" at sunset"`` and Duration ``=D2+2`` over
  the user's own columns Subject and Base seconds, as XlsxWriter writes it.
- ``formulas_excel.xlsx``: ``formulas_xlsxwriter.xlsx`` as Excel saves it: results 0.7 and
  ``CINEMATIC`` (``t="str"``), no flag.
- ``formulas_libreoffice.xlsx``: ``formulas_xlsxwriter.xlsx`` opened in LibreOffice set to
  recalculate Excel files on load, and saved as .xlsx (``soffice --headless --convert-to
  xlsx``): results calculated, no flag.
- ``traditional.xlsx`` (XlsxWriter) and ``traditional_big5.csv`` (cp950, CRLF, as Excel on
  Traditional-Chinese Windows saves "CSV"): headers ``提示詞,時長（秒）,備註``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
SHEET = "xl/worksheets/sheet1.xml"
TABLE_ROWS = [["Horse one running fast", 4], ["Horse two running fast", 5]]
TRADITIONAL = [
    ["提示詞", "時長（秒）", "備註"],
    ["一匹棕色的馬在海灘上奔跑，夕陽西下", 6, "新品上市"],
    ["夕陽下的海灘，海浪輕輕拍打沙灘", 5, "夏季活動"],
]


def _patch(path: Path, edits: list[tuple[bytes, bytes]], *, as_excel: bool) -> None:
    """Each edit made once in the sheet part; ``as_excel``: the recalculation flag dropped."""
    with zipfile.ZipFile(path) as archive:
        parts = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in parts:
            if info.filename == SHEET:
                for old, new in edits:
                    assert data.count(old) == 1, old
                    data = data.replace(old, new)
            if info.filename == "xl/workbook.xml" and as_excel:
                assert b' fullCalcOnLoad="1"' in data
                data = data.replace(b' fullCalcOnLoad="1"', b"")
            archive.writestr(info, data)


def _book(path: Path) -> tuple[xlsxwriter.Workbook, object]:
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": __import__("datetime").datetime(2026, 11, 30)})
    return book, book.add_worksheet("Videos")


def table_totals_row(path: Path) -> None:
    book, sheet = _book(path)
    sheet.add_table(
        0,
        0,
        3,
        1,
        {
            "name": "Vids",
            "total_row": True,
            "columns": [
                {"header": "Prompt", "total_string": "Totals"},
                {"header": "Duration (s)", "total_function": "sum"},
            ],
            "data": TABLE_ROWS,
        },
    )
    book.close()
    _patch(
        path,
        [
            (
                b"<f>SUBTOTAL(109,[Duration (s)])</f><v>0</v>",
                b"<f>SUBTOTAL(109,[Duration (s)])</f><v>9</v>",
            )
        ],
        as_excel=False,
    )


def totals_line_table(path: Path) -> None:
    book, sheet = _book(path)
    sheet.add_table(
        0,
        0,
        2,
        1,
        {
            "name": "Vids",
            "columns": [{"header": "Prompt"}, {"header": "Duration (s)"}],
            "data": TABLE_ROWS,
        },
    )
    sheet.write(4, 0, "Total seconds")
    sheet.write_formula(4, 1, "=SUM(Vids[Duration (s)])")
    book.close()
    _patch(
        path,
        [(b"<f>SUM(Vids[Duration (s)])</f><v>0</v>", b"<f>SUM(Vids[Duration (s)])</f><v>9</v>")],
        as_excel=True,
    )


def totals_line_range(path: Path) -> None:
    book, sheet = _book(path)
    sheet.write_row(0, 0, ["Prompt", "Duration (s)"])
    for index, row in enumerate(TABLE_ROWS, start=1):
        sheet.write_row(index, 0, row)
    sheet.write(4, 0, "Total seconds")
    sheet.write_formula(4, 1, "=SUM(B2:B3)")
    book.close()
    _patch(path, [(b"<f>SUM(B2:B3)</f><v>0</v>", b"<f>SUM(B2:B3)</f><v>9</v>")], as_excel=False)


def formulas_xlsxwriter(path: Path) -> None:
    book, sheet = _book(path)
    sheet.write_row(0, 0, ["Prompt", "Duration (s)", "CFG scale", "Style"])
    sheet.write_row(1, 0, ["A horse formula test row", 5])
    sheet.write_formula(1, 2, "=0.5+0.2")
    sheet.write_formula(1, 3, '=UPPER("cinematic")')
    book.close()


def formulas_prompt_xlsxwriter(path: Path) -> None:
    book, sheet = _book(path)
    sheet.write_row(0, 0, ["Prompt", "Duration (s)", "Subject", "Base seconds"])
    sheet.write_formula(1, 0, '=C2&" at sunset"')
    sheet.write_formula(1, 1, "=D2+2")
    sheet.write_row(1, 2, ["A chestnut horse gallops along the beach", 4])
    book.close()


def formulas_excel(path: Path) -> None:
    formulas_xlsxwriter(path)
    _patch(
        path,
        [
            (b"<f>0.5+0.2</f><v>0</v>", b"<f>0.5+0.2</f><v>0.7</v>"),
            (
                b'<c r="D2"><f>UPPER("cinematic")</f><v>0</v>',
                b'<c r="D2" t="str"><f>UPPER("cinematic")</f><v>CINEMATIC</v>',
            ),
        ],
        as_excel=True,
    )


def formulas_libreoffice(path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        print(f"soffice not installed: {path.name} kept as committed")
        return
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "source" / path.name
        source.parent.mkdir()
        formulas_xlsxwriter(source)
        # What a user does to see the results: Tools > Options > Calc > Formula, "Recalculation on
        # file load", Excel 2007 and newer: Always (LibreOffice's default, "Never", keeps the 0s
        # XlsxWriter saved, and drops the flag that said they are not results).
        user = Path(work) / "profile" / "user"
        user.mkdir(parents=True)
        (user / "registrymodifications.xcu").write_text(_RECALC_ALWAYS, encoding="utf-8")
        out = Path(work) / "out"
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{work}/profile",
                "--headless",
                "--convert-to",
                "xlsx:Calc MS Excel 2007 XML",
                "--outdir",
                str(out),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        shutil.copyfile(out / path.name, path)


_RECALC_ALWAYS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    '<item oor:path="/org.openoffice.Office.Calc/Formula/Load">'
    '<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>\n'
    "</oor:items>\n"
)


def traditional(path: Path) -> None:
    book, sheet = _book(path)
    for index, row in enumerate(TRADITIONAL):
        sheet.write_row(index, 0, row)
    book.close()


def traditional_big5(path: Path) -> None:
    text = "".join(",".join(str(cell) for cell in row) + "\r\n" for row in TRADITIONAL)
    path.write_bytes(text.encode("cp950"))


BUILDERS = {
    "table_totals_row.xlsx": table_totals_row,
    "totals_line_table.xlsx": totals_line_table,
    "totals_line_range.xlsx": totals_line_range,
    "formulas_xlsxwriter.xlsx": formulas_xlsxwriter,
    "formulas_prompt_xlsxwriter.xlsx": formulas_prompt_xlsxwriter,
    "formulas_excel.xlsx": formulas_excel,
    "formulas_libreoffice.xlsx": formulas_libreoffice,
    "traditional.xlsx": traditional,
    "traditional_big5.csv": traditional_big5,
}


def main() -> None:
    for name, build in BUILDERS.items():
        build(HERE / name)


if __name__ == "__main__":
    main()
