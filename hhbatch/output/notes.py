"""Comments on input cells (``validate --out``), merged into the sheet's own comments.

A comment in XLSX is two parts: the text in a comments part, and a box in a legacy VML drawing.
When the sheet already has comments, their parts are extended: the user's comments keep their
text, author and formatting runs; ours are added as separate runs starting ``[hhbatch] ``, so a
later rerun recognises and removes them. VML is not always well-formed XML (Excel writes ``<br>``
in it), so it is edited as text.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Mapping

from lxml import etree

from hhbatch.output.package import (
    COMMENTS,
    COMMENTS_CT,
    DOC_REL_NS,
    MAIN_NS,
    VML_CT,
    VML_DRAWING,
    Package,
    RelsEditor,
    ensure_content_type,
    parse_xml,
    relative,
    resolve,
    serialize_xml,
)
from hhbatch.output.sheetxml import XML_SPACE, Worksheet, column_letter, parse_ref
from hhbatch.output.threads import Threads

NOTE_AUTHOR = "hhbatch"
NOTE_PREFIX = "[hhbatch] "
NOTE_SEPARATOR = "\n\n" + NOTE_PREFIX
_SHAPE = re.compile(r"<v:shape\b.*?</v:shape>\s*", re.DOTALL | re.IGNORECASE)
_ROW = re.compile(r"<x:Row>\s*(\d+)\s*</x:Row>", re.IGNORECASE)
_COLUMN = re.compile(r"<x:Column>\s*(\d+)\s*</x:Column>", re.IGNORECASE)
_SHAPE_ID = re.compile(r"_x0000_s(\d+)")
_IDMAP = re.compile(r'<o:idmap\b[^>]*data="(\d+)', re.IGNORECASE)

_NEW_VML = (
    '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"'
    ' xmlns:x="urn:schemas-microsoft-com:office:excel">'
    '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{block}"/></o:shapelayout>'
    "</xml>"
)
_SHAPETYPE = (
    '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
    'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
    '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
)


class SheetNotes:
    """The comments of one sheet: the user's (stale hhbatch notes removed) plus this write's."""

    def __init__(self, package: Package, sheet_part: str, sheet: Worksheet) -> None:
        self.package = package
        self.part = sheet_part
        self.comments_part: str | None = None
        self.vml_part: str | None = None
        legacy_id = sheet.relationship_id("legacyDrawing")
        for rel_id, part in package.related(sheet_part, VML_DRAWING):
            if rel_id == legacy_id and part in package:
                self.vml_part = part
        for _rel_id, part in package.related(sheet_part, COMMENTS):
            if part in package:
                self.comments_part = part
        self.comments: etree._Element | None = None
        self._comments_original: bytes | None = None
        self.vml = ""
        self.stale: set[tuple[int, int]] = set()  # cells whose whole comment was an old note
        self.cleaned: set[tuple[int, int]] = set()  # cells that had an old note removed
        if self.comments_part is not None:
            self._comments_original = package.read(self.comments_part)
            self.comments = parse_xml(self._comments_original)
            self._remove_old_notes()
        if self.vml_part is not None:
            self.vml = package.read(self.vml_part).decode("utf-8", errors="replace")
            self.vml = self._without_shapes(self.vml, self.stale)
        self._base_comments = copy.deepcopy(self.comments) if self.comments is not None else None
        self._base_vml = self.vml
        # Excel 365 shows a cell's thread, not its legacy comment: notes there are replies too.
        self.threads = Threads(package, sheet_part, NOTE_PREFIX)
        self._changed = bool(self.stale or self.cleaned or self.threads.cleaned)
        self._block: int | None = None

    # --- the source's old notes --------------------------------------------------------------
    def _q(self, local: str) -> str:
        ns = etree.QName(self.comments).namespace if self.comments is not None else MAIN_NS
        return f"{{{ns}}}{local}"

    def _remove_old_notes(self) -> None:
        """The source may be an earlier output: its ``[hhbatch]`` notes are stale."""
        assert self.comments is not None
        for comment in list(self.comments.iter(self._q("comment"))):
            text = comment.find(self._q("text"))
            if text is None:
                continue
            where = _cell(comment.get("ref", ""))
            full = "".join(t.text or "" for t in text.iter(self._q("t")))
            if full.startswith(NOTE_PREFIX):
                comment.getparent().remove(comment)
                if where:
                    self.stale.add(where)
                    self.cleaned.add(where)
            elif NOTE_SEPARATOR in full:
                _cut_runs(text, self._q)
                if where:
                    self.cleaned.add(where)

    @staticmethod
    def _without_shapes(vml: str, cells: set[tuple[int, int]]) -> str:
        if not cells:
            return vml

        def keep(match: re.Match[str]) -> str:
            shape = match.group(0)
            if 'ObjectType="Note"' not in shape:
                return shape
            row, column = _ROW.search(shape), _COLUMN.search(shape)
            if row and column and (int(row.group(1)) + 1, int(column.group(1)) + 1) in cells:
                return ""
            return shape

        return _SHAPE.sub(keep, vml)

    # --- this write ------------------------------------------------------------------------
    def render(
        self, notes: Mapping[tuple[int, int], list[str]], rels: RelsEditor, sheet: Worksheet
    ) -> None:
        """Put the comments and boxes for ``notes`` into the package (from the clean base)."""
        if not notes and not self._changed:
            return
        comments = copy.deepcopy(self._base_comments)
        if comments is None:
            comments = etree.Element(f"{{{MAIN_NS}}}comments", nsmap={None: MAIN_NS})
            etree.SubElement(comments, f"{{{MAIN_NS}}}authors")
            etree.SubElement(comments, f"{{{MAIN_NS}}}commentList")
        self.comments = comments
        existing = {_cell(c.get("ref", "")): c for c in comments.iter(self._q("comment"))}
        new_cells = []
        replies = {}
        for where, messages in sorted(notes.items()):
            ours = replies[where] = "\n".join(NOTE_PREFIX + m for m in messages)
            comment = existing.get(where)
            if comment is not None:
                self._add_run(comment.find(self._q("text")), "\n\n" + ours)
            else:
                self._new_comment(where, ours)
                new_cells.append((where, ours))
        if not self._base_vml and self._block is None:
            self._block = self._free_block()
        vml = self._base_vml or _NEW_VML.format(block=self._block)
        if new_cells:
            vml = self._with_shapes(vml, new_cells)
        self._store(comments, vml, rels, sheet)
        self.threads.render(replies)
        # Once written, the parts stay (emptied of our notes) in later writes of this run.
        self._changed = True

    def _author_id(self, comments: etree._Element) -> int:
        authors = comments.find(self._q("authors"))
        if authors is None:
            authors = etree.Element(self._q("authors"))
            comments.insert(0, authors)
        for index, author in enumerate(authors):
            if (author.text or "") == NOTE_AUTHOR:
                return index
        etree.SubElement(authors, self._q("author")).text = NOTE_AUTHOR
        return len(authors) - 1

    def _new_comment(self, where: tuple[int, int], text: str) -> etree._Element:
        assert self.comments is not None
        comment_list = self.comments.find(self._q("commentList"))
        if comment_list is None:
            comment_list = etree.SubElement(self.comments, self._q("commentList"))
        comment = etree.Element(self._q("comment"))
        comment.set("ref", f"{column_letter(where[1])}{where[0]}")
        comment.set("authorId", str(self._author_id(self.comments)))
        body = etree.SubElement(comment, self._q("text"))
        self._add_run(body, text)
        later = [c for c in comment_list if (_cell(c.get("ref", "")) or (0, 0)) > where]
        if later:
            later[0].addprevious(comment)
        else:
            comment_list.append(comment)
        return comment

    def _add_run(self, text: etree._Element | None, content: str) -> None:
        if text is None:
            return
        run = etree.Element(self._q("r"))
        props = etree.SubElement(run, self._q("rPr"))
        etree.SubElement(props, self._q("sz")).set("val", "9")
        etree.SubElement(props, self._q("rFont")).set("val", "Tahoma")
        t = etree.SubElement(run, self._q("t"))
        t.text = content
        t.set(XML_SPACE, "preserve")
        tail = [c for c in text if etree.QName(c).localname in ("rPh", "phoneticPr")]
        if tail:
            tail[0].addprevious(run)
        else:
            text.append(run)

    def _free_block(self) -> int:
        """A VML shape-id block no other drawing of the workbook uses."""
        used = set()
        for name in self.package.names():
            if name.endswith(".vml"):
                text = self.package.read(name).decode("utf-8", errors="replace")
                used.update(int(n) for n in _IDMAP.findall(text))
        block = 1
        while block in used:
            block += 1
        return block

    def _with_shapes(self, vml: str, cells: list[tuple[tuple[int, int], str]]) -> str:
        ids = [int(n) for n in _SHAPE_ID.findall(vml)]
        block = _IDMAP.search(vml)
        next_id = max([*ids, int(block.group(1)) * 1024 if block else 1024]) + 1
        shapes = []
        if "_x0000_t202" not in vml:
            shapes.append(_SHAPETYPE)
        for (row, column), text in cells:
            lines = sum(1 + len(line) // 45 for line in text.splitlines())
            height = min(300, 15 + 12 * lines)
            shapes.append(
                f'<v:shape id="_x0000_s{next_id}" type="#_x0000_t202" '
                f'style="position:absolute;margin-left:80pt;margin-top:2pt;width:240pt;'
                f'height:{height}pt;z-index:{next_id - 1024};visibility:hidden" '
                'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
                '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
                '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div>'
                '</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/>'
                f"<x:SizeWithCells/><x:Anchor>{column}, 15, {max(row - 2, 0)}, 10, "
                f"{column + 4}, 15, {row + 3}, 4</x:Anchor><x:AutoFill>False</x:AutoFill>"
                f"<x:Row>{row - 1}</x:Row><x:Column>{column - 1}</x:Column>"
                "</x:ClientData></v:shape>"
            )
            next_id += 1
        end = vml.rfind("</xml>")
        if end < 0:
            return vml + "".join(shapes)
        return vml[:end] + "".join(shapes) + vml[end:]

    def _store(
        self, comments: etree._Element, vml: str, rels: RelsEditor, sheet: Worksheet
    ) -> None:
        package = self.package
        if self.comments_part is None:
            self.comments_part = package.free_name("xl/comments{}.xml")
            ensure_content_type(package, self.comments_part, content_type=COMMENTS_CT)
        if self.vml_part is None:
            self.vml_part = package.free_name("xl/drawings/vmlDrawing{}.vml")
            ensure_content_type(package, content_type=VML_CT, extension="vml")
        package.changed[self.comments_part] = serialize_xml(comments, self._comments_original)
        package.changed[self.vml_part] = vml.encode("utf-8")
        targets = {resolve(self.part, el.get("Target", "")): el for el in rels.root}
        if self.comments_part not in targets:
            rels.add(COMMENTS, relative(self.part, self.comments_part))
        vml_rel = targets.get(self.vml_part)
        vml_id = vml_rel.get("Id") if vml_rel is not None else None
        if vml_id is None:
            vml_id = rels.add(VML_DRAWING, relative(self.part, self.vml_part))
        legacy = sheet.ensure("legacyDrawing")
        legacy.set(f"{{{DOC_REL_NS}}}id", vml_id)


def _cell(ref: str) -> tuple[int, int] | None:
    try:
        return parse_ref(ref)
    except ValueError:
        return None


def _cut_runs(text: etree._Element, q: object) -> None:
    """Remove everything from our ``\\n\\n[hhbatch] `` on (the user's words before it stay)."""
    cutting = False
    for child in list(text):
        local = etree.QName(child).localname
        if local in ("rPh", "phoneticPr"):
            continue
        if cutting:
            text.remove(child)
            continue
        t = child if local == "t" else child.find(q("t"))  # type: ignore[operator]
        if t is not None and t.text and NOTE_SEPARATOR in t.text:
            t.text = t.text[: t.text.index(NOTE_SEPARATOR)].rstrip()
            cutting = True
            if not t.text and local == "r":
                text.remove(child)


def escape(text: str) -> str:
    return html.escape(text, quote=True)
