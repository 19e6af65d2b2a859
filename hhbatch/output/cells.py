"""What one output cell is, and how server text is made safe for a spreadsheet.

Everything the API sends back (status, error messages, URLs) is *data*. A message that begins with
``=`` must show as that text in Excel, never run as a formula; a control character must not make
break the XML; a 100,000-character message must not exceed Excel's cell limit. These rules are
shared by the XLSX and the CSV writer, so they live here, as small pure functions.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

# Excel refuses (and LibreOffice silently cuts) cells longer than this many UTF-16 code units.
EXCEL_CELL_MAX_CHARS = 32_767
TRUNCATION_MARKER = " …[truncated by hhbatch]"
# Excel stops treating a cell as a hyperlink beyond this length; the text is still written.
EXCEL_HYPERLINK_MAX_CHARS = 2_079
# Integers with more digits lose precision as Excel numbers (15 significant digits).
EXCEL_EXACT_INTEGER_LIMIT = 10**15

# Characters XML 1.0 forbids (lxml refuses them; Excel would not open the file),
# plus lone surrogates that cannot be encoded at all. Tab, LF and CR are legal.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
REPLACEMENT_CHARACTER = "\ufffd"

# Cells starting with these are evaluated by Excel/LibreOffice when a CSV is opened
# (OWASP "CSV injection"); in XLSX they are harmless once the cell is typed as text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# OOXML escapes characters as ``_xHHHH_``; a literal ``_x000D_`` in data must be escaped itself.
_OOXML_ESCAPE_LIKE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


@dataclass
class OutputCell:
    """One value hhbatch writes: plain data, optionally a hyperlink and a solid background."""

    value: str | int | float | None
    link: str | None = None
    fill: str | None = None  # hex RGB like "C6EFCE"
    # The value is a point in time from the server (ISO 8601 text, e.g. readyAt), or an Excel
    # serial already: XLSX gets a real date-time cell in local time, CSV the text as sent.
    timestamp: bool = False


@dataclass
class CellNote:
    """Highlight an existing input cell and attach a comment to it (``validate --out``)."""

    sheet_row: int  # 1-based
    column_index: int  # 1-based
    message: str


CellLike = OutputCell | str | int | float | None


def as_cell(value: CellLike) -> OutputCell:
    """Accept a bare value where an OutputCell is expected (no link, no fill)."""
    return value if isinstance(value, OutputCell) else OutputCell(value)


GREEN = "C6EFCE"
RED = "FFC7CE"
ORANGE = "F8CBAD"
YELLOW = "FFEB9C"
GREY = "D9D9D9"
NOTE_FILL = RED

# Suggested backgrounds for the status column; keys are normalised statuses (see fill_for_status).
STATUS_FILLS: dict[str, str] = {
    "ready": GREEN,
    "failed": RED,
    "invalid": RED,
    "unknown": ORANGE,
    "submitted": YELLOW,
    "queued": YELLOW,
    "processing": YELLOW,
    "not submitted": GREY,
}
# Fills hhbatch may have put on a cell; only these are cleared when a cell is rewritten without one.
OUR_FILLS = frozenset({*STATUS_FILLS.values(), NOTE_FILL})


def fill_for_status(status: str | None) -> str | None:
    """The suggested fill for a status (``"Not_Submitted"`` and ``"not submitted"`` alike)."""
    if not status:
        return None
    key = " ".join(str(status).replace("_", " ").replace("-", " ").split()).casefold()
    return STATUS_FILLS.get(key)


def header_key(text: object) -> str:
    """Case- and space-insensitive identity of a header, as the loader compares them."""
    if text is None:
        return ""
    return "".join(str(text).split()).casefold()


def clean_text(text: str) -> str:
    """Replace characters no spreadsheet file can hold, then cut to Excel's cell limit."""
    if _ILLEGAL_XML.search(text):
        text = _ILLEGAL_XML.sub(REPLACEMENT_CHARACTER, text)
    return truncate(text)


def _utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def truncate(text: str, limit: int = EXCEL_CELL_MAX_CHARS) -> str:
    """Cut ``text`` to ``limit`` UTF-16 units (Excel's unit), ending with a visible marker."""
    if len(text) <= limit // 2 or _utf16_len(text) <= limit:
        return text
    budget = limit - _utf16_len(TRUNCATION_MARKER)
    used = 0
    for index, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > budget:
            return text[:index] + TRUNCATION_MARKER
    return text  # pragma: no cover - unreachable: the text was longer than the limit


def ooxml_text(text: str) -> str:
    """``text`` as it must be stored in an XLSX string so Excel/LibreOffice/calamine read it back.

    XML parsers turn a raw carriage return into a line feed, so CR is stored the way Excel stores
    it, ``_x000D_``; a literal ``_xHHHH_`` in the data gets its underscore escaped (``_x005F_``).
    openpyxl itself does not decode these escapes when reading (Excel, LibreOffice and calamine do).
    """
    if text and not text.strip():
        # openpyxl marks only text with *some* non-space as xml:space="preserve", and readers trim
        # the rest. Tabs and line breaks are escaped (every reader decodes those); plain spaces
        # are left alone: LibreOffice shows "_x0020_" literally, and a blank message is blank.
        return "".join(f"_x{ord(ch):04X}_" if ch in "\t\n\r" else ch for ch in text)
    if "_x" in text:
        text = _OOXML_ESCAPE_LIKE.sub("_x005F_", text)
    if "\r" in text:
        text = text.replace("\r", "_x000D_")
    return text


def csv_text(value: str | int | float | None) -> str:
    """A server value as CSV text, defused against CSV injection.

    Text starting with ``= + - @``, tab or CR is prefixed with a single quote ``'`` (the OWASP
    advice): Excel then shows it as text instead of running it. The quote is visible in the cell,
    which is the price of safety; numbers from the server are written unprefixed.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return _number_text(value)
    text = clean_text(str(value))
    if text.startswith(FORMULA_TRIGGERS):
        text = "'" + text
    return text


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < EXCEL_EXACT_INTEGER_LIMIT:
        return str(int(value))
    return str(value)


def excel_number(value: object) -> bool:
    """Whether ``value`` can be stored as an Excel number without changing what it says."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) < EXCEL_EXACT_INTEGER_LIMIT
    return isinstance(value, float) and math.isfinite(value)


def safe_link(link: str | None) -> str | None:
    """A server URL fit to become a clickable link: http(s) only, legal characters, not too long."""
    if not link:
        return None
    link = str(link).strip()
    if _ILLEGAL_XML.search(link) or len(link) > EXCEL_HYPERLINK_MAX_CHARS:
        return None
    if not link.lower().startswith(("http://", "https://")):
        return None
    return link


def display_width(text: str) -> int:
    """Columns a text occupies: East Asian wide characters count twice (Chinese headers)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def placed_cells(
    index_of: Mapping[str, int],
    columns: object,
    rows: Mapping[int, Mapping[str, CellLike]],
    header_row: int,
) -> Iterator[tuple[int, int, OutputCell]]:
    """``(sheet_row, column_index, cell)`` for every cell a write asks for, checked once for
    both writers: a row at or above the header, or a header not among ``columns``, is a caller
    bug (``ValueError``), never a silently misplaced value. ``index_of`` maps
    :func:`header_key` of each column to its 1-based index."""
    for sheet_row, cells in rows.items():
        if sheet_row <= header_row:
            raise ValueError(f"row {sheet_row} is not below the header row {header_row}")
        for header, output in cells.items():
            index = index_of.get(header_key(header))
            if index is None:
                raise ValueError(f"{header!r} is not one of the columns {list(columns)}")
            yield sheet_row, index, as_cell(output)


_ISO = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$",
    re.IGNORECASE,
)
EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def parse_timestamp(text: str) -> dt.datetime | None:
    """An ISO 8601 time as the API sends it (``2026-04-26T12:30:00.000Z``), as an aware datetime
    (a time without an offset is taken as UTC, the API's zone); None when it is not one."""
    found = _ISO.match(text or "")
    if not found:
        return None
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = dt.timezone.utc
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tz
        )
    except ValueError:
        return None


def local_serial(text: str) -> float | None:
    """An API time as an Excel serial number in this machine's local time zone (Excel cells
    have no zone: people read the time of day where they are)."""
    moment = parse_timestamp(text)
    if moment is None:
        return None
    local = moment.astimezone().replace(tzinfo=None)
    return (local - EXCEL_EPOCH) / dt.timedelta(days=1)


def utc_text(local: dt.datetime) -> str:
    """A local date-time read back from a results sheet, as the API's UTC text again."""
    moment = local.astimezone(dt.timezone.utc) if local.tzinfo is None else local
    moment = moment.astimezone(dt.timezone.utc)
    millis = round(moment.microsecond / 1000)
    if millis == 1000:
        moment, millis = moment.replace(microsecond=0) + dt.timedelta(seconds=1), 0
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"
