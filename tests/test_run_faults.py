"""``hhbatch run`` under the server's rate limit and injected faults: done, and never twice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from runkit import SIMPLE_HEADER, Cli, copy_samples, read_rows, results_path, simple_rows, write_csv

from hhbatch import journal as j
from hhbatch.cli import exitcodes
from hhbatch.sandbox import Sandbox
from hhbatch.workflow import journal_path

FAULTS_OFF = {"create_then_fail": 0.0, "create_then_drop": 0.0}


def _cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


@pytest.mark.parametrize("retry_after", [True, False], ids=["retry-after", "no-retry-after"])
def test_rate_limited_batch_completes_without_duplicates(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path, retry_after: bool
) -> None:
    sb = sandbox_factory(rate=5, burst=2, retry_after=retry_after, retry_after_decimal=True)
    cli = _cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "rl.csv", SIMPLE_HEADER, simple_rows(5))
    # start far above what the server allows, so it has to answer 429
    result = cli.run(manifest, "--rate", "50", "--poll-interval", "0.3")
    assert result.code == exitcodes.OK, result
    counters = sb.counters()
    assert counters["rate_limited"] > 0, counters  # the limit was really hit
    assert counters["creates"] == 5
    assert counters["duplicate_creates"] == 0
    assert [r["status"] for r in read_rows(results_path(manifest))] == ["ready"] * 5


def test_errors_and_dropped_connections_on_presign_and_get_are_survived(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path
) -> None:
    sb = sandbox_factory(
        error_probability=0.15, drop_probability=0.1, fault_routes=("presign", "get"), seed=7
    )
    cli = _cli(sb, monkeypatch, capsys)
    folder = copy_samples(tmp_path)
    manifest = folder / "campaign.xlsx"
    result = cli.run(manifest)
    counters = sb.counters()
    assert counters["faults"]["error"] + counters["faults"]["drop"] > 0, counters
    assert result.code == exitcodes.OK, result
    assert counters["creates"] == 7 and counters["duplicate_creates"] == 0
    assert {r["status"] for r in read_rows(results_path(manifest))} == {"ready"}


@pytest.mark.parametrize("fault", ["create_then_fail", "create_then_drop"])
def test_lost_create_answers_become_unknown_and_are_resubmitted_only_on_request(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path, fault: str
) -> None:
    sb = sandbox_factory(**{fault: 1.0}, fault_routes=("create",))
    cli = _cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "lost.csv", SIMPLE_HEADER, simple_rows(3))
    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    assert sb.counters()["creates"] == 3  # the server made (and charged) every one
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["unknown"] * 3
    for row in rows:
        assert "Unknown whether this video was created" in row["error"]
        assert "--resubmit-unknown" in row["error"]
    assert "skipped, outcome unknown" not in result.err  # nothing was unknown before the run

    sb.update_config(**FAULTS_OFF)
    plain = cli.run(manifest)
    assert plain.code == exitcodes.ROWS_NOT_OK, plain
    assert re.search(r"skipped, outcome unknown\s+3\b", plain.err), plain
    assert sb.counters()["creates"] == 3  # a plain rerun never resubmits
    assert [r["status"] for r in read_rows(results_path(manifest))] == ["unknown"] * 3

    again = cli.run(manifest, "--resubmit-unknown")
    assert again.code == exitcodes.OK, again
    assert sb.counters()["creates"] == 6
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["ready"] * 3
    assert not any(r["error"] for r in rows)


def test_some_lost_creates_among_good_ones(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path
) -> None:
    sb = sandbox_factory(create_then_drop=0.4, fault_routes=("create",), seed=3)
    cli = _cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "mix.csv", SIMPLE_HEADER, simple_rows(10))
    cli.run(manifest)
    lost = sb.counters()["faults"]["create_then_drop"]
    assert 0 < lost < 10
    statuses = [r["status"] for r in read_rows(results_path(manifest))]
    assert statuses.count("unknown") == lost
    assert statuses.count("ready") == 10 - lost
    assert sb.counters()["creates"] == 10
    sb.update_config(**FAULTS_OFF)
    cli.run(manifest)
    assert sb.counters()["creates"] == 10
    assert sb.counters()["duplicate_creates"] == 0


def test_a_create_answered_500_is_unknown_and_never_sent_again(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path
) -> None:
    """A server that answered 500 to a create (here before creating, but the client cannot
    know that): the row is unknown, the create is not retried, and the journal says so."""
    sb = sandbox_factory(error_probability=1.0, fault_routes=("create",))
    cli = _cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "e.csv", SIMPLE_HEADER, simple_rows(2))
    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    assert sb.counters()["creates"] == 0
    creates_sent = sb.counters()["requests"]["POST /api/v1/videos"]
    assert creates_sent == {"500": 2}  # one request per row: a 500 is never retried
    with j.Journal.open(journal_path(manifest), base_url=None) as journal:
        assert {job.state for job in journal.jobs().values()} == {j.UNKNOWN}


def test_a_dry_run_with_resubmit_unknown_changes_nothing(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path
) -> None:
    sb = sandbox_factory(create_then_fail=1.0, fault_routes=("create",))
    cli = _cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "dry.csv", SIMPLE_HEADER, simple_rows(2))
    cli.run(manifest)
    sb.update_config(**FAULTS_OFF)
    dry = cli.run(manifest, "--dry-run", "--resubmit-unknown")
    assert dry.code == exitcodes.OK, dry
    assert re.search(r"videos to create now\s+2\b", dry.err), dry  # the plan says what it would do
    plain = cli.run(manifest)  # the dry run must not have turned "unknown" into "submittable"
    assert sb.counters()["creates"] == 2, plain
    assert [r["status"] for r in read_rows(results_path(manifest))] == ["unknown"] * 2


def test_unknown_rows_stay_unknown_even_when_the_journal_is_lost(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path
) -> None:
    import shutil

    from hhbatch.workflow import JOURNAL_DIRNAME

    sb = sandbox_factory(create_then_drop=1.0, fault_routes=("create",))
    cli = _cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "gone.csv", SIMPLE_HEADER, simple_rows(2))
    cli.run(manifest)
    sb.update_config(**FAULTS_OFF)
    shutil.rmtree(tmp_path / JOURNAL_DIRNAME)  # e.g. only the results sheet was copied over
    result = cli.run(results_path(manifest))
    assert result.code == exitcodes.ROWS_NOT_OK, result
    assert sb.counters()["creates"] == 2  # the sheet's "unknown" is respected
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["unknown"] * 2
    assert all("--resubmit-unknown" in r["error"] for r in rows)
    again = cli.run(results_path(manifest), "--resubmit-unknown")
    assert again.code == exitcodes.OK, again
    assert sb.counters()["creates"] == 4


def test_everything_at_once_every_row_accounted_for(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path
) -> None:
    """Rate limit, lost answers and server errors together on 25 rows: every row ends ready, and
    a prompt was created twice only when its first create's answer was lost (and the user said
    --resubmit-unknown)."""
    from collections import Counter

    sb = sandbox_factory(
        rate=40,
        burst=5,
        retry_after_decimal=True,
        error_probability=0.05,
        drop_probability=0.03,
        create_then_drop=0.1,
        fault_routes=("presign", "create", "get"),
        seed=5,
    )
    cli = _cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "all.csv", SIMPLE_HEADER, simple_rows(25))
    cli.run(manifest, "--rate", "80")
    first = read_rows(results_path(manifest))
    unknown = {r["Prompt"] for r in first if r["status"] == "unknown"}
    assert {r["status"] for r in first} <= {"ready", "unknown"}
    assert unknown  # the faults really hit creates
    made_first = Counter(job["body"]["prompt"] for job in sb.jobs())
    assert max(made_first.values()) == 1  # never twice without being asked

    sb.update_config(error_probability=0.0, drop_probability=0.0, create_then_drop=0.0)
    cli.run(manifest)  # a plain rerun sends nothing new
    assert Counter(job["body"]["prompt"] for job in sb.jobs()) == made_first
    result = cli.run(manifest, "--resubmit-unknown")
    assert result.code == exitcodes.OK, result
    made = Counter(job["body"]["prompt"] for job in sb.jobs())
    assert set(made) == {r["Prompt"] for r in first}
    for prompt_text, count in made.items():
        assert count == (made_first[prompt_text] + (1 if prompt_text in unknown else 0))
    final = read_rows(results_path(manifest))
    assert [r["status"] for r in final] == ["ready"] * 25
    assert len({r["videoId"] for r in final}) == 25
