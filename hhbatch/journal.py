"""The durable local journal: the source of truth for what was uploaded and what was created.

Why SQLite (standard library): every state change is one transaction, so a kill -9 at any
instant leaves a consistent file; what records a create is fsynced before the next network call
(see DURABLE below for which commits may wait for the next fsync). The create protocol is

    record_intent(row)   -- committed BEFORE the request leaves ("submitting")
    POST /api/v1/videos
    record_created(row, id)  -- committed right after the answer

A row found in ``submitting`` when a batch is opened again means the process died while the create
was in flight: nobody can know whether the server made the job (there is no idempotency key and
no list endpoint), so it becomes ``unknown`` and is never resubmitted without the user saying so.

The journal also holds the batch lock: ``locking_mode=EXCLUSIVE`` makes the first write take an
OS-level lock on the file that is held until the connection closes (or the process dies), so a
second run on the same batch is refused, on every platform SQLite runs on.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hhbatch.errors import BatchLocked, JournalError
from hhbatch.i18n import _
from hhbatch.userdata import normalize_base_url

SCHEMA_VERSION = 1

# Journal states of a row. ``pending`` rows have no record at all, or a record in ``held``.
SUBMITTING = "submitting"  # intent recorded, answer not (yet) recorded
SUBMITTED = "submitted"  # the server gave an id; not yet terminal
READY = "ready"
FAILED = "failed"  # the server's job failed (errorMessage)
REJECTED = "rejected"  # the create was refused (invalid_input, plan gate): nothing charged
UNKNOWN = "unknown"  # the create may or may not have happened
HELD = "held"  # not sent (out of credits, connection never made, upload failed): submit next run

IN_FLIGHT_STATES = frozenset({SUBMITTED})
TERMINAL_STATES = frozenset({READY, FAILED})

# How durable each commit is (issue #12.5). In WAL mode ``synchronous=FULL`` fsyncs the WAL at
# every commit. ``NORMAL`` leaves a commit in the OS's cache until the next FULL commit or
# checkpoint flushes it: the WAL is one file appended in order, so one fsync makes every earlier
# frame durable too. A killed process (kill -9, a crash of hhbatch) loses nothing either way, as
# the OS still holds what was written; a power cut or an OS crash can lose the NORMAL commits made
# since the last FULL one, never a FULL one, and never leaves the file inconsistent.
#
# * FULL (DURABLE) for every commit that records what is known about a create: the intent
#   before the request leaves, and the id right after the answer. A lost id would be a paid
#   video nobody can find: the row would come back from its intent as ``unknown`` (true, so
#   nothing is charged twice) but the video would be lost to the user. The rarer outcomes (not
#   sent, refused, unknown, held, adopted from the sheet, reset) are FULL too: losing one would
#   turn a row the next run may safely submit into an ``unknown`` one.
# * NORMAL (RECOVERABLE) only for what the next run recovers by itself: a job's status (asked
#   again by its id, which is durable), upload records (the file is uploaded again; an intent
#   whose request names the key is FULL and so makes the record durable with it), and sheet
#   positions (recomputed from the sheet by every run). These are most of a batch's commits.
# tests/test_journal_durability.py checks which level each commit is made at.
DURABLE = "FULL"
RECOVERABLE = "NORMAL"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    key TEXT NOT NULL,
    public_url TEXT,
    uploaded_at REAL NOT NULL,
    PRIMARY KEY (sha256, kind, content_type)
);
CREATE TABLE IF NOT EXISTS jobs (
    row_key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    sheet_row INTEGER,
    request TEXT,
    state TEXT NOT NULL,
    video_id TEXT,
    status TEXT,
    video_url TEXT,
    thumbnail_url TEXT,
    ready_at TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    submitted_at REAL,
    finished_at REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_video_id ON jobs (video_id);
CREATE TABLE IF NOT EXISTS superseded (
    row_key TEXT PRIMARY KEY,
    by_row_key TEXT NOT NULL,
    superseded_at REAL NOT NULL
);
"""


@dataclass
class UploadRecord:
    sha256: str
    kind: str
    content_type: str
    size: int
    key: str
    public_url: str | None


@dataclass
class JobRecord:
    row_key: str
    fingerprint: str
    sheet_row: int | None
    request: dict[str, Any] | None
    state: str
    video_id: str | None
    status: str | None
    video_url: str | None
    thumbnail_url: str | None
    ready_at: str | None
    error: str | None
    attempts: int
    submitted_at: float | None
    finished_at: float | None


_JOB_COLUMNS = (
    "row_key, fingerprint, sheet_row, request, state, video_id, status, video_url, thumbnail_url,"
    " ready_at, error, attempts, submitted_at, finished_at"
)


_ADOPTABLE_FIELDS = frozenset(
    {"status", "video_url", "thumbnail_url", "ready_at", "error", "request"}
)


def _job_from_row(row: tuple[Any, ...]) -> JobRecord:
    values = list(row)
    values[3] = json.loads(values[3]) if values[3] else None
    return JobRecord(*values)


class Journal:
    """One batch's journal file. Open with :meth:`open`; use as a context manager."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self._synchronous = DURABLE  # as open() sets it
        # Every public method holds this lock: a run commits in a worker thread (see
        # commit_group and hhbatch.commits) while the event loop may read the journal.
        self._lock = threading.RLock()

    # --- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, *, base_url: str | None, exclusive: bool = True) -> Journal:
        """Open (or create) the journal for a batch and take the batch lock.

        ``base_url`` is recorded on first use: ids from one server mean nothing to another, so
        resuming a batch against a different server is refused rather than silently resubmitted.
        ``None`` (a dry run without credentials) neither checks nor records it.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Used from one thread at a time (the lock), but not always the one that opened it:
            # commits run in a worker thread so that an fsync never stalls the event loop.
            db = sqlite3.connect(path, timeout=0.1, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as err:
            raise JournalError(
                _("Cannot open the batch journal {path}: {error}").format(path=path, error=err)
            ) from err
        journal = cls(path, db)
        try:
            if exclusive:
                db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={DURABLE}")
            db.executescript(_SCHEMA)
            # A damaged page may not show until a query reads it, mid-run: find out now.
            verdict = db.execute("PRAGMA quick_check").fetchone()
            if verdict is None or verdict[0] != "ok":
                raise sqlite3.DatabaseError("its integrity check failed")
            # Writing takes the lock now, so a second run is refused before it does anything.
            journal._init_meta(base_url)
        except sqlite3.OperationalError as err:
            db.close()
            if "locked" in str(err) or "busy" in str(err):
                raise BatchLocked(
                    _(
                        "Another hhbatch run is working on this batch (journal {path} is "
                        "locked). Wait for it to finish, or stop it, then run again."
                    ).format(path=path)
                ) from err
            raise JournalError(
                _("The batch journal {path} is unusable: {error}").format(path=path, error=err)
            ) from err
        except sqlite3.DatabaseError as err:
            db.close()
            raise JournalError(
                _(
                    "The batch journal {path} is damaged ({error}). Move it aside (rename it) "
                    "and run the same command again: hhbatch then rebuilds the batch from the "
                    "results sheet beside the manifest and this machine's record of created "
                    "videos, and creates nothing they show was already created."
                ).format(path=path, error=err)
            ) from err
        except BaseException:
            db.close()  # e.g. a base_url mismatch: refusing must not keep the batch locked
            raise
        return journal

    def _init_meta(self, base_url: str | None) -> None:
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        version = int(meta.get("schema_version", SCHEMA_VERSION))
        if version > SCHEMA_VERSION:
            raise JournalError(
                _(
                    "The batch journal {path} was written by a newer hhbatch; upgrade hhbatch."
                ).format(path=self.path)
            )
        recorded = meta.get("base_url")
        # Scheme and host are case-insensitive: a batch started before base URLs were
        # normalised (HTTPS://Api.Example.com) is the same server as https://api.example.com.
        if (
            recorded is not None
            and base_url is not None
            and normalize_base_url(recorded) != normalize_base_url(base_url)
        ):
            if not self._created_anything():
                # Nothing was ever created against the old address (a typo, no network, a
                # dry run): there are no ids to lose. Follow the new address; storage keys
                # from the old server mean nothing to the new one, so they go too.
                with self._tx():
                    self._db.execute(
                        "UPDATE meta SET value = ? WHERE key = 'base_url'", (base_url,)
                    )
                    self._db.execute("DELETE FROM uploads")
                return
            raise JournalError(
                _(
                    "This batch was started against {recorded}, not {base_url}. Video ids from "
                    "one server mean nothing to another: use the same HAPPYHORSE_BASE_URL, or "
                    "copy the manifest into a new folder to start a separate batch."
                ).format(recorded=recorded, base_url=base_url)
            )
        with self._tx():
            self._db.executemany(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                [
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("created_at", str(time.time())),
                    *([("base_url", base_url)] if base_url is not None else []),
                ],
            )

    def _created_anything(self) -> bool:
        """Whether a create may ever have reached the server of this journal (the base-URL lock
        applies only then): any id, or any state other than held/rejected (a refused create
        created nothing; a held one was never sent)."""
        row = self._db.execute(
            "SELECT 1 FROM jobs WHERE video_id IS NOT NULL OR state NOT IN (?, ?) LIMIT 1",
            (HELD, REJECTED),
        ).fetchone()
        return row is not None

    def close(self) -> None:
        with self._lock:  # not while a worker thread is committing on it
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self, durable: bool = True) -> sqlite3.Connection:
        """``with self._tx():`` — one transaction (committed, or rolled back on error), at the
        DURABLE level unless ``durable=False`` says the next run recovers it (see above)."""
        level = DURABLE if durable else RECOVERABLE
        if level != self._synchronous:
            self._db.execute(f"PRAGMA synchronous={level}")  # outside a transaction: allowed
            self._synchronous = level
        return _Transaction(self._db)  # type: ignore[return-value]

    # --- group commit ------------------------------------------------------------------------
    def commit_group(self, calls: Sequence[GroupCall]) -> list[tuple[bool, Any]]:
        """Run ``calls`` (this journal's own methods) as ONE transaction per file, committed at
        the DURABLE level: one fsync per file for all of them instead of one (or two) each.

        Why: an fsync costs milliseconds, and a batch makes several durable commits per row
        (the intent, the id; the ledger's too). Made one by one they cap a run at a few hundred
        rows a second on a fast disk and at a few dozen on a busy one. Grouped, every call that
        queued while the last group was being written shares the next fsync.

        Each call's own transactions become savepoints inside the group, and a call's own
        ``synchronous`` setting is skipped (SQLite refuses to change it inside a transaction;
        the whole group commits at DURABLE, which covers every level). A call that fails is
        rolled back alone and its exception returned in its place: ``(False, error)``; the
        others still commit. Nothing a call wrote is durable until this method returns: a
        caller that must not act before its record is durable (a create's intent) waits for
        it. If a commit fails, nothing of the group is reported done: the error is raised.
        """
        with self._lock:
            targets = self._group_targets()
            opened: list[tuple[Any, sqlite3.Connection]] = []
            results: list[tuple[bool, Any]] = []
            try:
                for owner in targets:
                    db = owner._db
                    db.execute(f"PRAGMA synchronous={DURABLE}")  # before BEGIN: allowed
                    db.execute("BEGIN IMMEDIATE")
                    opened.append((owner, db))
                    owner._db = _GroupedConnection(db)
                try:
                    for call in calls:
                        try:
                            results.append((True, call.fn()))
                        except Exception as err:  # that call alone failed: rolled back
                            results.append((False, err))
                finally:
                    for owner, db in opened:
                        owner._db = db
                    self._synchronous = DURABLE  # whatever the calls set, the group is DURABLE
                for index, (_owner, db) in enumerate(opened):
                    try:
                        db.execute("COMMIT")
                    except sqlite3.DatabaseError as err:
                        self._group_commit_failed(index, err, calls)
                        raise
            finally:
                for _owner, db in opened:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
            return results

    def _group_targets(self) -> list[Any]:
        """The objects whose connection (``_db``) a group spans, in commit order."""
        return [self]

    def _group_commit_failed(
        self, index: int, err: sqlite3.DatabaseError, calls: Sequence[GroupCall]
    ) -> None:
        """The commit of ``_group_targets()[index]`` failed (the earlier ones are committed):
        raise what the caller should see. Default: the error itself."""

    # --- uploads -----------------------------------------------------------------------------
    def get_upload(self, sha256: str, kind: str, content_type: str) -> UploadRecord | None:
        row = self._db.execute(
            "SELECT sha256, kind, content_type, size, key, public_url FROM uploads"
            " WHERE sha256 = ? AND kind = ? AND content_type = ?",
            (sha256, kind, content_type),
        ).fetchone()
        return UploadRecord(*row) if row else None

    def record_upload(self, record: UploadRecord) -> None:
        with self._tx(durable=False):  # lost: uploaded again; used by a create: made durable
            self._db.execute(
                "INSERT OR REPLACE INTO uploads"
                " (sha256, kind, content_type, size, key, public_url, uploaded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.sha256,
                    record.kind,
                    record.content_type,
                    record.size,
                    record.key,
                    record.public_url,
                    time.time(),
                ),
            )

    # --- jobs --------------------------------------------------------------------------------
    def jobs(self) -> dict[str, JobRecord]:
        rows = self._db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs").fetchall()
        return {row[0]: _job_from_row(row) for row in rows}

    def job(self, row_key: str) -> JobRecord | None:
        row = self._db.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE row_key = ?", (row_key,)
        ).fetchone()
        return _job_from_row(row) if row else None

    def recover_interrupted(self) -> list[str]:
        """Rows whose create was in flight when a previous run died become ``unknown``."""
        keys = [
            r[0]
            for r in self._db.execute(
                "SELECT row_key FROM jobs WHERE state = ?", (SUBMITTING,)
            ).fetchall()
        ]
        if keys:
            self._set_many(
                keys,
                state=UNKNOWN,
                error=(
                    _(
                        "A previous run stopped while this row's create request was in flight, "
                        "so it may or may not have been created (and charged). It was not "
                        "resubmitted; rerun with --resubmit-unknown to create it again."
                    )
                ),
            )
        return keys

    def record_intent(
        self,
        row_key: str,
        fingerprint: str,
        sheet_row: int,
        request: dict[str, Any],
        *,
        elsewhere_check: bool = False,
        supersedes: str | None = None,
    ) -> None:
        """Durably note that a create is about to be sent. Must be called before the request.

        ``supersedes``: the row key of the job this create replaces (an edited row sent with
        ``--resubmit-edited``); it is marked superseded in the same transaction, so the old,
        paid video is never paired with another row again (see :meth:`superseded_keys`).

        ``elsewhere_check``: the row is new to this batch, so another run (a copy of the sheet)
        may be creating the same request right now; a journal backed by the per-user ledger
        (:class:`hhbatch.ledger.LedgeredJournal`) then raises :class:`TakenElsewhere` instead
        of writing the intent. A journal of its own (a sandbox rehearsal) has no one to ask."""
        now = time.time()
        with self._tx():
            self._db.execute(
                "INSERT INTO jobs (row_key, fingerprint, sheet_row, request, state, attempts,"
                " submitted_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)"
                " ON CONFLICT(row_key) DO UPDATE SET fingerprint = excluded.fingerprint,"
                " sheet_row = excluded.sheet_row, request = excluded.request,"
                " state = excluded.state, attempts = jobs.attempts + 1, video_id = NULL,"
                " status = NULL, video_url = NULL, thumbnail_url = NULL, ready_at = NULL,"
                " error = NULL, submitted_at = excluded.submitted_at, finished_at = NULL,"
                " updated_at = excluded.updated_at",
                (row_key, fingerprint, sheet_row, json.dumps(request), SUBMITTING, now, now),
            )
            if supersedes is not None and supersedes != row_key:
                self._db.execute(
                    "INSERT OR REPLACE INTO superseded (row_key, by_row_key, superseded_at)"
                    " VALUES (?, ?, ?)",
                    (supersedes, row_key, now),
                )

    def record_created(self, row_key: str, video_id: str, status: str | None) -> None:
        self._set_many([row_key], state=SUBMITTED, video_id=video_id, status=status, error=None)

    def record_not_sent(self, row_key: str, reason: str) -> None:
        """The create provably never reached the server: the row may be submitted again."""
        self._set_many([row_key], state=HELD, error=reason)

    def record_held(self, row_key: str, fingerprint: str, sheet_row: int, reason: str) -> None:
        """A row that was not sent this run (e.g. out of credits), with the reason to show."""
        now = time.time()
        with self._tx():
            self._db.execute(
                "INSERT INTO jobs (row_key, fingerprint, sheet_row, state, error, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(row_key) DO UPDATE SET"
                " state = excluded.state, error = excluded.error, sheet_row = excluded.sheet_row,"
                " updated_at = excluded.updated_at WHERE jobs.state IN (?, ?, ?)",
                (row_key, fingerprint, sheet_row, HELD, reason, now, HELD, REJECTED, FAILED),
            )

    def record_unknown(self, row_key: str, reason: str) -> None:
        self._set_many([row_key], state=UNKNOWN, error=reason)

    def record_rejected(self, row_key: str, error: str) -> None:
        self._set_many([row_key], state=REJECTED, error=error, finished_at=time.time())

    def record_status(
        self,
        row_key: str,
        *,
        status: str,
        video_url: str | None,
        thumbnail_url: str | None,
        ready_at: str | None,
        error: str | None,
        state: str,
    ) -> None:
        fields: dict[str, Any] = {
            "status": status,
            "video_url": video_url,
            "thumbnail_url": thumbnail_url,
            "ready_at": ready_at,
            "error": error,
            "state": state,
        }
        if state in TERMINAL_STATES:
            fields["finished_at"] = time.time()
        self._set_many([row_key], durable=False, **fields)  # lost: the next run asks again

    def adopt(
        self,
        row_key: str,
        fingerprint: str,
        sheet_row: int | None,
        video_id: str | None,
        *,
        state: str = SUBMITTED,
        known: dict[str, Any] | None = None,
    ) -> None:
        """A create the journal does not know (journal lost or moved; the results sheet or the
        ledger knows it): take it as created rather than create the video again. ``known``:
        what is known of it already (``status``, ``video_url``, ``thumbnail_url``, ``ready_at``,
        ``error``, ``request``)."""
        now = time.time()
        extra = dict(known or {})
        assert set(extra) <= _ADOPTABLE_FIELDS, set(extra) - _ADOPTABLE_FIELDS
        if "request" in extra:
            extra["request"] = (
                json.dumps(extra["request"], default=str) if extra["request"] else None
            )
        names = ", ".join(extra)
        updates = "".join(f", {name} = excluded.{name}" for name in extra)
        with self._tx():
            # A record of the row may exist only as ``held`` (never sent: nothing to lose);
            # anything else the journal knows is never replaced by an adoption.
            self._db.execute(
                "INSERT INTO jobs (row_key, fingerprint, sheet_row, state, video_id,"
                f" attempts, updated_at{', ' + names if names else ''})"
                f" VALUES (?, ?, ?, ?, ?, 1, ?{', ?' * len(extra)})"
                " ON CONFLICT(row_key) DO UPDATE SET fingerprint = excluded.fingerprint,"
                " sheet_row = excluded.sheet_row, state = excluded.state,"
                " video_id = excluded.video_id, error = NULL,"
                f" updated_at = excluded.updated_at{updates} WHERE jobs.state = ?",
                (row_key, fingerprint, sheet_row, state, video_id, now, *extra.values(), HELD),
            )

    def record_superseded(self, row_key: str, by_row_key: str) -> None:
        """An edited row shows another video now (adopted, not created): see ``supersedes``."""
        with self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO superseded (row_key, by_row_key, superseded_at)"
                " VALUES (?, ?, ?)",
                (row_key, by_row_key, time.time()),
            )

    def superseded_keys(self) -> frozenset[str]:
        """Jobs replaced by an edited row's new create. Why kept: the old job stays in the
        journal (its video exists and was paid for) at its last sheet row, where an unrelated
        row may be put later; edit pairing must not take it for that row's earlier version."""
        rows = self._db.execute("SELECT row_key FROM superseded").fetchall()
        return frozenset(str(row[0]) for row in rows)

    def knows_video(self, video_id: str) -> bool:
        """Whether a row of this batch already shows this video."""
        row = self._db.execute("SELECT 1 FROM jobs WHERE video_id = ? LIMIT 1", (video_id,))
        return row.fetchone() is not None

    def meta_value(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta_value(self, key: str, value: str) -> None:
        with self._tx():
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def update_sheet_rows(self, positions: Iterable[tuple[str, int]]) -> None:
        with self._tx(durable=False):  # lost: every run recomputes them from the sheet
            self._db.executemany(
                "UPDATE jobs SET sheet_row = ? WHERE row_key = ?",
                [(sheet_row, key) for key, sheet_row in positions],
            )

    def reset_unknown(self, row_keys: Iterable[str]) -> None:
        """The user said to resubmit these unknown rows (``--resubmit-unknown``)."""
        self._set_many(list(row_keys), state=HELD, error=None, video_id=None)

    def _set_many(self, row_keys: list[str], *, durable: bool = True, **fields: Any) -> None:
        if not row_keys:
            return
        fields["updated_at"] = time.time()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        values = list(fields.values())
        with self._tx(durable):
            self._db.executemany(
                f"UPDATE jobs SET {assignments} WHERE row_key = ?",
                [(*values, key) for key in row_keys],
            )


class TakenElsewhere(Exception):
    """Raised instead of writing a create's intent: another run (another batch: a copy of the
    sheet, a renamed file) already created this exact request, or is creating it right now.
    Nothing was sent. The journal already says what the row shows: ``video_id`` (that run's
    video, adopted) or, without one, ``held`` with ``reason``."""

    def __init__(self, video_id: str | None, state: str, reason: str) -> None:
        super().__init__(reason)
        self.video_id = video_id
        self.state = state
        self.reason = reason


def in_use(path: Path) -> bool:
    """Whether a run holds this journal's batch lock right now (a live run, on this machine).

    Why it is safe to ask: the probe is a read-only connection that never waits; the lock's
    owner holds it exclusively (``locking_mode=EXCLUSIVE``), so the probe is refused while it
    lives. A run opening the journal at the same instant waits out the probe's microseconds
    (its busy timeout). A missing or unreadable file is no live run."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0)
    except sqlite3.Error:
        return False
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return False
    except sqlite3.OperationalError as err:
        return "locked" in str(err) or "busy" in str(err)
    except sqlite3.Error:
        return False
    finally:
        db.close()


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """A journal that breaks after opening (disk full, file damaged under us) raises
    :class:`JournalError`, which the CLI shows as one sentence, never a traceback. Each call
    holds the journal's lock (one thread at a time on its connection)."""

    @functools.wraps(method)
    def wrapper(self: Journal, *args: Any, **kwargs: Any) -> Any:
        try:
            with self._lock:
                return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as err:
            raise JournalError(
                _(
                    "The batch journal {path} could not be read or written ({error}). The run "
                    "stopped; check the disk (space, permissions), then run again."
                ).format(path=self.path, error=err)
            ) from err

    return wrapper


for _name, _member in list(vars(Journal).items()):
    if callable(_member) and not _name.startswith("_") and _name not in ("open", "close"):
        setattr(Journal, _name, _guarded(_member))


def locked(method: Callable[..., Any]) -> Callable[..., Any]:
    """Hold the journal's lock for the whole call: for subclasses whose methods write more than
    the journal (the ledger too), so that no other thread uses either connection meanwhile."""

    @functools.wraps(method)
    def wrapper(self: Journal, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class GroupCall:
    """One call of a group commit (:meth:`Journal.commit_group`). ``intent_of``: the row key
    whose create intent ``fn`` records, so that a group committed in the journal but not in
    the ledger can say that create was never sent."""

    fn: Callable[[], Any]
    intent_of: str | None = None


class _GroupedConnection:
    """A connection inside a group commit, as the calls of the group see it: their BEGIN,
    COMMIT and ROLLBACK become a savepoint, its release and its rollback, and their
    ``PRAGMA synchronous`` is skipped (the group commits at DURABLE). Everything else is
    the connection's own."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._real = db
        self._depth = 0

    def execute(self, sql: str, parameters: Any = ()) -> Any:
        head = sql.lstrip()[:24].upper()
        if head.startswith("BEGIN"):
            self._depth += 1
            return self._real.execute(f"SAVEPOINT hhbatch_group_{self._depth}")
        if head == "COMMIT" or head.startswith("COMMIT"):
            name = f"hhbatch_group_{self._depth}"
            self._depth -= 1
            return self._real.execute(f"RELEASE {name}")
        if head == "ROLLBACK" or head.startswith("ROLLBACK"):
            name = f"hhbatch_group_{self._depth}"
            self._depth -= 1
            self._real.execute(f"ROLLBACK TO {name}")
            return self._real.execute(f"RELEASE {name}")
        if head.startswith("PRAGMA SYNCHRONOUS"):
            return self._real.execute("SELECT 1")
        return self._real.execute(sql, parameters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _Transaction:
    """Explicit BEGIN/COMMIT on an autocommit connection, so every change is one transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")
