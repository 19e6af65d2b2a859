"""Write a copy of the manifest with hhbatch's columns appended (results, validation errors).

    writer = SheetWriter.for_manifest(manifest, dest=results)  # or SheetWriter(path, ...)
    actual = writer.write(dest, columns, rows, notes=())

* XLSX/XLSM: the user's workbook package, every part byte for byte except the few our columns
  and notes must change (see ``xlsx``); ``losses`` names anything that cannot be kept.
* CSV: the user's cells as text, our columns appended, UTF-8 with BOM, same delimiter.
* Everything from the server is data, never a formula (CSV: ``'``-prefixed, see ``cells``).
* Each write replaces the file atomically; a locked file gets a sibling ``name (2).xlsx``.
"""

from hhbatch.output.cells import (
    STATUS_FILLS,
    CellNote,
    OutputCell,
    fill_for_status,
)
from hhbatch.output.writer import SheetSource, SheetWriter

__all__ = [
    "STATUS_FILLS",
    "CellNote",
    "OutputCell",
    "SheetSource",
    "SheetWriter",
    "fill_for_status",
]
