"""Formula cells saved without their result: the workbook's values are not in the file.

Excel and LibreOffice store each formula with its last result (``<f>`` and ``<v>``); programs
that generate workbooks (openpyxl, many exporters) often write only the formula. A reader that
does not calculate (calamine, like every fast reader) then sees an empty cell: a prompt built with
``=A2&" "&B2`` would be "missing", and an optional field would be silently dropped from a request
that is paid for. So such cells are found and named, and the user is asked to recalculate.

Why the XML is scanned and not loaded: this runs on every workbook, and almost none has formulas;
a byte search on the sheet part costs a fraction of reading it, and only a sheet that has formulas
is parsed. Why not decided from what calamine read: an uncached formula reads as an empty cell,
like every empty cell, and one below or right of the last value is not even in calamine's grid
(a row of formulas would vanish); only the part itself tells.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from hhbatch.marks import CALC_MARK

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_TAG_END = b" \t\n\r\x0b\x0c>/"  # what [\s>/] matches
_LT = ord("<")
_BEFORE_F = frozenset(b"<:")  # what comes before the f of <f or <x:f
_CHUNK = 1 << 20  # bytes of XML handed to the search at a time
_READ = 1 << 16  # compressed bytes read at a time
_OVERLAP = 64  # a tag cut by a chunk boundary is looked for in the last and first bytes
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature … file name length, extra field length


# What an aggregate over a column is called (``_xlfn.`` marks functions newer than Excel 2007).
_AGGREGATE = re.compile(
    r"(?<![\w.])(?:_xlfn\.)?(?:SUM|SUMIFS?|SUMPRODUCT|SUBTOTAL|AGGREGATE|AVERAGE|AVERAGEA|"
    r"AVERAGEIFS?|COUNT|COUNTA|COUNTBLANK|COUNTIFS?|MAX|MAXA|MAXIFS|MIN|MINA|MINIFS|MEDIAN|"
    r"PRODUCT|STDEV|STDEVA|STDEVP|STDEV\.[SP]|VAR|VARA|VARP|VAR\.[SP])\s*\(",
    re.IGNORECASE,
)
_STRING = re.compile(r'"(?:[^"]|"")*"')
_RANGE = re.compile(r"\$?[A-Z]{1,3}\$?(\d+)\s*:\s*\$?[A-Z]{1,3}\$?(\d+)", re.IGNORECASE)
_WHOLE_COLUMN = re.compile(r"(?<![\w.$])\$?[A-Z]{1,3}\s*:\s*\$?[A-Z]{1,3}(?![\w(])", re.IGNORECASE)
_THIS_ROW = re.compile(r"@|#this\s*row", re.IGNORECASE)
_REF = re.compile(r"([A-Z]{1,3})(\d+)")


@dataclass(frozen=True, slots=True)
class FormulaCell:
    """A formula cell worth telling about: its saved value is missing or not to be trusted, or
    it aggregates a column (a totals line)."""

    ref: str  # "B5"
    row: int  # 1-based
    column: int  # 1-based
    text: str  # the formula, without "=" (a shared formula's follower: its master's text)
    cached: bool  # a value was saved with it
    aggregate: bool  # SUM/SUBTOTAL/COUNT/… of a range spanning rows, or of a table column


@dataclass
class SheetFormulas:
    """What the sheet part and the workbook say about the sheet's formulas."""

    # The workbook says its saved results are not to be trusted: ``<calcPr
    # fullCalcOnLoad="1"/>``, which XlsxWriter and openpyxl write because they save 0 (or
    # nothing) as each formula's result and leave the calculation to Excel. Not when hhbatch's
    # own results writer set it (on a workbook whose results were calculated): it leaves the
    # hidden name ``_hhbatch.valuesCalculated`` to say so, and Excel drops the flag on save.
    recalculate: bool = False
    cells: list[FormulaCell] = field(default_factory=list)  # sheet order
    # Totals rows of the sheet's Excel tables (``totalsRowCount``): (first column, last
    # column, row), 1-based; never data, whatever they hold.
    table_totals: list[tuple[int, int, int]] = field(default_factory=list)

    def untrusted(self, cell: FormulaCell) -> bool:
        """The cell's value as read is not the formula's result."""
        return not cell.cached or self.recalculate


def uncached_formulas(path: Path, sheet_name: str, limit: int = 6) -> list[str]:
    """Up to ``limit`` cell references (``B2``) of the sheet whose formula has no saved value.

    Returns an empty list when the part cannot be found or parsed: the reader reports damage.
    """
    return [c.ref for c in scan(path, sheet_name).cells if not c.cached][:limit]


def scan(path: Path, sheet_name: str) -> SheetFormulas:
    """The sheet's formulas worth telling about, its tables' totals rows and whether the
    workbook's saved results may be trusted; empty when the parts cannot be read (the reader
    reports damage)."""
    found = SheetFormulas()
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            found.recalculate = _recalculates_on_load(workbook)
            part = _sheet_part(archive, workbook, sheet_name)
            if part is None:
                return found
            found.table_totals = _table_totals(archive, part)
            if _has_formula(path, archive, archive.getinfo(part)):
                with archive.open(part) as stream:
                    found.cells = _formula_cells(stream, found.recalculate)
    except (KeyError, OSError, zlib.error, zipfile.BadZipFile, ElementTree.ParseError):
        return SheetFormulas()
    return found


def _recalculates_on_load(workbook: ElementTree.Element) -> bool:
    calc = workbook.find(f"{_MAIN}calcPr")
    if calc is None or calc.get("fullCalcOnLoad", "").strip().lower() not in ("1", "true"):
        return False
    return not any(n.get("name") == CALC_MARK for n in workbook.iter(f"{_MAIN}definedName"))


def is_aggregate(text: str) -> bool:
    """``text`` (a formula) aggregates a column: an aggregate function, and a range spanning
    rows (``B2:B3``, ``B:B``) or a table column (``Vids[Duration (s)]``, not ``[@…]``)."""
    bare = _STRING.sub('""', text)
    if not _AGGREGATE.search(bare):
        return False
    if any(a != b for a, b in _RANGE.findall(bare)) or _WHOLE_COLUMN.search(bare):
        return True
    return "[" in bare and not _THIS_ROW.search(bare)


def _sheet_part(
    archive: zipfile.ZipFile, workbook: ElementTree.Element, sheet_name: str
) -> str | None:
    rel_id = None
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        if sheet.get("name") == sheet_name:
            rel_id = sheet.get(f"{_REL}id")
    if rel_id is None:
        return None
    links = _relationships(archive, "xl/workbook.xml").get(rel_id)
    return links[0][1] if links else None


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, list[tuple[str, str]]]:
    """The part's relationships: id → [(type, target part)]; {} when it has none."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    if rels_name not in archive.NameToInfo:
        return {}
    rels = ElementTree.fromstring(archive.read(rels_name))
    found: dict[str, list[tuple[str, str]]] = {}
    for rel in rels.iter(f"{_PKG_REL}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        if target.startswith("/"):
            target = target.lstrip("/")
        else:
            target = posixpath.normpath(posixpath.join(folder, target))
        found.setdefault(rel.get("Id", ""), []).append((rel.get("Type", ""), target))
    return found


def _table_totals(archive: zipfile.ZipFile, part: str) -> list[tuple[int, int, int]]:
    totals = []
    for links in _relationships(archive, part).values():
        for rel_type, target in links:
            if not rel_type.endswith("/table") or target not in archive.NameToInfo:
                continue
            table = ElementTree.fromstring(archive.read(target))
            try:
                count = int(table.get("totalsRowCount", "0") or 0)
            except ValueError:
                continue
            first, _, last = table.get("ref", "").partition(":")
            start, end = (
                _REF.fullmatch(first.replace("$", "")),
                _REF.fullmatch(last.replace("$", "")),
            )
            if count <= 0 or start is None or end is None:
                continue
            left, right = _column_number(start[1]), _column_number(end[1])
            bottom = int(end[2])
            totals.extend((left, right, row) for row in range(bottom - count + 1, bottom + 1))
    return totals


def _letters(column: int) -> str:
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _has_formula(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    tail = b""
    for chunk in _xml_chunks(path, archive, info):
        if _formula_in(tail + chunk[:_OVERLAP]) or _formula_in(chunk):
            return True
        tail = chunk[-_OVERLAP:]
    return False


def _xml_chunks(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The part's bytes, inflated a chunk at a time (at most ``_CHUNK`` each).

    Why not ``archive.open``: its reader checks the CRC and copies buffers, which took half of
    the scan's time on a 58 MB sheet (0.14 of 0.26 s, issue #12.3); calamine has read the same
    bytes already. The raw stream is found through the local header, as the zip format lays it
    out; anything unusual (encrypted, another compression, a header that does not match) goes
    through ``archive.open`` after all.
    """
    if info.flag_bits & 1 == 0 and info.compress_type in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
        with path.open("rb") as handle:
            handle.seek(info.header_offset)
            header = handle.read(_LOCAL_HEADER.size)
            if len(header) == _LOCAL_HEADER.size:
                signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
                if signature == b"PK\x03\x04":
                    handle.seek(name_length + extra_length, 1)
                    yield from _inflated(handle, info)
                    return
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


def _inflated(handle: object, info: zipfile.ZipInfo) -> Iterator[bytes]:
    read = handle.read  # type: ignore[attr-defined]
    left = info.compress_size
    if info.compress_type == zipfile.ZIP_STORED:
        while left > 0 and (data := read(min(_CHUNK, left))):
            left -= len(data)
            yield data
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as zip stores it
    while left > 0 and (data := read(min(_READ, left))):
        left -= len(data)
        while data:
            chunk = inflater.decompress(data, _CHUNK)
            if chunk:
                yield chunk
            data = inflater.unconsumed_tail
        if inflater.eof:
            return


def _formula_in(data: bytes) -> bool:
    """``_FORMULA.search(data)``, found at memchr speed (issue #12.3).

    The expression tried at every ``<`` of a 58 MB sheet took 0.6 s of CPU, ``bytes.find`` of
    ``<f`` still 0.07 s (every tag starts with ``<``). The letter ``f`` itself is rare in a sheet
    part (cell references are upper case, shared strings live elsewhere), so each ``f`` is
    found with ``bytes.find`` and only one after ``<`` or ``:`` and before what may end a tag
    name is checked with the expression. Text-heavy parts (inline strings) have many: past one
    ``f`` in 256 bytes the search for ``<f``/``:f`` is cheaper and takes over.
    """
    budget = len(data) >> 8
    at = data.find(b"f", 1)
    while at != -1:
        budget -= 1
        if budget < 0:
            return _markers_in(data)
        if data[at - 1] in _BEFORE_F:  # nearly every f fails here, without a slice
            follows = data[at + 1 : at + 2]
            if follows and follows in _TAG_END:
                start = at - 1 if data[at - 1] == _LT else data.rfind(b"<", 0, at)
                if start != -1 and _FORMULA.match(data, start, at + 2):
                    return True
        at = data.find(b"f", at + 1)
    return False


def _markers_in(data: bytes) -> bool:
    """:func:`_formula_in` by ``<f`` and ``:f``: for parts where ``f`` is common."""
    for marker in (b"<f", b":f"):
        at = data.find(marker)
        while at != -1:
            follows = data[at + 2 : at + 3]
            if follows and follows in _TAG_END:
                start = at if marker == b"<f" else data.rfind(b"<", 0, at)
                if start != -1 and _FORMULA.match(data, start, at + 3):
                    return True
            at = data.find(marker, at + 1)
    return False


def _formula_cells(stream: object, recalculate: bool) -> list[FormulaCell]:
    """The formula cells of the part worth telling about, in sheet order.

    Every one of them: the loader decides which lie in its columns below the header and outside
    skipped rows, and a cap per column could leave a formula it must refuse unseen. (A sheet
    with many is a sheet of formulas, whose parse costs far more than these small objects.)"""
    found: list[FormulaCell] = []
    shared: dict[str, str] = {}  # a shared formula's si → its master's text
    row = column = 0  # where the cell is when it does not say (``r`` is optional)
    for event, element in ElementTree.iterparse(stream, ("start", "end")):  # type: ignore[arg-type]
        if event == "start":
            if element.tag == f"{_MAIN}row":
                number = element.get("r", "")
                row = int(number) if number.isdigit() else row + 1
                column = 0
            continue
        if element.tag != f"{_MAIN}c":
            if element.tag == f"{_MAIN}row":
                element.clear()
            continue
        where = _REF.fullmatch(element.get("r", ""))
        if where is not None:
            row, column = int(where[2]), _column_number(where[1])
        else:
            column += 1
        formula = element.find(f"{_MAIN}f")
        if formula is not None:
            text = formula.text or ""
            si = formula.get("si")
            if formula.get("t") == "shared" and si is not None:
                if text.strip():
                    shared[si] = text
                else:
                    text = shared.get(si, "")
            value = element.find(f"{_MAIN}v")
            cached = (value is not None and bool((value.text or "").strip())) or element.find(
                f"{_MAIN}is"
            ) is not None
            aggregate = is_aggregate(text)
            if aggregate or not cached or recalculate:
                ref = f"{_letters(column)}{row}"
                found.append(FormulaCell(ref, row, column, text, cached, aggregate))
        element.clear()
    return found
