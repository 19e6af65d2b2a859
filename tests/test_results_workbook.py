"""The results workbook as a record: the user's columns stay theirs, other sheets' results stay,
readyAt is a date, a failed final write is never a success, and losses are told before spending."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import openpyxl
import pytest
from runkit import SIMPLE_HEADER, Cli, prompt, read_rows, results_path

from hhbatch.cli import exitcodes
from hhbatch.errors import OutputError
from hhbatch.output import STATUS_FILLS, OutputCell, SheetWriter
from hhbatch.sandbox import Sandbox


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_a_users_status_column_is_kept_through_a_run_and_a_rerun(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    header = [*SIMPLE_HEADER, "Status", "状态"]
    rows = [[prompt(i), 3, "720p", "approved by legal", "已批准"] for i in range(2)]
    manifest = _workbook(tmp_path / "legal.xlsx", {"Videos": [header, *rows]})
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    got = read_rows(results_path(manifest))
    assert [r["Status"] for r in got] == ["approved by legal"] * 2
    assert [r["状态"] for r in got] == ["已批准"] * 2
    assert [r["status (hhbatch)"] for r in got] == ["ready"] * 2
    assert all(r["videoId"] for r in got)

    # a rerun on the results sheet pairs rows by videoId, creates nothing, keeps their column
    again = cli.run(results_path(manifest))
    assert again.code == exitcodes.OK, again
    assert sandbox.counters()["creates"] == 2
    assert read_rows(results_path(manifest)) == got


def test_writing_one_sheet_keeps_the_other_sheets_results(tmp_path: Path) -> None:
    header = ["Prompt", "Duration (s)"]
    source = _workbook(
        tmp_path / "weeks.xlsx",
        {"Week1": [header, ["a", 3], ["b", 4]], "Week2": [header, ["c", 5]]},
    )
    dest = tmp_path / "weeks.results.xlsx"
    columns = ["status", "videoId", "videoUrl", "readyAt"]
    week1 = {
        2: {
            "status": OutputCell("ready", fill=STATUS_FILLS["ready"]),
            "videoId": "vid_a",
            "videoUrl": OutputCell("https://v/a.mp4", link="https://v/a.mp4"),
            "readyAt": OutputCell("2026-04-26T12:30:00.000Z", timestamp=True),
        },
        3: {"status": OutputCell("failed", fill=STATUS_FILLS["failed"]), "videoId": "vid_b"},
    }
    SheetWriter(source, format="xlsx", sheet_name="Week1").write(dest, columns, week1)
    first = openpyxl.load_workbook(dest)["Week1"]
    week2 = {2: {"status": OutputCell("ready"), "videoId": "vid_c"}}
    writer = SheetWriter(source, format="xlsx", sheet_name="Week2", dest=dest)
    assert writer.losses == []
    for _ in range(2):  # the refreshes of the Week2 run keep Week1's results too
        writer.write(dest, columns, week2)
    book = openpyxl.load_workbook(dest)
    kept = book["Week1"]
    for row in (1, 2, 3):
        assert [c.value for c in kept[row]] == [c.value for c in first[row]]
    assert kept["C2"].fill.fgColor.rgb.endswith(STATUS_FILLS["ready"])
    assert kept["C3"].fill.fgColor.rgb.endswith(STATUS_FILLS["failed"])
    assert kept["E2"].hyperlink.target == "https://v/a.mp4"
    assert kept["F2"].is_date
    assert [c.value for c in book["Week2"][2]][2:4] == ["ready", "vid_c"]


def test_results_of_a_sheet_the_manifest_no_longer_has_are_a_told_loss(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    header = list(SIMPLE_HEADER)
    old = [[*header, "status", "videoId"], [prompt(9), 3, "720p", "ready", "vid_old"]]
    manifest = _workbook(tmp_path / "c.xlsx", {"Videos": [header, [prompt(0), 3, "720p"]]})
    _workbook(results_path(manifest), {"Videos": [header], "Gone": old})
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    loss = "holds results in sheet 'Gone', which c.xlsx no longer has"
    assert result.err.count(loss) == 2  # in the plan, before spending, and in the summary
    assert result.err.index(loss) < result.err.index("Summary")


def test_ready_at_is_a_local_date_time_cell_and_reads_back(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hhbatch.loader import load_manifest

    if not hasattr(time, "tzset"):
        pytest.skip("changing the time zone needs time.tzset (POSIX)")
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        manifest = _workbook(
            tmp_path / "t.xlsx", {"Videos": [list(SIMPLE_HEADER), [prompt(0), 3, "720p"]]}
        )
        assert cli.run(manifest).code == exitcodes.OK
        finished = sandbox.jobs()[0]["finishes_at"]  # the readyAt the API sent, in UTC
        moment = dt.datetime.fromisoformat(finished.replace("Z", "+00:00"))
        cell = openpyxl.load_workbook(results_path(manifest))["Videos"]["H2"]
        assert cell.is_date and cell.number_format == "yyyy-mm-dd hh:mm:ss"
        shanghai = (moment + dt.timedelta(hours=8)).replace(tzinfo=None)  # UTC+8, no DST
        assert abs(cell.value - shanghai) < dt.timedelta(milliseconds=2)
        previous = load_manifest(results_path(manifest)).rows[0].previous
        assert previous["readyAt"] == finished  # read back as the API's text
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_final_write_that_fails_is_not_a_success(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = _workbook(
        tmp_path / "f.xlsx", {"Videos": [list(SIMPLE_HEADER), [prompt(0), 3, "720p"]]}
    )

    def broken(self: SheetWriter, *args: object, **kwargs: object) -> Path:
        raise OutputError("Cannot write the results sheet f.results.xlsx: disk full.")

    real_write = SheetWriter.write
    monkeypatch.setattr(SheetWriter, "write", broken)
    result = cli.run(manifest, "--json")
    assert result.code == exitcodes.ROWS_NOT_OK, result
    assert "results are safe in the journal" in result.err
    assert f"hhbatch status {manifest}" in result.err
    data = json.loads(result.out)
    assert data["output"] is None
    assert data["error"]["code"] == "results_not_written"
    assert "disk full" in data["error"]["message"]
    # writing the sheet again works once the disk is fine, and creates nothing
    monkeypatch.setattr(SheetWriter, "write", real_write)
    again = cli.status(manifest)
    assert again.code == exitcodes.OK, again
    assert [r["status"] for r in read_rows(results_path(manifest))] == ["ready"]
    assert sandbox.counters()["creates"] == 1
