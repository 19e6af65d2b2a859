"""The XLSX/XLSM side of the writer: the user's workbook, kept in memory, plus our columns.

openpyxl (full mode, never read-only) loads the workbook once; every write changes only the cells
of our columns (and the noted input cells), then saves the whole workbook. Everything openpyxl
understands survives: other sheets, styles, widths, data validation, conditional formatting,
freeze panes, merged cells, tables, the user's formulas and, for .xlsm, the VBA project.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from copy import copy
from functools import lru_cache
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.drawing.image import PILImage
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.table import TableColumn

from hhbatch.columns import output_column_for_header
from hhbatch.errors import OutputError
from hhbatch.i18n import _
from hhbatch.output.cells import (
    NOTE_FILL,
    OUR_FILLS,
    CellLike,
    CellNote,
    OutputCell,
    clean_text,
    display_width,
    excel_number,
    header_key,
    ooxml_text,
    placed_cells,
    safe_link,
)

NOTE_AUTHOR = "hhbatch"
NOTE_PREFIX = "[hhbatch] "
MIN_WIDTH, MAX_WIDTH = 10, 60


class XlsxSheet:
    """One worksheet of a workbook held in memory between writes."""

    def __init__(self, source: Path, *, sheet_name: str | None, header_row: int, keep_vba: bool):
        try:
            data = source.read_bytes()
        except OSError as err:
            raise OutputError(
                _("Cannot read {path} to copy it: {reason}.").format(
                    path=source, reason=err.strerror or err
                )
            ) from err
        try:
            with warnings.catch_warnings(record=True) as caught:
                # "Data Validation extension is not supported" and friends: openpyxl keeps what
                # it can; the losses are collected as sentences for the CLI, never raised.
                warnings.simplefilter("always")
                self.workbook = load_workbook(io.BytesIO(data), keep_vba=keep_vba, rich_text=True)
        except Exception as err:  # openpyxl raises many kinds for a file it cannot parse
            raise OutputError(
                _("Cannot open {path} as a workbook to copy it: {reason}.").format(
                    path=source, reason=err
                )
            ) from err
        self.warnings = _losses(source, data, [str(w.message) for w in caught])
        if sheet_name is None:
            self.sheet = self.workbook.active
        elif sheet_name in self.workbook.sheetnames:
            self.sheet = self.workbook[sheet_name]
        else:
            raise OutputError(
                _("The workbook {file} has no sheet named {sheet}.").format(
                    file=source.name, sheet=repr(sheet_name)
                )
            )
        self.header_row = header_row
        # Formulas lose their cached results in openpyxl; ask Excel/LibreOffice to recompute.
        self.workbook.calculation.fullCalcOnLoad = True
        self._columns: dict[str, int] = {}  # header_key → column index (first occurrence)
        self._last_header = 0
        # Sparse, in column order: ws[row] would create every cell out to max_column.
        header_cells = [c for (r, _), c in self.sheet._cells.items() if r == header_row]
        for cell in sorted(header_cells, key=lambda c: c.column):
            if cell.value is not None and str(cell.value).strip():
                self._columns.setdefault(header_key(cell.value), cell.column)
                self._last_header = cell.column
        self._next_column = self._last_used_column() + 1
        self._widths: dict[int, int] = {}  # appended column → widest text seen
        self._noted: dict[tuple[int, int], tuple[PatternFill, Comment | None]] = {}
        self._remove_previous_notes()

    # --- columns ---------------------------------------------------------------------------
    def _last_used_column(self) -> int:
        """Rightmost column holding anything at or below the header (merged areas included)."""
        last = self._last_header
        # openpyxl has no public sparse iterator; _cells holds only cells that exist, which
        # matters when a sheet has formatting out to column XFD.
        for (row, column), cell in self.sheet._cells.items():
            if row >= self.header_row and column > last and cell.value not in (None, ""):
                last = column
        for merged in self.sheet.merged_cells.ranges:
            if merged.max_row >= self.header_row:
                last = max(last, merged.max_col)
        return last

    def column_for(self, header: str) -> int:
        """The column of ``header``: an existing one with the same name, else a new one."""
        key = header_key(header)
        if key in self._columns:
            return self._columns[key]
        ours = output_column_for_header(header)
        if ours is not None:  # e.g. "视频链接" already there when we write "videoUrl"
            for existing_key, index in self._columns.items():
                if output_column_for_header(existing_key) == ours:
                    return index
        return self._append_column(header)

    def _append_column(self, header: str) -> int:
        index = self._next_column
        self._next_column += 1
        cell = self.sheet.cell(self.header_row, index)
        _set_text(cell, header)
        if self._last_header:
            _copy_style(self.sheet.cell(self.header_row, self._last_header), cell)
        self._extend_tables_and_filter(index, header)
        self._columns[header_key(header)] = index
        self._widths[index] = 0
        return index

    def _extend_tables_and_filter(self, index: int, header: str) -> None:
        """A table or filter ending just left of the new column grows to include it."""
        for table in self.sheet.tables.values():
            min_col, min_row, max_col, max_row = range_boundaries(table.ref)
            if min_row == self.header_row and max_col == index - 1:
                table.ref = _ref(min_col, min_row, index, max_row)
                if table.autoFilter is not None and table.autoFilter.ref:
                    table.autoFilter.ref = table.ref
                next_id = max((c.id for c in table.tableColumns), default=0) + 1
                table.tableColumns.append(TableColumn(id=next_id, name=header))
        auto_filter = self.sheet.auto_filter
        if auto_filter.ref:
            min_col, min_row, max_col, max_row = range_boundaries(auto_filter.ref)
            if min_row == self.header_row and max_col == index - 1:
                auto_filter.ref = _ref(min_col, min_row, index, max_row)

    # --- writing ---------------------------------------------------------------------------
    def apply(
        self,
        columns: Sequence[str],
        rows: Mapping[int, Mapping[str, CellLike]],
        notes: Sequence[CellNote],
    ) -> None:
        index_of: dict[str, int] = {}
        for header in columns:
            index = index_of[header_key(header)] = self.column_for(header)
            self._grow_width(index, display_width(str(header)))
        for sheet_row, index, output in placed_cells(index_of, columns, rows, self.header_row):
            cell = self.sheet.cell(sheet_row, index)
            if isinstance(cell, MergedCell):
                continue  # inside a user's merged block: not ours to write
            _write_output(cell, output)
            text = cell.value
            if isinstance(text, str) and index in self._widths:
                text = text[:MAX_WIDTH]
                self._grow_width(index, len(text) if text.isascii() else display_width(text))
        for index, width in self._widths.items():
            width = min(MAX_WIDTH, max(MIN_WIDTH, width + 2))
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        self._apply_notes(notes)

    def _grow_width(self, index: int, width: int) -> None:
        """Only columns we appended get a width; the user's own widths are theirs."""
        if index in self._widths and width > self._widths[index]:
            self._widths[index] = width

    def _apply_notes(self, notes: Sequence[CellNote]) -> None:
        """Notes replace those of the previous write: a fixed cell loses its highlight."""
        for (row, column), (fill, comment) in self._noted.items():
            cell = self.sheet.cell(row, column)
            cell.fill = fill
            cell.comment = comment
        self._noted.clear()
        messages: dict[tuple[int, int], list[str]] = {}
        for note in notes:
            messages.setdefault((note.sheet_row, note.column_index), []).append(note.message)
        for (row, column), texts in messages.items():
            cell = self.sheet.cell(row, column)
            if isinstance(cell, MergedCell):
                continue
            self._noted[(row, column)] = (copy(cell.fill), cell.comment)
            ours = "\n".join(NOTE_PREFIX + clean_text(str(text)) for text in texts)
            theirs = cell.comment.text.rstrip() + "\n\n" if cell.comment else ""
            author = (cell.comment.author if cell.comment else None) or NOTE_AUTHOR
            lines = sum(1 + len(line) // 45 for line in (theirs + ours).splitlines())
            cell.comment = Comment(
                theirs + ours, author, height=min(400, 30 + 18 * lines), width=320
            )
            cell.fill = _solid(NOTE_FILL)

    def _remove_previous_notes(self) -> None:
        """The source may be an earlier output: its hhbatch notes are stale, remove them."""
        for cell in list(self.sheet._cells.values()):
            comment = cell.comment
            if comment is None or NOTE_PREFIX not in (comment.text or ""):
                continue
            text = comment.text
            cut = 0 if text.startswith(NOTE_PREFIX) else text.find("\n\n" + NOTE_PREFIX)
            if cut < 0:
                continue  # the marker is inside the user's own words
            kept = text[:cut].rstrip()
            cell.comment = Comment(kept, comment.author) if kept else None
            if _fill_rgb(cell) == NOTE_FILL:
                cell.fill = PatternFill(fill_type=None)

    def save(self, path: Path) -> None:
        try:
            self.workbook.save(path)
        except OSError:
            raise
        except Exception as err:  # openpyxl serialisation problems
            raise OutputError(
                _("Cannot save the results workbook: {reason}.").format(reason=err)
            ) from err


def _losses(source: Path, data: bytes, messages: list[str]) -> list[str]:
    """What the copy will not contain, as sentences (openpyxl drops pictures without Pillow)."""
    losses = [f"{source.name}: {m}" for m in dict.fromkeys(messages)]
    if not PILImage:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if any(name.startswith("xl/media/") for name in archive.namelist()):
                losses.append(f"Pictures in {source.name} are not copied into the results sheet.")
    return losses


def _write_output(cell: Cell, output: OutputCell) -> None:
    value = output.value
    link = safe_link(output.link)
    if value is None and output.link:
        value = output.link
    if value is None:
        cell.value = None
    elif excel_number(value):
        cell.value = value
    else:
        _set_text(cell, str(value))
    if link:
        cell.hyperlink = link
        cell.style = "Hyperlink"
    elif cell.hyperlink is not None:
        cell.hyperlink = None
        if cell.style == "Hyperlink":
            cell.style = "Normal"
    if output.fill:
        if _fill_rgb(cell) != output.fill.upper():
            cell.fill = _solid(output.fill)
    elif cell.has_style and _fill_rgb(cell) in OUR_FILLS:
        cell.fill = PatternFill(fill_type=None)


@lru_cache(maxsize=64)
def _solid(rgb: str) -> PatternFill:
    """One fill object per colour: openpyxl hashes every fill it is given, which is slow."""
    return PatternFill("solid", fgColor=rgb)


def _set_text(cell: Cell, text: str) -> None:
    """Store ``text`` as a string cell, whatever it looks like (``=1+1`` stays text)."""
    cell.value = ooxml_text(clean_text(text))
    cell.data_type = "s"  # openpyxl made "=..." a formula ("f"); this is data


def _copy_style(source: Cell, target: Cell) -> None:
    target.font = copy(source.font)
    target.fill = copy(source.fill)
    target.border = copy(source.border)
    target.alignment = copy(source.alignment)
    target.number_format = source.number_format
    target.protection = copy(source.protection)


def _fill_rgb(cell: Cell) -> str | None:
    fill = cell.fill
    if fill is None or fill.fill_type != "solid":
        return None
    rgb = getattr(fill.fgColor, "rgb", None)
    return rgb[-6:].upper() if isinstance(rgb, str) else None


def _ref(min_col: int, min_row: int, max_col: int, max_row: int) -> str:
    return f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}"
