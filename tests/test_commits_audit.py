"""Reproducers from an audit of grouped journal writes (hhbatch/commits.py): ids returned by the
server must never be dropped, whatever an unrelated write did before."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from runkit import Cli, write_csv

from hhbatch import journal as j
from hhbatch.commits import Commits
from hhbatch.errors import JournalError
from hhbatch.sandbox import Sandbox

BASE = "https://api.example.test"
STATUS = dict(video_url=None, thumbnail_url=None, ready_at=None, error=None)


def test_a_failed_poll_write_does_not_stop_the_next_id_being_recorded(tmp_path: Path) -> None:
    """A poll's news (``submit``, lossy by design) fails once; the next write handed over is a
    create's answer. Its id must reach the journal: the create was charged. (Once, ``call``
    raised the poll's old failure *before* queueing, so the id was never written.)"""
    journal = j.Journal.open(tmp_path / "batch.journal", base_url=BASE)
    journal.record_intent("a", "fp-a", 2, {"prompt": "a horse", "durationSec": 5})

    def poll_news_fails() -> None:
        raise JournalError("The batch journal could not be written (disk I/O error).")

    async def main() -> BaseException | None:
        commits = Commits(journal)
        commits.submit(poll_news_fails)  # another row's poll answer, written in the background
        for _ in range(500):  # until the worker thread has tried it
            if commits.writes:
                break
            await asyncio.sleep(0.01)
        try:
            # the server just answered this row's create with an id
            await commits.call(journal.record_created, "a", "vid_a", "queued")
        except BaseException as err:
            return err
        finally:
            with pytest.raises(JournalError):
                await commits.close()
        return None

    try:
        asyncio.run(main())
        job = journal.job("a")
        assert job is not None and job.video_id == "vid_a", (
            "the returned id was dropped: row 'a' is left "
            f"{job.state if job else None} without its video id"
        )
    finally:
        journal.close()


def test_run_keeps_every_returned_id_when_one_poll_write_fails(
    sandbox_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """End to end: one poll-status write fails (a transient disk error on a write the next run
    recovers anyway). Every video the server created must still have its id in the journal;
    none may be left as an id-less ``unknown``."""
    sandbox: Sandbox = sandbox_factory(latency_sec=0.03, queue_sec=0.01, processing_sec=0.01)
    cli = Cli(sandbox, monkeypatch, capsys)
    failed = threading.Event()
    real = j.Journal.record_status

    def flaky(self: j.Journal, row_key: str, **fields: Any) -> None:
        if not failed.is_set():
            failed.set()
            raise JournalError("The batch journal could not be written (disk I/O error).")
        return real(self, row_key, **fields)

    monkeypatch.setattr(j.Journal, "record_status", flaky)
    rows = [[f"a horse number {i} crossing a river", 5, "720p"] for i in range(40)]
    manifest = write_csv(tmp_path / "batch.csv", ("Prompt", "Duration (s)", "Resolution"), rows)
    result = cli.run(manifest, "--concurrency", "8")
    assert failed.is_set()
    assert "Traceback" not in result.err
    created = {job["id"]: job["body"]["prompt"] for job in sandbox.jobs()}
    from hhbatch.workflow import journal_path

    conn = sqlite3.connect(journal_path(manifest))
    try:
        known = {row[0] for row in conn.execute("SELECT video_id FROM jobs") if row[0]}
    finally:
        conn.close()
    lost = {vid: prompt for vid, prompt in created.items() if vid not in known}
    assert not lost, (
        f"{len(lost)} of {len(created)} created (charged) videos have no id in the journal "
        f"after one failed poll write; exit {result.code}; stderr: {result.err[-600:]}"
    )


@pytest.mark.parametrize("signum_name,at", [("SIGINT", 5), ("SIGTERM", 9), ("SIGINT", 14)])
def test_stop_while_intents_are_committing_never_marks_a_sent_row_not_sent(
    sandbox_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    signum_name: str,
    at: int,
) -> None:
    """Ctrl-C / SIGTERM lands while groups of intents are being committed (slow disk). No row
    the server created may read "not submitted"; a rerun creates each prompt at most once."""
    import os
    import signal

    from hhbatch.sandbox.api import ApiApp
    from hhbatch.workflow import journal_path

    sandbox: Sandbox = sandbox_factory(latency_sec=0.02, queue_sec=0.01, processing_sec=0.01)
    cli = Cli(sandbox, monkeypatch, capsys)
    real_commit = j.Journal.commit_group

    def slow_commit(self: j.Journal, calls: Any) -> Any:
        threading.Event().wait(0.02)  # a slow fsync: the intents' window is wide
        return real_commit(self, calls)

    seen = []
    real_handle = ApiApp.handle

    def handle(self: ApiApp, method: str, path: str, headers: Any, body: bytes) -> Any:
        if method == "POST" and path.rstrip("/").endswith("/videos"):
            seen.append(1)
            if len(seen) == at:
                os.kill(os.getpid(), getattr(signal, signum_name))
        return real_handle(self, method, path, headers, body)

    monkeypatch.setattr(j.Journal, "commit_group", slow_commit)
    monkeypatch.setattr(ApiApp, "handle", handle)
    rows = [[f"a horse number {i} crossing a river", 5, "720p"] for i in range(60)]
    manifest = write_csv(tmp_path / "batch.csv", ("Prompt", "Duration (s)", "Resolution"), rows)
    first = cli.run(manifest, "--concurrency", "16")
    assert first.code in (130, 143), first
    assert "Traceback" not in first.err
    created = {job["body"]["prompt"] for job in sandbox.jobs()}
    conn = sqlite3.connect(journal_path(manifest))
    try:
        states = {
            json.loads(req)["prompt"]: (state, vid)
            for req, state, vid in conn.execute("SELECT request, state, video_id FROM jobs")
            if req
        }
    finally:
        conn.close()
    wrongly_unsent = [p for p in created if states.get(p, ("none",))[0] in ("held", "none")]
    assert not wrongly_unsent, (len(created), wrongly_unsent[:3], states)
    monkeypatch.setattr(ApiApp, "handle", real_handle)
    cli.run(manifest, "--concurrency", "16")
    counts: dict[str, int] = {}
    for job in sandbox.jobs():
        counts[job["body"]["prompt"]] = counts.get(job["body"]["prompt"], 0) + 1
    assert max(counts.values()) == 1
    assert sandbox.counters()["duplicate_creates"] == 0


def test_an_id_reaches_the_journal_even_when_the_ledger_is_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ungrouped, ``LedgeredJournal.record_created`` commits the journal first, so a ledger that
    cannot be written (locked by another process past the busy timeout, damaged) still leaves
    the id in the batch journal. Grouped, the ledger's BEGIN IMMEDIATE is taken at the start of
    the group; when it failed, the journal's transaction was rolled back too and the id lost.
    A failed group is now made again call by call, the journal first."""
    from hhbatch import ledger as ledger_mod
    from hhbatch.ledger import BatchRef, Ledger, LedgeredJournal

    monkeypatch.setattr(ledger_mod, "BUSY_TIMEOUT_SEC", 0.2)  # 30 s in production
    plain = j.Journal.open(tmp_path / "batch.journal", base_url=BASE)
    ledger = Ledger.open(tmp_path / "ledger.sqlite")
    journal = LedgeredJournal(plain, ledger, "acct", BatchRef("batch", "batch.csv", None))
    journal.record_intent("a", "fp-a", 2, {"prompt": "a horse", "durationSec": 5})
    journal.record_intent("b", "fp-b", 3, {"prompt": "a pony", "durationSec": 5})
    other = sqlite3.connect(tmp_path / "ledger.sqlite", timeout=0.1, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the ledger's write lock

    try:
        # the ungrouped way keeps the id in the journal
        with pytest.raises(JournalError):
            journal.record_created("a", "vid_a", "queued")
        assert journal.job("a").video_id == "vid_a"  # type: ignore[union-attr]

        async def main() -> None:
            commits = Commits(journal)
            with pytest.raises(JournalError):
                await commits.call(journal.record_created, "b", "vid_b", "queued")
            await commits.close()

        asyncio.run(main())
        job = journal.job("b")
        assert job is not None and job.video_id == "vid_b", (
            f"grouped: the returned id vid_b is lost (row b is {job.state if job else None})"
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
        ledger.close()
        plain.close()
