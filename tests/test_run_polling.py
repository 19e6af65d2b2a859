"""Waiting for videos: --no-wait then ``hhbatch status``, --wait-timeout, undocumented statuses.

The sandbox runs on a fake clock here, so "generation takes a minute" costs no real time.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from runkit import SIMPLE_HEADER, Cli, read_rows, results_path, simple_rows, write_csv

from hhbatch import journal as j
from hhbatch.cli import exitcodes
from hhbatch.sandbox import Sandbox
from hhbatch.workflow import journal_path


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def test_no_wait_then_status_fills_in_ready_rows(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = write_csv(tmp_path / "nw.csv", SIMPLE_HEADER, simple_rows(3))
    result = cli.run(manifest, "--no-wait")
    assert result.code == exitcodes.OK, result
    assert "still generating" in result.err and "hhbatch status" in result.err
    rows = read_rows(results_path(manifest))
    assert all(r["videoId"] for r in rows)
    assert not any(r["status"] == "ready" for r in rows)
    gets = sandbox.counters()["requests"].get("GET /api/v1/videos/{id}", {})
    assert "200" not in gets  # no polling (only the reachability check, answered 404)

    time.sleep(0.3)  # the fixture sandbox finishes a job in 0.1 s
    status = cli.status(manifest)
    assert status.code == exitcodes.OK, status
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["ready"] * 3
    assert all(r["videoUrl"] and r["readyAt"] for r in rows)
    assert sandbox.counters()["creates"] == 3


def test_status_json_and_exit_code_while_jobs_are_running(
    sandbox_factory, fake_clock, monkeypatch, capsys, tmp_path: Path
) -> None:
    sb = sandbox_factory(clock=fake_clock, queue_sec=10, processing_sec=10)
    cli = Cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "s.csv", SIMPLE_HEADER, simple_rows(2))
    assert cli.run(manifest, "--no-wait").code == exitcodes.OK
    status = cli.status(manifest, "--json")
    assert status.code == exitcodes.ROWS_NOT_OK
    data = json.loads(status.out)
    assert data["counts"] == {"queued": 2}
    assert sb.counters()["creates"] == 2


def test_wait_timeout_keeps_ids_and_a_rerun_picks_them_up(
    sandbox_factory, fake_clock, monkeypatch, capsys, tmp_path: Path
) -> None:
    sb = sandbox_factory(clock=fake_clock, queue_sec=30, processing_sec=30)
    cli = Cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "wt.csv", SIMPLE_HEADER, simple_rows(3))
    result = cli.run(manifest, "--wait-timeout", "0.3")
    assert result.code == exitcodes.ROWS_NOT_OK, result
    assert "3 video(s) still generating" in result.err
    rows = read_rows(results_path(manifest))
    ids = [r["videoId"] for r in rows]
    assert all(ids) and [r["status"] for r in rows] == ["queued"] * 3
    with j.Journal.open(journal_path(manifest), base_url=sb.base_url) as journal:
        assert {job.state for job in journal.jobs().values()} == {j.SUBMITTED}

    again = cli.run(manifest, "--wait-timeout", "0.2")  # still generating: nothing new
    assert again.code == exitcodes.ROWS_NOT_OK, again
    assert re.search(r"still generating\s+3\s", again.err), again
    assert sb.counters()["creates"] == 3

    fake_clock.advance(61)
    done = cli.run(manifest)
    assert done.code == exitcodes.OK, done
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["ready"] * 3
    assert [r["videoId"] for r in rows] == ids
    assert sb.counters()["creates"] == 3


def test_an_undocumented_status_is_shown_and_treated_as_in_progress(
    sandbox_factory, fake_clock, monkeypatch, capsys, tmp_path: Path
) -> None:
    sb = sandbox_factory(
        clock=fake_clock, queue_sec=10, processing_sec=20, extra_status="upscaling"
    )
    cli = Cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "x.csv", SIMPLE_HEADER, simple_rows(2))
    assert cli.run(manifest, "--no-wait").code == exitcodes.OK
    fake_clock.advance(25)  # second half of processing
    status = cli.status(manifest)
    assert status.code == exitcodes.ROWS_NOT_OK, status
    assert "upscaling" in status.err  # shown in the summary
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["upscaling"] * 2
    assert not any(r["error"] for r in rows)
    with j.Journal.open(journal_path(manifest), base_url=sb.base_url) as journal:
        assert {job.state for job in journal.jobs().values()} == {j.SUBMITTED}

    # a run waits through it (in progress, not failed) and finishes
    fake_clock.advance(10)
    done = cli.run(manifest)
    assert done.code == exitcodes.OK, done
    assert [r["status"] for r in read_rows(results_path(manifest))] == ["ready"] * 2
    assert sb.counters()["creates"] == 2


def test_run_waits_through_an_undocumented_status(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path
) -> None:
    sb = sandbox_factory(queue_sec=0.02, processing_sec=0.3, extra_status="rendering")
    cli = Cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "x.csv", SIMPLE_HEADER, simple_rows(2))
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert [r["status"] for r in read_rows(results_path(manifest))] == ["ready"] * 2
