"""The workbook's styles part, only ever appended to.

A cell's look is an index ``s`` into ``cellXfs``. To give a cell our status fill, the hyperlink
look or a date format, the cell's own format is copied with that one change and appended; nothing
existing is renumbered or altered, so every other cell of the workbook looks exactly as before.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from hhbatch.output.package import parse_xml, serialize_xml

DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
HYPERLINK_RGB = "FF0563C1"
# Number formats Excel knows by id without a numFmt element: dates and times.
BUILTIN_DATE_FORMATS = frozenset({*range(14, 23), *range(45, 48), *range(27, 37), *range(50, 59)})
# Font children in schema order (CT_Font is a sequence in practice for Excel).
_FONT_ORDER = [
    "b",
    "i",
    "strike",
    "condense",
    "extend",
    "outline",
    "shadow",
    "u",
    "vertAlign",
    "sz",
    "color",
    "name",
    "family",
    "charset",
    "scheme",
]


class StyleBook:
    def __init__(self, data: bytes) -> None:
        self.original = data
        self.root = parse_xml(data)
        self.ns = etree.QName(self.root).namespace or ""
        self.changed = False
        self._derived: dict[tuple[Any, ...], int] = {}
        self._fills: dict[str | None, int] = {}
        self._hyperlink_xf: int | None = None
        self._date_format: int | None = None
        self._fill_of: dict[int, str | None] = {}

    def q(self, local: str) -> str:
        return f"{{{self.ns}}}{local}" if self.ns else local

    def _list(self, local: str) -> etree._Element:
        found = self.root.find(self.q(local))
        if found is None:
            found = etree.Element(self.q(local))
            found.set("count", "0")
            _insert_in_order(self.root, found, _STYLE_ORDER, self.q)
        return found

    def _append(self, local: str, element: etree._Element) -> int:
        container = self._list(local)
        container.append(element)
        container.set("count", str(len(container)))
        self.changed = True
        return len(container) - 1

    def xf(self, s: int) -> etree._Element | None:
        xfs = self.root.find(self.q("cellXfs"))
        if xfs is None or s >= len(xfs):
            return None
        return xfs[s]

    # --- reading ---------------------------------------------------------------------------
    def fill_rgb(self, s: int) -> str | None:
        """The solid background of format ``s`` as ``RRGGBB``, or None."""
        if s not in self._fill_of:  # formats are only ever appended: the answer never changes
            self._fill_of[s] = self._read_fill_rgb(s)
        return self._fill_of[s]

    def _read_fill_rgb(self, s: int) -> str | None:
        xf = self.xf(s)
        fills = self.root.find(self.q("fills"))
        if xf is None or fills is None:
            return None
        fill_id = int(xf.get("fillId", "0") or 0)
        if fill_id >= len(fills):
            return None
        pattern = fills[fill_id].find(self.q("patternFill"))
        if pattern is None or pattern.get("patternType") != "solid":
            return None
        color = pattern.find(self.q("fgColor"))
        rgb = color.get("rgb") if color is not None else None
        return rgb[-6:].upper() if rgb else None

    def is_date(self, s: int) -> bool:
        xf = self.xf(s)
        if xf is None:
            return False
        fmt = int(xf.get("numFmtId", "0") or 0)
        if fmt in BUILTIN_DATE_FORMATS:
            return True
        formats = self.root.find(self.q("numFmts"))
        for el in formats if formats is not None else ():
            if int(el.get("numFmtId", "-1")) == fmt:
                code = (el.get("formatCode") or "").lower()
                code = "".join(part for i, part in enumerate(code.split('"')) if i % 2 == 0)
                return any(ch in code for ch in "dmyhs") and "[" not in code.replace("[$", "")
        return False

    def is_hyperlink(self, s: int) -> bool:
        xf = self.xf(s)
        if xf is None:
            return False
        return int(xf.get("xfId", "0") or 0) == self._named_hyperlink(create=False)

    # --- deriving --------------------------------------------------------------------------
    def derive(
        self,
        s: int,
        *,
        fill: str | bool | None = False,
        hyperlink: bool | None = None,
        date: bool = False,
    ) -> int:
        """Format ``s`` with one or more changes: ``fill`` an RGB (None: no fill; False: keep),
        ``hyperlink`` True/False (the named Hyperlink style, or back to Normal), ``date``."""
        key = (s, fill, hyperlink, date)
        if key in self._derived:
            return self._derived[key]
        base = self.xf(s)
        xf = copy.deepcopy(base) if base is not None else etree.Element(self.q("xf"))
        if fill is not False:
            fill_id = str(self._fill(fill))  # type: ignore[arg-type]
            if xf.get("fillId", "0") != fill_id:
                xf.set("fillId", fill_id)
                xf.set("applyFill", "1")
        if hyperlink is True:
            named = self._named_hyperlink(create=True)
            xf.set("xfId", str(named))
            xf.set("fontId", str(self._hyperlink_font()))
            xf.set("applyFont", "1")
        elif hyperlink is False and self.is_hyperlink(s):
            xf.set("xfId", "0")
            xf.set("fontId", self._normal_font())
        if date:
            xf.set("numFmtId", str(self._date_format_id()))
            xf.set("applyNumberFormat", "1")
        if base is not None and etree.tostring(xf) == etree.tostring(base):
            self._derived[key] = s
            return s
        index = self._append("cellXfs", xf)
        self._derived[key] = index
        return index

    def _fill(self, rgb: str | None) -> int:
        if rgb is None:
            return 0  # fills[0] is "none" in every workbook
        if rgb in self._fills:
            return self._fills[rgb]
        fill = etree.Element(self.q("fill"))
        pattern = etree.SubElement(fill, self.q("patternFill"))
        pattern.set("patternType", "solid")
        etree.SubElement(pattern, self.q("fgColor")).set("rgb", "FF" + rgb.upper())
        etree.SubElement(pattern, self.q("bgColor")).set("indexed", "64")
        self._fills[rgb] = self._append("fills", fill)
        return self._fills[rgb]

    def _normal_font(self) -> str:
        style_xfs = self.root.find(self.q("cellStyleXfs"))
        if style_xfs is not None and len(style_xfs):
            return style_xfs[0].get("fontId", "0")
        return "0"

    def _hyperlink_font(self) -> int:
        fonts = self._list("fonts")
        normal = int(self._normal_font())
        font = (
            copy.deepcopy(fonts[normal]) if normal < len(fonts) else etree.Element(self.q("font"))
        )
        for child in list(font):
            if etree.QName(child).localname in ("u", "color"):
                font.remove(child)
        underline = etree.Element(self.q("u"))
        color = etree.Element(self.q("color"))
        color.set("rgb", HYPERLINK_RGB)
        for element in (underline, color):
            _insert_in_order(font, element, _FONT_ORDER, self.q)
        return self._append("fonts", font)

    def _named_hyperlink(self, *, create: bool) -> int | None:
        """The ``cellStyleXfs`` index of the built-in "Hyperlink" cell style (added if asked)."""
        if self._hyperlink_xf is not None:
            return self._hyperlink_xf
        styles = self.root.find(self.q("cellStyles"))
        for el in styles if styles is not None else ():
            if el.get("builtinId") == "8" or (el.get("name") or "").lower() == "hyperlink":
                self._hyperlink_xf = int(el.get("xfId", "0"))
                return self._hyperlink_xf
        if not create:
            return None
        style_xfs = self._list("cellStyleXfs")
        xf = copy.deepcopy(style_xfs[0]) if len(style_xfs) else etree.Element(self.q("xf"))
        xf.set("fontId", str(self._hyperlink_font()))
        xf.set("applyFont", "1")
        self._hyperlink_xf = self._append("cellStyleXfs", xf)
        style = etree.Element(self.q("cellStyle"))
        style.set("name", "Hyperlink")
        style.set("xfId", str(self._hyperlink_xf))
        style.set("builtinId", "8")
        self._append("cellStyles", style)
        return self._hyperlink_xf

    def _date_format_id(self) -> int:
        if self._date_format is not None:
            return self._date_format
        formats = self.root.find(self.q("numFmts"))
        used = [163]
        for el in formats if formats is not None else ():
            if el.get("formatCode") == DATE_FORMAT:
                self._date_format = int(el.get("numFmtId", "0"))
                return self._date_format
            used.append(int(el.get("numFmtId", "0")))
        element = etree.Element(self.q("numFmt"))
        self._date_format = max(used) + 1
        element.set("numFmtId", str(self._date_format))
        element.set("formatCode", DATE_FORMAT)
        self._append("numFmts", element)
        return self._date_format

    def data(self) -> bytes:
        return serialize_xml(self.root, self.original)


_STYLE_ORDER = [
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
]


def _insert_in_order(parent: etree._Element, element: etree._Element, order: Any, q: Any) -> None:
    """Insert ``element`` before the first child that the schema puts after it."""
    rank = {name: i for i, name in enumerate(order)}
    mine = rank[etree.QName(element).localname]
    for index, child in enumerate(parent):
        if not isinstance(child.tag, str):
            continue
        theirs = rank.get(etree.QName(child).localname)
        if theirs is not None and theirs > mine:
            parent.insert(index, element)
            return
    parent.append(element)
