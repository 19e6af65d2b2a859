"""Journal writes off the event loop, grouped (hhbatch/commits.py, issue #5 item 5).

What must hold however the writes are scheduled: a create's intent is committed at FULL (the
journal's and the ledger's) before the request leaves; a returned id is never dropped; one write
that fails does not take the others with it; the event loop keeps running while the disk works.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runkit import Cli, write_csv

from hhbatch import journal as j
from hhbatch.commits import Commits
from hhbatch.ledger import NOT_SENT_LEDGER, BatchRef, Ledger, LedgeredJournal, LedgerError
from hhbatch.sandbox import Sandbox

BASE = "https://api.example.test"
STATUS = dict(video_url=None, thumbnail_url=None, ready_at=None, error=None)


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[j.Journal]:
    with j.Journal.open(tmp_path / "batch.journal", base_url=BASE) as opened:
        yield opened


def intent(key: str) -> tuple[Any, ...]:
    return (key, "fp-" + key, 2, {"prompt": "a horse " + key, "durationSec": 5})


async def occupy(commits: Commits) -> tuple[asyncio.Future[Any], threading.Event]:
    """Keep the worker thread busy in a group of its own until the event is set, so that what
    is handed over meanwhile is committed together in the next group."""
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(10)

    busy = asyncio.ensure_future(commits.call(hold))
    assert await asyncio.to_thread(started.wait, 10)
    return busy, release


def test_writes_queued_together_share_one_commit_at_full_and_each_waits_for_it(
    journal: j.Journal,
) -> None:
    journal.update_sheet_rows([])  # leaves the connection at NORMAL, as a status update does
    statements: list[str] = []
    journal._db.set_trace_callback(statements.append)
    seen_at_return: dict[str, int] = {}

    async def one(key: str) -> None:
        await commits.call(journal.record_intent, *intent(key), intent_of=key)
        seen_at_return[key] = len(statements)

    async def main() -> None:
        busy, release = await occupy(commits)
        intents = [asyncio.ensure_future(one(f"k{i}")) for i in range(6)]
        commits.submit(journal.record_status, "other", status="queued", state=j.SUBMITTED, **STATUS)
        await asyncio.sleep(0)  # all handed over
        release.set()
        await asyncio.gather(busy, *intents)
        await commits.close()

    commits = Commits(journal)
    asyncio.run(main())
    journal._db.set_trace_callback(None)
    text = [s.strip().upper() for s in statements]
    assert text.count("COMMIT") == 2, text  # the busy group, then seven writes in one commit
    begin = len(text) - 1 - text[::-1].index("BEGIN IMMEDIATE")
    commit = len(text) - 1 - text[::-1].index("COMMIT")
    assert [s for s in text[:begin] if s.startswith("PRAGMA SYNCHRONOUS")][-1].endswith("FULL")
    assert not [s for s in text[begin:commit] if s.startswith("PRAGMA SYNCHRONOUS")]
    assert all(at > commit for at in seen_at_return.values()), (seen_at_return, commit)
    assert {job.state for job in journal.jobs().values()} == {j.SUBMITTING}
    assert (commits.groups, commits.writes) == (2, 8)


def test_the_event_loop_keeps_running_while_a_group_is_committed(journal: j.Journal) -> None:
    """The commit waits until the event loop has moved on: on the loop itself it never would."""
    moved_on = threading.Event()
    real = journal.commit_group

    def slow_commit(calls: Any) -> Any:
        assert moved_on.wait(10), "the event loop was blocked while the journal committed"
        return real(calls)

    journal.commit_group = slow_commit  # type: ignore[method-assign]

    async def main() -> None:
        async def meanwhile() -> None:
            await asyncio.sleep(0.01)
            moved_on.set()

        commits = Commits(journal)
        await asyncio.gather(
            commits.call(journal.record_intent, *intent("a"), intent_of="a"), meanwhile()
        )
        await commits.close()

    asyncio.run(main())
    job = journal.job("a")
    assert job is not None and job.state == j.SUBMITTING


def test_a_write_that_fails_is_rolled_back_alone(journal: j.Journal) -> None:
    def half_done() -> None:
        with journal._tx():
            journal._db.execute("INSERT INTO meta (key, value) VALUES ('half', 'done')")
            raise ValueError("refused halfway")

    async def main() -> None:
        commits = Commits(journal)
        busy, release = await occupy(commits)
        writes = asyncio.gather(
            commits.call(journal.record_intent, *intent("a"), intent_of="a"),
            commits.call(half_done),
            commits.call(journal.record_intent, *intent("b"), intent_of="b"),
            return_exceptions=True,
        )
        await asyncio.sleep(0)
        release.set()
        await busy
        results = await writes
        await commits.close()
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], ValueError)
        assert commits.groups == 2  # one of them failed, in the same group as the others

    asyncio.run(main())
    assert journal.meta_value("half") is None
    assert set(journal.jobs()) == {"a", "b"}


def test_an_id_is_written_even_when_its_caller_gives_up(journal: j.Journal) -> None:
    """A create's answer, once handed over, reaches the journal (Ctrl-C, a failing run); an
    intent whose caller gave up before its group began is not written (nothing is sent)."""
    journal.record_intent(*intent("a"))

    async def main() -> None:
        commits = Commits(journal)
        created = asyncio.ensure_future(commits.call(journal.record_created, "a", "vid_a", "q"))
        unsent = asyncio.ensure_future(
            commits.call(journal.record_intent, *intent("b"), intent_of="b")
        )
        await asyncio.sleep(0)  # both handed over
        created.cancel()
        unsent.cancel()
        await commits.close()

    asyncio.run(main())
    job = journal.job("a")
    assert job is not None and (job.state, job.video_id) == (j.SUBMITTED, "vid_a")
    assert journal.job("b") is None


class _CommitFails:
    """A connection whose transactions cannot be committed (a disk that filled up)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.strip().upper() == "COMMIT":
            raise sqlite3.OperationalError("disk I/O error")
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_intents_the_ledger_could_not_commit_are_not_sent(tmp_path: Path) -> None:
    """The journal commits first; when the ledger's commit then fails, the group's creates are
    not sent, and the journal says so (held: submittable), not "unknown"."""
    plain = j.Journal.open(tmp_path / "batch.journal", base_url=BASE)
    ledger = Ledger.open(tmp_path / "ledger.sqlite")
    journal = LedgeredJournal(plain, ledger, "acct", BatchRef("batch", "batch.csv", None))
    journal.record_intent(*intent("a"))  # an earlier create, committed everywhere
    journal.record_created("a", "vid_a", "queued")
    ledger._db = _CommitFails(ledger._db)  # type: ignore[assignment]

    async def main() -> list[Any]:
        commits = Commits(journal)
        results = await asyncio.gather(
            commits.call(journal.record_intent, *intent("b"), intent_of="b"),
            commits.call(journal.record_intent, *intent("c"), intent_of="c"),
            return_exceptions=True,
        )
        await commits.close()
        return results

    try:
        results = asyncio.run(main())
        assert all(isinstance(r, LedgerError) for r in results), results
        jobs = journal.jobs()
        assert {key: jobs[key].state for key in "abc"} == {
            "a": j.SUBMITTED,
            "b": j.HELD,
            "c": j.HELD,
        }
        assert jobs["b"].error and "could not be written" in jobs["b"].error
        assert NOT_SENT_LEDGER.startswith("Not submitted")
    finally:
        ledger._db = ledger._db._db  # type: ignore[attr-defined]
        ledger.close()
        plain.close()


def test_each_create_leaves_only_after_its_intent_is_durable_in_journal_and_ledger(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real run against the sandbox, with a slow disk: at the instant each create reaches the
    server, the group holding its intent has been committed (at FULL) in both files."""
    from hhbatch.sandbox.api import ApiApp

    durable: set[str] = set()
    early: list[str] = []
    lock = threading.Lock()
    real_commit = j.Journal.commit_group

    def slow_commit(self: j.Journal, calls: Any) -> Any:
        threading.Event().wait(0.005)  # a slow fsync widens any gap
        results = real_commit(self, calls)
        with lock:
            for call in calls:
                if call.intent_of is not None:
                    durable.add(call.fn.args[3]["prompt"])
        return results

    real_handle = ApiApp.handle

    def handle(self: ApiApp, method: str, path: str, headers: Any, body: bytes) -> Any:
        if method == "POST" and path.rstrip("/").endswith("/videos"):
            prompt = json.loads(body)["prompt"]
            with lock:
                if prompt not in durable:
                    early.append(prompt)
        return real_handle(self, method, path, headers, body)

    monkeypatch.setattr(j.Journal, "commit_group", slow_commit)
    monkeypatch.setattr(ApiApp, "handle", handle)
    rows = [[f"a horse number {i} crossing a river", 5, "720p"] for i in range(12)]
    manifest = write_csv(tmp_path / "batch.csv", ("Prompt", "Duration (s)", "Resolution"), rows)
    result = cli.run(manifest, "--concurrency", "6")
    assert result.code == 0, result
    assert sandbox.counters()["creates"] == 12
    assert len(durable) == 12
    assert early == []
