"""What the loader hands to the rest of hhbatch: a manifest as plain data.

Why dataclasses and not pandas frames: the executor, the output writer and the CLI each need a
handful of named facts per row (the request, the files, the problems, where the cell was), and a
frame would leak pandas into every one of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from hhbatch.columns import ResultColumn

ERROR = "error"
WARNING = "warning"


@dataclass
class Problem:
    """One thing wrong (or suspicious) in the manifest, phrased for the person who fixes it."""

    severity: str  # ERROR or WARNING
    sheet: str
    cell: str | None  # e.g. "D7"; None for a whole-row or whole-sheet problem
    sheet_row: int | None
    column: str | None  # header text as the user typed it
    field: str | None  # canonical field name, e.g. "durationSec"
    value: Any
    message: str  # one line naming sheet, cell, column, value and what is allowed

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        if value is not None and not isinstance(value, (str, int, float, bool)):
            value = str(value)
        return {
            "severity": self.severity,
            "sheet": self.sheet,
            "cell": self.cell,
            "sheetRow": self.sheet_row,
            "column": self.column,
            "field": self.field,
            "value": value,
            "message": self.message,
        }


@dataclass
class Column:
    """One column of the sheet and what hhbatch understood it to be."""

    index: int  # 1-based
    letter: str
    header: str  # text as in the sheet
    field: str | None  # canonical field (API field or file column), None for the user's own columns
    output: ResultColumn | None = None  # set when the header is one of hhbatch's output columns
    skip: bool = False  # the Skip / 跳过 column: a marked row is never submitted


@dataclass
class FileRef:
    """A file a row sends: a local file to upload, or a storage key that already exists."""

    field: str  # API key field, e.g. "sourceImageKey"
    kind: str  # presign kind: image / video / audio
    path: Path | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    key: str | None = None

    @property
    def is_upload(self) -> bool:
        return self.path is not None


class SheetColumns:
    """Every row's request and files, kept as the sheet's columns until a row's are read.

    Why: a dict per row cost 0.2 s of CPU on 100,000 rows (issue #12.3), and ``hhbatch
    validate`` never reads one: :func:`hhbatch.loader.summary.summarize` counts whole columns
    (:meth:`counted`, :meth:`file_refs`). A row's dicts are the ones a row-by-row check made:
    its fields left to right without the empty or wrong ones, then the hhbatch.yaml defaults it
    lacks; its files left to right, without the empty or wrong cells.
    """

    __slots__ = ("columns", "count", "defaults", "file_columns", "names")

    def __init__(
        self,
        count: int,
        names: list[str],
        columns: list[tuple[dict[Any, Any] | None, Sequence[Any]]],
        defaults: dict[str, Any],
        file_columns: list[tuple[str, dict[Any, FileRef | None], Sequence[Any]]] | None = None,
    ) -> None:
        self.count = count  # rows, numbered 0 … count - 1 (``ManifestRow.at``)
        self.names = names  # the request fields of the sheet's columns, left to right
        # Each field's column: (value by key, each row's key) or (None, each row's value);
        # the value None means the field is left out.
        self.columns = columns
        self.defaults = defaults
        # Each file column: (key field, file by key (None: none), each row's key); None when
        # the rows were given their files (hhbatch.yaml files, exclusive columns).
        self.file_columns = file_columns

    def request(self, at: int) -> dict[str, Any]:
        """Row ``at``'s request (a new dict)."""
        request = {}
        for name, (value_of, cells) in zip(self.names, self.columns, strict=True):
            value = cells[at] if value_of is None else value_of[cells[at]]
            if value is not None:
                request[name] = value
        for name, value in self.defaults.items():
            request.setdefault(name, value)
        return request

    def files(self, at: int) -> dict[str, FileRef]:
        """Row ``at``'s files (a new dict)."""
        files = {}
        for key_field, ref_of, cells in self.file_columns or ():
            ref = ref_of[cells[at]]
            if ref is not None:
                files[key_field] = ref
        return files

    def file_refs(self, rows: Sequence[int] | None = None) -> list[FileRef]:
        """The distinct files of ``rows`` (each at most once; None: every row). Local files
        come in the order of the rows' ``files`` (row by row, left to right), each at its
        first row, as a summary counting them by kind meets them; storage keys in any order."""
        keyed: list[FileRef] = []
        local: list[tuple[int, list[Any], Sequence[Any], dict[Any, Any]]] = []
        for column, (_, ref_of, cells) in enumerate(self.file_columns or ()):
            picked = cells if rows is None else list(map(cells.__getitem__, rows))
            # every row: the column's distinct cells are ref_of's keys, in the order of rows
            seen = ref_of if rows is None else dict.fromkeys(picked)
            distinct = [key for key in seen if ref_of[key] is not None]
            keyed.extend(ref_of[key] for key in distinct if ref_of[key].key is not None)
            files = [key for key in distinct if ref_of[key].key is None]
            if files:
                local.append((column, files, picked, ref_of))
        if len(local) == 1:  # one column: its distinct cells are in the order of their rows
            _, files, _, ref_of = local[0]
            return [*keyed, *(ref_of[key] for key in files)]
        found: list[tuple[int, int, FileRef]] = []  # (row, column, file)
        for column, files, picked, ref_of in local:
            first = dict.fromkeys(files, -1)
            for position, key in enumerate(picked):
                if first.get(key) == -1:
                    first[key] = position
            found.extend((first[key], column, ref_of[key]) for key in files)
        found.sort(key=lambda item: item[:2])
        return [*keyed, *(ref for _, _, ref in found)]

    def counted(
        self, fields: Sequence[tuple[str, Any]], rows: Sequence[int] | None = None
    ) -> Counter[tuple[Any, ...]]:
        """How many rows (``rows``, each at most once; None: every row) ask for each
        combination of ``request.get(name, default)`` for the ``(name, default)`` in
        ``fields``: counted over the cells' keys at C speed, without a dict per row."""
        size = self.count if rows is None else len(rows)
        columns: list[Iterable[Any]] = []
        resolvers: list[tuple[dict[Any, Any] | None, Any]] = []
        for name, default in fields:
            fallback = self.defaults.get(name, default)
            if name in self.names:
                value_of, cells = self.columns[self.names.index(name)]
                columns.append(cells if rows is None else map(cells.__getitem__, rows))
            else:
                value_of, cells = None, ()
                columns.append(repeat(None, size))
            resolvers.append((value_of, fallback))
        counts: Counter[tuple[Any, ...]] = Counter()
        for keys, count in Counter(zip(*columns, strict=True)).items():
            combination = []
            for key, (value_of, fallback) in zip(keys, resolvers, strict=True):
                value = key if value_of is None else value_of[key]
                combination.append(fallback if value is None else value)
            counts[tuple(combination)] += count
        return counts


class ManifestRow:
    """One video: the request it becomes, the files it needs, and what is wrong with it.

    Why a class with slots and not a dataclass: a sheet has up to 100,000 of them, and
    ``hhbatch validate`` paid for each one's dicts and lists, nearly all empty (issue #12.3).
    So the loader makes each ``request`` only when it is first read (``source.request(at)``,
    from the sheet's columns), and an empty ``files``, ``previous`` or ``problems`` only when
    it is first read. Whoever reads a row sees plain dicts and lists either way.
    """

    __slots__ = (
        "_files",
        "_previous",
        "_problems",
        "_request",
        "at",
        "sheet_row",
        "skip",
        "source",
    )

    def __init__(
        self,
        sheet_row: int,
        request: dict[str, Any] | None,
        files: dict[str, FileRef] | None = None,
        previous: dict[str, str] | None = None,
        problems: list[Problem] | None = None,
        skip: str | None = None,
        source: SheetColumns | None = None,
        at: int = 0,
    ) -> None:
        self.sheet_row = sheet_row  # 1-based row number as Excel shows it
        self._request = request
        self._files = files
        self._previous = previous  # hhbatch's own columns as an earlier run left them
        self._problems = problems
        # The text of the row's Skip / 跳过 cell when it keeps the row out of every run (the
        # template's example rows say "example"); such a row is not checked and never planned.
        self.skip = skip
        # Where the request is made from when ``request`` is None (the loader's columns).
        self.source = source
        self.at = at

    @property
    def request(self) -> dict[str, Any]:
        request = self._request
        if request is None:
            request = self._request = self.source.request(self.at) if self.source else {}
        return request

    @request.setter
    def request(self, value: dict[str, Any]) -> None:
        _ = self.files  # made from the columns before they are let go
        self._request = value
        self.source = None  # the columns no longer tell this row's request

    @property
    def files(self) -> dict[str, FileRef]:
        files = self._files
        if files is None:
            files = self._files = self.source.files(self.at) if self.source else {}
        return files

    @files.setter
    def files(self, value: dict[str, FileRef]) -> None:
        self._files = value

    @property
    def previous(self) -> dict[str, str]:
        if self._previous is None:
            self._previous = {}
        return self._previous

    @previous.setter
    def previous(self, value: dict[str, str]) -> None:
        self._previous = value

    @property
    def problems(self) -> list[Problem]:
        if self._problems is None:
            self._problems = []
        return self._problems

    @problems.setter
    def problems(self, value: list[Problem]) -> None:
        self._problems = value

    @property
    def valid(self) -> bool:
        return not self._problems or not any(p.is_error for p in self._problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self._problems or () if p.is_error]

    def __repr__(self) -> str:
        return (
            f"ManifestRow(sheet_row={self.sheet_row!r}, request={self.request!r}, "
            f"files={self.files!r}, previous={self.previous!r}, problems={self.problems!r}, "
            f"skip={self.skip!r})"
        )


@dataclass
class Manifest:
    """A whole sheet, read and checked; per-cell problems are data, never exceptions."""

    path: Path
    format: str  # "xlsx", "ods", "xls" or "csv" (also .tsv/.txt)
    sheet_name: str
    header_row: int  # 1-based sheet row of the header
    columns: list[Column]
    rows: list[ManifestRow]
    problems: list[Problem] = field(default_factory=list)  # manifest-level (header, config)
    language: str = "en"  # "en" or "zh", from the headers
    csv_encoding: str | None = None
    csv_delimiter: str | None = None
    # How csv_encoding was decided: "given" (--encoding / hhbatch.yaml), "bom", "certain"
    # (strict UTF-8, UTF-16 by its NUL bytes) or "detected" (a legacy code page, clearly ahead).
    csv_encoding_how: str | None = None

    @property
    def valid(self) -> bool:
        """True when nothing stops the whole batch: no manifest-level error and no bad row."""
        return not any(p.is_error for p in self.problems) and all(
            r.valid for r in self.rows if r._problems
        )

    @property
    def valid_rows(self) -> list[ManifestRow]:
        if any(p.is_error for p in self.problems):
            return []
        return [r for r in self.rows if r.valid]

    def all_problems(self) -> list[Problem]:
        """Manifest-level problems first, then every row's, in sheet order."""
        out = list(self.problems)
        for row in self.rows:
            if row._problems:  # (not row.problems: that would make an empty list per row)
                out.extend(row._problems)
        return out

    def column_for_field(self, name: str) -> Column | None:
        for column in self.columns:
            if column.field == name:
                return column
        return None
