"""An OOXML package (the zip inside every .xlsx/.xlsm) edited part by part.

Why not an object model such as openpyxl: it rebuilds the whole workbook from what it understands
and silently drops the rest (in-cell pictures, x14 data validations, slicers, a picture's data after
the first save...). Here the package is copied entry by entry; only the parts the writer changes
are replaced, every other part keeps its exact bytes.

XML is edited with lxml, which keeps namespace prefixes as written (the standard library's
ElementTree renames them ``ns0:``, which breaks ``mc:Ignorable`` and makes Excel "repair" the file).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"

REL_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
HYPERLINK = REL_TYPE + "hyperlink"
COMMENTS = REL_TYPE + "comments"
VML_DRAWING = REL_TYPE + "vmlDrawing"
DRAWING = REL_TYPE + "drawing"
TABLE = REL_TYPE + "table"
PIVOT_TABLE = REL_TYPE + "pivotTable"
WORKSHEET = REL_TYPE + "worksheet"
STYLES = REL_TYPE + "styles"
SHARED_STRINGS = REL_TYPE + "sharedStrings"
CALC_CHAIN = REL_TYPE + "calcChain"
OFFICE_DOCUMENT = REL_TYPE + "officeDocument"

COMMENTS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_CT = "application/vnd.openxmlformats-officedocument.vmlDrawing"

# Parsing options: keep every byte that matters (no blank-text stripping), allow big sheets.
_PARSER = etree.XMLParser(remove_blank_text=False, huge_tree=True, resolve_entities=False)
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>\s*")


def parse_xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, _PARSER)


def serialize_xml(root: etree._Element, original: bytes | None = None) -> bytes:
    """``root`` as bytes, with the XML declaration the part had (Excel writes standalone="yes")."""
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    found = _DECLARATION.match(original) if original is not None else None
    if found:
        return found.group(0) + body
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body


@dataclass
class Relationship:
    id: str
    type: str
    target: str
    external: bool


def rels_name(part: str) -> str:
    """``xl/worksheets/sheet1.xml`` → ``xl/worksheets/_rels/sheet1.xml.rels``."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve(source_part: str, target: str) -> str:
    """A relationship target as a part name (targets are relative to the source's folder)."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def relative(source_part: str, target_part: str) -> str:
    return posixpath.relpath(target_part, posixpath.dirname(source_part) or ".")


class Package:
    """The source package's entries in order; changed or new parts replace them on save."""

    def __init__(self, data: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            self.infos = archive.infolist()
            self.original: dict[str, bytes] = {i.filename: archive.read(i) for i in self.infos}
        self.changed: dict[str, bytes] = {}
        self.removed: set[str] = set()

    def __contains__(self, name: str) -> bool:
        return (name in self.original or name in self.changed) and name not in self.removed

    def read(self, name: str) -> bytes:
        if name in self.removed:
            raise KeyError(name)
        return self.changed[name] if name in self.changed else self.original[name]

    def names(self) -> Iterator[str]:
        for info in self.infos:
            if info.filename not in self.removed:
                yield info.filename
        for name in self.changed:
            if name not in self.original and name not in self.removed:
                yield name

    def relationships(self, part: str) -> list[Relationship]:
        name = rels_name(part)
        if name not in self:
            return []
        root = parse_xml(self.read(name))
        return [
            Relationship(
                el.get("Id", ""),
                el.get("Type", ""),
                el.get("Target", ""),
                el.get("TargetMode") == "External",
            )
            for el in root.iter(f"{{{REL_NS}}}Relationship")
        ]

    def related(self, part: str, rel_type: str) -> list[tuple[str, str]]:
        """(relationship id, part name) of ``part``'s internal relationships of one type."""
        return [
            (rel.id, resolve(part, rel.target))
            for rel in self.relationships(part)
            if rel.type == rel_type and not rel.external
        ]

    def free_name(self, pattern: str) -> str:
        """The first ``pattern.format(n)`` (n = 1, 2, ...) that is not a part yet."""
        n = 1
        while pattern.format(n) in self or pattern.format(n) in self.original:
            n += 1
        return pattern.format(n)

    def save(self, target: str | io.BufferedIOBase | object) -> None:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:  # type: ignore[arg-type]
            for info in self.infos:
                name = info.filename
                if name in self.removed:
                    continue
                if name in self.changed:
                    copy = zipfile.ZipInfo(name, date_time=info.date_time)
                    copy.compress_type = zipfile.ZIP_DEFLATED
                    copy.external_attr = info.external_attr
                    out.writestr(copy, self.changed[name])
                else:
                    out.writestr(info, self.original[name])
            for name, data in self.changed.items():
                if name not in self.original and name not in self.removed:
                    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    out.writestr(info, data)


class RelsEditor:
    """A part's relationships file, edited in memory (new ids never collide with old ones)."""

    def __init__(self, package: Package, part: str) -> None:
        self.name = rels_name(part)
        self.original = package.read(self.name) if self.name in package else None
        if self.original is not None:
            self.root = parse_xml(self.original)
        else:
            self.root = etree.Element(f"{{{REL_NS}}}Relationships", nsmap={None: REL_NS})

    def ids(self) -> set[str]:
        return {el.get("Id", "") for el in self.root}

    def find(self, rel_id: str) -> etree._Element | None:
        for el in self.root:
            if el.get("Id") == rel_id:
                return el
        return None

    def add(self, rel_type: str, target: str, *, external: bool = False) -> str:
        taken = getattr(self, "_taken", None)
        if taken is None or len(taken) < len(self.root):  # the root was replaced or edited
            taken = self._taken = self.ids()
            self._next = len(taken) + 1
        while f"rId{self._next}" in taken:
            self._next += 1
        rel_id = f"rId{self._next}"
        taken.add(rel_id)
        el = etree.SubElement(self.root, f"{{{REL_NS}}}Relationship")
        el.set("Id", rel_id)
        el.set("Type", rel_type)
        el.set("Target", target)
        if external:
            el.set("TargetMode", "External")
        return rel_id

    def remove(self, rel_id: str) -> None:
        el = self.find(rel_id)
        if el is not None:
            self.root.remove(el)
            self._taken = None  # ids are recounted (a removed id is never reused in one pass)

    def data(self) -> bytes:
        return serialize_xml(self.root, self.original)


def ensure_content_type(
    package: Package, part: str | None = None, *, content_type: str, extension: str | None = None
) -> None:
    """Register a new part (an Override) or a file extension (a Default) in [Content_Types].xml."""
    name = "[Content_Types].xml"
    original = package.read(name)
    root = parse_xml(original)
    if extension is not None:
        for el in root.iter(f"{{{CT_NS}}}Default"):
            if el.get("Extension", "").lower() == extension.lower():
                return
        el = etree.Element(f"{{{CT_NS}}}Default")
        el.set("Extension", extension)
        el.set("ContentType", content_type)
        defaults = list(root.iter(f"{{{CT_NS}}}Default"))
        if defaults:
            defaults[-1].addnext(el)
        else:
            root.insert(0, el)
    else:
        assert part is not None
        for el in root.iter(f"{{{CT_NS}}}Override"):
            if el.get("PartName") == "/" + part:
                return
        el = etree.SubElement(root, f"{{{CT_NS}}}Override")
        el.set("PartName", "/" + part)
        el.set("ContentType", content_type)
    package.changed[name] = serialize_xml(root, original)


def drop_content_type(package: Package, part: str) -> None:
    name = "[Content_Types].xml"
    original = package.read(name)
    root = parse_xml(original)
    for el in list(root.iter(f"{{{CT_NS}}}Override")):
        if el.get("PartName") == "/" + part:
            root.remove(el)
    package.changed[name] = serialize_xml(root, original)
