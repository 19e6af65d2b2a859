"""Totals and formulas as XlsxWriter, Excel and LibreOffice save them, run against the sandbox.

Every data row is a paid video, so: an Excel table's Total Row is no row at all (not sent, not
written to); a line that totals a column is refused before anything is sent, naming the cell; a
workbook that says its saved results are not results (``fullCalcOnLoad``: XlsxWriter and
openpyxl save 0 for every formula) is refused like one without results, in the columns hhbatch
reads; a workbook Excel or LibreOffice calculated is sent as calculated, and its results sheet
is read the same way on a rerun. The workbooks are in ``tests/data/formulas/`` (see its
``build.py``).
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from runhelpers import describe, run_to_end
from runkit import Cli, creates, prompts_created

from hhbatch.cli import exitcodes
from hhbatch.loader import load_manifest
from hhbatch.loader.formulas import scan
from hhbatch.marks import CALC_MARK
from hhbatch.sandbox import Sandbox
from hhbatch.workflow import default_output_path

DATA = Path(__file__).resolve().parent / "data" / "formulas"
TABLE_PROMPTS = ["Horse one running fast", "Horse two running fast"]


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def _copy(name: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(DATA / name, folder / name))


def _workbook_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/workbook.xml").decode("utf-8")


def test_a_tables_total_row_is_neither_sent_nor_written(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = _copy("table_totals_row.xlsx", tmp_path)
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert sorted(prompts_created(sandbox)) == TABLE_PROMPTS
    assert "Totals" not in result.out + result.err
    results = default_output_path(manifest)
    book = openpyxl.load_workbook(results)
    sheet = book["Videos"]
    headers = [c.value for c in sheet[1]]
    status = headers.index("status") + 1
    assert [sheet.cell(r, status).value for r in (2, 3)] == ["ready", "ready"]
    # the totals row as the user left it: label, formula, nothing of ours
    assert sheet["A4"].value == "Totals"
    assert sheet["B4"].value == "=SUBTOTAL(109,[Duration (s)])"
    assert all(sheet.cell(4, c).value is None for c in range(3, sheet.max_column + 1))
    table = sheet.tables["Vids"]
    assert table.totalsRowCount == 1 and table.ref.endswith("4")
    assert table.autoFilter.ref.endswith("3")  # the filter still stops above the Total Row
    # rerun (the same command, then on the results sheet): nothing more is created
    assert cli.run(manifest).code == exitcodes.OK
    assert cli.run(results).code == exitcodes.OK
    assert creates(sandbox) == 2


@pytest.mark.parametrize(
    ("name", "formula"),
    [
        ("totals_line_table.xlsx", "=SUM(Vids[Duration (s)])"),
        ("totals_line_range.xlsx", "=SUM(B2:B3)"),
    ],
)
def test_a_totals_line_is_refused_before_anything_is_sent(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, name: str, formula: str
) -> None:
    manifest = _copy(name, tmp_path)
    sentence = f"Videos!B5 holds {formula}: a totals row is not a video; delete it, move it off"
    checked = cli("validate", manifest)
    assert checked.code == exitcodes.ROWS_NOT_OK, checked
    assert sentence in checked.out, checked
    result = cli.run(manifest)
    assert result.code == exitcodes.USAGE, result
    assert sentence in result.err, result
    assert "or mark the row Skip" in result.err
    assert "were never calculated" not in result.err  # B5 is a totals cell, not a value to use
    assert creates(sandbox) == 0
    assert not default_output_path(manifest).exists()


def test_a_totals_line_stops_a_real_process_before_any_create(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = _copy("totals_line_range.xlsx", tmp_path)
    result = run_to_end(manifest, sandbox)
    assert result.returncode == exitcodes.USAGE, describe(result, sandbox)
    assert "Videos!B5 holds =SUM(B2:B3)" in result.stderr
    assert sandbox.counters()["creates"] == 0


def test_a_totals_line_marked_skip_is_left_out(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "skip_total.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Videos")
    sheet.write_row(0, 0, ["Prompt", "Duration (s)", "Skip"])
    for index, prompt in enumerate(TABLE_PROMPTS, start=1):
        sheet.write_row(index, 0, [prompt, 3 + index])
    sheet.write_row(4, 0, ["Total seconds"])
    sheet.write_formula(4, 1, "=SUM(B2:B3)")
    sheet.write(4, 2, "total")
    book.close()
    result = cli.run(path)
    assert result.code == exitcodes.OK, result
    assert sorted(prompts_created(sandbox)) == TABLE_PROMPTS


@pytest.mark.parametrize(
    ("name", "cells"),
    [
        ("formulas_xlsxwriter.xlsx", "Videos!C2, D2"),
        ("formulas_prompt_xlsxwriter.xlsx", "Videos!A2, B2"),
    ],
)
def test_results_xlsxwriter_saved_as_0_are_refused_before_anything_is_sent(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, name: str, cells: str
) -> None:
    manifest = _copy(name, tmp_path)
    assert 'fullCalcOnLoad="1"' in _workbook_xml(manifest)
    result = cli.run(manifest)
    assert result.code == exitcodes.USAGE, result
    assert f"{cells}: these cells hold formulas whose results were never calculated" in result.err
    assert f"open {name} in Excel or LibreOffice and save it" in result.err
    assert "paste the cells as values" in result.err
    assert "got " not in result.err  # never judged as the 0 XlsxWriter saved
    assert creates(sandbox) == 0


@pytest.mark.parametrize("name", ["formulas_excel.xlsx", "formulas_libreoffice.xlsx"])
def test_results_excel_or_libreoffice_calculated_are_sent_and_read_again_from_the_results(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, name: str
) -> None:
    manifest = _copy(name, tmp_path)
    assert "fullCalcOnLoad" not in _workbook_xml(manifest)
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    (job,) = sandbox.jobs()
    assert job["body"]["cfgScale"] == pytest.approx(0.7)
    assert job["body"]["style"] == "CINEMATIC"
    # The writer asks Excel to recalculate the results workbook on open, and says the saved
    # results were calculated: a rerun on it reads them as the input's were read.
    results = default_output_path(manifest)
    xml = _workbook_xml(results)
    assert 'fullCalcOnLoad="1"' in xml and CALC_MARK in xml
    assert not scan(results, "Videos").recalculate
    (row,) = load_manifest(results).rows
    assert row.request["cfgScale"] == pytest.approx(0.7) and row.request["style"] == "CINEMATIC"
    assert cli.run(results).code == exitcodes.OK
    assert creates(sandbox) == 1


def test_results_of_an_xlsxwriter_workbook_still_say_its_formulas_were_not_calculated(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A formula in the user's own column does not stop the run; the results workbook keeps
    the flag without our mark, so its formulas stay distrusted on a rerun, as the input's."""
    path = tmp_path / "notes.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Videos")
    sheet.write_row(0, 0, ["Prompt", "Duration (s)", "Notes"])
    sheet.write_row(1, 0, [TABLE_PROMPTS[0], 4])
    sheet.write_formula(1, 2, '="take "&1')
    book.close()
    assert cli.run(path).code == exitcodes.OK
    results = default_output_path(path)
    assert CALC_MARK not in _workbook_xml(results)
    assert scan(results, "Videos").recalculate


@pytest.mark.parametrize("name", ["traditional_big5.csv", "traditional.xlsx"])
def test_traditional_chinese_headers_are_recognised(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, name: str
) -> None:
    manifest = _copy(name, tmp_path)
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    sent = {job["body"]["prompt"]: job["body"]["durationSec"] for job in sandbox.jobs()}
    assert sent == {"一匹棕色的馬在海灘上奔跑，夕陽西下": 6, "夕陽下的海灘，海浪輕輕拍打沙灘": 5}
