"""Spend caps (--max-videos, --max-seconds, --max-credits, or hhbatch.yaml) and the credits
estimate: the plan says what a run will spend and which rows wait; the run creates exactly that."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runkit import Cli, prompt, read_rows, results_path, write_csv

from hhbatch.cli import exitcodes
from hhbatch.sandbox import Sandbox

HEADER = ("Prompt", "Duration (s)", "Resolution")
PRICES = "credits_per_second: {720p: 1, 1080p: 2}\n"


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def _manifest(tmp_path: Path, durations: list[tuple[int, str]]) -> Path:
    rows = [[prompt(i), seconds, resolution] for i, (seconds, resolution) in enumerate(durations)]
    return write_csv(tmp_path / "capped.csv", HEADER, rows)


def _plan_line(err: str, label: str) -> str:
    return next(line for line in err.splitlines() if line.strip().startswith(label))


def test_max_videos_creates_exactly_that_many_and_the_next_run_the_rest(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = _manifest(tmp_path, [(3, "720p")] * 5)
    dry = cli.run(manifest, "--dry-run", "--max-videos", "2")
    assert dry.code == exitcodes.OK, dry
    assert _plan_line(dry.err, "videos to create now").split()[4] == "2"
    later = _plan_line(dry.err, "left for a later run")
    assert " 3 " in later and "at most 2 videos per run" in later, dry

    result = cli.run(manifest, "--max-videos", "2", "--json")
    assert result.code == exitcodes.ROWS_NOT_OK, result
    assert sandbox.counters()["creates"] == 2
    assert json.loads(result.out)["spend"]["videos"] == 2
    assert json.loads(result.out)["spend"]["capped"] == 3
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["ready"] * 2 + ["not submitted"] * 3
    assert all("spending cap" in r["error"] and "next run" in r["error"] for r in rows[2:])

    assert cli.run(manifest).code == exitcodes.OK
    assert sandbox.counters()["creates"] == 5


def test_max_seconds_from_hhbatch_yaml_stops_in_sheet_order(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = _manifest(tmp_path, [(5, "720p"), (5, "720p"), (5, "720p"), (3, "720p")])
    (tmp_path / "hhbatch.yaml").write_text("max_seconds: 12\n", encoding="utf-8")
    result = cli.run(manifest, "--json")
    assert result.code == exitcodes.ROWS_NOT_OK, result
    created = sandbox.jobs()
    # the first two rows in sheet order (created concurrently: the server may see them either way)
    assert sorted(job["body"]["prompt"] for job in created) == [prompt(0), prompt(1)]
    assert sum(job["body"]["durationSec"] for job in created) == 10
    spend = json.loads(result.out)["spend"]
    assert spend["seconds"] == 10 and spend["caps"]["maxSeconds"] == 12
    assert "at most 12 seconds of video per run" in _plan_line(result.err, "left for a later run")
    # the option overrides the file
    assert cli.run(manifest, "--max-seconds", "300").code == exitcodes.OK
    assert sandbox.counters()["creates"] == 4


def test_prices_give_the_estimate_and_max_credits_caps_the_run(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = _manifest(tmp_path, [(3, "720p"), (4, "1080p"), (5, "720p"), (3, "720p")])
    (tmp_path / "hhbatch.yaml").write_text(PRICES, encoding="utf-8")
    dry = cli.run(manifest, "--dry-run")
    assert _plan_line(dry.err, "estimated credits").split()[2] == "19", dry  # 3 + 8 + 5 + 3

    before = sandbox.credits(sandbox.api_key)
    result = cli.run(manifest, "--max-credits", "16", "--json")
    assert result.code == exitcodes.ROWS_NOT_OK, result
    spend = json.loads(result.out)["spend"]
    assert spend["estimatedCredits"] == 16 and spend["videos"] == 3
    assert sandbox.counters()["creates"] == 3
    # the sandbox charges the same prices: the estimate is what was spent
    assert before - sandbox.credits(sandbox.api_key) == 16
    assert "at most 16 credits per run" in _plan_line(result.err, "left for a later run")


def test_max_credits_without_prices_is_refused_before_anything_is_sent(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = _manifest(tmp_path, [(3, "720p")] * 2)
    result = cli.run(manifest, "--max-credits", "10")
    assert result.code == exitcodes.USAGE, result
    assert "--max-credits needs your prices" in result.err
    assert "credits_per_second" in result.err
    assert sandbox.counters()["requests_total"] == 0
    (tmp_path / "hhbatch.yaml").write_text("credits_per_second: {720p: 1}\n", encoding="utf-8")
    mixed = _manifest(tmp_path, [(3, "720p"), (3, "1080p")])
    refused = cli.run(mixed, "--max-credits", "10")
    assert refused.code == exitcodes.USAGE, refused
    assert "1080p" in refused.err
    assert sandbox.counters()["creates"] == 0


@pytest.mark.parametrize(
    "text",
    [
        "max_videos: 0\n",
        "max_seconds: -5\n",
        "credits_per_second: {4k: 3}\n",
        "max_credits: x\n",
        "max_credits: 100\n",  # without prices
    ],
)
def test_bad_caps_in_hhbatch_yaml_are_config_errors(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, text: str
) -> None:
    manifest = _manifest(tmp_path, [(3, "720p")])
    (tmp_path / "hhbatch.yaml").write_text(text, encoding="utf-8")
    result = cli.run(manifest, "--dry-run")
    assert result.code == exitcodes.USAGE, result
    assert "hhbatch.yaml" in result.err
