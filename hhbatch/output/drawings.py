"""Where the pictures, charts, shapes and form controls of a sheet sit, in columns.

Why: result columns appended under a product photo anchored beside the data would be hidden by it.
The writer places them to the right of every drawing object that reaches the header row or below,
and leaves the drawing itself untouched.
"""

from __future__ import annotations

import re

from lxml import etree

from hhbatch.output.package import DRAWING, VML_DRAWING, Package, parse_xml
from hhbatch.output.sheetxml import Worksheet

EMU_PER_PIXEL = 9525
DEFAULT_COLUMN_CHARS = 8.43
DEFAULT_ROW_PIXELS = 20
_ANCHOR = re.compile(r"<x:Anchor>\s*([\d\s,]+)</x:Anchor>", re.IGNORECASE)
_OBJECT_TYPE = re.compile(r'ObjectType\s*=\s*"(\w+)"')
_VML_SHAPE = re.compile(r"<v:shape\b.*?</v:shape>", re.DOTALL | re.IGNORECASE)


def last_covered_column(
    package: Package, sheet_part: str, sheet: Worksheet, header_row: int
) -> int:
    """The rightmost column (1-based) any drawing object covers at the header row or below."""
    widths = _ColumnWidths(sheet)
    last = 0
    drawing_id = sheet.relationship_id("drawing")
    for rel_id, part in package.related(sheet_part, DRAWING):
        if rel_id != drawing_id or part not in package:
            continue
        try:
            root = parse_xml(package.read(part))
        except etree.XMLSyntaxError:
            continue
        for anchor in root.iter():
            if not isinstance(anchor.tag, str):
                continue
            kind = etree.QName(anchor).localname
            if kind in ("twoCellAnchor", "oneCellAnchor", "absoluteAnchor"):
                last = max(last, _anchor_column(anchor, kind, widths, header_row))
    legacy_id = sheet.relationship_id("legacyDrawing")
    for rel_id, part in package.related(sheet_part, VML_DRAWING):
        if rel_id != legacy_id or part not in package:
            continue
        text = package.read(part).decode("utf-8", errors="replace")
        for shape in _VML_SHAPE.findall(text):
            kind = _OBJECT_TYPE.search(shape)
            anchor = _ANCHOR.search(shape)
            if kind is None or anchor is None or kind.group(1) == "Note":
                continue  # comment boxes pop up on hover; they hide nothing
            numbers = [int(n) for n in anchor.group(1).replace(" ", "").split(",") if n]
            if len(numbers) == 8 and numbers[6] + 1 >= header_row:
                last = max(last, numbers[4] + (1 if numbers[5] > 0 else 0))
    return last


def _anchor_column(
    anchor: etree._Element, kind: str, widths: _ColumnWidths, header_row: int
) -> int:
    def find(path: str) -> etree._Element | None:
        for element in anchor.iter():
            if isinstance(element.tag, str) and etree.QName(element).localname == path:
                return element
        return None

    def number(parent: etree._Element | None, local: str) -> int:
        if parent is None:
            return 0
        for child in parent:
            if isinstance(child.tag, str) and etree.QName(child).localname == local:
                try:
                    return int(float((child.text or "0").strip()))
                except ValueError:
                    return 0
        return 0

    if kind == "twoCellAnchor":
        start = _child(anchor, "from")
        end = _child(anchor, "to")
        if number(end, "row") + 1 < header_row:
            return 0  # wholly above the header (a logo beside the title)
        column = number(end, "col")  # 0-based
        return column + (1 if number(end, "colOff") > 0 else 0) if end is not None else 0
    ext = _child(anchor, "ext")
    width = int(ext.get("cx", "0")) if ext is not None else 0
    if kind == "oneCellAnchor":
        start = _child(anchor, "from")
        height = int(ext.get("cy", "0")) if ext is not None else 0
        rows = height // (EMU_PER_PIXEL * DEFAULT_ROW_PIXELS) + 1
        if number(start, "row") + rows + 1 < header_row:
            return 0
        return widths.column_at(number(start, "col"), number(start, "colOff") + width)
    pos = _child(anchor, "pos")
    x = int(pos.get("x", "0")) if pos is not None else 0
    return widths.column_at(0, x + width)


def _child(anchor: etree._Element, local: str) -> etree._Element | None:
    for child in anchor:
        if isinstance(child.tag, str) and etree.QName(child).localname == local:
            return child
    return None


class _ColumnWidths:
    """Column widths in EMU, from the sheet's ``cols`` and default width (approximate)."""

    def __init__(self, sheet: Worksheet) -> None:
        fmt = sheet.child("sheetFormatPr")
        default = DEFAULT_COLUMN_CHARS
        if fmt is not None:
            if fmt.get("defaultColWidth"):
                default = float(fmt.get("defaultColWidth", default))
            elif fmt.get("baseColWidth"):
                default = float(fmt.get("baseColWidth", 8)) + 0.71
        self.default = default
        self.ranges: list[tuple[int, int, float]] = []
        cols = sheet.child("cols")
        for col in cols if cols is not None else ():
            try:
                low, high = int(col.get("min", "0")), int(col.get("max", "0"))
                width = float(col.get("width", default))
            except ValueError:
                continue
            if col.get("hidden") in ("1", "true"):
                width = 0.0
            self.ranges.append((low, high, width))

    def emu(self, column: int) -> int:
        chars = self.default
        for low, high, width in self.ranges:
            if low <= column <= high:
                chars = width
                break
        return int((chars * 7 + 5) * EMU_PER_PIXEL) if chars else 0

    def column_at(self, start_col0: int, offset: int) -> int:
        """The 1-based column that ends up containing the point ``offset`` EMU right of the
        left edge of 0-based column ``start_col0``."""
        column = start_col0 + 1
        while column < 16384:
            width = self.emu(column)
            if offset <= width:
                return column
            offset -= width
            column += 1
        return column
