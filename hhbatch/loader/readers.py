"""Bytes on disk → a grid of cell values: XLSX/XLSM/ODS/XLS via calamine, CSV/TSV/TXT text in
any encoding Excel and Notepad save (see :mod:`hhbatch.loader.encoding`).

Why calamine: it reads a 100,000-row workbook several times faster than openpyxl, knows which
sheets are hidden, and reads OpenDocument and old binary .xls as well. Why sniff the bytes instead
of trusting the extension: users rename files, and "not a spreadsheet" must be one sentence, never
a traceback from a zip library.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import python_calamine as calamine

from hhbatch.errors import ManifestError
from hhbatch.i18n import _
from hhbatch.loader import encoding as text_encoding
from hhbatch.loader.formulas import SheetFormulas, scan

XLSX_EXTENSIONS = (".xlsx", ".xlsm")
CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
CSV_DELIMITERS = (",", ";", "\t")
_SNIFF_CHARS = 65_536  # the delimiter is decided from the start of the file


@dataclass
class RawSheet:
    """One sheet as read: rows of raw cell values, numbered as the spreadsheet numbers them."""

    format: str  # "xlsx" | "ods" | "xls" | "csv"
    sheet_name: str
    rows: list[list[Any]]  # rows[i] is sheet row i + 1
    csv_encoding: str | None = None
    csv_delimiter: str | None = None
    # XLSX: where hhbatch marked its own result columns (see hhbatch.marks); None when unmarked.
    marks: list[Any] | None = None
    csv_encoding_how: str | None = None  # see hhbatch.loader.encoding: given/bom/certain/detected
    # XLSX: formulas whose values cannot be trusted or that total a column, tables' totals rows
    formulas: SheetFormulas | None = None


def read_sheet(path: Path, sheet: str | None = None, *, encoding: str | None = None) -> RawSheet:
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
        if _ENCRYPTED_MARK in path.read_bytes():
            raise ManifestError(_encrypted_message(path), path=str(path))
        return _read_workbook(path, sheet, "xls")
    if head.startswith(_ZIP_MAGIC):
        return _read_zip(path, sheet)
    if path.suffix.lower() in XLSX_EXTENSIONS:
        raise ManifestError(
            _(
                "{path} is not a valid Excel workbook (it may be damaged or only renamed); "
                "open it in Excel and save it again as .xlsx."
            ).format(path=path),
            path=str(path),
        )
    return _read_csv(path, encoding)


def _encrypted_message(path: Path) -> str:
    return _(
        "{path} is password-protected; remove the password in Excel "
        "(File > Info > Protect Workbook) and save it again."
    ).format(path=path)


def _read_zip(path: Path, sheet: str | None) -> RawSheet:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            strict = _is_strict(archive, names)
    except (zipfile.BadZipFile, OSError) as err:
        raise ManifestError(
            _(
                "{path} is damaged and cannot be opened as a workbook; save it again from Excel."
            ).format(path=path),
            path=str(path),
        ) from err
    if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
        if "content.xml" in names:
            return _read_workbook(path, sheet, "ods")
        raise ManifestError(
            _("{path} is a zip archive, not an Excel workbook.").format(path=path), path=str(path)
        )
    if "xl/workbook.bin" in names:
        raise ManifestError(
            _("{path} is a binary .xlsb workbook; save it as .xlsx (Excel workbook).").format(
                path=path
            ),
            path=str(path),
        )
    if strict:
        # calamine reads it, but the results copy cannot be written: refuse before any plan
        raise ManifestError(
            _(
                '{path} is saved as a "Strict Open XML Spreadsheet", whose results copy hhbatch '
                "cannot write; nothing was sent. In Excel choose File > Save As and save it as an "
                'ordinary "Excel Workbook (.xlsx)", then run again.'
            ).format(path=path.name),
            path=str(path),
        )
    raw = _read_workbook(path, sheet, "xlsx")
    raw.formulas = scan(path, raw.sheet_name)
    return raw


_STRICT_RELATIONSHIP = re.compile(rb"""Type\s*=\s*["']http://purl\.oclc\.org/ooxml/""")


def _is_strict(archive: zipfile.ZipFile, names: set[str]) -> bool:
    """A Strict Open XML workbook (Excel's "Strict Open XML Spreadsheet"): its package points
    to the workbook with a ``purl.oclc.org`` relationship type, which the results writer does
    not write (hhbatch.output refuses it); told here, before any plan is shown."""
    if "_rels/.rels" not in names:
        return False
    return _STRICT_RELATIONSHIP.search(archive.read("_rels/.rels")) is not None


def _read_workbook(path: Path, sheet: str | None, kind: str) -> RawSheet:
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

    marks = read_marks(path).get(name) if kind == "xlsx" else None
    return RawSheet(kind, name, grid, marks=marks)


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


def decode_csv(
    data: bytes, encoding: str | None = None, path: Path | None = None
) -> tuple[str, str]:
    """Text and the encoding it was in (see :func:`hhbatch.loader.encoding.decode`)."""
    decoded = text_encoding.decode(data, path or Path("manifest.csv"), encoding)
    return decoded.text, decoded.encoding


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


def _read_csv(path: Path, encoding: str | None) -> RawSheet:
    data = path.read_bytes()
    decoded = text_encoding.decode(data, path, encoding) if _looks_like_text(data) else None
    if decoded is None:
        raise ManifestError(
            _(
                "{path} is not a spreadsheet: hhbatch reads .xlsx, .xlsm, .ods, .xls, .csv, "
                ".tsv and .txt files."
            ).format(path=path),
            path=str(path),
        )
    text = decoded.text.removeprefix("\ufeff")
    delimiter = sniff_delimiter(text)
    try:
        rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as err:
        raise ManifestError(
            _("{path} is not a readable CSV file: {error}.").format(path=path, error=err),
            path=str(path),
        ) from err
    return RawSheet(
        "csv",
        path.stem,
        rows,
        csv_encoding=decoded.encoding,
        csv_delimiter=delimiter,
        csv_encoding_how=decoded.how,
    )


def _looks_like_text(data: bytes) -> bool:
    """NUL bytes mean UTF-16/32 (with or without a byte-order mark) or a binary file."""
    head = data[:4096]
    if b"\x00" not in head:
        return True
    return text_encoding.unicode_with_nuls(data)
