"""Which journal a run belongs to: one sheet of one manifest in one folder is one batch.

Why per sheet: the rows of two sheets of a workbook are different videos. With one journal for
the whole workbook, ``--sheet Week2`` after ``--sheet Week1`` paired Week2's rows with Week1's
jobs (every row "edited", none created) and wrote Week1's results away. So each sheet of a
workbook has its own journal, named after the sheet *as resolved* (running without ``--sheet``
is running on the first visible sheet by name, so both are one batch)::

    .hhbatch/<name>.journal.sqlite                     a CSV (one sheet); journals of hhbatch < 0.2
    .hhbatch/<name>.sheets/<sheet>.journal.sqlite      one sheet of a workbook

A workbook journal of the previous version (``<name>.journal.sqlite``, no sheet recorded) keeps
serving the sheet it was made for — a user upgrading mid-batch must not pay twice. Which sheet
that is, the journal does not say; its jobs do: it belongs to the sheet whose rows it knows
(at least half of its jobs are rows of the sheet), and is then marked with the sheet's name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection
from pathlib import Path

JOURNAL_DIRNAME = ".hhbatch"
JOURNAL_SUFFIX = ".journal.sqlite"
SHEETS_SUFFIX = ".sheets"
META_SHEET = "sheet"
# Formats with a single sheet: their journal keeps the name it always had.
SINGLE_SHEET_FORMATS = frozenset({"csv", "tsv", "txt"})
_SAFE = frozenset("-_() ")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(10)} | {f"LPT{i}" for i in range(10)}
)


def legacy_journal_path(manifest: Path, name: str) -> Path:
    return manifest.resolve().parent / JOURNAL_DIRNAME / f"{name}{JOURNAL_SUFFIX}"


def sheet_journal_path(manifest: Path, name: str, sheet: str) -> Path:
    folder = manifest.resolve().parent / JOURNAL_DIRNAME / f"{name}{SHEETS_SUFFIX}"
    return folder / f"{sheet_slug(sheet)}{JOURNAL_SUFFIX}"


def sheet_slug(sheet: str) -> str:
    """A file name for a sheet name, the same on every OS: letters and digits of any script are
    kept, anything a file system may refuse is %-escaped (Excel sheet names are unique
    regardless of case, so case-insensitive file systems cannot confuse two of them)."""
    out = []
    for index, char in enumerate(sheet):
        edge = index in (0, len(sheet) - 1)
        if char.isalnum() or (char in _SAFE and not (edge and char == " ")):
            out.append(char)
        else:
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
    slug = "".join(out) or "%00"
    return f"_{slug}" if slug.upper() in _WINDOWS_RESERVED else slug


def journal_for(
    manifest: Path, name: str, fmt: str, sheet: str, fingerprints: Callable[[], Collection[str]]
) -> tuple[Path, bool]:
    """The journal of this sheet, and whether it is a previous version's journal to be marked
    with the sheet's name. ``fingerprints()``: those of the sheet's valid rows (computed only
    when a previous version's journal has to be recognised)."""
    legacy = legacy_journal_path(manifest, name)
    if fmt in SINGLE_SHEET_FORMATS:
        return legacy, False
    own = sheet_journal_path(manifest, name, sheet)
    if own.exists() or not legacy.exists():
        return own, False
    recorded, jobs = _legacy_contents(legacy)
    if recorded is not None:
        return (legacy, False) if recorded == sheet else (own, False)
    if jobs is None:
        # Unreadable now (locked by a run, damaged): opening it says which, in one sentence.
        return legacy, False
    if not jobs:
        return legacy, True
    mine = fingerprints()
    known = sum(1 for fp in jobs if fp in mine)
    if known * 2 >= len(jobs):
        return legacy, True
    return own, False


def _legacy_contents(path: Path) -> tuple[str | None, list[str] | None]:
    """(the sheet recorded in it, its jobs' fingerprints); None when it cannot be read."""
    if path.stat().st_size == 0:
        return None, None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0.1)
    except sqlite3.Error:
        return None, None
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        jobs = [row[0] for row in db.execute("SELECT fingerprint FROM jobs").fetchall()]
    except sqlite3.Error:
        return None, None
    finally:
        db.close()
    return meta.get(META_SHEET), jobs
