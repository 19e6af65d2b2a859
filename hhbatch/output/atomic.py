"""Replace a file atomically, and write beside it when it is locked.

Why: the results sheet is rewritten many times during a run. A crash mid-write must never leave a
half-written workbook, so every write goes to a temporary file in the same folder (same volume,
so the rename is atomic), is flushed to disk, then ``os.replace``-d over the destination.

On Windows a workbook open in Excel cannot be replaced (``PermissionError``). Failing the whole
batch for that would be absurd, so the results go to ``name (2).xlsx`` (first free number)
instead, and the caller is told which path was written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from hhbatch.errors import OutputError
from hhbatch.i18n import _

MAX_SIBLINGS = 99


def sibling(dest: Path, number: int) -> Path:
    """``campaign.results.xlsx`` → ``campaign.results (2).xlsx``."""
    return dest.with_name(f"{dest.stem} ({number}){dest.suffix}")


def write_atomically(
    dest: Path, save: Callable[[Path], None], *, preferred_fallback: Path | None = None
) -> Path:
    """Call ``save(tmp)``, then move ``tmp`` over ``dest`` (or beside it); return the path written.

    ``preferred_fallback`` is the sibling used by an earlier write of the same run: while the
    destination stays locked, every refresh goes to that one file instead of a new number each time.
    """
    folder = dest.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(
            prefix=f".{dest.stem}.", suffix=f".tmp{dest.suffix}", dir=folder
        )
        os.close(handle)
    except OSError as err:
        raise OutputError(
            f"Cannot write the results sheet into the folder {folder}: {_reason(err)}."
        ) from err
    tmp = Path(tmp_name)
    try:
        try:
            save(tmp)
            _match_permissions(tmp, dest)
            _fsync_file(tmp)
        except OSError as err:
            raise OutputError(
                _("Cannot write the results sheet {path}: {reason}.").format(
                    path=dest, reason=_reason(err)
                )
            ) from err
        written = _move_into_place(tmp, dest, preferred_fallback)
        _fsync_folder(folder)
        return written
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _move_into_place(tmp: Path, dest: Path, preferred: Path | None) -> Path:
    try:
        os.replace(tmp, dest)
        return dest
    except PermissionError:
        pass  # locked (open in Excel on Windows) or read-only: write beside it
    except OSError as err:
        raise OutputError(
            _("Cannot write the results sheet {path}: {reason}.").format(
                path=dest, reason=_reason(err)
            )
        ) from err
    candidates = [preferred] if preferred is not None else []
    candidates += [sibling(dest, n) for n in range(2, MAX_SIBLINGS + 1)]
    for candidate in candidates:
        if candidate != preferred and candidate.exists():
            continue
        try:
            os.replace(tmp, candidate)
            return candidate
        except OSError:
            continue
    raise OutputError(
        _(
            "Cannot save the results sheet: {path} is locked (open in Excel?) and no file beside "
            "it could be written either."
        ).format(path=dest)
    )


def _match_permissions(tmp: Path, dest: Path) -> None:
    """mkstemp creates 0600 files; a results sheet should be as readable as the one it replaces."""
    if os.name == "nt":
        return
    try:
        mode = dest.stat().st_mode & 0o777 if dest.exists() else 0o644
        os.chmod(tmp, mode)
    except OSError:
        pass  # permissions are a courtesy, not worth failing the write


def _fsync_file(path: Path) -> None:
    # Windows can only flush a handle opened for writing, hence "r+b".
    with open(path, "r+b") as fh:
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_folder(folder: Path) -> None:
    """Persist the rename itself (POSIX); Windows has no directory handles to flush."""
    if os.name == "nt" or not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reason(err: OSError) -> str:
    return err.strerror or str(err)
