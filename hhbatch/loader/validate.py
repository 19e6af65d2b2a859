"""Cells → request fields, files and problems, one column at a time.

Why the verdict is delegated to :mod:`hhbatch.spec`: the sandbox server judges bodies with
``spec.check_create_body`` and this module judges cells with ``spec.check_field`` on the
normalised value, so a row the loader passes is a body the server accepts, by construction.
This module only decides *what the user meant* and *how to say what is wrong*.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import Any

from hhbatch import spec
from hhbatch.columns import skip_marker, status_from_sheet
from hhbatch.i18n import _, current_language
from hhbatch.loader.files import FileChecker
from hhbatch.loader.headers import KEY_TO_FILE_COLUMN, chinese_header, english_header
from hhbatch.loader.model import ERROR, Column, FileRef, ManifestRow, Problem, SheetColumns
from hhbatch.loader.normalize import (
    cell_text,
    display,
    is_blank,
    normalize_field,
    plain_filled_text,
)
from hhbatch.output.cells import FORMULA_TRIGGERS, utc_text


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


# Cell classes that compare (and hash) equal across classes: 1 == 1.0 == True, but a cell
# holding TRUE is not one holding 1.
_NUMERIC_CLASSES = frozenset((bool, int, float))
_BAD_DEFAULT = object()  # verdict: blank cell whose hhbatch.yaml default is unusable
_BLANK = (False, None, None)  # file verdict of an empty cell: (given, ref, error)
# Fields whose cells hardly ever repeat: judged cell by cell, without a table of distinct ones.
_UNIQUE_FIELDS = frozenset(("prompt",))


def _keys(values: Sequence[Any], distinct: Iterable[Any]) -> Sequence[Any]:
    """Dictionary keys that tell a column's cells apart as the verdict needs.

    The cells themselves, unless the column mixes bool, int and float (then ``(class, cell)``):
    a column that does not mix them (nearly all) pays for no tuple per cell. ``distinct`` (the
    column's distinct cells) spares the scan of a column that holds no number at all.
    """
    if not any(v.__class__ in _NUMERIC_CLASSES for v in distinct):
        return values
    if len(_NUMERIC_CLASSES.intersection(map(type, values))) > 1:
        return list(zip(map(type, values), values, strict=True))
    return values


def _judged(
    values: Sequence[Any],
    judge: Callable[[Any], Any],
    settle: Callable[[Iterable[Any]], dict[Any, Any]] | None = None,
) -> tuple[dict[Any, Any], Sequence[Any]]:
    """Each cell's verdict, ``judge`` asked once per distinct cell: (verdict by key, keys).

    ``settle``, given the distinct cells, returns the verdicts of those it can settle in bulk
    (the same ``judge`` would give); ``judge`` is asked of the rest.
    """
    table = dict.fromkeys(values)
    keys = _keys(values, table)
    if keys is not values:  # mixed numbers: tell 1, 1.0 and TRUE apart
        table = dict.fromkeys(keys)
        for key in table:
            table[key] = judge(key[1])
        return table, keys
    settled = settle(table) if settle is not None else None
    if settled:
        table.update(settled)
        for key in [key for key in table if key not in settled]:
            table[key] = judge(key)
    else:
        for key in table:
            table[key] = judge(key)
    return table, keys


@dataclass
class SheetValidator:
    """Validates every data row of one sheet against the columns found in its header.

    Why column by column: a sheet repeats itself down each column ("16:9", "720p", the same
    logo), so each column's *distinct* cells are judged once and the verdicts spread back over
    the rows by dictionary lookups at C speed; only cells with a problem cost per-row Python.
    The messages, cell references and their order within a row are those of a row-by-row
    check: every problem of the row's field cells left to right, then problems with hhbatch.yaml
    defaults, then missing required columns, then file cells left to right, then exclusive files.
    (Not pandas: the cells are mixed Python objects, an object-dtype frame would judge them one
    by one all the same, and importing pandas alone costs a third of the time budget.)
    """

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
        self._default_only_invalid = [n for n in self.defaults.invalid if n not in present]
        self._missing_required = [
            name
            for name, f in spec.CREATE_FIELDS.items()
            if f.required
            and name not in present
            and name not in self.defaults.request
            and name not in self.defaults.invalid
        ]
        given = {spec.FILE_COLUMNS[c.field] for _, c in self._file_columns if c.field}
        given.update(self.defaults.files)
        given.update(spec.FILE_COLUMNS[n] for n in self.defaults.invalid if n in spec.FILE_COLUMNS)
        # Only a pair that some row could fill both of needs checking row by row.
        self._exclusive_pairs = [
            pair for pair in spec.MUTUALLY_EXCLUSIVE if all(k in given for k in pair)
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

    def _verdict(self, name: str, raw: Any) -> tuple[Any, Any]:
        """(value for the request, or None when there is none or it is wrong; the message, or
        None, or _BAD_DEFAULT) for one cell."""
        if is_blank(raw):
            if name in self.defaults.request:
                return self.defaults.request[name], None
            if name in self.defaults.invalid:
                return None, _BAD_DEFAULT
            return None, field_message(name, raw, None)
        value = normalize_field(name, raw)
        message = field_message(name, raw, value)
        return (None if message else value), message

    def _bad_default(self, row: int, column: Column | None, name: str) -> Problem:
        reason = self.defaults.invalid[name]
        if column is not None:
            text = _(
                "the cell is empty and the hhbatch.yaml default for {field} is unusable: {reason}"
            )
        else:
            text = _("the hhbatch.yaml default for {field} is unusable: {reason}")
        return self._problem(row, column, name, None, text.format(field=name, reason=reason))

    def validate(
        self, sheet_rows: Sequence[int], cells_by_column: Sequence[Sequence[Any]]
    ) -> list[ManifestRow]:
        """``cells_by_column[j]`` holds sheet column j+1 of every row in ``sheet_rows``."""
        count = len(sheet_rows)
        empty: Sequence[Any] = (None,) * count

        def cells(index: int) -> Sequence[Any]:
            return cells_by_column[index] if index < len(cells_by_column) else empty

        field_problems: dict[int, list[Problem]] = {}
        names: list[str] = []
        value_columns: list[tuple[dict[Any, Any] | None, Sequence[Any]]] = []
        for index, column in self._request_columns:
            name = column.field or ""
            values = cells(index)
            judge = partial(self._verdict, name)
            names.append(name)
            if name in _UNIQUE_FIELDS:
                texts = self._plain_texts(name, values)
                if texts is not None:  # every cell fine: nothing per cell at all
                    value_columns.append((None, texts))
                    bad = []
                else:
                    verdicts = self._text_verdicts(name, values)
                    value_columns.append((None, [verdict[0] for verdict in verdicts]))
                    bad = [(i, v[1]) for i, v in enumerate(verdicts) if v[1] is not None]
            else:  # the common case: every lookup at C speed, Python only for the bad cells
                table, keys = _judged(values, judge)
                value_of = {key: verdict[0] for key, verdict in table.items()}
                value_columns.append((value_of, keys))
                wrong = {key: verdict[1] for key, verdict in table.items() if verdict[1]}
                bad = (
                    [(i, wrong[key]) for i, key in enumerate(keys) if key in wrong] if wrong else []
                )
            for i, message in bad:
                if message is _BAD_DEFAULT:
                    problem = self._bad_default(sheet_rows[i], column, name)
                else:
                    problem = self._problem(sheet_rows[i], column, name, values[i], message)
                field_problems.setdefault(i, []).append(problem)

        files, file_problems, file_columns = self._files(sheet_rows, cells)
        source = SheetColumns(
            count,
            names,
            value_columns,
            self.defaults.request,
            None if files is not None else file_columns,
        )
        previous = self._previous(cells, count)
        skips = self._skips(cells, count)
        rows = []
        every_row = bool(self._default_only_invalid or self._missing_required)
        if not (field_problems or file_problems or every_row):  # a clean sheet: rows at C speed
            return list(
                map(
                    ManifestRow,
                    sheet_rows,
                    repeat(None),
                    repeat(None) if files is None else files,
                    previous,
                    repeat(None),
                    skips,
                    repeat(source),
                    range(count),
                )
            )
        for i, sheet_row in enumerate(sheet_rows):
            problems = field_problems.get(i)
            if every_row:
                problems = problems or []
                problems.extend(self._row_problems(sheet_row))
            if i in file_problems:
                problems = problems or []
                problems.extend(file_problems[i])
            skip = skips[i]
            if skip is not None:
                problems = None  # never sent, so not checked: an unfinished row may be parked
            rows.append(
                ManifestRow(
                    sheet_row,
                    None,
                    None if files is None else files[i],
                    previous[i],
                    problems,
                    skip,
                    source,
                    i,
                )
            )
        return rows

    def _skips(self, cells: Any, count: int) -> list[str | None]:
        """Each row's Skip / 跳过 marker (the text that keeps it out of every run), or None."""
        if self._skip_index is None:
            return [None] * count
        table, keys = _judged(cells(self._skip_index), _skip_text)
        return list(map(table.__getitem__, keys))

    @staticmethod
    def _plain_texts(name: str, values: Sequence[Any]) -> list[str] | None:
        """A text column's values when every cell is plain ASCII text the API accepts once
        trimmed (what :meth:`_verdict` would give each), settled at C speed; else None."""
        if not plain_filled_text(values):
            return None
        texts = list(map(str.strip, values))
        return texts if spec.texts_acceptable(name, texts) else None

    def _text_verdicts(self, name: str, values: Sequence[Any]) -> list[tuple[Any, Any]]:
        """:meth:`_verdict` of every cell of a text field whose cells hardly repeat (prompts).

        Plain ASCII text, nearly every prompt, is settled here: trimming is all that
        :func:`normalize_field` does to it (no odd space can be in it) and ``spec.check_field``
        judges the result. Any other cell, or a refused one, goes the whole way.
        """
        check = partial(spec.check_field, name)
        verdicts = []
        for raw in values:
            if raw.__class__ is str and raw.isascii():
                text = raw.strip()
                if text and check(text) is None:
                    verdicts.append((text, None))
                    continue
            verdicts.append(self._verdict(name, raw))
        return verdicts

    def _row_problems(self, sheet_row: int) -> list[Problem]:
        """Problems every row has: an unusable default or a missing column it needs."""
        problems = [self._bad_default(sheet_row, None, n) for n in self._default_only_invalid]
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
        return problems

    def _file_verdict(self, name: str, raw: Any) -> tuple[bool, FileRef | None, Any]:
        """(cell given?, ref, error or _BAD_DEFAULT or None) for one file cell."""
        if is_blank(raw):
            return (False, None, _BAD_DEFAULT) if name in self.defaults.invalid else _BLANK
        verdict = self.checker.check(name, cell_text(raw))
        return True, verdict.ref, verdict.error

    def _plain_keys(self, name: str, cells: Iterable[Any]) -> dict[str, Any]:
        """:meth:`_file_verdict` of the cells that are plain storage keys, in bulk."""
        return {
            cell: (True, ref, None) for cell, ref in self.checker.plain_keys(name, cells).items()
        }

    def _files(
        self, sheet_rows: Sequence[int], cells: Any
    ) -> tuple[
        list[dict[str, FileRef] | None] | None,
        dict[int, list[Problem]],
        list[tuple[str, dict[Any, FileRef | None], Sequence[Any]]],
    ]:
        """(each row's files, None: none; the problems of its file cells; the file columns).

        Unless hhbatch.yaml gives files or two file columns are exclusive (then each row's
        filled cells matter), the rows' files are not made here (None) but read from the
        columns when asked for (see :class:`SheetColumns`): no dict per row, nothing per row
        at all for the cells without a problem."""
        count = len(sheet_rows)
        problems: dict[int, list[Problem]] = {}
        columns: list[tuple[str, dict[Any, FileRef | None], Sequence[Any]]] = []
        if not self.defaults.files and not self._exclusive_pairs:
            for index, column in self._file_columns:
                name = column.field or ""
                values = cells(index)
                table, keys = _judged(
                    values, partial(self._file_verdict, name), partial(self._plain_keys, name)
                )
                wrong = {key: verdict[2] for key, verdict in table.items() if verdict[2]}
                for i in [i for i, key in enumerate(keys) if key in wrong] if wrong else ():
                    error = wrong[keys[i]]
                    if error is _BAD_DEFAULT:
                        problem = self._bad_default(sheet_rows[i], column, name)
                    else:
                        problem = self._problem(sheet_rows[i], column, name, values[i], error)
                    problems.setdefault(i, []).append(problem)
                ref_of = {key: None if v[2] else v[1] for key, v in table.items()}
                columns.append((spec.FILE_COLUMNS[name], ref_of, keys))
            return None, problems, columns
        files: list[dict[str, FileRef] | None] = [None] * count
        given: dict[int, set[str]] = {}  # row → key fields whose cell is filled
        for index, column in self._file_columns:
            name = column.field or ""
            key_field = spec.FILE_COLUMNS[name]
            values = cells(index)
            table, keys = _judged(
                values, partial(self._file_verdict, name), partial(self._plain_keys, name)
            )
            notable = {key: verdict for key, verdict in table.items() if verdict is not _BLANK}
            filled = [i for i, key in enumerate(keys) if key in notable] if notable else []
            for i in filled:
                cell_given, ref, error = notable[keys[i]]
                if cell_given:
                    given.setdefault(i, set()).add(key_field)
                if error is _BAD_DEFAULT:
                    problems.setdefault(i, []).append(
                        self._bad_default(sheet_rows[i], column, name)
                    )
                elif error:
                    problems.setdefault(i, []).append(
                        self._problem(sheet_rows[i], column, name, values[i], error)
                    )
                elif ref is not None:
                    row_files = files[i]
                    if row_files is None:
                        row_files = files[i] = {}
                    row_files[key_field] = ref
        if self.defaults.files:
            no_cell: set[str] = set()
            for i in range(count):
                row_given = given.get(i, no_cell)
                for key_field, ref in self.defaults.files.items():
                    if key_field not in row_given:
                        row_files = files[i]
                        if row_files is None:
                            row_files = files[i] = {}
                        row_files[key_field] = ref
        for first, second in self._exclusive_pairs:
            for i, row_files in enumerate(files):
                row_given = given.get(i, set())
                in_row = row_files or {}
                both = [k for k in (first, second) if k in in_row or k in row_given]
                if len(both) == 2:
                    problems.setdefault(i, []).append(
                        self._exclusive(sheet_rows[i], first, second, row_given, cells, i)
                    )
        return files, problems, columns

    def _exclusive(
        self, sheet_row: int, first: str, second: str, given: set[str], cells: Any, i: int
    ) -> Problem:
        """Two files the API takes only one of: reported at the second one's cell."""
        column, raw = None, None
        for key_field in (second, first):
            if key_field in given:
                index, column = next(
                    (j, c)
                    for j, c in self._file_columns
                    if c.field and spec.FILE_COLUMNS[c.field] == key_field
                )
                raw = cells(index)[i]
                break
        a, b = KEY_TO_FILE_COLUMN.get(first, first), KEY_TO_FILE_COLUMN.get(second, second)
        return self._problem(
            sheet_row,
            column,
            b,
            raw,
            _(
                "{a} and {b} cannot be used together ({first} and {second} are "
                "exclusive); keep one of them"
            ).format(a=a, b=b, first=first, second=second),
        )

    def _previous(self, cells: Any, count: int) -> list[dict[str, str] | None]:
        """hhbatch's own columns as an earlier run left them (what a rerun resumes from);
        None for a row that has none (nearly every row of a sheet never run)."""
        if not self._output_columns:
            return [None] * count
        previous: list[dict[str, str] | None] = [{} for _ in range(count)]
        for index, column in self._output_columns:
            if column.output is None:
                continue
            name = column.output.name
            values = cells(index)
            table, keys = _judged(values, partial(_previous_text, name))
            texts = {key: text for key, text in table.items() if text is not None}
            for i, key in enumerate(keys) if texts else ():
                if key in texts:
                    previous[i][name] = texts[key]  # type: ignore[index]
        return previous


def _header_in_language(name: str) -> str:
    """The template header a reader of this language would add: "Duration (s)" or "时长（秒）"."""
    return chinese_header(name) if current_language() == "zh" else english_header(name)


def default_base(config_source: Path | None, manifest_dir: Path) -> Path:
    """Default file paths in hhbatch.yaml are relative to that file's folder."""
    return config_source.resolve().parent if config_source is not None else manifest_dir


def _skip_text(raw: Any) -> str | None:
    """A Skip cell's marker; a cleared checkbox (FALSE) or an empty cell keeps the row in."""
    if is_blank(raw) or raw is False:
        return None
    return skip_marker(cell_text(raw))


def _previous_text(name: str, raw: Any) -> str | None:
    """One of our own cells (result column ``name``) read back: its text as hhbatch wrote it
    (None when empty)."""
    if is_blank(raw):
        return None
    if isinstance(raw, dt.datetime) and name == "readyAt":
        return utc_text(raw)  # written as a local date-time cell
    text = _unquoted(cell_text(raw))
    if name == "status":  # a Chinese sheet says 已完成; planning compares "ready"
        return status_from_sheet(text)
    return text


def _unquoted(text: str) -> str:
    """Our own cell as we wrote it: the CSV writer puts ``'`` before text Excel would run as a
    formula (``'=...``); that quote is ours, not the server's, so a rerun reads it back off."""
    if text[:1] == "'" and text[1:2] and text[1] in FORMULA_TRIGGERS:
        return text[1:]
    return text
