"""One worksheet's XML: find, create and fill cells without disturbing anything else.

A worksheet's child elements have a fixed order in the schema (``sheetData`` before
``hyperlinks``, ``extLst`` last); a misplaced element makes Excel "repair" the file, so every
element added here goes where the schema wants it.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from hhbatch.output.package import DOC_REL_NS, parse_xml, serialize_xml

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"

WORKSHEET_ORDER = [
    "sheetPr",
    "dimension",
    "sheetViews",
    "sheetFormatPr",
    "cols",
    "sheetData",
    "sheetCalcPr",
    "sheetProtection",
    "protectedRanges",
    "scenarios",
    "autoFilter",
    "sortState",
    "dataConsolidate",
    "customSheetViews",
    "mergeCells",
    "phoneticPr",
    "conditionalFormatting",
    "dataValidations",
    "hyperlinks",
    "printOptions",
    "pageMargins",
    "pageSetup",
    "headerFooter",
    "rowBreaks",
    "colBreaks",
    "customProperties",
    "cellWatches",
    "ignoredErrors",
    "smartTags",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
]
_RANK = {name: i for i, name in enumerate(WORKSHEET_ORDER)}
_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


def column_letter(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index


def parse_ref(ref: str) -> tuple[int, int]:
    """``"E12"`` → (row 12, column 5)."""
    found = _REF.match(ref.strip())
    if not found:
        raise ValueError(ref)
    return int(found.group(2)), column_index(found.group(1))


def parse_range(ref: str) -> tuple[int, int, int, int]:
    """``"A1:D4"`` → (min_col, min_row, max_col, max_row); a single cell is a 1×1 range."""
    first, _, last = ref.strip().partition(":")
    row1, col1 = parse_ref(first)
    row2, col2 = parse_ref(last) if last else (row1, col1)
    return min(col1, col2), min(row1, row2), max(col1, col2), max(row1, row2)


def range_ref(min_col: int, min_row: int, max_col: int, max_row: int) -> str:
    return f"{column_letter(min_col)}{min_row}:{column_letter(max_col)}{max_row}"


def _rank(element: Any) -> int | None:
    if not isinstance(element.tag, str):
        return None
    qname = etree.QName(element)
    if qname.namespace == MC_NS and qname.localname == "AlternateContent":
        for inner in element.iter():
            if inner is element or not isinstance(inner.tag, str):
                continue
            if etree.QName(inner).namespace != MC_NS:
                return _RANK.get(etree.QName(inner).localname)
        return None
    return _RANK.get(qname.localname)


class Worksheet:
    """A worksheet part, parsed once; rows are indexed by number, cells found within a row."""

    def __init__(self, data: bytes) -> None:
        self.original = data
        self.root = parse_xml(data)
        self.ns = etree.QName(self.root).namespace or ""
        sheet_data = self.root.find(self.q("sheetData"))
        if sheet_data is None:
            sheet_data = self.insert(etree.Element(self.q("sheetData")))
        self.sheet_data = sheet_data
        self.rows: dict[int, etree._Element] = {}
        self._row_index: dict[int, dict[int, etree._Element]] = {}  # built per row when needed
        previous = 0
        for row in sheet_data.iterfind(self.q("row")):
            number = int(row.get("r") or previous + 1)
            row.set("r", str(number))  # writers may leave r out; our lookups need it
            previous = number
            self.rows[number] = row
            column = 0
            for cell in row.iterfind(self.q("c")):
                ref = cell.get("r")
                if ref:
                    column = parse_ref(ref)[1]
                else:
                    column += 1
                    cell.set("r", f"{column_letter(column)}{number}")

    def q(self, local: str) -> str:
        return f"{{{self.ns}}}{local}" if self.ns else local

    def child(self, local: str) -> etree._Element | None:
        return self.root.find(self.q(local))

    def insert(self, element: etree._Element) -> etree._Element:
        """Add a top-level element where the schema puts it."""
        mine = _RANK[etree.QName(element).localname]
        for index, child in enumerate(self.root):
            theirs = _rank(child)
            if theirs is not None and theirs > mine:
                self.root.insert(index, element)
                return element
        self.root.append(element)
        return element

    def ensure(self, local: str) -> etree._Element:
        found = self.child(local)
        return found if found is not None else self.insert(etree.Element(self.q(local)))

    # --- cells -----------------------------------------------------------------------------
    def row(self, number: int, *, create: bool = True) -> etree._Element | None:
        found = self.rows.get(number)
        if found is not None or not create:
            return found
        row = etree.Element(self.q("row"))
        row.set("r", str(number))
        later = [n for n in self.rows if n > number]
        if later:
            self.rows[min(later)].addprevious(row)
        else:
            self.sheet_data.append(row)
        self.rows[number] = row
        return row

    def cell(self, number: int, column: int, *, create: bool = True) -> etree._Element | None:
        row = self.row(number, create=create)
        if row is None:
            return None
        index = self._row_index.get(number)
        if index is None:
            index = self._row_index[number] = {
                parse_ref(c.get("r", "A1"))[1]: c for c in row.iterfind(self.q("c"))
            }
        found = index.get(column)
        if found is not None or not create:
            return found
        cell = etree.Element(self.q("c"))
        cell.set("r", f"{column_letter(column)}{number}")
        later = [c for c in index if c > column]
        if later:
            index[min(later)].addprevious(cell)
        elif index:
            index[max(index)].addnext(cell)
        else:
            row.insert(0, cell)
        index[column] = cell
        self._widen_spans(row, column)
        return cell

    @staticmethod
    def _widen_spans(row: etree._Element, column: int) -> None:
        spans = row.get("spans")
        if not spans or ":" not in spans or " " in spans:
            return
        low, _, high = spans.partition(":")
        if low.isdigit() and high.isdigit():
            row.set("spans", f"{min(int(low), column)}:{max(int(high), column)}")

    def cells_of_row(self, number: int) -> list[etree._Element]:
        row = self.rows.get(number)
        return [] if row is None else list(row.iterfind(self.q("c")))

    def has_value(self, cell: etree._Element, shared: list[str]) -> bool:
        if cell.find(self.q("f")) is not None:
            return True
        if cell.get("t") == "inlineStr":
            return (
                bool("".join(cell.find(self.q("is")).itertext()))
                if cell.find(self.q("is")) is not None
                else False
            )
        value = cell.find(self.q("v"))
        if value is None or value.text is None or value.text == "":
            return False
        if cell.get("t") == "s":
            try:
                return shared[int(value.text)] != ""
            except (ValueError, IndexError):
                return True
        return True

    def value(self, cell: etree._Element, shared: list[str]) -> Any:
        """A cell's value as Python: text, number, bool, or None (errors as their text)."""
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            inline = cell.find(self.q("is"))
            return _text_of(inline, self.q) if inline is not None else None
        value = cell.find(self.q("v"))
        if value is None or value.text is None:
            return None
        text = value.text
        if kind == "s":
            try:
                return shared[int(text)]
            except (ValueError, IndexError):
                return None
        if kind in ("str", "e"):
            return text
        if kind == "b":
            return text.strip() == "1"
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and abs(number) < 1e15 else number

    def style(self, cell: etree._Element) -> int:
        return int(cell.get("s", "0") or 0)

    @staticmethod
    def clear(cell: etree._Element) -> bool:
        """Remove a cell's value (and formula); True when there was a formula."""
        had_formula = False
        for child in list(cell):
            name = etree.QName(child).localname
            if name in ("f", "v", "is"):
                had_formula = had_formula or name == "f"
                cell.remove(child)
        for attr in ("t", "vm", "cm", "ph"):
            if attr in cell.attrib:
                del cell.attrib[attr]
        return had_formula

    def set_text(self, cell: etree._Element, text: str) -> bool:
        had_formula = self.clear(cell)
        cell.set("t", "inlineStr")
        inline = etree.SubElement(cell, self.q("is"))
        t = etree.SubElement(inline, self.q("t"))
        t.text = text
        if text != text.strip() or "\n" in text or "\t" in text:
            t.set(XML_SPACE, "preserve")
        return had_formula

    def set_number(self, cell: etree._Element, number: float | int | bool) -> bool:
        had_formula = self.clear(cell)
        if isinstance(number, bool):
            cell.set("t", "b")
            text = "1" if number else "0"
        elif isinstance(number, int):
            text = str(number)
        else:
            text = repr(float(number))
        etree.SubElement(cell, self.q("v")).text = text
        return had_formula

    # --- whole sheet -----------------------------------------------------------------------
    def merged_hidden(self) -> set[tuple[int, int]]:
        """Cells covered by a merged block other than its top-left one (Excel ignores them)."""
        hidden: set[tuple[int, int]] = set()
        merges = self.child("mergeCells")
        for merge in merges if merges is not None else ():
            try:
                min_col, min_row, max_col, max_row = parse_range(merge.get("ref", ""))
            except ValueError:
                continue
            if (max_col - min_col + 1) * (max_row - min_row + 1) > 100_000:
                continue  # a huge merged area cannot hold our rows anyway
            for row in range(min_row, max_row + 1):
                for col in range(min_col, max_col + 1):
                    if (row, col) != (min_row, min_col):
                        hidden.add((row, col))
        return hidden

    def merged_max_column(self, from_row: int) -> int:
        last = 0
        merges = self.child("mergeCells")
        for merge in merges if merges is not None else ():
            try:
                _min_col, _min_row, max_col, max_row = parse_range(merge.get("ref", ""))
            except ValueError:
                continue
            if max_row >= from_row:
                last = max(last, max_col)
        return last

    def relationship_id(self, local: str) -> str | None:
        element = self.child(local)
        return None if element is None else element.get(f"{{{DOC_REL_NS}}}id")

    def data(self) -> bytes:
        return serialize_xml(self.root, self.original)


def _text_of(element: etree._Element, q: Any) -> str:
    """The text of a string item (``<t>`` and rich-text runs), without phonetic guides."""
    parts = []
    for node in element.iter(q("t")):
        parent = node.getparent()
        if parent is not None and etree.QName(parent).localname == "rPh":
            continue
        parts.append(node.text or "")
    return decode_escapes("".join(parts))


_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def decode_escapes(text: str) -> str:
    """OOXML's ``_xHHHH_`` escapes back into characters (``_x000D_`` is a carriage return)."""
    if "_x" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def shared_strings(data: bytes | None) -> list[str]:
    if not data:
        return []
    root = parse_xml(data)
    ns = etree.QName(root).namespace or ""

    def q(local: str) -> str:
        return f"{{{ns}}}{local}" if ns else local

    return [_text_of(si, q) for si in root.iterfind(q("si"))]
