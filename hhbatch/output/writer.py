"""SheetWriter: the one object the workflow and ``validate --out`` talk to."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from hhbatch.errors import OutputError
from hhbatch.i18n import _
from hhbatch.output.atomic import write_atomically
from hhbatch.output.cells import CellLike, CellNote
from hhbatch.output.convert import conversion_losses, needs_conversion, write_plain_xlsx
from hhbatch.output.csvsheet import CsvSheet
from hhbatch.output.xlsx import XlsxSheet

FORMATS = ("xlsx", "csv")
SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".tsv", ".txt", ".ods")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


class SheetSource(Protocol):
    """What the writer needs from a loaded manifest (``hhbatch.loader.Manifest`` has it all)."""

    path: Path
    format: str
    sheet_name: str | None
    header_row: int
    csv_encoding: str
    csv_delimiter: str


class SheetWriter:
    """A copy of the source sheet with our columns appended, written again and again.

    The source is read once; each :meth:`write` updates the cells in memory and saves the whole
    copy atomically. Rows not mentioned in a write keep what they had (from the source or an earlier
    write). Also accepts a manifest directly: ``SheetWriter(manifest)``.
    """

    def __init__(
        self,
        source: Path | str | SheetSource,
        *,
        format: str | None = None,
        sheet_name: str | None = None,
        header_row: int = 1,
        csv_encoding: str = "utf-8-sig",
        csv_delimiter: str = ",",
        dest: Path | str | None = None,
    ) -> None:
        if not isinstance(source, (str, os.PathLike)):
            manifest = source
            source = Path(manifest.path)
            format = manifest.format
            sheet_name = manifest.sheet_name
            header_row = manifest.header_row
            csv_encoding = getattr(manifest, "csv_encoding", None) or csv_encoding
            csv_delimiter = getattr(manifest, "csv_delimiter", None) or csv_delimiter
        self.source = Path(source)
        suffix = self.source.suffix.lower()
        kind = (format or ("csv" if suffix in TEXT_SUFFIXES else "xlsx")).lower()
        if kind in ("xlsm", "ods", "xls"):
            kind = "xlsx"  # .ods/.xls: an .xlsx copy of their values (hhbatch.output.convert)
        if kind not in FORMATS:
            raise OutputError(
                _("Cannot write results for a {kind} file; save it as .xlsx or .csv.").format(
                    kind=kind
                )
            )
        if kind == "xlsx" and suffix == ".xlsb":
            raise OutputError(
                _(
                    "Cannot copy {file}: hhbatch cannot write binary .xlsb workbooks; save the "
                    "sheet as .xlsx and run again."
                ).format(file=self.source.name)
            )
        if header_row < 1:
            raise ValueError("header_row is 1-based")
        self.format = kind
        self.keep_vba = suffix == ".xlsm"
        # A text manifest's results are a file of its own kind: .csv, .tsv or .txt.
        self._text_suffix = suffix if suffix in TEXT_SUFFIXES else ".csv"
        # An .ods/.xls is written as an .xlsx copy of its values: said before anything is spent.
        self._conversion_losses = conversion_losses(self.source)
        self._sheet: XlsxSheet | CsvSheet
        if kind == "csv":
            self._sheet = CsvSheet(
                self.source,
                header_row=header_row,
                encoding=csv_encoding,
                delimiter=csv_delimiter,
                mirror_utf16=self._text_suffix != ".csv",
            )
        else:
            workbook = self.source
            if needs_conversion(self.source):
                # Kept for the writer's life (the xlsx side may read its source again), removed
                # with it or at exit.
                folder = tempfile.mkdtemp(prefix="hhbatch-copy-")
                weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
                workbook = Path(folder) / (self.source.stem + ".xlsx")
                write_plain_xlsx(
                    self.source, workbook, header_sheet=sheet_name, header_row=header_row
                )
            self._sheet = XlsxSheet(
                workbook, sheet_name=sheet_name, header_row=header_row, keep_vba=self.keep_vba
            )
        self._fallbacks: dict[Path, Path] = {}
        self._lock = threading.Lock()
        if dest is not None:
            # Read the results workbook this copy will replace now, so that what cannot be
            # carried over is known (``losses``) before anything is spent.
            self._sheet.carry_from(self._destination(Path(dest)))

    @property
    def losses(self) -> list[str]:
        """Sentences naming what the copy cannot keep; empty when nothing is lost. Complete
        right after construction when ``dest`` was given (the plan shows them)."""
        return [*self._conversion_losses, *self._sheet.warnings]

    @property
    def warnings(self) -> list[str]:  # the earlier name of ``losses``
        return self.losses

    @classmethod
    def for_manifest(cls, manifest: SheetSource, *, dest: Path | str | None = None) -> SheetWriter:
        return cls(manifest, dest=dest)

    @property
    def suffix(self) -> str:
        """The extension a copy of the source must have (.xlsm keeps its macros; a .tsv/.txt
        manifest gets a .tsv/.txt; .ods/.xls get an .xlsx)."""
        if self.format == "csv":
            return self._text_suffix
        return ".xlsm" if self.keep_vba else ".xlsx"

    def _destination(self, dest: Path) -> Path:
        suffix = dest.suffix.lower()
        if suffix in SHEET_SUFFIXES and suffix != self.suffix:
            return dest.with_suffix(self.suffix)
        if suffix not in SHEET_SUFFIXES:  # "campaign.results" → "campaign.results.xlsx"
            return dest.with_name(dest.name + self.suffix)
        return dest

    def write(
        self,
        dest: Path | str,
        columns: Sequence[str],
        rows: Mapping[int, Mapping[str, CellLike]],
        notes: Sequence[CellNote] = (),
    ) -> Path:
        """Write the copy to ``dest``; return the path actually written.

        The extension is corrected to the source's kind (a macro workbook saved as .xlsx would not
        open). When ``dest`` is locked the copy lands beside it as ``name (2).ext``. When ``dest``
        is an earlier results workbook, the result columns of its other sheets are carried over.
        """
        dest = self._destination(Path(dest))
        with self._lock:
            self._sheet.carry_from(dest)
            self._sheet.apply(columns, rows, notes)
            written = write_atomically(
                dest, self._sheet.save, preferred_fallback=self._fallbacks.get(dest)
            )
            if written != dest:
                self._fallbacks[dest] = written
            return written
