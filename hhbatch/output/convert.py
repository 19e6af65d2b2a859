"""An .ods or .xls manifest → a plain .xlsx holding its values, the source of the results copy.

Why a copy and not the user's own format: openpyxl (and the package patcher that replaces it)
writes only Office Open XML; no maintained Python library edits .ods or .xls in place. So the
results of an .ods/.xls manifest are an .xlsx with the values of every sheet and the basic look
(bold header row, column widths fitted to the text), and the plan says what is not kept
(:func:`conversion_losses`).

Values are what calamine read (the cached result of each formula). Text is set as text even when
it starts with ``=``: it was a value in the source, never a formula.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hhbatch.errors import OutputError
from hhbatch.i18n import _
from hhbatch.output.cells import display_width

CONVERTED_SUFFIXES = (".ods", ".xls")
MIN_WIDTH, MAX_WIDTH = 8, 60
_KIND_NAMES = {".ods": "OpenDocument (.ods)", ".xls": "Excel 97-2003 (.xls)"}


def needs_conversion(path: Path) -> bool:
    return path.suffix.lower() in CONVERTED_SUFFIXES


def conversion_losses(source: Path) -> list[str]:
    """What the .xlsx copy of an .ods/.xls does not keep, as one sentence for the plan."""
    if not needs_conversion(source):
        return []
    return [
        _(
            "{file} is an {kind} file: results are written as an .xlsx copy with the values of "
            "every sheet; the {suffix}'s own formatting, formulas, charts and pictures are not "
            "kept (your {file} is not changed)."
        ).format(
            file=source.name,
            kind=_KIND_NAMES[source.suffix.lower()],
            suffix=source.suffix.lower(),
        )
    ]


def write_plain_xlsx(
    source: Path, dest: Path, *, header_sheet: str | None, header_row: int
) -> None:
    """Every worksheet of ``source`` as values into a new workbook at ``dest``."""
    import python_calamine as calamine
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    try:
        workbook = calamine.CalamineWorkbook.from_path(str(source))
        sheets = [
            (meta, workbook.get_sheet_by_name(meta.name).to_python(skip_empty_area=False))
            for meta in workbook.sheets_metadata
            if meta.typ == calamine.SheetTypeEnum.WorkSheet
        ]
    except Exception as err:  # calamine raises several unrelated types for a damaged file
        raise OutputError(
            _("Cannot read {path} to copy it: {reason}.").format(path=source, reason=err)
        ) from err
    out = Workbook()
    out.remove(out.active)
    bold = Font(bold=True)
    for meta, grid in sheets:
        sheet = out.create_sheet(meta.name[:31])
        if meta.visible != calamine.SheetVisibleEnum.Visible:
            sheet.sheet_state = "hidden"
        widths: dict[int, int] = {}
        for row_index, row in enumerate(grid, start=1):
            for column, value in enumerate(row, start=1):
                if value is None or value == "":
                    continue
                cell = sheet.cell(row_index, column)
                _set_value(cell, value)
                text = str(value)
                widths[column] = max(widths.get(column, 0), display_width(text[:80]))
        if meta.name == header_sheet:
            for cell in sheet[header_row] if sheet.max_row >= header_row else ():
                cell.font = bold
        for column, width in widths.items():
            letter = get_column_letter(column)
            sheet.column_dimensions[letter].width = min(MAX_WIDTH, max(MIN_WIDTH, width + 2))
    if not out.worksheets:
        out.create_sheet("Sheet1")
    if all(s.sheet_state == "hidden" for s in out.worksheets):
        out.worksheets[0].sheet_state = "visible"
    out.save(dest)


def _set_value(cell: Any, value: Any) -> None:
    if isinstance(value, dt.datetime):
        cell.value = value
        cell.number_format = "yyyy-mm-dd hh:mm:ss" if value.time() != dt.time() else "yyyy-mm-dd"
    elif isinstance(value, dt.date):
        cell.value = value
        cell.number_format = "yyyy-mm-dd"
    elif isinstance(value, dt.time):
        cell.value = value
        cell.number_format = "hh:mm:ss"
    elif isinstance(value, dt.timedelta):
        cell.value = value
        cell.number_format = "[h]:mm:ss"
    elif isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # "=1+1" typed as text stays text
    else:
        cell.value = value
