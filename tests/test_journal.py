"""The batch journal: the create protocol, crash recovery, the lock, and broken files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hhbatch import journal as j
from hhbatch.errors import BatchLocked, HhbatchError, JournalError

BASE = "https://example.happyhorse.test"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / ".hhbatch" / "batch.journal.sqlite"


def _fill(path: Path, rows: int = 40) -> None:
    with j.Journal.open(path, base_url=BASE) as journal:
        for i in range(rows):
            key = f"fp{i}#1"
            journal.record_intent(key, f"fp{i}", i + 2, {"prompt": "x" * 200, "durationSec": 3})
            journal.record_created(key, f"id-{i}", "queued")


def test_intent_then_created(path: Path) -> None:
    with j.Journal.open(path, base_url=BASE) as journal:
        journal.record_intent("a#1", "a", 2, {"prompt": "a horse", "durationSec": 3})
        job = journal.job("a#1")
        assert job is not None
        assert job.state == j.SUBMITTING and job.video_id is None and job.attempts == 1
        assert job.request == {"prompt": "a horse", "durationSec": 3}
        journal.record_created("a#1", "vid-1", "queued")
        job = journal.job("a#1")
        assert job is not None
        assert (job.state, job.video_id, job.status) == (j.SUBMITTED, "vid-1", "queued")
    # durable: a new process sees it
    with j.Journal.open(path, base_url=BASE) as journal:
        job = journal.job("a#1")
        assert job is not None and job.video_id == "vid-1"


def test_recover_interrupted_turns_submitting_into_unknown(path: Path) -> None:
    with j.Journal.open(path, base_url=BASE) as journal:
        journal.record_intent("a#1", "a", 2, {"prompt": "a"})
        journal.record_intent("b#1", "b", 3, {"prompt": "b"})
        journal.record_created("b#1", "vid-b", "queued")
    with j.Journal.open(path, base_url=BASE) as journal:
        assert journal.recover_interrupted() == ["a#1"]
        a, b = journal.job("a#1"), journal.job("b#1")
        assert a is not None and b is not None
        assert a.state == j.UNKNOWN and "--resubmit-unknown" in (a.error or "")
        assert b.state == j.SUBMITTED
        assert journal.recover_interrupted() == []


def test_reset_unknown_allows_a_new_intent(path: Path) -> None:
    with j.Journal.open(path, base_url=BASE) as journal:
        journal.record_intent("a#1", "a", 2, {"prompt": "a"})
        journal.record_unknown("a#1", "lost")
        journal.reset_unknown(["a#1"])
        job = journal.job("a#1")
        assert job is not None and job.state == j.HELD and job.error is None
        journal.record_intent("a#1", "a", 2, {"prompt": "a"})
        job = journal.job("a#1")
        assert job is not None and job.state == j.SUBMITTING and job.attempts == 2


def test_held_never_overwrites_a_created_job(path: Path) -> None:
    with j.Journal.open(path, base_url=BASE) as journal:
        journal.record_intent("a#1", "a", 2, {"prompt": "a"})
        journal.record_created("a#1", "vid-a", "queued")
        journal.record_held("a#1", "a", 2, "out of credits")
        job = journal.job("a#1")
        assert job is not None and job.state == j.SUBMITTED and job.video_id == "vid-a"
        journal.record_held("b#1", "b", 3, "out of credits")
        held = journal.job("b#1")
        assert held is not None and held.state == j.HELD and held.error == "out of credits"


def test_uploads_are_remembered_by_content(path: Path) -> None:
    with j.Journal.open(path, base_url=BASE) as journal:
        assert journal.get_upload("abc", "image", "image/png") is None
        record = j.UploadRecord("abc", "image", "image/png", 10, "videos/inputs/u/1.png", None)
        journal.record_upload(record)
    with j.Journal.open(path, base_url=BASE) as journal:
        assert journal.get_upload("abc", "image", "image/png") == record
        assert journal.get_upload("abc", "image", "image/jpeg") is None


def test_a_second_open_is_refused_while_the_first_holds_the_lock(path: Path) -> None:
    locked = pytest.raises(BatchLocked, match="Another hhbatch run is working on this batch")
    with j.Journal.open(path, base_url=BASE), locked:
        j.Journal.open(path, base_url=BASE)
    with j.Journal.open(path, base_url=BASE):  # released on close
        pass


def test_base_url_may_change_while_nothing_was_created(path: Path) -> None:
    with j.Journal.open(path, base_url="https://typo.example") as journal:
        journal.record_held("k#1", "k", 2, "Not submitted: could not connect.")
        journal.record_upload(j.UploadRecord("sha", "image", "image/png", 3, "img/x", None))
    with j.Journal.open(path, base_url=BASE) as journal:  # nothing created: follows the fix
        assert journal.get_upload("sha", "image", "image/png") is None  # keys of another server
        journal.record_intent("k#1", "k", 2, {"prompt": "x"})
    with pytest.raises(JournalError, match="was started against"):
        j.Journal.open(path, base_url="https://typo.example")


def test_base_url_mismatch_is_refused(path: Path) -> None:
    with j.Journal.open(path, base_url=BASE) as journal:
        journal.record_intent("k#1", "k", 2, {"prompt": "x"})
    with pytest.raises(JournalError, match="was started against") as err:
        j.Journal.open(path, base_url="https://other.example")
    assert BASE in str(err.value)
    with j.Journal.open(path, base_url=None):  # a dry run without credentials may look
        pass


def test_base_url_spelt_in_another_case_is_the_same_server(path: Path) -> None:
    # A batch started before base URLs were normalised kept the address as typed; scheme and
    # host are case-insensitive, so the same server in lower case resumes it (with its ids).
    with j.Journal.open(path, base_url="HTTPS://API.Example.com/v1") as journal:
        journal.record_intent("k#1", "k", 2, {"prompt": "x"})
        journal.record_created("k#1", "vid-1", "queued")
    with j.Journal.open(path, base_url="https://api.example.com/v1") as journal:
        assert journal.jobs()["k#1"].video_id == "vid-1"
    with pytest.raises(JournalError, match="was started against"):  # the path is not a host
        j.Journal.open(path, base_url="https://api.example.com/V1")


def test_newer_schema_is_refused(path: Path) -> None:
    with j.Journal.open(path, base_url=BASE):
        pass
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="newer hhbatch"):
        j.Journal.open(path, base_url=BASE)


def test_an_empty_file_is_a_fresh_journal(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    with j.Journal.open(path, base_url=BASE) as journal:
        assert journal.jobs() == {}


@pytest.mark.parametrize(
    "content",
    [b"this is not a database at all" * 50, b"SQLite format 3\x00" + b"\xff" * 3000],
    ids=["garbage", "bad-header"],
)
def test_a_damaged_file_gives_a_clear_error(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(JournalError) as err, j.Journal.open(path, base_url=BASE) as journal:
        journal.jobs()
    message = str(err.value)
    assert str(path) in message
    assert "damaged" in message or "unusable" in message


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_a_half_written_file_gives_a_journal_error_not_a_traceback(
    path: Path, fraction: float
) -> None:
    _fill(path)
    for extra in path.parent.glob("*-wal"):
        extra.unlink()
    data = path.read_bytes()
    assert len(data) > 4096  # several pages, so truncation really cuts the tables
    path.write_bytes(data[: int(len(data) * fraction)])
    try:
        with j.Journal.open(path, base_url=BASE) as journal:
            journal.recover_interrupted()
            journal.jobs()
    except HhbatchError as err:
        assert isinstance(err, JournalError), err
        assert str(path) in str(err)


@pytest.mark.parametrize("page", [1, 2, 3, 4, 5])
def test_a_damaged_page_is_found_at_open_not_mid_run(path: Path, page: int) -> None:
    _fill(path)
    data = bytearray(path.read_bytes())
    size = 4096
    assert len(data) >= (page + 1) * size
    data[page * size : (page + 1) * size] = b"\x07" * size
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError, match="damaged"), j.Journal.open(path, base_url=BASE) as j2:
        j2.recover_interrupted()
        j2.jobs()


def test_an_unwritable_place_gives_a_journal_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError, match="Cannot open the batch journal"):
        j.Journal.open(blocker / "sub" / "j.sqlite", base_url=BASE)
