"""How durable each journal commit is (issue #12.5): what no kill test can see.

A kill -9 loses nothing at any ``synchronous`` level (the OS keeps what was written); only a
power cut or an OS crash tells FULL from NORMAL. So these tests read the settings the engine
actually commits with: WAL, and FULL for every commit that records what is known about a create
(above all the intent before the request and the id after it), NORMAL only where the next run
recovers by itself. See the comment above ``DURABLE`` in ``hhbatch/journal.py`` for why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hhbatch import journal as j

BASE = "https://api.example.test"
LEVELS = {"0": "OFF", "1": "NORMAL", "2": "FULL", "3": "EXTRA"}


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[j.Journal]:
    with j.Journal.open(tmp_path / "batch.journal", base_url=BASE) as opened:
        yield opened


def committed_at(journal: j.Journal, action: Callable[[], None]) -> list[str]:
    """The ``synchronous`` level in force at each COMMIT that ``action`` makes, read from the
    statements the connection really ran, then confirmed by asking the engine itself."""
    db = journal._db
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    try:
        action()
    finally:
        db.set_trace_callback(None)
    level = LEVELS[str(db.execute("PRAGMA synchronous").fetchone()[0])]
    in_force, levels = None, []
    for statement in statements:
        text = statement.strip().upper()
        if text.startswith("PRAGMA SYNCHRONOUS="):
            in_force = text.split("=", 1)[1]
        elif text == "COMMIT":
            levels.append(in_force or level)
    assert levels, statements
    assert levels[-1] == level  # nothing changed the level after the last commit
    return levels


def intent(journal: j.Journal, key: str = "a#1") -> None:
    journal.record_intent(key, "fp", 2, {"prompt": "a horse", "durationSec": 5})


def test_the_journal_is_in_wal_mode_with_full_sync_after_opening(journal: j.Journal) -> None:
    assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert LEVELS[str(journal._db.execute("PRAGMA synchronous").fetchone()[0])] == "FULL"


def test_the_intent_and_the_id_commit_at_full(journal: j.Journal) -> None:
    # A status update first, so the intent has to switch the level back up.
    intent(journal, "z#1")
    journal.record_created("z#1", "vid_z", "queued")
    status = dict(video_url=None, thumbnail_url=None, ready_at=None, error=None)
    journal.record_status("z#1", status="processing", state=j.SUBMITTED, **status)
    assert committed_at(journal, lambda: intent(journal)) == ["FULL"]
    journal.record_status("z#1", status="processing", state=j.SUBMITTED, **status)
    assert committed_at(journal, lambda: journal.record_created("a#1", "vid_a", "queued")) == [
        "FULL"
    ]


@pytest.mark.parametrize(
    "record",
    [
        lambda jn: jn.record_not_sent("a#1", "connection refused"),
        lambda jn: jn.record_unknown("a#1", "timed out"),
        lambda jn: jn.record_rejected("a#1", "invalid_input"),
        lambda jn: jn.record_held("b#1", "fp", 3, "out of credits"),
        lambda jn: jn.adopt("c#1", "fp", 4, "vid_c"),
        lambda jn: jn.reset_unknown(["a#1"]),
    ],
    ids=["not_sent", "unknown", "rejected", "held", "adopt", "reset_unknown"],
)
def test_every_outcome_of_a_create_commits_at_full(
    journal: j.Journal, record: Callable[[j.Journal], None]
) -> None:
    intent(journal)
    journal.update_sheet_rows([("a#1", 5)])  # leaves the connection at NORMAL
    assert committed_at(journal, lambda: record(journal)) == ["FULL"]


def test_only_what_the_next_run_recovers_commits_at_normal(journal: j.Journal) -> None:
    intent(journal)
    journal.record_created("a#1", "vid_a", "queued")
    upload = j.UploadRecord("abc", "image", "image/png", 10, "videos/inputs/u/1.png", None)
    assert committed_at(journal, lambda: journal.record_upload(upload)) == ["NORMAL"]
    ready = dict(video_url="https://cdn/v.mp4", thumbnail_url=None, ready_at="2026-01-01")
    assert committed_at(
        journal,
        lambda: journal.record_status("a#1", status="ready", state=j.READY, error=None, **ready),
    ) == ["NORMAL"]
    assert committed_at(journal, lambda: journal.update_sheet_rows([("a#1", 9)])) == ["NORMAL"]


def test_a_lost_status_commit_leaves_a_row_the_next_run_asks_about(tmp_path: Path) -> None:
    """What a power cut can take (every NORMAL commit since the last FULL one) leaves the row
    as the FULL commits made it: created, with its id, in flight, so the poller asks again."""
    path = tmp_path / "batch.journal"
    with j.Journal.open(path, base_url=BASE) as journal:
        intent(journal)
        journal.record_created("a#1", "vid_a", "queued")
        # (the status update the power cut took is simply never made here)
    with j.Journal.open(path, base_url=BASE) as journal:
        assert journal.recover_interrupted() == []
        job = journal.job("a#1")
        assert job is not None
        assert (job.state, job.video_id) == (j.SUBMITTED, "vid_a")
        assert job.state in j.IN_FLIGHT_STATES
