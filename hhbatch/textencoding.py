"""The text encoding a CSV/TXT manifest was read with, remembered in its batch journal.

Why: a file whose encoding cannot be told for sure (cp1252 or cp1250? GBK or Big5?) is refused
until the user names it with ``--encoding``. Once a run has read the file that way, every later
command on the same batch (``hhbatch status``, ``download``, ``report``, a rerun) must read it the
same way without being told again — the "check later with hhbatch status" advice has to work as
printed. The journal's meta keeps the encoding with a digest of the file's bytes: a file whose
bytes changed (edited and saved again, maybe in another encoding) is decided afresh, never read
with a stale guess. Read-only until a run has the journal open, so a status check of a batch that
never ran creates nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from hhbatch.errors import BatchLocked
from hhbatch.i18n import _

META_ENCODING = "text_encoding"
META_DIGEST = "text_sha256"
_CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def recall(journal: Path, manifest: Path) -> str | None:
    """The encoding a run read ``manifest`` with, if its journal remembers one and the file's
    bytes are still the ones it was read from; else None (decide again)."""
    if not journal.is_file() or journal.stat().st_size == 0:
        return None
    try:
        db = sqlite3.connect(f"{journal.resolve().as_uri()}?mode=ro", uri=True, timeout=0.1)
    except sqlite3.Error:
        return None
    try:
        rows = db.execute(
            "SELECT key, value FROM meta WHERE key IN (?, ?)", (META_ENCODING, META_DIGEST)
        ).fetchall()
    except sqlite3.OperationalError as err:
        if "locked" in str(err) or "busy" in str(err):
            raise BatchLocked(
                _(
                    "Another hhbatch run is working on this batch (journal {path} is "
                    "locked). Wait for it to finish, or stop it, then run again."
                ).format(path=journal)
            ) from err
        return None  # damaged or not a journal: opening it later says so in one sentence
    except sqlite3.Error:
        return None
    finally:
        db.close()
    meta = dict(rows)
    encoding, digest = meta.get(META_ENCODING), meta.get(META_DIGEST)
    if not encoding or not digest:
        return None
    try:
        return encoding if file_digest(manifest) == digest else None
    except OSError:
        return None


def remember(journal: Any, manifest: Path, encoding: str) -> None:
    """Keep ``encoding`` for ``manifest``'s current bytes in the (open, locked) journal."""
    digest = file_digest(manifest)
    if journal.meta_value(META_ENCODING) == encoding and journal.meta_value(META_DIGEST) == digest:
        return
    journal.set_meta_value(META_ENCODING, encoding)
    journal.set_meta_value(META_DIGEST, digest)
