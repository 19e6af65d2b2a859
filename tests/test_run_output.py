"""The results sheet ``hhbatch run`` writes: the user's workbook kept, server text kept as text."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from runkit import SIMPLE_HEADER, Cli, prompt, read_rows, results_path, simple_rows, write_csv

from hhbatch.cli import exitcodes
from hhbatch.columns import RESULT_COLUMNS
from hhbatch.sandbox import DEFAULT_FAILURE_MESSAGES, Sandbox


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


FORMULA_MESSAGES = [
    (i, m) for i, m in enumerate(DEFAULT_FAILURE_MESSAGES) if m[:1] in ("=", "+", "-", "@")
]


def _formatted_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Videos"
    ws.append(["Prompt", "Duration (s)", "Resolution", "Owner"])
    for i in range(3):
        ws.append([prompt(i), 3, "720p", f"owner-{i}"])
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E78")
    ws.column_dimensions["A"].width = 61
    ws.column_dimensions["D"].width = 17
    dv = DataValidation(type="list", formula1='"720p,1080p"', allow_blank=True)
    ws.add_data_validation(dv)
    dv.add("C2:C100")
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("Briefing")
    notes["A1"] = "Campaign brief: spring launch"
    notes["B3"] = 42
    wb.save(path)
    return path


def test_results_workbook_keeps_formatting_sheets_widths_validation_and_extra_columns(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = _formatted_workbook(tmp_path / "styled.xlsx")
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    wb = openpyxl.load_workbook(results_path(manifest))
    try:
        assert wb.sheetnames == ["Videos", "Briefing"]
        ws = wb["Videos"]
        header = [c.value for c in ws[1]]
        assert header == ["Prompt", "Duration (s)", "Resolution", "Owner"] + [
            c.name for c in RESULT_COLUMNS
        ]
        assert ws["A1"].font.bold and ws["A1"].fill.fgColor.rgb.endswith("1F4E78")
        assert ws.column_dimensions["A"].width == pytest.approx(61, abs=1)
        assert ws.column_dimensions["D"].width == pytest.approx(17, abs=1)
        assert ws.freeze_panes == "A2"
        validations = ws.data_validations.dataValidation
        assert any('"720p,1080p"' in (v.formula1 or "") for v in validations)
        assert [ws.cell(row=r, column=4).value for r in (2, 3, 4)] == [
            "owner-0",
            "owner-1",
            "owner-2",
        ]
        assert [ws.cell(row=r, column=5).value for r in (2, 3, 4)] == ["ready"] * 3
        link = ws.cell(row=2, column=7)
        assert link.hyperlink is not None and link.hyperlink.target == link.value
        assert wb["Briefing"]["A1"].value == "Campaign brief: spring launch"
        assert wb["Briefing"]["B3"].value == 42
    finally:
        wb.close()


def test_formula_looking_server_messages_are_stored_as_text_in_xlsx(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    assert len(FORMULA_MESSAGES) >= 4
    rows = [
        [prompt(i, f" [fail:{index}]"), 3, "720p"] for i, (index, _) in enumerate(FORMULA_MESSAGES)
    ]
    manifest = tmp_path / "evil.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(list(SIMPLE_HEADER))
    for row in rows:
        wb.active.append(row)
    wb.save(manifest)
    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    out = results_path(manifest)
    with zipfile.ZipFile(out) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)
    got = read_rows(out)
    assert [r["status"] for r in got] == ["failed"] * len(rows)
    assert [r["error"] for r in got] == [message for _, message in FORMULA_MESSAGES]
    wb = openpyxl.load_workbook(out)
    try:
        ws = wb.active
        error_col = [c.value for c in ws[1]].index("error") + 1
        for r in range(2, 2 + len(rows)):
            assert ws.cell(row=r, column=error_col).data_type == "s"
    finally:
        wb.close()


def test_csv_results_are_utf8_with_bom_and_defuse_formulas(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    index, message = FORMULA_MESSAGES[0]
    rows = [[prompt(0), 3, "720p"], [prompt(1, f" [fail:{index}]"), 3, "720p"]]
    rows.append(["一匹白马在雪山脚下的草原上奔跑", 3, "720p"])
    manifest = write_csv(tmp_path / "plain.csv", SIMPLE_HEADER, rows)
    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    out = results_path(manifest)
    assert out == tmp_path / "plain.results.csv"
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    data.decode("utf-8")
    got = read_rows(out)
    assert [r["status"] for r in got] == ["ready", "failed", "ready"]
    assert got[1]["error"] == "'" + message  # Excel shows it as text, never runs it
    assert got[2]["Prompt"] == "一匹白马在雪山脚下的草原上奔跑"


def test_chinese_headers_give_chinese_result_headers(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    header = ("提示词", "时长（秒）", "分辨率", "备注")
    rows = [["一匹白马在雪山脚下的草原上奔跑", 3, "720p", "第一条"], [prompt(1), 4, "720p", ""]]
    manifest = tmp_path / "中文.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(list(header))
    for row in rows:
        wb.active.append(row)
    wb.save(manifest)
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    got = read_rows(results_path(manifest))
    assert list(got[0])[: len(header)] == list(header)
    assert list(got[0])[len(header) :] == [c.zh for c in RESULT_COLUMNS]
    assert [r["状态"] for r in got] == ["已完成", "已完成"]  # the words the report uses
    assert all(r["视频ID"] for r in got)

    # a rerun on the Chinese results sheet reuses those columns, adds none, creates nothing
    again = cli.run(results_path(manifest))
    assert again.code == exitcodes.OK, again
    assert list(read_rows(results_path(manifest))[0]) == list(got[0])
    assert sandbox.counters()["creates"] == 2


def test_locked_results_sheet_the_run_goes_on_and_says_where_it_wrote(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_csv(tmp_path / "locked.csv", SIMPLE_HEADER, simple_rows(2))
    dest = results_path(manifest)
    real_replace = os.replace

    def replace(src: object, dst: object) -> None:
        if Path(str(dst)) == dest:
            raise PermissionError(13, "The process cannot access the file", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert not dest.exists()
    written = [p for p in tmp_path.iterdir() if p.name.startswith("locked.results") and p != dest]
    assert len(written) == 1, written
    assert str(written[0]) in result.err
    assert "locked" in result.err
    assert [r["status"] for r in read_rows(written[0])] == ["ready", "ready"]


def test_values_written_to_a_results_csv_read_back_unchanged(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    """The ``'`` that defuses a formula in CSV is the writer's, not the server's: a rerun on
    the results CSV must see the server's text (and ids) exactly."""
    from hhbatch.loader import load_manifest

    index, message = FORMULA_MESSAGES[0]
    rows = [[prompt(0), 3, "720p"], [prompt(1, f" [fail:{index}]"), 3, "720p"]]
    manifest = write_csv(tmp_path / "rt.csv", SIMPLE_HEADER, rows)
    cli.run(manifest)
    written = read_rows(results_path(manifest))
    loaded = load_manifest(results_path(manifest))
    assert loaded.rows[0].previous["videoId"] == written[0]["videoId"]
    assert loaded.rows[1].previous["error"] == message
    assert loaded.rows[1].previous["status"] == "failed"


def test_a_quoted_video_id_in_a_results_csv_is_read_without_the_quote(tmp_path: Path) -> None:
    from hhbatch.loader import load_manifest

    header = (*SIMPLE_HEADER, "status", "videoId", "error")
    manifest = write_csv(
        tmp_path / "q.results.csv", header, [[prompt(0), 3, "720p", "ready", "'-abc", "'@x"]]
    )
    previous = load_manifest(manifest).rows[0].previous
    assert previous["videoId"] == "-abc" and previous["error"] == "@x"


def test_the_sheet_is_refreshed_while_the_run_goes_on(
    sandbox_factory, monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path
) -> None:
    from hhbatch import workflow
    from hhbatch.output import SheetWriter

    sb = sandbox_factory(queue_sec=0.05, processing_sec=0.6)
    cli = Cli(sb, monkeypatch, capsys)
    monkeypatch.setattr(workflow, "MIN_REFRESH_SECONDS", 0.05)
    monkeypatch.setattr(workflow, "REFRESH_COST_FACTOR", 1.0)
    seen: list[list[str]] = []
    real_write = SheetWriter.write

    def spy(self, dest, columns, rows, notes=()):  # type: ignore[no-untyped-def]
        seen.append([str(cells[columns[0]].value) for _, cells in sorted(rows.items())])
        return real_write(self, dest, columns, rows, notes)

    monkeypatch.setattr(SheetWriter, "write", spy)
    manifest = write_csv(tmp_path / "live.csv", SIMPLE_HEADER, simple_rows(3))
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert len(seen) >= 3, seen  # refreshed during the run, then the final write
    assert any(s != ["ready"] * 3 for s in seen[:-1])  # an in-progress picture was saved
    assert seen[-1] == ["ready"] * 3
    assert [r["status"] for r in read_rows(results_path(manifest))] == ["ready"] * 3


def test_an_older_picture_of_the_journal_never_overwrites_a_newer_one(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from hhbatch.workflow import RunOptions, prepare

    monkeypatch.setenv("HAPPYHORSE_API_KEY", sandbox.api_key)
    monkeypatch.setenv("HAPPYHORSE_BASE_URL", sandbox.base_url)
    manifest = write_csv(tmp_path / "pics.csv", SIMPLE_HEADER, simple_rows(1))
    with prepare(RunOptions(manifest=manifest)) as batch:
        older = batch._sheet_writer()  # a refresh that computed its cells, then got slow
        rp = batch.plan.rows[0]
        batch.journal.record_held(rp.row_key, rp.fingerprint, rp.row.sheet_row, "held back")
        newer = batch._sheet_writer()
        newer()  # the final write
        older()  # the slow refresh arrives late
    assert read_rows(results_path(manifest))[0]["error"] == "held back"
