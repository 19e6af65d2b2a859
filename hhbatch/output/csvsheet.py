"""The CSV side of the writer: the user's rows as text, plus our columns.

The csv module (not pandas) reads every record as a list of strings, so nothing is reinterpreted:
``007`` stays ``007``, ``1.50`` stays ``1.50``, a date stays as typed. The output is UTF-8 with a
BOM (``utf-8-sig``), which Excel needs to show Chinese correctly, with the source's delimiter and
CRLF line endings. Server text that Excel would run as a formula is prefixed with ``'`` (see
:func:`hhbatch.output.cells.csv_text`). CSV has no colours, links or comments: fills and notes are
ignored and a link is written as its text.

A .tsv/.txt manifest saved as UTF-16 (Excel's "Unicode Text") gets its results back as UTF-16 LE
with a BOM, tab-separated: Excel's own format for that kind of file, which it opens as a table on
a double-click, as it did the input. Everything else is written as UTF-8 with a BOM: never in the
input's legacy code page, which cannot hold every character a server message may contain.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from hhbatch import marks
from hhbatch.columns import ResultColumn
from hhbatch.errors import OutputError
from hhbatch.i18n import _
from hhbatch.output.cells import CellLike, CellNote, csv_text, header_key, placed_cells

OUTPUT_ENCODING = "utf-8-sig"
UTF16_OUTPUT_ENCODING = "utf-16"  # written as a little-endian BOM + UTF-16 LE, as Excel does


class CsvSheet:
    """All records of a CSV held in memory between writes."""

    def __init__(
        self,
        source: Path,
        *,
        header_row: int,
        encoding: str,
        delimiter: str,
        mirror_utf16: bool = False,
    ):
        utf16 = codecs.lookup(encoding).name.startswith(("utf-16", "utf_16"))
        self.output_encoding = UTF16_OUTPUT_ENCODING if mirror_utf16 and utf16 else OUTPUT_ENCODING
        try:
            if codecs.lookup(encoding).name == "utf-8":
                encoding = "utf-8-sig"  # a BOM is not part of the first header
            with open(source, encoding=encoding, newline="") as fh:
                text = fh.read()
            self.records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        except (OSError, UnicodeError, LookupError, csv.Error) as err:
            raise OutputError(
                _("Cannot read {path} to copy it: {reason}.").format(path=source, reason=err)
            ) from err
        self.delimiter = delimiter
        self.warnings: list[str] = []  # a CSV copy loses nothing
        self.header_row = header_row
        while len(self.records) < header_row:
            self.records.append([])
        header = self.records[header_row - 1]
        self._headers: dict[int, str] = {}
        for index, text_ in enumerate(header, start=1):
            if text_.strip():
                self._headers[index] = text_
        # Ours only by the marks a CSV can hold: the (hhbatch) suffix, or the block with videoId.
        self._ours: dict[int, ResultColumn] = marks.recognise(header)
        self._next_column = 1 + max(
            (_last_filled(record) for record in self.records[header_row - 1 :]), default=0
        )

    def carry_from(self, dest: Path) -> None:
        """A CSV has one sheet: there are no other sheets' results to carry over."""

    def column_for(self, header: str) -> int:
        """Our column when recognised; a user's ``Status`` stays theirs (ours gets a suffix)."""
        column = marks.named_column(header)
        if column is not None:
            for index, ours in self._ours.items():
                if ours.name == column.name:
                    return index
            theirs = [h for i, h in self._headers.items() if i not in self._ours]
            clash = any(
                marks.named_column(h) == column or header_key(h) == header_key(header)
                for h in theirs
            )
            text = header + marks.SUFFIX if clash and not marks.has_suffix(header) else header
            index = self._append(text)
            self._ours[index] = column
            return index
        for index, text in self._headers.items():
            if header_key(text) == header_key(header):
                return index
        return self._append(header)

    def _append(self, header: str) -> int:
        index = self._next_column
        self._next_column += 1
        self._set(self.header_row, index, csv_text(header))
        self._headers[index] = header
        return index

    def apply(
        self,
        columns: Sequence[str],
        rows: Mapping[int, Mapping[str, CellLike]],
        notes: Sequence[CellNote] = (),
    ) -> None:
        del notes  # CSV cannot hold comments or colours; the caller's text columns carry them
        index_of = {header_key(header): self.column_for(header) for header in columns}
        for sheet_row, index, output in placed_cells(index_of, columns, rows, self.header_row):
            value = output.value if output.value is not None else output.link
            self._set(sheet_row, index, csv_text(value))

    def _set(self, sheet_row: int, index: int, text: str) -> None:
        while len(self.records) < sheet_row:
            self.records.append([])
        record = self.records[sheet_row - 1]
        if len(record) < index:
            record.extend([""] * (index - len(record)))
        record[index - 1] = text

    def save(self, path: Path) -> None:
        buffer = io.StringIO(newline="")
        # Always CRLF (RFC 4180, what Excel writes): with a bare "\n" terminator the csv module
        # would leave a field holding "\r" unquoted, and readers would split the row there.
        csv.writer(buffer, delimiter=self.delimiter, lineterminator="\r\n").writerows(self.records)
        if self.output_encoding == UTF16_OUTPUT_ENCODING:
            data = codecs.BOM_UTF16_LE + buffer.getvalue().encode("utf-16-le")
        else:
            data = buffer.getvalue().encode(OUTPUT_ENCODING)
        path.write_bytes(data)


def _last_filled(record: list[str]) -> int:
    for index in range(len(record), 0, -1):
        if record[index - 1] != "":
            return index
    return 0
