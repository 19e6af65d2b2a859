"""Cells → request fields, files and problems, one row at a time.

Why the verdict is delegated to :mod:`hhbatch.spec`: the sandbox server judges bodies with
``spec.check_create_body`` and this module judges cells with ``spec.check_field`` on the
normalised value, so a row the loader passes is a body the server accepts, by construction.
This module only decides *what the user meant* and *how to say what is wrong*.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hhbatch import spec
from hhbatch.columns import skip_marker, status_from_sheet
from hhbatch.i18n import _, current_language
from hhbatch.loader.files import FileChecker
from hhbatch.loader.headers import KEY_TO_FILE_COLUMN, chinese_header, english_header
from hhbatch.loader.model import ERROR, Column, FileRef, ManifestRow, Problem
from hhbatch.loader.normalize import (
    cell_text,
    display,
    is_blank,
    normalize_field,
)
from hhbatch.output.cells import FORMULA_TRIGGERS, utc_text

_VERDICT_CACHE_SIZE = 50_000


def column_letter(index: int) -> str:
    """1 → A, 27 → AA (Excel's own naming), without importing openpyxl for it."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def describe(name: str, raw: Any, value: Any) -> str:
    """The "got …" part of a message: what the user typed, as they would recognise it."""
    spec_field = spec.CREATE_FIELDS[name]
    if spec_field.type == "string" and isinstance(value, str):
        if len(value) <= 40:
            return _("{count} characters ({text})").format(
                count=len(value), text=display(value, 40)
            )
        return _("{count} characters").format(count=len(value))
    shown = display(value)
    if isinstance(value, str) and not isinstance(raw, str) and display(raw) != shown:
        return _("{value} (the cell holds {raw})").format(value=shown, raw=display(raw))
    return shown


def field_message(name: str, raw: Any, value: Any) -> str | None:
    """One-clause verdict for a normalised value, or None when the API would accept it."""
    verdict = spec.check_field(name, value)
    if verdict is None:
        return None
    if value is None:
        return _("{field} is required, but the cell is empty").format(field=name)
    return _("{field} must be {allowed}, got {got}").format(
        field=name, allowed=spec.CREATE_FIELDS[name].allowed_text(), got=describe(name, raw, value)
    )


@dataclass
class Defaults:
    """hhbatch.yaml defaults, already normalised and checked (bad ones are dropped)."""

    request: dict[str, Any] = field(default_factory=dict)
    files: dict[str, FileRef] = field(default_factory=dict)
    # field → why its default is unusable; rows that would have used it are invalid too, so a
    # run that only looks at rows can never submit a row without the setting the user asked for.
    invalid: dict[str, str] = field(default_factory=dict)


@dataclass
class RowValidator:
    """Validates every data row of one sheet against the columns found in its header."""

    sheet: str
    columns: list[Column]
    checker: FileChecker
    defaults: Defaults

    def __post_init__(self) -> None:
        self._request_columns = [
            (c.index - 1, c)
            for c in self.columns
            if c.field is not None and c.field in spec.CREATE_FIELDS
        ]
        self._file_columns = [
            (c.index - 1, c)
            for c in self.columns
            if c.field is not None and c.field in spec.FILE_COLUMNS
        ]
        self._output_columns = [(c.index - 1, c) for c in self.columns if c.output is not None]
        self._skip_index = next((c.index - 1 for c in self.columns if c.skip), None)
        present = {c.field for c in self.columns if c.field}
        self._verdicts: dict[tuple[str, type, Any], tuple[Any, str | None]] = {}
        self._default_only_invalid = [n for n in self.defaults.invalid if n not in present]
        self._missing_required = [
            name
            for name, f in spec.CREATE_FIELDS.items()
            if f.required
            and name not in present
            and name not in self.defaults.request
            and name not in self.defaults.invalid
        ]

    def _problem(self, row: int, column: Column | None, name: str, raw: Any, text: str) -> Problem:
        if column is None:
            message = _("{sheet} row {row}: {text}").format(sheet=self.sheet, row=row, text=text)
            return Problem(ERROR, self.sheet, None, row, None, name, raw, message)
        cell = f"{column.letter}{row}"
        return Problem(
            ERROR,
            self.sheet,
            cell,
            row,
            column.header,
            name,
            raw,
            _("{sheet}!{cell} ({column}): {text}").format(
                sheet=self.sheet, cell=cell, column=column.header, text=text
            ),
        )

    def _judge(self, name: str, raw: Any) -> tuple[Any, str | None]:
        """Normalised value and verdict, memoised: a 100,000-row sheet repeats "16:9" a lot."""
        if name == "prompt":
            value = normalize_field(name, raw)
            return value, field_message(name, raw, value)
        key = (name, raw.__class__, raw)  # the class too: 1, 1.0 and True hash alike
        hit = self._verdicts.get(key)
        if hit is None:
            value = normalize_field(name, raw)
            hit = (value, field_message(name, raw, value))
            if len(self._verdicts) < _VERDICT_CACHE_SIZE:
                self._verdicts[key] = hit
        return hit

    def _bad_default(self, row: int, column: Column | None, name: str) -> Problem:
        reason = self.defaults.invalid[name]
        if column is not None:
            text = _(
                "the cell is empty and the hhbatch.yaml default for {field} is unusable: {reason}"
            )
        else:
            text = _("the hhbatch.yaml default for {field} is unusable: {reason}")
        return self._problem(row, column, name, None, text.format(field=name, reason=reason))

    def validate(self, sheet_row: int, cells: list[Any]) -> ManifestRow:
        width = len(cells)
        request: dict[str, Any] = {}
        problems: list[Problem] = []
        for index, column in self._request_columns:
            name = column.field or ""
            raw = cells[index] if index < width else None
            if is_blank(raw):
                if name in self.defaults.request:
                    request[name] = self.defaults.request[name]
                    continue
                if name in self.defaults.invalid:
                    problems.append(self._bad_default(sheet_row, column, name))
                    continue
                value = None
            else:
                value, message = self._judge(name, raw)
            if value is None:
                message = field_message(name, raw, None)
            if message:
                problems.append(self._problem(sheet_row, column, name, raw, message))
            elif value is not None:
                request[name] = value
        for name, value in self.defaults.request.items():
            request.setdefault(name, value)
        for name in self._default_only_invalid:
            problems.append(self._bad_default(sheet_row, None, name))
        for name in self._missing_required:
            problems.append(
                self._problem(
                    sheet_row,
                    None,
                    name,
                    None,
                    _(
                        "{field} is required, but the sheet has no {header} column and "
                        "hhbatch.yaml sets no default"
                    ).format(field=name, header=repr(_header_in_language(name))),
                )
            )
        files, file_cells = self._files(sheet_row, cells, problems)
        self._exclusive(sheet_row, files, file_cells, problems)
        previous = {}
        for index, column in self._output_columns:
            raw = cells[index] if index < width else None
            if not is_blank(raw) and column.output is not None:
                if isinstance(raw, dt.datetime) and column.output.name == "readyAt":
                    previous["readyAt"] = utc_text(raw)  # written as a local date-time cell
                    continue
                previous[column.output.name] = _unquoted(cell_text(raw))
        if "status" in previous:  # a Chinese sheet says 已完成; planning compares "ready"
            previous["status"] = status_from_sheet(previous["status"])
        skip = self._skip(cells)
        if skip is not None:
            problems = []  # never sent, so not checked: an unfinished row may be parked
        return ManifestRow(sheet_row, request, files, previous, problems, skip=skip)

    def _skip(self, cells: list[Any]) -> str | None:
        index = self._skip_index
        if index is None or index >= len(cells) or is_blank(cells[index]):
            return None
        raw = cells[index]
        if raw is False:  # a cleared checkbox
            return None
        return skip_marker(cell_text(raw))

    def _files(
        self, sheet_row: int, cells: list[Any], problems: list[Problem]
    ) -> tuple[dict[str, FileRef], dict[str, tuple[Column, Any]]]:
        files: dict[str, FileRef] = {}
        file_cells: dict[str, tuple[Column, Any]] = {}
        for index, column in self._file_columns:
            name = column.field or ""
            raw = cells[index] if index < len(cells) else None
            if is_blank(raw):
                if name in self.defaults.invalid:
                    problems.append(self._bad_default(sheet_row, column, name))
                continue
            verdict = self.checker.check(name, cell_text(raw))
            key_field = spec.FILE_COLUMNS[name]
            file_cells[key_field] = (column, raw)
            if verdict.error:
                problems.append(self._problem(sheet_row, column, name, raw, verdict.error))
            elif verdict.ref is not None:
                files[key_field] = verdict.ref
        for key_field, ref in self.defaults.files.items():
            if key_field not in file_cells:
                files[key_field] = ref
        return files, file_cells

    def _exclusive(
        self,
        sheet_row: int,
        files: dict[str, FileRef],
        file_cells: dict[str, tuple[Column, Any]],
        problems: list[Problem],
    ) -> None:
        for first, second in spec.MUTUALLY_EXCLUSIVE:
            given = [k for k in (first, second) if k in files or k in file_cells]
            if len(given) < 2:
                continue
            column, raw = file_cells.get(second) or file_cells.get(first) or (None, None)
            a, b = KEY_TO_FILE_COLUMN.get(first, first), KEY_TO_FILE_COLUMN.get(second, second)
            problems.append(
                self._problem(
                    sheet_row,
                    column,
                    b,
                    raw,
                    _(
                        "{a} and {b} cannot be used together ({first} and {second} are "
                        "exclusive); keep one of them"
                    ).format(a=a, b=b, first=first, second=second),
                )
            )


def _header_in_language(name: str) -> str:
    """The template header a reader of this language would add: "Duration (s)" or "时长（秒）"."""
    return chinese_header(name) if current_language() == "zh" else english_header(name)


def default_base(config_source: Path | None, manifest_dir: Path) -> Path:
    """Default file paths in hhbatch.yaml are relative to that file's folder."""
    return config_source.resolve().parent if config_source is not None else manifest_dir


def _unquoted(text: str) -> str:
    """Our own cell as we wrote it: the CSV writer puts ``'`` before text Excel would run as a
    formula (``'=...``); that quote is ours, not the server's, so a rerun reads it back off."""
    if text[:1] == "'" and text[1:2] and text[1] in FORMULA_TRIGGERS:
        return text[1:]
    return text
