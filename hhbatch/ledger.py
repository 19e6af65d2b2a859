"""The per-user ledger: every create this machine ever sent, whatever happened to the batch's files.

Why a second record beside the batch journal: the journal lives in the campaign folder
(``.hhbatch/``), and users copy, rename, sync and clean campaign folders. A copy of a manifest in
another folder, a renamed file or a lost journal would otherwise look like a new batch and be
created — and charged — again. The ledger lives in the user data folder
(:func:`hhbatch.userdata.home`), keyed by the account (base URL + key fingerprint, never the key),
and answers one question before anything is sent: *was exactly this request already created for
this account?* (see :mod:`hhbatch.adoption`). It also backs ``hhbatch history``: the API has no
list endpoint.

It follows the journal's create protocol (:class:`LedgeredJournal` mirrors the journal's calls):
the intent is committed (``synchronous=FULL``) *before* the request leaves and the id right after,
so a kill -9 between the two leaves an entry in ``submitting``, which reads as ``unknown``.

Several hhbatch runs (on different batches) share the file at once, so it is never an exclusive
lock: WAL lets readers and one writer work together, and a busy timeout waits out another run's
short write instead of failing.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hhbatch import journal as j
from hhbatch import userdata
from hhbatch.errors import JournalError
from hhbatch.i18n import _

LEDGER_FILENAME = "ledger.sqlite"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_SEC = 30.0  # another run's write takes milliseconds; wait for it, never fail
PROMPT_KEPT = 120  # characters of the prompt kept: enough to recognise a video in `history`

# Entry states are the journal's (submitting, submitted, ready, failed, unknown, rejected, held).
# States in which the server may have made (and charged) the video.
MAYBE_CREATED = frozenset({j.SUBMITTING, j.SUBMITTED, j.READY, j.FAILED, j.UNKNOWN})
_FINISHED = frozenset({j.READY, j.FAILED})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS creates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    batch_key TEXT NOT NULL,
    row_key TEXT NOT NULL,
    manifest TEXT NOT NULL,
    sheet TEXT,
    sheet_row INTEGER,
    prompt TEXT,
    state TEXT NOT NULL,
    video_id TEXT,
    status TEXT,
    video_url TEXT,
    thumbnail_url TEXT,
    ready_at TEXT,
    sent_at REAL NOT NULL,
    created_at REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS creates_request ON creates (account, fingerprint);
CREATE INDEX IF NOT EXISTS creates_video ON creates (account, video_id);
CREATE INDEX IF NOT EXISTS creates_batch ON creates (batch_key, row_key);
CREATE TABLE IF NOT EXISTS claims (
    batch_key TEXT NOT NULL,
    row_key TEXT NOT NULL,
    create_id INTEGER NOT NULL,
    claimed_at REAL NOT NULL,
    PRIMARY KEY (batch_key, row_key)
);
"""

_ENTRY_COLUMNS = (
    "id, account, fingerprint, batch_key, row_key, manifest, sheet, sheet_row, prompt, state,"
    " video_id, status, video_url, thumbnail_url, ready_at, sent_at, created_at"
)


@dataclass(frozen=True)
class BatchRef:
    """Which batch a create belongs to. ``key`` identifies the batch (its journal file: one
    sheet of one manifest in one folder); ``manifest`` and ``sheet`` are what a person reads."""

    key: str
    manifest: str
    sheet: str | None


@dataclass
class LedgerEntry:
    id: int
    account: str
    fingerprint: str
    batch_key: str
    row_key: str
    manifest: str
    sheet: str | None
    sheet_row: int | None
    prompt: str | None
    state: str
    video_id: str | None
    status: str | None
    video_url: str | None
    thumbnail_url: str | None
    ready_at: str | None
    sent_at: float
    created_at: float | None

    @property
    def when(self) -> float:
        """When the create was made (or, without an answer, sent)."""
        return self.created_at or self.sent_at

    @property
    def outcome_unknown(self) -> bool:
        return self.state in (j.SUBMITTING, j.UNKNOWN)


def default_path() -> Path:
    return userdata.home() / LEDGER_FILENAME


class LedgerError(JournalError):
    """The ledger cannot be read or written: nothing is sent without it."""


class Ledger:
    """The ledger file. Open with :meth:`open`; use as a context manager."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    @classmethod
    def open(cls, path: Path | None = None) -> Ledger:
        path = Path(path) if path is not None else default_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Used by one thread at a time, not always the opener: a run's commits are made in
            # a worker thread (hhbatch.commits), under the batch journal's lock.
            db = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_SEC, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as err:
            raise LedgerError(_unusable(path, err)) from err
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            verdict = db.execute("PRAGMA quick_check").fetchone()
            if verdict is None or verdict[0] != "ok":
                raise sqlite3.DatabaseError("its integrity check failed")
            with _Transaction(db):
                db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if int(version[0]) > SCHEMA_VERSION:
                raise LedgerError(
                    _(
                        "This machine's record of created videos {path} was written by a newer "
                        "hhbatch; upgrade hhbatch."
                    ).format(path=path)
                )
        except sqlite3.DatabaseError as err:
            db.close()
            raise LedgerError(_unusable(path, err)) from err
        except BaseException:
            db.close()
            raise
        return cls(path, db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: Iterable[Any], *, durable: bool = True) -> sqlite3.Cursor:
        """One transaction. ``durable``: fsynced before returning (``synchronous=FULL``), for
        every fact about money; a poll's news may wait for the next checkpoint (``NORMAL``)."""
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        with _Transaction(self._db):
            return self._db.execute(sql, tuple(params))

    # --- the create protocol -------------------------------------------------------------------
    def record_intent(
        self,
        account: str,
        fingerprint: str,
        batch: BatchRef,
        row_key: str,
        sheet_row: int | None,
        prompt: str | None,
    ) -> int:
        """Committed before the create request leaves; returns the entry's id."""
        self._db.execute("PRAGMA synchronous=FULL")
        with _Transaction(self._db):
            return self._insert_intent(account, fingerprint, batch, row_key, sheet_row, prompt)

    def admit(
        self,
        account: str,
        fingerprint: str,
        batch: BatchRef,
        row_key: str,
        sheet_row: int | None,
        prompt: str | None,
        *,
        journal_intent: Callable[[], None],
        adopt: Callable[[LedgerEntry], None],
        ignore: Callable[[LedgerEntry], bool],
    ) -> int | LedgerEntry:
        """The claim of a new row's create, atomic across every run of this machine.

        Why here and not only at planning: two copies of a sheet started together both plan
        before either has sent anything, and each would create every row. So, in ONE
        transaction (``BEGIN IMMEDIATE``: the ledger's write lock, which every run takes to
        write an intent): look for a create of the same request by another batch that this
        batch does not show yet (not claimed by it, not ``ignore``-d: a video its journal
        knows, or one this run already waits for), in a state that may have made a video.

        * Found with an id: ``adopt(entry)`` writes it into the journal and the claim is
          committed with it; the entry is returned. Nothing is sent.
        * Found without an id (being created right now, or unknown): the entry is returned,
          nothing is written. Nothing is sent.
        * None: ``journal_intent()`` writes the journal's intent (the journal goes first), then
          the ledger's intent is committed; its id is returned and the request may leave.

        The check precedes both intents, inside the lock, so no other run can slip its intent
        in between. A kill after the journal's intent and before the ledger's commit leaves the
        journal's ``submitting`` (read as ``unknown``, never created again) and no ledger entry,
        exactly as before this check existed.
        """
        self._db.execute("PRAGMA synchronous=FULL")
        with _Transaction(self._db):
            for entry in self._competitors(account, fingerprint, batch.key):
                if ignore(entry):
                    continue
                if entry.video_id:
                    adopt(entry)
                    self._db.execute(
                        "INSERT OR REPLACE INTO claims (batch_key, row_key, create_id,"
                        " claimed_at) VALUES (?, ?, ?, ?)",
                        (batch.key, row_key, entry.id, time.time()),
                    )
                return entry
            journal_intent()
            return self._insert_intent(account, fingerprint, batch, row_key, sheet_row, prompt)

    def _competitors(self, account: str, fingerprint: str, batch_key: str) -> list[LedgerEntry]:
        """Creates of this request by other batches that may exist and this batch has not
        claimed, oldest first (the latest create of each batch row, as in :meth:`candidates`)."""
        states = sorted(MAYBE_CREATED)
        marks = ", ".join("?" for _ in states)
        rows = self._db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM creates c WHERE account = ? AND fingerprint = ?"
            f" AND batch_key != ? AND state IN ({marks}) AND id = (SELECT MAX(id) FROM creates d"
            f" WHERE d.batch_key = c.batch_key AND d.row_key = c.row_key AND d.state IN"
            f" ({marks})) AND id NOT IN (SELECT create_id FROM claims WHERE batch_key = ?)"
            " ORDER BY sent_at, id",
            (account, fingerprint, batch_key, *states, *states, batch_key),
        ).fetchall()
        return [LedgerEntry(*row) for row in rows]

    def _insert_intent(
        self,
        account: str,
        fingerprint: str,
        batch: BatchRef,
        row_key: str,
        sheet_row: int | None,
        prompt: str | None,
    ) -> int:
        now = time.time()
        cursor = self._db.execute(
            "INSERT INTO creates (account, fingerprint, batch_key, row_key, manifest, sheet,"
            " sheet_row, prompt, state, sent_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                account,
                fingerprint,
                batch.key,
                row_key,
                batch.manifest,
                batch.sheet,
                sheet_row,
                (prompt or "")[:PROMPT_KEPT] or None,
                j.SUBMITTING,
                now,
                now,
            ),
        )
        entry_id = int(cursor.lastrowid or 0)
        # The row is this batch's own create now, not a video adopted from another batch.
        self._db.execute(
            "DELETE FROM claims WHERE batch_key = ? AND row_key = ?", (batch.key, row_key)
        )
        return entry_id

    def record_resent(self, entry_id: int) -> None:
        """A retry of a create that provably created nothing (429, no connection)."""
        now = time.time()
        self._write(
            "UPDATE creates SET state = ?, sent_at = ?, updated_at = ? WHERE id = ?",
            (j.SUBMITTING, now, now, entry_id),
        )

    def record_created(self, entry_id: int, video_id: str, status: str | None) -> None:
        """Not fsynced (WAL, ``synchronous=NORMAL``: it survives a killed process, not a power
        cut): were it lost, the entry reads ``unknown`` — never created again — and the batch's
        own journal (fsynced) still has the id. Half the ledger's fsyncs per create."""
        now = time.time()
        self._write(
            "UPDATE creates SET state = ?, video_id = ?, status = ?, created_at = ?,"
            " updated_at = ? WHERE id = ?",
            (j.SUBMITTED, video_id, status, now, now, entry_id),
            durable=False,
        )

    def record_outcome(self, entry_id: int, state: str) -> None:
        """``unknown`` (answer lost), ``rejected`` (refused: nothing made) or ``held`` (never
        reached the server)."""
        self._write(
            "UPDATE creates SET state = ?, updated_at = ? WHERE id = ?",
            (state, time.time(), entry_id),
        )

    def mark_interrupted(self, batch_key: str, row_keys: Iterable[str]) -> None:
        """A batch found these rows mid-create from a run that died: their outcome is unknown."""
        keys = list(row_keys)
        if not keys:
            return
        now = time.time()
        self._db.execute("PRAGMA synchronous=FULL")
        with _Transaction(self._db):
            self._db.executemany(
                "UPDATE creates SET state = ?, updated_at = ?"
                " WHERE batch_key = ? AND row_key = ? AND state = ?",
                [(j.UNKNOWN, now, batch_key, key, j.SUBMITTING) for key in keys],
            )

    def record_status(
        self,
        account: str,
        video_id: str,
        *,
        state: str,
        status: str | None,
        video_url: str | None,
        thumbnail_url: str | None,
        ready_at: str | None,
    ) -> None:
        """What a poll learned about a video (whichever batch created it)."""
        self._write(
            "UPDATE creates SET state = ?, status = ?, video_url = ?, thumbnail_url = ?,"
            " ready_at = ?, updated_at = ? WHERE account = ? AND video_id = ?",
            (state, status, video_url, thumbnail_url, ready_at, time.time(), account, video_id),
            durable=state in _FINISHED,
        )

    # --- adoption --------------------------------------------------------------------------------
    def candidates(self, account: str, fingerprints: Iterable[str]) -> dict[str, list[LedgerEntry]]:
        """Creates of these requests that may exist, oldest first, by fingerprint.

        Only the latest such create of each batch row counts: a row created again on purpose
        (``--resubmit-unknown``, ``--retry-failed``) replaced the earlier one."""
        found: dict[str, list[LedgerEntry]] = {}
        wanted = sorted(set(fingerprints))
        states = sorted(MAYBE_CREATED)
        marks = ", ".join("?" for _ in states)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._db.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM creates c WHERE account = ?"
                f" AND fingerprint IN ({', '.join('?' for _ in chunk)})"
                f" AND state IN ({marks}) AND id = (SELECT MAX(id) FROM creates d"
                f" WHERE d.batch_key = c.batch_key AND d.row_key = c.row_key"
                f" AND d.state IN ({marks})) ORDER BY sent_at, id",
                (account, *chunk, *states, *states),
            ).fetchall()
            for row in rows:
                entry = LedgerEntry(*row)
                found.setdefault(entry.fingerprint, []).append(entry)
        return found

    def claims(self, batch_key: str) -> dict[str, LedgerEntry]:
        """Rows of this batch that show a video adopted from another batch, by row key."""
        rows = self._db.execute(
            f"SELECT claims.row_key, {', '.join('c.' + c for c in _ENTRY_COLUMNS.split(', '))}"
            " FROM claims JOIN creates c ON c.id = claims.create_id WHERE claims.batch_key = ?",
            (batch_key,),
        ).fetchall()
        return {row[0]: LedgerEntry(*row[1:]) for row in rows}

    def claim(self, batch_key: str, row_key: str, entry_id: int) -> None:
        self._write(
            "INSERT OR REPLACE INTO claims (batch_key, row_key, create_id, claimed_at)"
            " VALUES (?, ?, ?, ?)",
            (batch_key, row_key, entry_id, time.time()),
        )

    def knows_batch(self, batch_key: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM creates WHERE batch_key = ? LIMIT 1", (batch_key,)
        ).fetchone()
        return row is not None

    # --- history ---------------------------------------------------------------------------------
    def history(self, account: str) -> list[LedgerEntry]:
        """Every create of this account that may exist, newest first."""
        states = sorted(MAYBE_CREATED)
        rows = self._db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM creates WHERE account = ?"
            f" AND state IN ({', '.join('?' for _ in states)})"
            " ORDER BY COALESCE(created_at, sent_at) DESC, id DESC",
            (account, *states),
        ).fetchall()
        return [LedgerEntry(*row) for row in rows]


def history_status(entry: LedgerEntry) -> str:
    """The status a person reads: the server's last word, ``unknown`` for a create without an
    answer, ``submitted`` for an id not yet polled."""
    if entry.outcome_unknown:
        return j.UNKNOWN
    return entry.status or (j.SUBMITTED if entry.video_id else j.UNKNOWN)


def origin(entry: LedgerEntry) -> str:
    """Where a create was made, as a person finds it: file, sheet, row."""
    if entry.sheet:
        return _("{file}, sheet {sheet}, row {row}").format(
            file=entry.manifest, sheet=repr(entry.sheet), row=entry.sheet_row
        )
    return _("{file}, row {row}").format(file=entry.manifest, row=entry.sheet_row)


def manifests_of(batch_keys: list[str], path: Path | None = None) -> set[str]:
    """The manifest paths this machine's ledger recorded for these batches (journal paths), of
    any account. Read-only and never fails: no ledger, or one that cannot be read, knows none.
    Why: an earlier version's batch in a folder with two same-named manifests is told by it."""
    path = Path(path) if path is not None else default_path()
    if not batch_keys or not path.is_file():
        return set()
    marks = ", ".join("?" for _key in batch_keys)
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            rows = db.execute(
                f"SELECT DISTINCT manifest FROM creates WHERE batch_key IN ({marks})",
                batch_keys,
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return set()
    return {str(row[0]) for row in rows if row[0]}


def _unusable(path: Path, err: Exception) -> str:
    return _(
        "This machine's record of created videos {path} cannot be used ({error}). hhbatch "
        "checks it before creating anything, so nothing was sent. Check the disk (space, "
        "permissions), or set HHBATCH_HOME to a folder you can write; if the file is damaged, "
        "move it aside and run again (the batch journals and results sheets still know their "
        "videos)."
    ).format(path=path, error=err)


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """A ledger that breaks mid-run raises :class:`LedgerError` (one sentence, no traceback)."""

    @functools.wraps(method)
    def wrapper(self: Ledger, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as err:
            raise LedgerError(_unusable(self.path, err)) from err

    return wrapper


for _name, _member in list(vars(Ledger).items()):
    if callable(_member) and not _name.startswith("_") and _name not in ("open", "close"):
        setattr(Ledger, _name, _guarded(_member))


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


NOT_SENT_LEDGER = (
    "Not submitted: this machine's record of created videos could not be written. Nothing was "
    "charged."
)


class LedgeredJournal(j.Journal):
    """A batch journal whose create protocol is mirrored into the ledger.

    The executor and the poller talk to this exactly as to the journal; each create-related call
    also writes the ledger at the same moment, right after the journal. Between the two intents
    nothing has been sent yet: a kill there leaves the journal's usual ``unknown`` and no ledger
    entry (nothing to adopt; nothing was created). When the ledger cannot take the intent, the
    journal says "not submitted" and nothing is sent.
    """

    def __init__(self, journal: j.Journal, ledger: Ledger, account: str, batch: BatchRef) -> None:
        super().__init__(journal.path, journal._db)
        self._lock = journal._lock  # one connection, one lock, whichever object is used
        self.ledger = ledger
        self.account = account
        self.batch = batch
        self._entries: dict[str, int] = {}  # row key -> ledger entry of its create this run
        self._awaited: set[int] = set()  # other runs' creates rows of this run were held for

    def recover_interrupted(self) -> list[str]:
        keys = super().recover_interrupted()
        self.ledger.mark_interrupted(self.batch.key, keys)
        return keys

    def _group_targets(self) -> list[Any]:
        # The journal first: a kill between the two commits leaves the journal's usual
        # unknown, as between the two intents of an ungrouped call.
        return [self, self.ledger]

    def _group_commit_failed(
        self, index: int, err: sqlite3.DatabaseError, calls: Sequence[j.GroupCall]
    ) -> None:
        if index == 0:  # the journal's commit: nothing of the group was committed
            for call in calls:
                if call.intent_of is not None:
                    self._entries.pop(call.intent_of, None)  # ledger ids rolled back
            return
        # The journal committed, the ledger did not: the group's intents have no ledger entry,
        # so their creates are not sent. Say so in the journal (as record_intent does when the
        # ledger refuses an intent), or those rows would read "unknown".
        for call in calls:
            if call.intent_of is not None:
                self._entries.pop(call.intent_of, None)
                j.Journal.record_not_sent(self, call.intent_of, _(NOT_SENT_LEDGER))
        raise LedgerError(_unusable(self.ledger.path, err)) from err

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
        entry = self._entries.get(row_key)
        if entry is not None:  # a retry of this run's own create: nothing to check
            super().record_intent(row_key, fingerprint, sheet_row, request, supersedes=supersedes)
            try:
                self.ledger.record_resent(entry)
            except BaseException:
                super().record_not_sent(row_key, _(NOT_SENT_LEDGER))
                raise
            return
        prompt = request.get("prompt")
        written = False

        def journal_intent() -> None:
            nonlocal written
            j.Journal.record_intent(
                self, row_key, fingerprint, sheet_row, request, supersedes=supersedes
            )
            written = True

        def adopt(found: LedgerEntry) -> None:
            state = found.state if found.state in _FINISHED else j.SUBMITTED
            j.Journal.adopt(
                self,
                row_key,
                fingerprint,
                sheet_row,
                found.video_id,
                state=state,
                known={
                    "status": found.status,
                    "video_url": found.video_url,
                    "thumbnail_url": found.thumbnail_url,
                    "ready_at": found.ready_at,
                    "request": request,
                },
            )
            if supersedes is not None:  # the edited row shows that video now
                self.record_superseded(supersedes, row_key)

        def ignore(found: LedgerEntry) -> bool:
            if found.id in self._awaited:
                return True  # another row of this run already waits for it (twins)
            return bool(found.video_id) and self.knows_video(found.video_id or "")

        try:
            if elsewhere_check:
                outcome = self.ledger.admit(
                    self.account,
                    fingerprint,
                    self.batch,
                    row_key,
                    sheet_row,
                    str(prompt) if prompt is not None else None,
                    journal_intent=journal_intent,
                    adopt=adopt,
                    ignore=ignore,
                )
            else:
                journal_intent()
                outcome = self.ledger.record_intent(
                    self.account,
                    fingerprint,
                    self.batch,
                    row_key,
                    sheet_row,
                    str(prompt) if prompt is not None else None,
                )
        except BaseException:
            # Nothing is sent when the ledger cannot take the intent: say so in the journal,
            # or the row would read "unknown" for a create that never left.
            if written:
                super().record_not_sent(row_key, _(NOT_SENT_LEDGER))
            raise
        if isinstance(outcome, int):
            self._entries[row_key] = outcome
            return
        self._awaited.add(outcome.id)
        where = origin(outcome)
        if outcome.video_id:
            state = outcome.state if outcome.state in _FINISHED else j.SUBMITTED
            raise j.TakenElsewhere(outcome.video_id, state, where)
        if outcome.state == j.SUBMITTING:
            reason = _(
                "Not submitted: this exact request is being created by another run ({where}) "
                "at this moment, so it was not sent twice. Nothing was charged here; run again "
                "later to pick up its video."
            ).format(where=where)
        else:
            reason = _(
                "Not submitted: this exact request was just sent by another run ({where}) and "
                "its outcome is unknown, so it was not sent twice. Nothing was charged here; run "
                "again later to see what became of it."
            ).format(where=where)
        super().record_held(row_key, fingerprint, sheet_row, reason)
        raise j.TakenElsewhere(None, j.HELD, reason)

    def record_created(self, row_key: str, video_id: str, status: str | None) -> None:
        super().record_created(row_key, video_id, status)
        entry = self._entries.pop(row_key, None)
        if entry is not None:
            self.ledger.record_created(entry, video_id, status)

    def record_not_sent(self, row_key: str, reason: str) -> None:
        super().record_not_sent(row_key, reason)
        entry = self._entries.get(row_key)  # kept: a retry may send it after all
        if entry is not None:
            self.ledger.record_outcome(entry, j.HELD)

    def record_unknown(self, row_key: str, reason: str) -> None:
        super().record_unknown(row_key, reason)
        entry = self._entries.pop(row_key, None)
        if entry is not None:
            self.ledger.record_outcome(entry, j.UNKNOWN)

    def record_rejected(self, row_key: str, error: str) -> None:
        super().record_rejected(row_key, error)
        entry = self._entries.pop(row_key, None)
        if entry is not None:
            self.ledger.record_outcome(entry, j.REJECTED)

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
        super().record_status(
            row_key,
            status=status,
            video_url=video_url,
            thumbnail_url=thumbnail_url,
            ready_at=ready_at,
            error=error,
            state=state,
        )
        job = self.job(row_key)
        if job is not None and job.video_id:
            self.ledger.record_status(
                self.account,
                job.video_id,
                state=state,
                status=status,
                video_url=video_url,
                thumbnail_url=thumbnail_url,
                ready_at=ready_at,
            )


# Each call holds the journal's lock throughout, the ledger write included (see Journal._lock).
for _name, _member in list(vars(LedgeredJournal).items()):
    if callable(_member) and not _name.startswith("_"):
        setattr(LedgeredJournal, _name, j.locked(_member))
