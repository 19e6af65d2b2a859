"""What the loader hands to the rest of hhbatch: a manifest as plain data.

Why dataclasses and not pandas frames: the executor, the output writer and the CLI each need a
handful of named facts per row (the request, the files, the problems, where the cell was), and a
frame would leak pandas into every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class ManifestRow:
    """One video: the request it becomes, the files it needs, and what is wrong with it."""

    sheet_row: int  # 1-based row number as Excel shows it
    request: dict[str, Any]
    files: dict[str, FileRef] = field(default_factory=dict)
    previous: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # The text of the row's Skip / 跳过 cell when it keeps the row out of every run (the
    # template's example rows say "example"); such a row is not checked and never planned.
    skip: str | None = None

    @property
    def valid(self) -> bool:
        return not self.problems or not any(p.is_error for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


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
            r.valid for r in self.rows if r.problems
        )

    @property
    def valid_rows(self) -> list[ManifestRow]:
        if any(p.is_error for p in self.problems):
            return []
        return [r for r in self.rows if not r.problems or r.valid]

    def all_problems(self) -> list[Problem]:
        """Manifest-level problems first, then every row's, in sheet order."""
        out = list(self.problems)
        for row in self.rows:
            if row.problems:
                out.extend(row.problems)
        return out

    def column_for_field(self, name: str) -> Column | None:
        for column in self.columns:
            if column.field == name:
                return column
        return None
