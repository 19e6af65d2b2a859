"""Local file cells → FileRef: the file exists, is readable, fits its kind, and is what it claims.

Why checked here and not at upload time: a missing image discovered after 300 videos were
submitted means 300 paid videos and one confused user. Every check runs before any request.
Results are cached per (cell text, folder), so a logo reused on 10,000 rows is checked once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from hhbatch import spec
from hhbatch.i18n import _, translate_data
from hhbatch.loader import filetypes
from hhbatch.loader.model import FileRef
from hhbatch.loader.normalize import display

_URL_PREFIXES = ("http://", "https://")
_PATH_SHOWN_MAX = 260  # Windows' classic MAX_PATH: beyond it the cell is text, not a path


class FileVerdict(NamedTuple):
    """A file cell's verdict: the file to send, or why not. (A tuple: made once per distinct
    cell, and a sheet may name 30,000 distinct storage keys.)"""

    ref: FileRef | None
    error: str | None


def _not_found(text: str, folder: Path) -> str:
    """Where we looked, unless the cell is so long that it is clearly not a path at all."""
    if len(text) <= _PATH_SHOWN_MAX and text.isprintable():
        try:
            looked = Path(text) if Path(text).is_absolute() else folder / text
        except (OSError, ValueError):  # pragma: no cover - odd text on odd platforms
            looked = folder / text
        return _(
            "file {file} not found (looked for {looked}); paths are relative to the manifest's "
            "folder"
        ).format(file=display(text), looked=looked)
    return _("file {file} not found; paths are relative to the manifest's folder").format(
        file=display(text)
    )


def _unreadable(shown: str, err: OSError) -> str:
    return _("file {file} cannot be read ({reason})").format(file=shown, reason=err.strerror or err)


class FileChecker:
    """Checks file cells against one folder (the manifest's) and one megabyte definition."""

    def __init__(self, base_dir: Path, megabyte: int = spec.MEGABYTE) -> None:
        self.base_dir = base_dir
        self.megabyte = megabyte
        # folder → (column, text) → verdict; the manifest's folder's at hand (nearly every call).
        self._own: dict[tuple[str, str], FileVerdict] = {}
        self._cache: dict[Path, dict[tuple[str, str], FileVerdict]] = {base_dir: self._own}
        self._local_dirs: dict[Path, bool] = {}

    def check(self, column: str, text: str, base_dir: Path | None = None) -> FileVerdict:
        """``column`` is a file column (``sourceImage`` …); ``text`` the cleaned cell text."""
        folder = base_dir or self.base_dir
        cache = self._own if base_dir is None else self._cache.setdefault(base_dir, {})
        verdict = cache.get((column, text))
        if verdict is None:
            verdict = cache[(column, text)] = self._check(column, text, folder)
        return verdict

    def _check(self, column: str, text: str, folder: Path) -> FileVerdict:
        key_field = spec.FILE_COLUMNS[column]
        kind = spec.CREATE_FIELDS[key_field].upload_kind or spec.DEFAULT_UPLOAD_KIND
        text = text.strip().strip('"').strip()
        if text[:8].lower().startswith(_URL_PREFIXES):
            return FileVerdict(
                None,
                _(
                    "{column} must be a local file or an existing storage key, got a web link "
                    "{link}; the API takes uploads only, so download the file and put its path "
                    "here"
                ).format(column=column, link=display(text)),
            )
        path = None if self._is_plain_key(text, folder) else self._resolve(text, folder)
        if path is None:
            if text.startswith(spec.STORAGE_KEY_PREFIX):
                return FileVerdict(FileRef(field=key_field, kind=kind, key=text), None)
            return FileVerdict(None, _not_found(text, folder))
        return self._check_local(column, key_field, kind, text, path)

    def plain_keys(self, column: str, cells: Iterable[Any]) -> dict[str, FileRef]:
        """The cells among ``cells`` (a column's distinct cells) that are plain storage keys
        (``videos/…`` as the cell holds it), each with its FileRef: what :meth:`check` of the
        cell's text would give, without its dozen steps per cell.

        Why: a sheet may name 30,000 distinct keys already uploaded, and checking them one by
        one was a tenth of ``hhbatch validate``'s time (issue #12.3). Only ASCII text that
        starts with the prefix and ends in neither a space nor a quote is taken here (trimming
        cannot change it); every other cell is left to :meth:`check`.
        """
        prefix = spec.STORAGE_KEY_PREFIX
        if not self._is_plain_key(prefix, self.base_dir):
            return {}
        key_field = spec.FILE_COLUMNS[column]
        kind = spec.CREATE_FIELDS[key_field].upload_kind or spec.DEFAULT_UPLOAD_KIND
        keys = [
            cell
            for cell in cells
            if cell.__class__ is str
            and cell.startswith(prefix)
            and cell.isascii()
            and not cell[-1].isspace()
            and cell[-1] != '"'
        ]
        return {key: FileRef(field=key_field, kind=kind, key=key) for key in keys}

    def _is_plain_key(self, text: str, folder: Path) -> bool:
        """A storage key, unless the manifest's folder has a ``videos`` folder it could name."""
        if not text.startswith(spec.STORAGE_KEY_PREFIX):
            return False
        local = self._local_dirs.get(folder)
        if local is None:
            top = spec.STORAGE_KEY_PREFIX.rstrip("/")
            local = self._local_dirs[folder] = (folder / top).is_dir()
        return not local

    @staticmethod
    def _resolve(text: str, folder: Path) -> Path | None:
        """The existing path a cell names (``\\`` accepted on any OS), or None."""
        candidates = [text]
        if "\\" in text and os.sep != "\\":
            candidates.append(text.replace("\\", "/"))
        for candidate in candidates:
            try:
                path = Path(candidate).expanduser()
                if not path.is_absolute():
                    path = folder / path
                if path.exists():
                    return path.resolve()
            except (OSError, ValueError, RuntimeError):
                # a name too long, a character the OS forbids (Windows: <>:"|?*), no home folder
                continue
        return None

    def _check_local(
        self, column: str, key_field: str, kind: str, text: str, path: Path
    ) -> FileVerdict:
        shown = display(text)
        if not path.is_file():
            return FileVerdict(None, _("{file} is a folder, not a file").format(file=shown))
        try:
            head = filetypes.read_head(path)
            size = path.stat().st_size
        except OSError as err:
            return FileVerdict(None, _unreadable(shown, err))
        if size == 0:
            return FileVerdict(None, _("file {file} is empty (0 bytes)").format(file=shown))
        extension = path.suffix.lower()
        detected = filetypes.sniff(head)
        refused = spec.REFUSED_CONTENT_TYPES
        declared = spec.EXTENSION_CONTENT_TYPES[kind].get(extension)
        if declared is None:
            refused_type = filetypes.REFUSED_EXTENSIONS.get(extension)
            if refused_type in refused or detected in refused:
                content_type = refused_type if refused_type in refused else detected
                return FileVerdict(
                    None,
                    _(
                        "{file} is {type} ({content_type}), which the API does not accept; {advice}"
                    ).format(
                        file=shown,
                        type=filetypes.type_name(content_type),
                        content_type=content_type,
                        advice=translate_data(refused[content_type]),
                    ),
                )
            return FileVerdict(
                None,
                (
                    _("{file} is a {extension} file but {column} takes {extensions} files")
                    if extension
                    else _("{file} is an extension-less file but {column} takes {extensions} files")
                ).format(
                    file=shown,
                    extension=extension,
                    column=column,
                    extensions=filetypes.extensions_for(kind),
                ),
            )
        if detected is None:
            return FileVerdict(
                None,
                _(
                    "{file} is named like {a_type} but its content is not one (it may be "
                    "damaged or a different kind of file)"
                ).format(file=shown, a_type=filetypes.a_type(declared)),
            )
        if not filetypes.same_type(declared, detected):
            advice = (
                translate_data(refused[detected])
                if detected in refused
                else _("save it in the right format or rename it to match")
            )
            return FileVerdict(
                None,
                _("{file} is named like {a_type} but its content is {content}; {advice}").format(
                    file=shown,
                    a_type=filetypes.a_type(declared),
                    content=filetypes.a_type(detected),
                    advice=advice,
                ),
            )
        limit = spec.UPLOAD_KINDS[kind].max_bytes(self.megabyte)
        if size > limit:
            return FileVerdict(
                None,
                _("{file} is {size} but {kind} files may be at most {limit} MB").format(
                    file=shown,
                    size=filetypes.human_size(size, self.megabyte),
                    kind=kind,
                    limit=spec.UPLOAD_KINDS[kind].max_megabytes,
                ),
            )
        try:
            digest = filetypes.sha256_of(path)
        except OSError as err:
            return FileVerdict(None, _unreadable(shown, err))
        return FileVerdict(
            FileRef(
                field=key_field,
                kind=kind,
                path=path,
                content_type=declared,
                size=size,
                sha256=digest,
            ),
            None,
        )
