"""How hhbatch knows which columns of a sheet are its own result columns.

Why a mark and not the header text: "Status", "Error" or "状态" are words a user's own columns
use ("approved by legal"); taking such a column for ours would overwrite the user's data. So a
column is ours only when hhbatch left a sign that it wrote it:

* XLSX: a hidden, sheet-scoped defined name per result column, ``_hhbatch.<column>``, pointing at
  its header cell. Excel and LibreOffice move it with the column when columns are inserted.
* Any format (CSV has no metadata): a header with the ``(hhbatch)`` suffix (used when a user's
  column already has the plain name), or a contiguous block of our header names that contains
  ``videoId``/``视频ID`` or ``validationErrors``/``校验错误`` — the block every results sheet has,
  also those written before the marks existed.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hhbatch.columns import ALL_OUTPUT_COLUMNS, ResultColumn
from hhbatch.hanzi import simplified

MARK_PREFIX = "_hhbatch."
_MARK_BYTES = MARK_PREFIX.encode("ascii")
SUFFIX = " (hhbatch)"
# A workbook-scoped hidden name the results writer leaves when it asks Excel to recalculate on
# open (``fullCalcOnLoad``) a workbook whose saved results were calculated: the loader then
# still trusts them, as it trusted the input's (see hhbatch.loader.formulas).
CALC_MARK = MARK_PREFIX + "valuesCalculated"
# A block of our names counts as ours only around one of these (never a common word alone).
ANCHORS = frozenset({"videoId", "validationErrors"})
_SUFFIX_RE = re.compile(r"\s*[(（]\s*hhbatch\s*[)）]\s*$", re.IGNORECASE)
_BY_NAME = {column.name: column for column in ALL_OUTPUT_COLUMNS}


def _key(text: object) -> str:
    return simplified("".join(unicodedata.normalize("NFKC", str(text)).split())).casefold()


_BY_KEY = {
    key: column for column in ALL_OUTPUT_COLUMNS for key in (_key(column.name), _key(column.zh))
}


def mark_name(column: ResultColumn) -> str:
    """The defined name that marks ``column`` in an XLSX sheet."""
    return MARK_PREFIX + column.name


def column_of_mark(name: str) -> ResultColumn | None:
    if not name.startswith(MARK_PREFIX):
        return None
    return _BY_NAME.get(name[len(MARK_PREFIX) :])


def has_suffix(header: object) -> bool:
    return bool(_SUFFIX_RE.search(str(header)))


def named_column(header: object) -> ResultColumn | None:
    """Which of our columns a header names, in either language, with or without the suffix.
    A name is not a mark: see :func:`recognise`."""
    if header is None:
        return None
    return _BY_KEY.get(_key(_SUFFIX_RE.sub("", str(header))))


def by_name(name: str) -> ResultColumn | None:
    return _BY_NAME.get(name)


def recognise(
    headers: Sequence[object], marked: Mapping[int, str] | None = None
) -> dict[int, ResultColumn]:
    """Our result columns among ``headers`` (1-based column → column), by the marks above.

    ``marked`` (XLSX) maps a column to the canonical name its mark gives; when a sheet has marks,
    they decide, plus ``(hhbatch)``-suffixed headers. Without marks, the block rule applies.
    """
    found: dict[int, ResultColumn] = {}
    for index, header in enumerate(headers, start=1):
        column = named_column(header)
        if column is not None and has_suffix(header):
            found[index] = column
    if marked:
        for index, name in marked.items():
            column = _BY_NAME.get(name)
            if column is not None:
                found[index] = column
        return _first_of_each(found)
    suffixed = {column.name for column in found.values()}
    run: list[tuple[int, ResultColumn]] = []
    for index, header in enumerate([*headers, None], start=1):
        column = named_column(header) if index <= len(headers) else None
        if column is not None:
            run.append((index, column))
            continue
        if any(c.name in ANCHORS for _, c in run):
            # Our block is appended to the right of the user's columns: when a name appears
            # twice in a run, the rightmost is ours; a suffixed header beats a plain one.
            taken = set(suffixed)
            for member, member_column in reversed(run):
                if member_column.name not in taken:
                    taken.add(member_column.name)
                    found[member] = member_column
        run = []
    return _first_of_each(found)


def _first_of_each(found: dict[int, ResultColumn]) -> dict[int, ResultColumn]:
    """One column per result column: the leftmost wins when a name appears twice."""
    seen: set[str] = set()
    kept: dict[int, ResultColumn] = {}
    for index in sorted(found):
        if found[index].name not in seen:
            seen.add(found[index].name)
            kept[index] = found[index]
    return kept


@dataclass(frozen=True)
class Mark:
    column: int  # 1-based
    header_row: int  # 1-based
    name: str  # canonical column name


_REF = re.compile(r"!\s*\$?([A-Za-z]{1,3})\$?(\d+)\s*$")


def parse_mark_ref(ref: str) -> tuple[int, int] | None:
    """``'Week 1'!$E$3`` → (column 5, row 3); None for ``#REF!`` and the like."""
    found = _REF.search(ref or "")
    if not found:
        return None
    column = 0
    for ch in found.group(1).upper():
        column = column * 26 + ord(ch) - 64
    return column, int(found.group(2))


def read_marks(path: Path) -> dict[str, list[Mark]]:
    """The marks of every sheet of an XLSX file (sheet name → marks); {} when it has none or
    cannot be read (the loader then falls back to the block rule)."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = archive.read("xl/workbook.xml")
    except (OSError, KeyError, zipfile.BadZipFile):
        return {}
    if _MARK_BYTES not in data and b"&#" not in data and b"\x00" not in data[:4]:
        # No mark can be in this UTF-8 text, not even one spelt with character references:
        # spare the parser and lxml's import (0.05 s of every validate, issue #12.3).
        return {}
    from lxml import etree

    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, huge_tree=True))
    except etree.XMLSyntaxError:
        return {}
    sheets = [el.get("name", "") for el in root.iter() if _local(el.tag) == "sheet"]
    marks: dict[str, list[Mark]] = {}
    for el in root.iter():
        if _local(el.tag) != "definedName":
            continue
        column = column_of_mark(el.get("name", ""))
        local = el.get("localSheetId")
        if column is None or local is None or not local.isdigit() or int(local) >= len(sheets):
            continue
        where = parse_mark_ref(el.text or "")
        if where is not None:
            marks.setdefault(sheets[int(local)], []).append(Mark(*where, column.name))
    return marks


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
