"""Identical rows ("twins", two takes of the same prompt): identity never moves a paid video.

Over real HTTP with the real CLI: a twin deleted from the manifest or from the results sheet does
not hand its state to the survivor, and an edit of either twin is an edit, never a new create.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from runkit import Cli, prompt, read_rows, results_path, write_csv

from hhbatch.cli import exitcodes
from hhbatch.sandbox import Sandbox

HEADER = ("Prompt", "Duration (s)", "Resolution")
TWIN = [prompt(0), 3, "720p"]
OTHER = [prompt(1), 3, "720p"]


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def _unknown_then_ready(cli: Cli, sandbox: Sandbox, manifest: Path) -> str:
    """First twin: its create's answer is lost (``unknown``). Second twin and the other row:
    ready. Returns the second twin's video id."""
    sandbox.update_config(create_then_drop=1.0)
    first = cli.run(manifest, "--limit", "1")
    assert first.code == exitcodes.ROWS_NOT_OK, first
    sandbox.update_config(create_then_drop=0.0)
    second = cli.run(manifest)
    assert second.code == exitcodes.ROWS_NOT_OK, second
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["unknown", "ready", "ready"]
    assert sandbox.counters()["creates"] == 3  # the lost answer's job exists (and was paid)
    return str(rows[1]["videoId"])


def _assert_survivor_keeps_its_video(cli: Cli, sandbox: Sandbox, target: Path, video: str) -> None:
    for extra in ((), ("--resubmit-unknown",)):
        result = cli.run(target, *extra)
        assert result.code == exitcodes.OK, result
        rows = read_rows(results_path(target))
        assert [(r["Prompt"], r["status"], r["videoId"]) for r in rows] == [
            (prompt(0), "ready", video),
            (prompt(1), "ready", rows[1]["videoId"]),
        ]
        assert sandbox.counters()["creates"] == 3  # nothing paid a third time


def test_deleting_the_unknown_twin_from_the_manifest_keeps_the_ready_one(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = write_csv(tmp_path / "takes.csv", HEADER, [TWIN, TWIN, OTHER])
    video = _unknown_then_ready(cli, sandbox, manifest)
    write_csv(manifest, HEADER, [TWIN, OTHER])  # the team drops the take in doubt
    _assert_survivor_keeps_its_video(cli, sandbox, manifest, video)


def test_deleting_the_unknown_twin_from_the_results_sheet_keeps_the_ready_one(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = write_csv(tmp_path / "takes.csv", HEADER, [TWIN, TWIN, OTHER])
    video = _unknown_then_ready(cli, sandbox, manifest)
    results = results_path(manifest)
    with results.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    del table[1]  # the unknown twin's line, in the sheet the team keeps working in
    with results.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(table)
    _assert_survivor_keeps_its_video(cli, sandbox, results, video)


def _two_ready_takes(cli: Cli, sandbox: Sandbox, manifest: Path) -> list[str]:
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert sandbox.counters()["creates"] == 3
    return [str(r["videoId"]) for r in read_rows(results_path(manifest))]


@pytest.mark.parametrize("which", [0, 1], ids=["first-twin", "second-twin"])
def test_editing_either_twin_is_an_edit(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, which: int
) -> None:
    manifest = write_csv(tmp_path / "takes.csv", HEADER, [TWIN, TWIN, OTHER])
    ids = _two_ready_takes(cli, sandbox, manifest)
    rows: list[list[Any]] = [list(TWIN), list(TWIN), list(OTHER)]
    rows[which][0] = prompt(0, " at dusk")  # a typo fixed in one take
    write_csv(manifest, HEADER, rows)

    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    assert "skipped, edited after" in result.err, result
    assert sandbox.counters()["creates"] == 3  # not created again without --resubmit-edited
    out = read_rows(results_path(manifest))
    assert out[which]["status"] == "edited", out
    assert "--resubmit-edited" in out[which]["error"]
    assert out[1 - which]["status"] == "ready"
    assert out[which]["videoId"] == ids[which]  # every paid video stays where it was
    assert out[1 - which]["videoId"] == ids[1 - which]

    again = cli.run(manifest, "--resubmit-edited")
    assert again.code == exitcodes.OK, again
    assert sandbox.counters()["creates"] == 4
    assert sandbox.jobs()[-1]["body"]["prompt"] == prompt(0, " at dusk")
