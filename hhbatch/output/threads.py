"""Excel 365 threaded comments: a ``validate --out`` note on a cell that has one becomes a reply.

Why: for a cell with a threaded comment, Excel 365 shows the thread and ignores the legacy
comment beside it (that one is only a copy for older versions, and Excel drops edits made to it).
A note merged only into the legacy comment would be invisible in Excel, so it is also added to the
thread as a reply by the person "hhbatch". A rerun recognises those replies (our person, text
starting ``[hhbatch] ``) and removes them before writing its own.

Only existing threads get replies; a cell without a comment gets an ordinary note (legacy
comment), which every spreadsheet program shows.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Mapping

from lxml import etree

from hhbatch.output.package import OFFICE_DOCUMENT, Package, parse_xml, serialize_xml
from hhbatch.output.sheetxml import parse_ref

THREADED_COMMENT = "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment"
PERSON = "http://schemas.microsoft.com/office/2017/10/relationships/person"
PERSON_NAME = "hhbatch"
# The same id in every workbook and every run: a rerun knows its own replies by it.
PERSON_ID = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "https://hhbatch/person")).upper() + "}"


class Threads:
    """The threaded comments of one sheet, without the replies earlier runs added."""

    def __init__(self, package: Package, sheet_part: str, prefix: str) -> None:
        self.package = package
        self.prefix = prefix
        self.part = next(
            (p for _i, p in package.related(sheet_part, THREADED_COMMENT) if p in package), None
        )
        self.persons_part: str | None = None
        self.root: etree._Element | None = None
        self._original: bytes | None = None
        self._persons: etree._Element | None = None
        self._persons_original: bytes | None = None
        self.cleaned = False
        self._written = False
        if self.part is None:
            return
        workbook = next((p for _i, p in package.related("", OFFICE_DOCUMENT) if p in package), None)
        if workbook is not None:
            self.persons_part = next(
                (p for _i, p in package.related(workbook, PERSON) if p in package), None
            )
        self._original = package.read(self.part)
        self.root = parse_xml(self._original)
        if self.persons_part is not None:
            self._persons_original = package.read(self.persons_part)
            self._persons = parse_xml(self._persons_original)
        for comment in list(self._comments(self.root)):
            if comment.get("personId") == PERSON_ID and self._text(comment).startswith(prefix):
                comment.getparent().remove(comment)
                self.cleaned = True
        self._base = copy.deepcopy(self.root)

    def _q(self, local: str) -> str:
        assert self.root is not None
        return f"{{{etree.QName(self.root).namespace}}}{local}"

    def _comments(self, root: etree._Element) -> list[etree._Element]:
        return [
            el
            for el in root
            if isinstance(el.tag, str) and etree.QName(el).localname == "threadedComment"
        ]

    def _text(self, comment: etree._Element) -> str:
        return "".join(
            el.text or ""
            for el in comment
            if isinstance(el.tag, str) and etree.QName(el).localname == "text"
        )

    def cells(self) -> set[tuple[int, int]]:
        """Cells that hold a thread (their notes also become replies)."""
        if self.root is None or self.persons_part is None:
            return set()
        found = set()
        for comment in self._comments(self.root):
            try:
                found.add(parse_ref(comment.get("ref", "")))
            except ValueError:
                continue
        return found

    def render(self, notes: Mapping[tuple[int, int], str]) -> None:
        """Replies for ``notes`` on cells with a thread; the parts are stored when changed."""
        if self.root is None or self.part is None:
            return
        if not self.cleaned and not self._written and not (set(notes) & self.cells()):
            return
        self._written = True
        root = copy.deepcopy(self._base)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.00")
        replied = False
        for where, text in sorted(notes.items()):
            thread = [c for c in self._comments(root) if _cell(c.get("ref", "")) == where]
            parent = next((c for c in thread if not c.get("parentId")), None)
            if parent is None or self.persons_part is None:
                continue
            reply = etree.Element(self._q("threadedComment"))
            reply.set("ref", parent.get("ref", ""))
            reply.set("dT", stamp)
            reply.set("personId", PERSON_ID)
            reply.set("id", _reply_id(parent.get("id", ""), text))
            reply.set("parentId", parent.get("id", ""))
            etree.SubElement(reply, self._q("text")).text = text
            thread[-1].addnext(reply)
            replied = True
        self.package.changed[self.part] = serialize_xml(root, self._original)
        if replied:
            self._ensure_person()

    def _ensure_person(self) -> None:
        persons = self._persons
        if persons is None or self.persons_part is None:
            return
        ns = etree.QName(persons).namespace
        if any(el.get("id") == PERSON_ID for el in persons):
            return
        person = etree.SubElement(persons, f"{{{ns}}}person")
        person.set("displayName", PERSON_NAME)
        person.set("id", PERSON_ID)
        person.set("userId", PERSON_NAME)
        person.set("providerId", "None")
        self.package.changed[self.persons_part] = serialize_xml(persons, self._persons_original)


def _cell(ref: str) -> tuple[int, int] | None:
    try:
        return parse_ref(ref)
    except ValueError:
        return None


def _reply_id(parent: str, text: str) -> str:
    """A stable id per thread and text: the same write gives the same bytes."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"hhbatch:{parent}:{text}")).upper() + "}"
