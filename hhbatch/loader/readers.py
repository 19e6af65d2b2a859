"""Bytes on disk → a grid of cell values: XLSX/XLSM via calamine, CSV in any encoding Excel uses.

Why calamine: it reads a 100,000-row workbook several times faster than openpyxl and knows which
sheets are hidden. Why sniff the bytes instead of trusting the extension: users rename files, and
"not a spreadsheet" must be one sentence, never a traceback from a zip library.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import python_calamine as calamine

from hhbatch.errors import ManifestError
from hhbatch.i18n import _

XLSX_EXTENSIONS = (".xlsx", ".xlsm")
CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
CSV_DELIMITERS = (",", ";", "\t")
CSV_ENCODINGS = ("utf-8", "gb18030")
_SNIFF_CHARS = 65_536  # the delimiter is decided from the start of the file


@dataclass
class RawSheet:
    """One sheet as read: rows of raw cell values, numbered as the spreadsheet numbers them."""

    format: str  # "xlsx" | "csv"
    sheet_name: str
    rows: list[list[Any]]  # rows[i] is sheet row i + 1
    csv_encoding: str | None = None
    csv_delimiter: str | None = None
    # XLSX: where hhbatch marked its own result columns (see hhbatch.marks); None when unmarked.
    marks: list[Any] | None = None


def read_sheet(path: Path, sheet: str | None = None) -> RawSheet:
    """Read the sheet the user means, or raise ManifestError with one sentence saying why not."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except FileNotFoundError as err:
        raise ManifestError(_("{path} does not exist.").format(path=path), path=str(path)) from err
    except IsADirectoryError as err:
        raise ManifestError(
            _("{path} is a folder, not a spreadsheet.").format(path=path), path=str(path)
        ) from err
    except OSError as err:
        raise ManifestError(
            _("{path} could not be opened: {reason}.").format(
                path=path, reason=err.strerror or err
            ),
            path=str(path),
        ) from err
    if not head:
        raise ManifestError(
            _("{path} is empty (0 bytes): there is no sheet to read.").format(path=path),
            path=str(path),
        )
    if head.startswith(_OLE_MAGIC):
        raise ManifestError(_ole_message(path), path=str(path))
    if head.startswith(_ZIP_MAGIC):
        return _read_xlsx(path, sheet)
    if path.suffix.lower() in XLSX_EXTENSIONS:
        raise ManifestError(
            _(
                "{path} is not a valid Excel workbook (it may be damaged or only renamed); "
                "open it in Excel and save it again as .xlsx."
            ).format(path=path),
            path=str(path),
        )
    return _read_csv(path)


def _ole_message(path: Path) -> str:
    data = path.read_bytes()
    if _ENCRYPTED_MARK in data:
        return _(
            "{path} is password-protected; remove the password in Excel "
            "(File > Info > Protect Workbook) and save it again."
        ).format(path=path)
    return _(
        "{path} is an old-format .xls workbook; open it in Excel and save it as .xlsx."
    ).format(path=path)


def _read_xlsx(path: Path, sheet: str | None) -> RawSheet:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as err:
        raise ManifestError(
            _(
                "{path} is damaged and cannot be opened as a workbook; save it again from Excel."
            ).format(path=path),
            path=str(path),
        ) from err
    if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
        if "content.xml" in names:
            message = _(
                "{path} is an OpenDocument spreadsheet; save it as .xlsx (Excel workbook)."
            ).format(path=path)
        else:
            message = _("{path} is a zip archive, not an Excel workbook.").format(path=path)
        raise ManifestError(message, path=str(path))
    if "xl/workbook.bin" in names:
        raise ManifestError(
            _("{path} is a binary .xlsb workbook; save it as .xlsx (Excel workbook).").format(
                path=path
            ),
            path=str(path),
        )
    try:
        workbook = calamine.CalamineWorkbook.from_path(str(path))
        name = _choose_sheet(path, workbook, sheet)
        grid = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except ManifestError:
        raise
    except Exception as err:  # calamine raises several unrelated types for a damaged file
        raise ManifestError(
            _("{path} is damaged and cannot be read ({error}); save it again from Excel.").format(
                path=path, error=type(err).__name__
            ),
            path=str(path),
        ) from err
    from hhbatch.marks import read_marks

    return RawSheet("xlsx", name, grid, marks=read_marks(path).get(name))


def _choose_sheet(path: Path, workbook: calamine.CalamineWorkbook, wanted: str | None) -> str:
    metadata = [m for m in workbook.sheets_metadata if m.typ == calamine.SheetTypeEnum.WorkSheet]
    names = [m.name for m in metadata]
    if wanted is not None:
        if wanted in names:
            return wanted
        folded = {n.strip().casefold(): n for n in names}
        if wanted.strip().casefold() in folded:
            return folded[wanted.strip().casefold()]
        raise ManifestError(
            _("{path} has no sheet named {sheet}; its sheets are: {sheets}.").format(
                path=path, sheet=repr(wanted), sheets=", ".join(names)
            ),
            path=str(path),
            sheet=wanted,
        )
    for meta in metadata:
        if meta.visible == calamine.SheetVisibleEnum.Visible:
            return meta.name
    raise ManifestError(
        _("{path} has no visible worksheet to read.").format(path=path), path=str(path)
    )


def decode_csv(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was in: UTF-8 (with or without BOM), UTF-16, or GB18030/GBK."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("csv", data[:1], 0, 1, "not UTF-8 or GB18030")


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: whichever splits the first non-empty line into the most cells."""
    lines = [line for line in text[:_SNIFF_CHARS].splitlines() if line.strip(" ,;\t")]
    if not lines:
        return ","
    sample = lines[0]
    best, best_count = ",", 1
    for delimiter in CSV_DELIMITERS:
        cells = next(csv.reader([sample], delimiter=delimiter), [])
        if len(cells) > best_count:
            best, best_count = delimiter, len(cells)
    return best


def _read_csv(path: Path) -> RawSheet:
    data = path.read_bytes()
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ManifestError(
            _("{path} is not a spreadsheet: hhbatch reads .xlsx, .xlsm and .csv files.").format(
                path=path
            ),
            path=str(path),
        )
    try:
        text, encoding = decode_csv(data)
    except UnicodeDecodeError as err:
        raise ManifestError(
            _(
                "{path} is not a spreadsheet or uses an unknown text encoding; save it as "
                "'CSV UTF-8' or as .xlsx."
            ).format(path=path),
            path=str(path),
        ) from err
    delimiter = sniff_delimiter(text)
    try:
        rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as err:
        raise ManifestError(
            _("{path} is not a readable CSV file: {error}.").format(path=path, error=err),
            path=str(path),
        ) from err
    return RawSheet("csv", path.stem, rows, csv_encoding=encoding, csv_delimiter=delimiter)
