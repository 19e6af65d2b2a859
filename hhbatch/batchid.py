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

from hhbatch.i18n import _

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


# --- which name a manifest's batch goes by ----------------------------------------------------
# Manifests whose batches would share a journal (and, for workbooks, a results file) if two of
# them had the same stem in one folder: src.csv/src.tsv/src.txt share .hhbatch/src.journal.sqlite;
# src.xlsx/src.xls/src.ods share src.results.xlsx, and with src.xlsm the .hhbatch/src.sheets folder.
_FAMILIES = (
    (".csv", ".tsv", ".txt"),
    (".xlsx", ".xlsm", ".xls", ".ods"),
)
# The results file of the plain name tells which kind of manifest made it (an earlier version's
# batch, before the owner was marked): .xlsx comes from any of three kinds.
_RESULTS_MADE_BY = {
    ".csv": {".csv"},
    ".tsv": {".tsv"},
    ".txt": {".txt"},
    ".xlsm": {".xlsm"},
    ".xlsx": {".xlsx", ".xls", ".ods"},
}
OWNER_SUFFIX = ".manifest"  # .hhbatch/<name>.manifest: the file name the plain name belongs to
RESULTS_INFIX = ".results"


class SharedName(Exception):
    """Two manifests of one folder could both own an earlier batch and it cannot be told which;
    ``str()`` is the sentence for the user (the workflow raises it as a usage error)."""


def manifest_batch_name(manifest: Path, ledger_manifests: Callable[[list[str]], set[str]]) -> str:
    """The batch name of a manifest: its stem (``src`` for src.xlsx: src.results.xlsx and
    .hhbatch/src.*), or its whole file name (``src.ods``: src.ods.results.xlsx) when another
    manifest of the same family with the same stem sits in the folder.

    Why this way: two different manifests must never share a journal or a results file (rows
    of one would be paired with the other's videos), while the usual single file keeps the names
    it always had. A name, once given, stays: a batch under the full name is found even when the
    other file is gone, and the plain name belongs to the manifest marked as its owner (written
    when the batch is opened), so a file appearing later never moves an existing batch.
    ``ledger_manifests(journal_keys)``: the manifest paths this machine's ledger recorded for
    those journals (how an earlier version's batch, made before owners were marked, is told)."""
    stem, suffix = manifest.stem, manifest.suffix.lower()
    folder = manifest.resolve().parent
    family = next((f for f in _FAMILIES if suffix in f), ())
    if not family:
        return stem
    full = manifest.name
    if _batch_exists(folder, full):
        return full
    siblings = [
        manifest.with_name(stem + other)
        for other in family
        if other != suffix and manifest.with_name(stem + other).is_file()
    ]
    siblings = [s for s in siblings if not _same(s, manifest)]
    if not siblings:
        return stem
    owner = _owner(folder, stem)
    if owner is not None:
        return stem if owner.lower() == full.lower() else full
    if not _batch_exists(folder, stem):
        return full  # nothing to resume: each file gets a batch of its own name
    candidates = [manifest, *siblings]
    made = _made_by(folder, stem, candidates, ledger_manifests)
    if len(made) == 1:
        return stem if _same(made[0], manifest) else full
    names = ", ".join(sorted(c.name for c in candidates))
    raise SharedName(
        _(
            "{names} in this folder would share the results and journal of the batch "
            "{stem!r} that an earlier hhbatch made, and which file it was made from cannot be "
            "told. Nothing was sent. Move the files that are not that batch's manifest into "
            "another folder (or rename them), run once, then bring them back."
        ).format(names=names, stem=stem)
    )


def mark_owner(manifest: Path, name: str) -> None:
    """Note which manifest the plain name belongs to, once (see :func:`manifest_batch_name`)."""
    if name != manifest.stem:
        return
    path = manifest.resolve().parent / JOURNAL_DIRNAME / f"{name}{OWNER_SUFFIX}"
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(manifest.name + "\n", encoding="utf-8")
    except OSError:
        pass  # a mark only: without it the batch is still told by its results and the ledger


def _owner(folder: Path, stem: str) -> str | None:
    try:
        text = (folder / JOURNAL_DIRNAME / f"{stem}{OWNER_SUFFIX}").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return text.strip() or None


def _journals(folder: Path, name: str) -> tuple[Path, Path]:
    hidden = folder / JOURNAL_DIRNAME
    return hidden / f"{name}{JOURNAL_SUFFIX}", hidden / f"{name}{SHEETS_SUFFIX}"


def _results_files(folder: Path, name: str) -> list[Path]:
    return [
        folder / f"{name}{RESULTS_INFIX}{suffix}"
        for suffix in _RESULTS_MADE_BY
        if (folder / f"{name}{RESULTS_INFIX}{suffix}").is_file()
    ]


def _batch_exists(folder: Path, name: str) -> bool:
    journal, sheets = _journals(folder, name)
    return journal.exists() or sheets.is_dir() or bool(_results_files(folder, name))


def _made_by(
    folder: Path,
    stem: str,
    candidates: list[Path],
    ledger_manifests: Callable[[list[str]], set[str]],
) -> list[Path]:
    """Which of the candidates made the plain-named batch: by this machine's ledger, else by
    the kind of its results file."""
    journal, sheets = _journals(folder, stem)
    keys = [str(journal)]
    if sheets.is_dir():
        keys += [str(p) for p in sheets.glob(f"*{JOURNAL_SUFFIX}")]
    recorded = {Path(m).name.lower() for m in ledger_manifests(keys)}
    found = [c for c in candidates if c.name.lower() in recorded]
    if found:
        return found
    kinds: set[str] = set()
    for results in _results_files(folder, stem):
        kinds |= _RESULTS_MADE_BY[results.suffix.lower()]
    if sheets.is_dir():
        workbooks = set(_FAMILIES[1])  # a sheets folder: a workbook's batch
        kinds = kinds & workbooks if kinds else workbooks
    return [c for c in candidates if c.suffix.lower() in kinds]


def _same(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False
