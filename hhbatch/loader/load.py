"""``load_manifest``: read the sheet, find the header, map the columns, validate every row.

Why everything is collected instead of raised: a user fixing a 200-row sheet wants all 37
problems in one pass, not one per run. Only a file that cannot be used at all raises
:class:`ManifestError`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain, zip_longest
from pathlib import Path
from typing import Any

from hhbatch import marks, spec
from hhbatch.columns import is_skip_header
from hhbatch.config import Config
from hhbatch.errors import ManifestError
from hhbatch.i18n import _, translate_data
from hhbatch.loader.files import FileChecker
from hhbatch.loader.headers import HeaderMatcher, english_header, is_chinese
from hhbatch.loader.model import ERROR, WARNING, Column, Manifest, ManifestRow, Problem
from hhbatch.loader.normalize import (
    blank_values,
    cell_text,
    display,
    is_blank,
    normalize_field,
    plain_filled_text,
)
from hhbatch.loader.readers import RawSheet, read_sheet
from hhbatch.loader.validate import (
    Defaults,
    SheetValidator,
    _skip_text,
    column_letter,
    field_message,
)

# How many non-empty rows may sit above the header (titles, notes) before we give up.
_HEADER_SEARCH_ROWS = 10


def load_manifest(
    path: Path | str,
    *,
    sheet: str | None = None,
    config: Config | None = None,
    encoding: str | None = None,
    base_dir: Path | None = None,
) -> Manifest:
    """Read and validate a manifest; raises ManifestError only when the file is unusable.

    ``encoding`` (``--encoding``, else ``encoding:`` in hhbatch.yaml) overrides the detection of a
    CSV/TXT file's text encoding. ``base_dir``: the folder file paths are relative to (default:
    the manifest's); a results sheet written elsewhere (``--out``) is read against its manifest's.
    """
    with _collector_paused():
        return _load(Path(path), sheet, config or Config(), encoding, base_dir)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a sheet is read and judged.

    Why: reading 100,000 rows makes millions of objects that all stay alive (cells, rows,
    requests), and each time allocations pass a threshold the collector walks every one of
    them again, in vain: 40 % of the loader's time. Afterwards they go straight to the oldest
    generation (``freeze`` + ``unfreeze`` moves them without a walk), where the next full
    collection finds the few cycles made meanwhile (a caught exception's traceback); a young
    generation holding them all would be walked once more per generation for nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def _load(
    path: Path, sheet: str | None, config: Config, encoding: str | None, base_dir: Path | None
) -> Manifest:
    raw = read_sheet(
        path,
        sheet if sheet is not None else config.sheet,
        encoding=encoding if encoding is not None else config.encoding,
    )
    matcher = HeaderMatcher(config.aliases)
    try:
        header_index, columns, problems = _find_header(raw, path, matcher)
    except ManifestError:
        # A header row of formulas Excel never calculated reads as blank: say that instead.
        if raw.formulas is not None:
            searched = _header_search_end(raw)
            cells = [c for c in raw.formulas.cells if c.row <= searched]
            untrusted = [c.ref for c in cells if raw.formulas.untrusted(c)]
            if untrusted:
                raise _uncached_formulas_error(path, raw, untrusted) from None
        raise
    if raw.formulas is not None:
        _check_formulas(raw, path, header_index, columns, problems)
    manifest_dir = Path(base_dir).resolve() if base_dir is not None else path.resolve().parent
    checker = FileChecker(manifest_dir, config.megabyte)
    defaults = _defaults(config, matcher, checker, manifest_dir, raw.sheet_name, problems)
    validator = SheetValidator(raw.sheet_name, columns, checker, defaults)
    rows, warnings = _validate_rows(raw, header_index, columns, validator)
    problems.extend(warnings)
    if not rows:
        raise ManifestError(
            _(
                "{sheet}: there are no rows below the header on row {row}; add one row per video."
            ).format(sheet=raw.sheet_name, row=header_index + 1),
            path=str(path),
            sheet=raw.sheet_name,
        )
    return Manifest(
        path=path,
        format=raw.format,
        sheet_name=raw.sheet_name,
        header_row=header_index + 1,
        columns=columns,
        rows=rows,
        problems=problems,
        language=_language(columns),
        csv_encoding=raw.csv_encoding,
        csv_delimiter=raw.csv_delimiter,
        csv_encoding_how=raw.csv_encoding_how,
    )


def _header_search_end(raw: RawSheet) -> int:
    """The last sheet row :func:`_find_header` may look at."""
    seen = 0
    for index, cells in enumerate(raw.rows):
        if not all(is_blank(c) for c in cells):
            seen += 1
            if seen >= _HEADER_SEARCH_ROWS:
                return index + 1
    return len(raw.rows) + _HEADER_SEARCH_ROWS


def _check_formulas(
    raw: RawSheet, path: Path, header_index: int, columns: list[Column], problems: list[Problem]
) -> None:
    """Rows that are not videos taken out, and values that are not the formulas' results
    refused, before a single row is judged (let alone paid for).

    * An Excel table's totals row is no data row: it is left out (never validated, sent or
      written to), whatever it holds.
    * A row whose cells total the column (``=SUM(B2:B3)``, ``=SUBTOTAL(109,Vids[Duration])``)
      is a totals line under the data: an error naming the cell, unless the row is marked Skip.
    * A formula whose saved value is missing, or not to be trusted (the workbook asks Excel to
      recalculate everything on open: XlsxWriter and openpyxl save 0 as every result), in a
      column hhbatch reads: the whole sheet is refused, naming the cells (reading 0 as a CFG
      scale or "0" as a style would be paid for).
    """
    found = raw.formulas
    if found is None:
        return
    header_row = header_index + 1
    fields = {c.index for c in columns if c.field}
    read = {c.index for c in columns if c.field or c.output or c.skip}
    not_data: set[int] = set()
    for left, right, row in found.table_totals:
        if row > header_row and any(left <= index <= right for index in fields):
            not_data.add(row)
    cells = [
        c for c in found.cells if c.row > header_row and c.column in read and c.row not in not_data
    ]
    untrusted = {(c.row, c.column) for c in cells if found.untrusted(c)}
    skip = next((c.index for c in columns if c.skip), None)

    def skipped(row: int) -> bool:
        if skip is None or (row, skip) in untrusted or row > len(raw.rows):
            return False
        values = raw.rows[row - 1]
        return skip <= len(values) and _skip_text(values[skip - 1]) is not None

    totals: dict[int, Any] = {}
    for cell in cells:
        aggregate = cell.aggregate and cell.column in fields
        if aggregate and cell.row not in totals and not skipped(cell.row):
            totals[cell.row] = cell
    for row, cell in totals.items():
        not_data.add(row)
        problems.append(
            Problem(
                ERROR,
                raw.sheet_name,
                cell.ref,
                row,
                None,
                None,
                "=" + cell.text,
                _(
                    "{sheet}!{cell} holds ={formula}: a totals row is not a video; delete it, "
                    "move it off the data, or mark the row Skip."
                ).format(sheet=raw.sheet_name, cell=cell.ref, formula=cell.text),
            )
        )
    for row in not_data:
        if row <= len(raw.rows):
            raw.rows[row - 1] = [None] * len(raw.rows[row - 1])
    refs = [
        c.ref
        for c in cells
        if (c.row, c.column) in untrusted and c.row not in not_data and not skipped(c.row)
    ]
    if refs:
        error = _uncached_formulas_error(path, raw, refs)
        if totals:
            error = ManifestError(
                " ".join([str(error), *(p.message for p in problems if p.is_error)]),
                path=str(path),
                sheet=raw.sheet_name,
            )
        raise error


def _uncached_formulas_error(path: Path, raw: RawSheet, refs: list[str]) -> ManifestError:
    cells = refs[:6]
    return ManifestError(
        _(
            "{sheet}!{cells}: these cells hold formulas whose results were never calculated and "
            "saved (the file was written by a program, not by Excel), so their values cannot be "
            "read; open {file} in Excel or LibreOffice and save it (that calculates them), or "
            "paste the cells as values, then run again."
        ).format(sheet=raw.sheet_name, cells=", ".join(cells), file=path.name),
        path=str(path),
        sheet=raw.sheet_name,
    )


def _validate_rows(
    raw: RawSheet, header_index: int, columns: list[Column], validator: SheetValidator
) -> tuple[list[ManifestRow], list[Problem]]:
    """Every non-empty row below the header, validated; plus warnings about unnamed columns.

    The grid is turned into columns first (at C speed): the blank rows, the unnamed
    columns and every verdict are then decided per column (see :class:`SheetValidator`).
    """
    data = raw.rows[header_index + 1 :]
    if not data:
        return [], []
    width = len(columns)
    # grid[j] = sheet column j + 1 (calamine's rows are all as wide; a CSV's short rows are
    # padded with None)
    widths = set(map(len, data))
    grid: list[Sequence[Any]]
    if len(widths) == 1:
        # The cells in sheet order, then every width-th one: both steps walk memory in order,
        # twice as fast as zip(*data), which visits each of 100,000 rows once per column.
        flat = list(chain.from_iterable(data))
        step = widths.pop()
        grid = [flat[j::step] for j in range(step)]
        del flat
    else:
        grid = list(zip_longest(*data))
    # A row is skipped when every cell under a header is blank (cells beyond are only warned
    # of); the first column without a blank cell settles it for every row.
    skipped: set[int] | None = None
    for index in range(min(width, len(grid))):
        blank = _blank_cells(grid[index])
        skipped = set(blank) if skipped is None else skipped.intersection(blank)
        if not skipped:
            break
    if skipped is None:
        skipped = set(range(len(data)))  # no column under the headers at all
    first_row = header_index + 2
    unnamed = [c.index - 1 for c in columns if not c.header] + list(range(width, len(grid)))
    warnings = []
    for index in sorted(unnamed):
        where = _first_filled(grid[index]) if index < len(grid) else None
        if where is None:
            continue
        sheet_row = first_row + where
        letter = column_letter(index + 1)
        cell = f"{letter}{sheet_row}"
        warnings.append(
            Problem(
                WARNING,
                raw.sheet_name,
                cell,
                sheet_row,
                None,
                None,
                None,
                _(
                    "{sheet}!{cell}: column {letter} has values but no header on row {row}, so "
                    "hhbatch does not use them; give it a header if it is meant as a field."
                ).format(sheet=raw.sheet_name, cell=cell, letter=letter, row=header_index + 1),
            )
        )
    if skipped:
        kept = [i for i in range(len(data)) if i not in skipped]
        grid = [[cells[i] for i in kept] for cells in grid[:width]]
        sheet_rows: Sequence[int] = [first_row + i for i in kept]
    else:
        grid = grid[:width]
        sheet_rows = range(first_row, first_row + len(data))
    rows = validator.validate(sheet_rows, grid)
    return rows, warnings


def _blank_cells(cells: Sequence[Any]) -> list[int]:
    """Positions of the blank cells of one column (each distinct cell judged once).

    A column of plain text filled in every row (prompts) is recognised first, in row order:
    its cells lie in memory in that order, and walking 100,000 of them in a set's order cost
    five times as much (0.1 s)."""
    if plain_filled_text(cells):
        return []
    blank = blank_values(set(cells))
    if not blank:
        return []
    return [i for i, v in enumerate(cells) if v in blank]


def _first_filled(cells: Sequence[Any]) -> int | None:
    """The first position of a non-blank cell, or None."""
    blank = blank_values(set(cells))
    return next((i for i, v in enumerate(cells) if v not in blank), None)


def _find_header(
    raw: RawSheet, path: Path, matcher: HeaderMatcher
) -> tuple[int, list[Column], list[Problem]]:
    """The header is the first non-empty row, unless that is a title: then the first of the next
    few non-empty rows that names a known column (a title row above the table is common)."""
    first: int | None = None
    tried = 0
    for index, cells in enumerate(raw.rows):
        if all(is_blank(c) for c in cells):
            continue
        if first is None:
            first = index
        columns, problems = _columns(raw, index, matcher)
        if any(c.field or c.output for c in columns):
            return index, columns, problems
        tried += 1
        if tried >= _HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise ManifestError(
            _(
                "Sheet {sheet} of {file} is empty: put the headers on the first row and one "
                "video per row below."
            ).format(sheet=repr(raw.sheet_name), file=path.name),
            path=str(path),
            sheet=raw.sheet_name,
        )
    known = ", ".join(f'"{english_header(n)}"' for n in ("prompt", "durationSec"))
    names = [cell_text(c) for c in raw.rows[first] if not is_blank(c)]
    if len(names) > 1 and all(isinstance(c, str) for c in raw.rows[first] if not is_blank(c)):
        # Texts only: a header row in words hhbatch does not know; say which words it saw.
        seen = ", ".join(display(n, 30) for n in names[:8]) + (", …" if names[8:] else "")
        raise ManifestError(
            _(
                "Sheet {sheet} of {file}: no header row found; row {row} looks like headers "
                "({names}) but none of them names a column hhbatch knows; use names such as "
                "{known} (see the README's table), or add yours under aliases: in hhbatch.yaml."
            ).format(
                sheet=repr(raw.sheet_name), file=path.name, row=first + 1, names=seen, known=known
            ),
            path=str(path),
            sheet=raw.sheet_name,
        )
    raise ManifestError(
        _(
            "Sheet {sheet} of {file}: no header row found; the first non-empty row (row {row}) "
            "must hold column names such as {known}."
        ).format(sheet=repr(raw.sheet_name), file=path.name, row=first + 1, known=known),
        path=str(path),
        sheet=raw.sheet_name,
    )


def _columns(
    raw: RawSheet, header_index: int, matcher: HeaderMatcher
) -> tuple[list[Column], list[Problem]]:
    header_cells = raw.rows[header_index]
    last = max(i for i, c in enumerate(header_cells) if not is_blank(c)) + 1
    header_row = header_index + 1
    # Our result columns by the mark hhbatch left, never by a common word such as "Status".
    marked = {m.column: m.name for m in raw.marks or () if m.header_row == header_row}
    ours = marks.recognise(
        ["" if is_blank(v) else cell_text(v) for v in header_cells[:last]], marked
    )
    columns: list[Column] = []
    problems: list[Problem] = []
    seen: dict[str, Column] = {}
    for index, value in enumerate(header_cells[:last], start=1):
        header = "" if is_blank(value) else cell_text(value)
        letter = column_letter(index)
        cell = f"{letter}{header_row}"
        where = f"{raw.sheet_name}!{cell}"
        output = ours.get(index)
        skip = output is None and bool(header) and is_skip_header(header)
        match = matcher.match(header) if header and output is None and not skip else None
        field = match.field if match else None
        if field is not None and field in seen:
            first = seen[field]
            raise ManifestError(
                _(
                    "{where}: columns {first} ({first_header}) and {letter} ({header}) both "
                    "mean {field}; keep one of them."
                ).format(
                    where=where,
                    first=first.letter,
                    first_header=repr(first.header),
                    letter=letter,
                    header=repr(header),
                    field=field,
                ),
                sheet=raw.sheet_name,
            )
        column = Column(index, letter, header, field, output, skip=skip)
        if field is not None:
            seen[field] = column
        columns.append(column)
        if match and match.ignored_reason:
            problems.append(
                Problem(
                    WARNING,
                    raw.sheet_name,
                    cell,
                    header_row,
                    header,
                    None,
                    header,
                    _("{where} ({header}): this column is ignored because {reason}.").format(
                        where=where, header=header, reason=translate_data(match.ignored_reason)
                    ),
                )
            )
        elif match and match.suggestion:
            target = matcher.field_of_suggestion(match.suggestion)
            problems.append(
                Problem(
                    WARNING,
                    raw.sheet_name,
                    cell,
                    header_row,
                    header,
                    None,
                    header,
                    _(
                        "{where} ({header}): unknown column, kept as is; did you mean "
                        "{suggestion} ({field})?"
                    ).format(
                        where=where,
                        header=header,
                        suggestion=repr(match.suggestion),
                        field=target,
                    ),
                )
            )
    return columns, problems


def _defaults(
    config: Config,
    matcher: HeaderMatcher,
    checker: FileChecker,
    manifest_dir: Path,
    sheet: str,
    problems: list[Problem],
) -> Defaults:
    """Normalise and check hhbatch.yaml defaults once; a bad one is a manifest-level error."""
    defaults = Defaults()
    base = config.source.resolve().parent if config.source is not None else manifest_dir
    where = _("{file} defaults").format(
        file=config.source.name if config.source else "hhbatch.yaml"
    )
    for key, raw in config.defaults.items():
        name = matcher.canonical(str(key))

        def bad(text: str, name: str | None = name, raw: Any = raw, key: Any = key) -> None:
            problems.append(
                Problem(
                    ERROR,
                    sheet,
                    None,
                    None,
                    None,
                    name,
                    raw,
                    _("{where}, {key}: {text}").format(where=where, key=key, text=text),
                )
            )

        if name is None:
            reason = spec.FORBIDDEN_FIELDS.get(str(key))
            if reason:
                bad(
                    _("{key} is not accepted: {reason}").format(
                        key=key, reason=translate_data(reason)
                    )
                )
            else:
                bad(_("{key} is not a field").format(key=repr(key)))
            continue
        if is_blank(raw):
            continue
        if name in spec.FILE_COLUMNS:
            verdict = checker.check(name, cell_text(raw), base)
            if verdict.error:
                bad(verdict.error)
                defaults.invalid[name] = verdict.error
            elif verdict.ref is not None:
                defaults.files[spec.FILE_COLUMNS[name]] = verdict.ref
            continue
        value = normalize_field(name, raw)
        message = field_message(name, raw, value)
        if message:
            bad(message)
            defaults.invalid[name] = message
        else:
            defaults.request[name] = value
    return defaults


def _language(columns: list[Column]) -> str:
    named = [c.header for c in columns if c.field or c.output]
    chinese = sum(1 for h in named if is_chinese(h))
    return "zh" if chinese * 2 > len(named) else "en"
