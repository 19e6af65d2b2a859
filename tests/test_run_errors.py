"""``hhbatch run`` when the API refuses: invalid input, plan gates, credits, failed generation."""

from __future__ import annotations

from pathlib import Path

import pytest
from runkit import (
    SIMPLE_HEADER,
    Cli,
    prompt,
    read_rows,
    results_path,
    simple_rows,
    write_csv,
)

from hhbatch.cli import exitcodes
from hhbatch.sandbox import BASIC_KEY, Sandbox


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def test_invalid_input_from_the_server_fails_the_row_with_its_message(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    header = (*SIMPLE_HEADER, "Source image")
    never_uploaded = "videos/inputs/somebody/never-uploaded.png"
    rows = [[*r, ""] for r in simple_rows(2)]
    rows.insert(1, [prompt(9), 3, "720p", never_uploaded])
    manifest = write_csv(tmp_path / "keys.csv", header, rows)
    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    out = read_rows(results_path(manifest))
    assert [r["status"] for r in out] == ["ready", "failed", "ready"]
    assert never_uploaded in out[1]["error"]
    assert "no upload with key" in out[1]["error"]  # the server's own words
    assert not out[1]["videoId"]
    assert sandbox.counters()["creates"] == 2

    # a rerun does not send the refused row again (it is failed until --retry-failed)
    before = sandbox.counters()["requests"]["POST /api/v1/videos"]
    assert cli.run(manifest).code == exitcodes.ROWS_NOT_OK
    assert sandbox.counters()["requests"]["POST /api/v1/videos"] == before


@pytest.mark.parametrize(
    ("row", "setting"),
    [([prompt(1), 3, "1080p"], "1080p"), ([prompt(2), 8, "720p"], "8")],
    ids=["resolution", "duration"],
)
def test_plan_gate_fails_the_row_naming_setting_and_plan(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, row: list, setting: str
) -> None:
    cli.use_key(BASIC_KEY)
    manifest = write_csv(tmp_path / "gate.csv", SIMPLE_HEADER, [row, [prompt(3), 4, "720p"]])
    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    gated, fine = read_rows(results_path(manifest))
    assert fine["status"] == "ready"
    assert gated["status"] == "failed"
    message = gated["error"]
    assert "pro plan" in message and "basic" in message, message
    assert setting in message, message
    assert message.endswith(".")
    assert sandbox.counters()["creates"] == 1


def test_out_of_credits_stops_then_resumes_after_top_up(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = write_csv(tmp_path / "credits.csv", SIMPLE_HEADER, simple_rows(6, duration=3))
    sandbox.set_credits(sandbox.api_key, 7)  # two 3-second 720p videos, not three
    result = cli.run(manifest, "--concurrency", "1")
    assert result.code == exitcodes.NO_CREDITS, result
    assert "Out of credits" in result.err
    rows = read_rows(results_path(manifest))
    made = sandbox.counters()["creates"]
    assert made == 2
    assert [r["status"] for r in rows] == ["ready"] * made + ["not submitted"] * (6 - made)
    for row in rows[made:]:
        assert "ran out of credits" in row["error"], row
        assert not row["videoId"]

    sandbox.set_credits(sandbox.api_key, 1000)
    again = cli.run(manifest)
    assert again.code == exitcodes.OK, again
    counters = sandbox.counters()
    assert counters["creates"] == 6
    assert counters["duplicate_creates"] == 0
    assert [r["status"] for r in read_rows(results_path(manifest))] == ["ready"] * 6


def test_out_of_credits_with_concurrent_creates(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "credits.csv", SIMPLE_HEADER, simple_rows(12, duration=3))
    sandbox.set_credits(sandbox.api_key, 16)
    result = cli.run(manifest, "--concurrency", "8")
    assert result.code == exitcodes.NO_CREDITS, result
    made = sandbox.counters()["creates"]
    assert 1 <= made <= 5
    statuses = [r["status"] for r in read_rows(results_path(manifest))]
    assert statuses.count("ready") == made
    assert statuses.count("not submitted") == 12 - made
    sandbox.set_credits(sandbox.api_key, 1000)
    assert cli.run(manifest).code == exitcodes.OK
    assert sandbox.counters()["creates"] == 12
    assert sandbox.counters()["duplicate_creates"] == 0


def test_failed_generation_shows_the_server_message_and_retry_failed_resubmits(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    rows = simple_rows(3)
    rows[1][0] = prompt(1, " [fail:0]")
    manifest = write_csv(tmp_path / "fail.csv", SIMPLE_HEADER, rows)
    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    out = read_rows(results_path(manifest))
    assert [r["status"] for r in out] == ["ready", "failed", "ready"]
    assert out[1]["error"] == sandbox.config.failure_messages[0]
    assert out[1]["videoId"]  # the failed job's id stays visible

    assert cli.run(manifest).code == exitcodes.ROWS_NOT_OK  # a plain rerun leaves it failed
    assert sandbox.counters()["creates"] == 3

    sandbox.update_config(fail_marker=None)  # the cause went away
    retried = cli.run(manifest, "--retry-failed")
    assert retried.code == exitcodes.OK, retried
    assert sandbox.counters()["creates"] == 4  # only the failed row again
    out = read_rows(results_path(manifest))
    assert [r["status"] for r in out] == ["ready"] * 3
    assert not out[1]["error"]


def test_retry_failed_resubmits_rows_the_server_refused(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    cli.use_key(BASIC_KEY)
    manifest = write_csv(tmp_path / "gate.csv", SIMPLE_HEADER, [[prompt(1), 3, "1080p"]])
    assert cli.run(manifest).code == exitcodes.ROWS_NOT_OK
    assert sandbox.counters()["creates"] == 0
    cli.use_key(sandbox.api_key)  # e.g. the team upgraded its plan
    result = cli.run(manifest, "--retry-failed")
    assert result.code == exitcodes.OK, result
    assert sandbox.counters()["creates"] == 1


def test_invalid_rows_are_never_sent_and_reported(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    rows = simple_rows(2)
    rows.append(["no", 3, "720p"])  # prompt too short
    rows.append([prompt(5), 99, "720p"])  # duration out of range
    manifest = write_csv(tmp_path / "bad.csv", SIMPLE_HEADER, rows)
    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    out = read_rows(results_path(manifest))
    assert [r["status"] for r in out] == ["ready", "ready", "invalid", "invalid"]
    assert out[2]["error"] and out[3]["error"]
    assert "99" in out[3]["error"]
    assert sandbox.counters()["creates"] == 2
