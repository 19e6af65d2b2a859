"""Write a copy of the manifest with hhbatch's columns appended (results, validation errors).

    writer = SheetWriter.for_manifest(manifest, dest=results)  # or SheetWriter(path, ...)
    actual = writer.write(dest, columns, rows, notes=())

* XLSX/XLSM: the user's workbook package, every part byte for byte except the few our columns
  and notes must change (see ``xlsx``); ``losses`` names anything that cannot be kept.
* CSV: the user's cells as text, our columns appended, UTF-8 with BOM, same delimiter.
* Everything from the server is data, never a formula (CSV: ``'``-prefixed, see ``cells``).
* Each write replaces the file atomically; a locked file gets a sibling ``name (2).xlsx``.

The names below load on first use (PEP 562): ``hhbatch.output.cells`` is needed by the loader,
and importing it must not drag openpyxl (and numpy behind it) into ``hhbatch validate`` or
``hhbatch --help``, which never write a workbook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hhbatch.lazy import lazy_exports

if TYPE_CHECKING:
    from hhbatch.output.cells import STATUS_FILLS, CellNote, OutputCell, fill_for_status
    from hhbatch.output.writer import SheetSource, SheetWriter

_EXPORTS = {
    "STATUS_FILLS": "hhbatch.output.cells",
    "CellNote": "hhbatch.output.cells",
    "OutputCell": "hhbatch.output.cells",
    "fill_for_status": "hhbatch.output.cells",
    "SheetSource": "hhbatch.output.writer",
    "SheetWriter": "hhbatch.output.writer",
}

__all__ = [
    "STATUS_FILLS",
    "CellNote",
    "OutputCell",
    "SheetSource",
    "SheetWriter",
    "fill_for_status",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)
