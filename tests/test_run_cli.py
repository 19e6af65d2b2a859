"""``hhbatch run`` before spending: dry run, confirmation, credentials, the batch lock, --help."""

from __future__ import annotations

from pathlib import Path

import pytest
from runkit import (
    SIMPLE_HEADER,
    Cli,
    copy_samples,
    journal_file,
    read_rows,
    results_path,
    simple_rows,
    write_csv,
)

from hhbatch import journal as j
from hhbatch.cli import exitcodes
from hhbatch.sandbox import Sandbox


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def _nothing_sent(sandbox: Sandbox) -> None:
    counters = sandbox.counters()
    assert counters["requests_total"] == 0, counters
    assert counters["creates"] == counters["presigns"] == 0


def test_dry_run_needs_no_key_and_sends_nothing(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    folder = copy_samples(tmp_path)
    manifest = folder / "campaign.xlsx"
    cli.use_key(None)
    result = cli("run", manifest, "--dry-run")
    assert result.code == exitcodes.OK, result
    assert "videos to create now           7" in result.err
    assert "files to upload" in result.err
    assert "Dry run: nothing was sent." in result.err
    _nothing_sent(sandbox)
    assert not results_path(manifest).exists()


def test_dry_run_with_a_key_sends_nothing(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    folder = copy_samples(tmp_path)
    result = cli("run", folder / "campaign.csv", "--dry-run", "--yes")
    assert result.code == exitcodes.OK, result
    _nothing_sent(sandbox)


def test_dry_run_plan_counts_seconds_by_resolution(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    rows = [["a horse on a beach one", 4, "720p"], ["a horse on a beach two", 5, "1080p"]]
    rows.append(["a horse on a beach three", 6, "720p"])
    manifest = write_csv(tmp_path / "plan.csv", SIMPLE_HEADER, rows)
    result = cli("run", manifest, "--dry-run")
    assert "1080p 5 s, 720p 10 s" in result.err, result


def test_missing_key_is_one_sentence_and_exit_3(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    folder = copy_samples(tmp_path)
    cli.use_key(None)
    result = cli.run(folder / "campaign.xlsx")
    assert result.code == exitcodes.AUTH, result
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result
    assert "HAPPYHORSE_API_KEY" in lines[0]
    _nothing_sent(sandbox)


def test_no_terminal_and_no_yes_refuses(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    folder = copy_samples(tmp_path)
    result = cli("run", folder / "campaign.xlsx", "--rate", "500")
    assert result.code == exitcodes.USAGE, result
    assert "--yes" in result.err and "without a terminal" in result.err
    _nothing_sent(sandbox)


def test_invalid_key_stops_with_exit_3_and_no_row_failed(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = copy_samples(tmp_path)
    manifest = folder / "campaign.xlsx"
    bad_key = "hh_live_not_a_real_key_0123456789"
    cli.use_key(bad_key)
    result = cli.run(manifest)
    assert result.code == exitcodes.AUTH, result
    assert "api key" in result.err.lower()
    assert bad_key not in result.err + result.out  # even a wrong key is a secret
    for written in tmp_path.rglob("*"):
        if written.is_file():
            assert bad_key.encode() not in written.read_bytes(), written
    assert sandbox.counters()["creates"] == 0
    if results_path(manifest).exists():
        assert "failed" not in {r["status"] for r in read_rows(results_path(manifest))}
    with j.Journal.open(journal_file(manifest), base_url=None) as journal:
        states = {job.state for job in journal.jobs().values()}
    assert j.REJECTED not in states and j.FAILED not in states

    # the right key then runs the whole batch
    cli.use_key(sandbox.api_key)
    again = cli.run(manifest)
    assert again.code == exitcodes.OK, again
    assert sandbox.counters()["creates"] == 7


def test_invalid_key_on_text_only_rows(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "t.csv", SIMPLE_HEADER, simple_rows(3))
    cli.use_key("hh_live_not_a_real_key")
    result = cli.run(manifest)
    assert result.code == exitcodes.AUTH, result
    cli.use_key(sandbox.api_key)
    assert cli.run(manifest).code == exitcodes.OK
    assert sandbox.counters()["creates"] == 3


def test_limit_submits_n_then_the_next_run_the_rest(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = write_csv(tmp_path / "lim.csv", SIMPLE_HEADER, simple_rows(5))
    first = cli.run(manifest, "--limit", "2")
    assert sandbox.counters()["creates"] == 2
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["ready", "ready"] + ["not submitted"] * 3
    assert "--limit" in rows[2]["error"]
    assert first.code == exitcodes.ROWS_NOT_OK, first
    second = cli.run(manifest)
    assert second.code == exitcodes.OK, second
    counters = sandbox.counters()
    assert counters["creates"] == 5 and counters["duplicate_creates"] == 0
    assert [r["status"] for r in read_rows(results_path(manifest))] == ["ready"] * 5


def test_second_run_on_a_locked_batch_refuses(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "lock.csv", SIMPLE_HEADER, simple_rows(3))
    with j.Journal.open(journal_file(manifest), base_url=sandbox.base_url):
        result = cli.run(manifest)
        assert result.code == exitcodes.USAGE, result
        assert "Another hhbatch run is working on this batch" in result.err
        also = cli.status(manifest)
        assert also.code == exitcodes.USAGE, also
    _nothing_sent(sandbox)
    assert cli.run(manifest).code == exitcodes.OK
    assert sandbox.counters()["creates"] == 3


def test_config_file_with_unknown_setting_is_a_usage_error(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = write_csv(tmp_path / "cfg.csv", SIMPLE_HEADER, simple_rows(1))
    (tmp_path / "hhbatch.yaml").write_text("rate: 5\nspeed: 3\n", encoding="utf-8")
    result = cli.run(manifest)
    assert result.code == exitcodes.USAGE
    assert "speed" in result.err
    _nothing_sent(sandbox)


def test_missing_manifest_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    result = cli.run(tmp_path / "nope.xlsx")
    assert result.code == exitcodes.USAGE
    assert "nope.xlsx" in result.err


@pytest.mark.parametrize("command", ["run", "status"])
def test_help_documents_exit_codes_and_options(
    cli: Cli, command: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit):
        cli(command, "--help")
    text = capsys.readouterr().out
    for option in ("--out", "--config", "--json"):
        assert option in text
    if command == "run":
        for option in (
            "--yes",
            "--dry-run",
            "--sandbox",
            "--rate",
            "--concurrency",
            "--poll-interval",
            "--no-wait",
            "--wait-timeout",
            "--limit",
            "--retry-failed",
            "--resubmit-unknown",
        ):
            assert option in text
        for code in ("0 all rows ready", "3 authentication", "4 out of credits", "130"):
            assert code in text


def test_a_damaged_journal_is_one_clear_message(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "dmg.csv", SIMPLE_HEADER, simple_rows(2))
    path = journal_file(manifest)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a journal " * 300)
    result = cli.run(manifest)
    assert result.code == exitcodes.USAGE, result
    assert "damaged" in result.err and str(path) in result.err
    assert "Traceback" not in result.err
    _nothing_sent(sandbox)


def test_another_server_than_the_batch_was_started_on_is_refused(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = write_csv(tmp_path / "srv.csv", SIMPLE_HEADER, simple_rows(1))
    assert cli.run(manifest).code == exitcodes.OK
    cli.monkeypatch.setenv("HAPPYHORSE_BASE_URL", "http://127.0.0.1:9")
    result = cli.run(manifest)
    assert result.code == exitcodes.USAGE, result
    assert "was started against" in result.err
    assert sandbox.counters()["creates"] == 1


def test_out_chooses_where_results_go_and_resumes_there(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = write_csv(tmp_path / "o.csv", SIMPLE_HEADER, simple_rows(3))
    out = tmp_path / "elsewhere" / "mine.csv"
    out.parent.mkdir()
    first = cli.run(manifest, "--out", out.with_suffix(".xlsx"), "--limit", "1")
    assert first.code == exitcodes.ROWS_NOT_OK, first
    # a CSV manifest gives a CSV copy; that is not a "locked, written elsewhere" event
    assert out.is_file() and not results_path(manifest).exists()
    assert "locked" not in first.err and f"Results: {out}" in first.err
    assert cli.run(manifest, "--out", out).code == exitcodes.OK
    assert [r["status"] for r in read_rows(out)] == ["ready"] * 3
    assert sandbox.counters()["creates"] == 3


def test_videos_of_another_account_are_reported_not_found(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    from hhbatch.sandbox import OTHER_KEY

    manifest = write_csv(tmp_path / "nf.csv", SIMPLE_HEADER, simple_rows(2))
    assert cli.run(manifest, "--no-wait").code == exitcodes.OK
    cli.use_key(OTHER_KEY)  # same server, another account's key
    result = cli.status(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["not_found"] * 2
    assert all("another API key" in r["error"] for r in rows)
    assert "still generating" not in result.err
    cli.use_key(sandbox.api_key)  # the right key finds them again
    assert cli.run(manifest).code == exitcodes.OK
    assert sandbox.counters()["creates"] == 2


@pytest.mark.parametrize(
    ("base_url", "code", "words"),
    [("", exitcodes.AUTH, "HAPPYHORSE_BASE_URL"), ("example.test", exitcodes.USAGE, "https://")],
    ids=["missing", "no-scheme"],
)
def test_base_url_problems_are_one_sentence(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, base_url: str, code: int, words: str
) -> None:
    manifest = write_csv(tmp_path / "b.csv", SIMPLE_HEADER, simple_rows(1))
    cli.monkeypatch.setenv("HAPPYHORSE_BASE_URL", base_url)
    result = cli.run(manifest)
    assert result.code == code, result
    assert words in result.err
    assert len([line for line in result.err.splitlines() if line.strip()]) == 1
    _nothing_sent(sandbox)


def test_base_url_may_come_from_the_config_file(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "c.csv", SIMPLE_HEADER, simple_rows(1))
    (tmp_path / "hhbatch.yaml").write_text(f"base_url: {sandbox.base_url}\n", encoding="utf-8")
    cli.monkeypatch.delenv("HAPPYHORSE_BASE_URL")
    assert cli.run(manifest).code == exitcodes.OK
    assert sandbox.counters()["creates"] == 1
