"""``hhbatch run`` without ``--rate`` against a rate-limited sandbox: the limit is found, the 429s
are free (no failure, no ``unknown``, nothing created twice), and what was found is remembered."""

from __future__ import annotations

from pathlib import Path

import pytest
from runkit import SIMPLE_HEADER, Cli, read_rows, results_path, simple_rows, write_csv

from hhbatch import ratememory, userdata
from hhbatch.cli import exitcodes
from hhbatch.ratememory import START_BELOW
from hhbatch.sandbox import Sandbox
from hhbatch.workflow import RunOptions, prepare

# No --rate: everything but the limiter as fast as the other run tests.
DISCOVER = ("--yes", "--poll-interval", "0.05", "--json")


def _account(sandbox: Sandbox) -> str:
    return userdata.account_id(sandbox.base_url, sandbox.api_key)


def _assert_every_row_ready_once(sandbox: Sandbox, manifest: Path, rows: int) -> None:
    counters = sandbox.counters()
    assert counters["rate_limited"] > 0, counters  # the limit was really met
    assert counters["creates"] == rows and counters["duplicate_creates"] == 0, counters
    sheet = read_rows(results_path(manifest))
    assert [r["status"] for r in sheet] == ["ready"] * rows  # not unknown, not held
    assert all(not r["error"] for r in sheet), sheet


def test_without_rate_the_limit_is_found_and_429s_are_free(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path
) -> None:
    # A limit above the modest start; 429s say how long to wait (to the millisecond). A burst
    # of 2 absorbs the scheduling jitter of a loaded machine: with a burst of 1, two requests
    # sent 1/5 s apart can arrive 1/8 s apart, and a 429 at the starting rate proves nothing.
    sb = sandbox_factory(rate=8, burst=2, retry_after=True, retry_after_decimal=True)
    cli = Cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "find.csv", SIMPLE_HEADER, simple_rows(16))
    result = cli("run", manifest, *DISCOVER)
    assert result.code == exitcodes.OK, result
    _assert_every_row_ready_once(sb, manifest, 16)
    found = ratememory.load(_account(sb))
    assert found is not None and found.level is not None
    assert 5.0 < found.level < 2 * 8  # climbed from the modest 5/s to about the server's 8
    text = ratememory.path().read_text(encoding="utf-8")
    assert sb.api_key not in text


def test_a_remembered_limit_sets_the_start_and_is_corrected_by_the_server(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path
) -> None:
    # Remembered from a bigger plan: the next run starts just below it, meets 429s (without
    # Retry-After: the limiter backs off by itself), slows down, finishes, and remembers the
    # lower limit.
    sb = sandbox_factory(rate=20, burst=2, retry_after=False)
    ratememory.remember(_account(sb), level=50.0, highest_ok=45.0, refused=True)
    cli = Cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "again.csv", SIMPLE_HEADER, simple_rows(8))
    monkeypatch.setenv("HAPPYHORSE_BASE_URL", sb.base_url)
    with prepare(RunOptions(manifest=manifest)) as batch:
        limiter = batch._make_limiter(ceiling=None, background_kinds=())
        assert limiter.rate == pytest.approx(START_BELOW * 50.0)
        assert limiter.level == 50.0
        capped = batch._make_limiter(ceiling=30.0, background_kinds=())
        assert capped.rate == 30.0 and capped.max_rate == 30.0
    result = cli("run", manifest, *DISCOVER)
    assert result.code == exitcodes.OK, result
    _assert_every_row_ready_once(sb, manifest, 8)
    found = ratememory.load(_account(sb))
    assert found is not None and found.level is not None and found.level < 50.0


def test_the_sandbox_rehearsal_remembers_nothing(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path
) -> None:
    sb = sandbox_factory()
    cli = Cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "rehearse.csv", SIMPLE_HEADER, simple_rows(2))
    result = cli("run", manifest, "--sandbox", "--no-wait", *DISCOVER)
    assert result.code == exitcodes.OK, result
    assert not ratememory.path().exists()  # a new server on a new port every time
