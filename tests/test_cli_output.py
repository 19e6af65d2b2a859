"""What a run tells people and scripts (issue #11): examples never billed, rows named by sheet
row with what to do next, JSON everywhere in one key style, status lines in a pipe, a sandbox
rehearsal kept apart, the Chinese sheet in Chinese, a short ``run --help``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from runhelpers import env_for, write_manifest
from runkit import (
    SIMPLE_HEADER,
    Cli,
    prompts_created,
    read_rows,
    results_path,
    simple_rows,
    write_csv,
    write_xlsx,
)

from hhbatch.cli import exitcodes
from hhbatch.cli.render import DEFAULT_STATUS_INTERVAL
from hhbatch.cli.run import normalize_argv
from hhbatch.sandbox import Sandbox
from hhbatch.workflow import journal_path

CAMEL = re.compile(r"^[a-z0-9][A-Za-z0-9]*$")


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def _keys(value: Any) -> list[str]:
    """Every key of a JSON document, at every depth."""
    if isinstance(value, dict):
        return [*value, *(k for v in value.values() for k in _keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def _camel(document: dict[str, Any]) -> dict[str, Any]:
    bad = [key for key in _keys(document) if not CAMEL.match(key)]
    assert bad == [], bad
    return document


# --- 3: the template's examples are never billable ------------------------------------------
def test_fresh_init_plans_no_video_and_only_real_rows_are_created(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    assert cli("init", tmp_path / "c").code == exitcodes.OK
    campaign = tmp_path / "c" / "campaign.xlsx"
    dry = cli("run", campaign, "--dry-run", "--json")
    assert dry.code == exitcodes.OK, dry
    document = _camel(json.loads(dry.out))
    assert document["dryRun"] is True
    assert document["plan"]["submit"] == 0 and document["plan"]["skipped"] == 2

    # A user appends a row below the examples: only that row is created (and paid for).
    workbook = openpyxl.load_workbook(campaign)
    sheet = workbook.active
    headers = [c.value for c in sheet[1]]
    row = [None] * len(headers)
    row[headers.index("Prompt")] = "Our summer sandal on a sunny terrace"
    row[headers.index("Duration (s)")] = 4
    sheet.append(row)
    workbook.save(campaign)
    result = cli.run(campaign)
    assert result.code == exitcodes.OK, result
    assert prompts_created(sandbox) == ["Our summer sandal on a sunny terrace"]
    statuses = [r["status"] for r in read_rows(results_path(campaign))]
    assert statuses == ["skipped", "skipped", "ready"]


# --- 4 and 5: rows by sheet row, what to do next ----------------------------------------------
def test_unknown_rows_are_listed_and_resubmitted_only_where_asked(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path
) -> None:
    sb = sandbox_factory(create_then_fail=1.0, fault_routes=("create",))
    cli = Cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "lost.csv", SIMPLE_HEADER, simple_rows(4))
    lost = cli.run(manifest)
    assert lost.code == exitcodes.ROWS_NOT_OK, lost
    assert re.search(r"unknown\s+4\s+rows 2, 3, 4, 5", lost.err), lost
    assert "dashboard" in lost.err
    assert "hhbatch run " in lost.err and "--resubmit-unknown 2-5" in lost.err, lost

    sb.update_config(create_then_fail=0.0)
    again = cli.run(manifest, "--resubmit-unknown", "3,5")
    assert sb.counters()["creates"] == 4 + 2, again
    statuses = [r["status"] for r in read_rows(results_path(manifest))]
    assert statuses == ["unknown", "ready", "unknown", "ready"]
    assert re.search(r"unknown\s+2\s+rows 2, 4", again.err), again


def test_resubmit_unknown_rows_or_bare_before_the_manifest() -> None:
    assert normalize_argv(["run", "--resubmit-unknown", "c.xlsx"]) == [
        "run",
        "--resubmit-unknown=all",
        "c.xlsx",
    ]
    assert normalize_argv(["run", "c.xlsx", "--resubmit-unknown", "5,7-9"])[-1] == "5,7-9"
    assert normalize_argv(["run", "c.xlsx", "--resubmit-unknown"])[-1] == "--resubmit-unknown=all"


def test_the_end_of_a_run_names_rows_and_the_next_commands(cli: Cli, tmp_path: Path) -> None:
    rows = [
        ["A horse gallops along the beach", 3],
        ["A horse that will not render [fail]", 3],
        ["A horse far too long", 15],
        ["A horse in the snow", 3],
    ]
    manifest = write_csv(tmp_path / "mix.csv", ("Prompt", "Duration (s)"), rows)
    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    assert re.search(r"failed\s+1\s+row 3\b", result.err), result
    assert re.search(r"invalid\s+1\s+row 4\b", result.err), result
    assert f"hhbatch run {manifest} --retry-failed" in result.err
    assert f"hhbatch download {manifest}" in result.err
    assert f"hhbatch report {manifest}" in result.err


# --- 7: JSON everywhere, one key style ---------------------------------------------------------
def test_every_command_speaks_camel_case_json(cli: Cli, tmp_path: Path) -> None:
    manifest = write_csv(
        tmp_path / "j.csv",
        ("Prompt", "Duration (s)"),
        [["A horse on a beach", 3], ["A horse far too long", 15], ["A horse in the snow", 3]],
    )
    ran = cli.run(manifest, "--no-wait", "--limit", "1", "--json")
    run_doc = _camel(json.loads(ran.out))
    # "not submitted" (row 4, left by --limit) is a count key: notSubmitted, never with a space
    assert run_doc["counts"]["invalid"] == 1 and run_doc["counts"]["notSubmitted"] == 1
    assert run_doc["plan"]["submit"] == 1 and run_doc["exitCode"] == ran.code
    status_doc = _camel(json.loads(cli.status(manifest, "--json").out))
    while status_doc["counts"].get("ready") != 1:  # the sandbox finishes jobs in ~0.1 s
        time.sleep(0.05)
        status_doc = _camel(json.loads(cli.status(manifest, "--json").out))
    assert status_doc["command"] == "status"
    download_doc = _camel(json.loads(cli("download", manifest, "--json").out))
    assert download_doc["counts"]["downloaded"] >= 1
    report_doc = _camel(json.loads(cli("report", manifest, "--json").out))
    assert report_doc["rows"] == 3 and report_doc["counts"]["ready"] == 1
    validate_doc = _camel(json.loads(cli("validate", manifest, "--json").out))
    assert validate_doc["summary"]["rowsInvalid"] == 1

    missing = cli("run", tmp_path / "nope.csv", "--json")
    assert missing.code == exitcodes.USAGE
    assert _camel(json.loads(missing.out))["error"]["code"] == "usage_error"
    bad_option = cli("run", manifest, "--json", "--limit", "zero")
    assert bad_option.code == exitcodes.USAGE
    assert _camel(json.loads(bad_option.out))["error"]["code"] == "usage_error"


# --- 8: a pipe still hears from a long run -----------------------------------------------------
def test_piped_output_prints_a_status_line_every_interval_while_waiting(
    sandbox_factory, tmp_path: Path
) -> None:
    assert 10 <= DEFAULT_STATUS_INTERVAL <= 30
    sb = sandbox_factory(queue_sec=0.2, processing_sec=1.2)
    manifest = write_manifest(tmp_path / "pipe", 3)
    env = {**env_for(sb), "HHBATCH_STATUS_INTERVAL": "0.25"}
    env.pop("PYTHONUNBUFFERED", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hhbatch", "run", str(manifest), "--yes", "--poll-interval", "0.3"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert proc.stderr is not None
    lines: list[tuple[str, bool]] = []  # each line, and whether the run was still going

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append((line, proc.poll() is None))

    reader = threading.Thread(target=read)
    reader.start()
    assert proc.wait(timeout=60) == exitcodes.OK, "".join(line for line, _ in lines)
    reader.join(timeout=10)
    proc.stderr.close()
    text = "".join(line for line, _ in lines)
    status = [(line, live) for line, live in lines if " elapsed: " in line]
    assert len(status) >= 3, text  # one per interval during >1 s of generation, not 0 or 1
    assert all(live for _line, live in status[:-1]), text  # arrived at once, not at exit
    assert all(re.search(r"submitted \d+ of 3, ready \d+, failed \d+", line) for line, _ in status)
    assert "\r" not in text  # no progress-bar redraws in a log


# --- 10: a rehearsal is kept apart -------------------------------------------------------------
def test_a_sandbox_rehearsal_never_touches_the_real_results(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "campaign"
    manifest = write_csv(folder / "campaign.csv", SIMPLE_HEADER, simple_rows(1))
    rehearsal = cli.run(manifest, "--sandbox")
    assert rehearsal.code == exitcodes.OK, rehearsal
    sandbox_results = folder / "campaign.sandbox.results.csv"
    assert sandbox_results.is_file() and str(sandbox_results.name) in rehearsal.err
    assert not results_path(manifest).exists()
    assert not journal_path(manifest).exists()
    rehearsal_ids = {r["videoId"] for r in read_rows(sandbox_results)}

    real = cli.run(manifest)
    assert real.code == exitcodes.OK, real
    real_ids = {r["videoId"] for r in read_rows(results_path(manifest))}
    assert real_ids == {job["id"] for job in cli.sandbox.jobs()}
    assert not real_ids & rehearsal_ids
    refused = cli.run(sandbox_results)  # the rehearsal's sheet is no batch to run for real
    assert refused.code == exitcodes.USAGE and "--sandbox" in refused.err, refused


# --- 11: Chinese all the way --------------------------------------------------------------------
def test_a_chinese_results_sheet_is_read_back_in_chinese(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_xlsx(
        tmp_path / "春季.xlsx",
        ("提示词", "时长（秒）"),
        [["一匹马在海滩上奔跑", 3], ["马在雪地里", 3]],
    )
    assert cli.run(manifest).code == exitcodes.OK
    results = results_path(manifest)
    assert [r["状态"] for r in read_rows(results)] == ["已完成", "已完成"]
    # The results sheet says row 3's create got no answer, and the journal is gone.
    workbook = openpyxl.load_workbook(results)
    sheet = workbook.active
    status_column = [c.value for c in sheet[1]].index("状态") + 1
    id_column = [c.value for c in sheet[1]].index("视频ID") + 1
    sheet.cell(3, status_column, "结果未知")
    sheet.cell(3, id_column).value = None
    workbook.save(results)
    # Neither the journal nor this machine's ledger is there to say more: the sheet's own word
    # (结果未知 read back as "unknown") must keep the row from being created again.
    shutil.rmtree(tmp_path / ".hhbatch")
    monkeypatch.setenv("HHBATCH_HOME", str(tmp_path / "another-computer"))
    rerun = cli.run(results)
    assert re.search(r"skipped, outcome unknown\s+1", rerun.err), rerun
    assert sandbox.counters()["creates"] == 2  # read back as "unknown": never created again
    report = cli("report", manifest)
    assert report.code == exitcodes.OK
    page = (tmp_path / "春季.report.html").read_text(encoding="utf-8")
    assert "<h1>春季</h1>" in page  # the campaign's name, not a file name


# --- 12: help that fits on a screen -------------------------------------------------------------
def test_run_help_fits_a_screen_and_points_to_the_readme(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit):
        cli("run", "--help")
    text = capsys.readouterr().out
    assert len(text.splitlines()) <= 36, text
    assert "README" in text and "--yes" in text and "--dry-run" in text
    assert text.index("--yes") < text.index("more options")
