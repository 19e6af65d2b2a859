"""The XLSX/XLSM side of the writer: the user's package, copied, with only our cells changed.

The source workbook is read once as a zip package. Each write changes, in memory, only:

* the target sheet's XML: the cells of our columns, their header cells, their widths, the
  dimension, hyperlinks and the autofilter when it must reach the new columns;
* its relationships (hyperlinks, comments), the table part when a table must extend to the new
  columns, ``styles.xml`` (formats appended, never altered), ``workbook.xml`` (the hidden names
  that mark our columns, see :mod:`hhbatch.marks`, and "recalculate on open");
* for ``validate --out``: the comments part and its VML drawing (merged into the user's own).

Every other part — pictures, in-cell pictures (``xl/richData``), charts, shapes, form controls,
x14 extensions, pivot tables, slicers, custom properties, VBA — is copied byte for byte. Other
sheets change only to carry over their own result columns from the results workbook the write
replaces (``--sheet Week1`` then ``--sheet Week2`` keeps Week1's results).
"""

from __future__ import annotations

import copy
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from lxml import etree

from hhbatch import marks
from hhbatch.columns import ResultColumn
from hhbatch.errors import OutputError
from hhbatch.i18n import _
from hhbatch.output.cells import (
    NOTE_FILL,
    OUR_FILLS,
    CellLike,
    CellNote,
    OutputCell,
    clean_text,
    display_width,
    excel_number,
    header_key,
    local_serial,
    ooxml_text,
    placed_cells,
    safe_link,
)
from hhbatch.output.drawings import last_covered_column
from hhbatch.output.notes import NOTE_PREFIX, SheetNotes
from hhbatch.output.package import (
    CALC_CHAIN,
    DOC_REL_NS,
    HYPERLINK,
    OFFICE_DOCUMENT,
    PIVOT_TABLE,
    SHARED_STRINGS,
    STRICT_MAIN_NS,
    STYLES,
    TABLE,
    WORKSHEET,
    Package,
    RelsEditor,
    drop_content_type,
    parse_xml,
    rels_name,
    resolve,
    serialize_xml,
)
from hhbatch.output.sheetxml import (
    Worksheet,
    column_letter,
    parse_range,
    range_ref,
    shared_strings,
)
from hhbatch.output.styles import StyleBook

__all__ = ["NOTE_PREFIX", "XlsxSheet"]

NOTE_AUTHOR = "hhbatch"
MIN_WIDTH, MAX_WIDTH = 10, 60
HEADER_SEARCH_ROWS = 20  # where a carried-over sheet's legacy header row may be
_WORKBOOK_ORDER = [
    "fileVersion",
    "fileSharing",
    "workbookPr",
    "workbookProtection",
    "bookViews",
    "sheets",
    "functionGroups",
    "externalReferences",
    "definedNames",
    "calcPr",
    "oleSize",
    "customWorkbookViews",
    "pivotCaches",
    "smartTagPr",
    "smartTagTypes",
    "webPublishing",
    "fileRecoveryPr",
    "webPublishObjects",
    "extLst",
]


class Book:
    """A package's workbook: its sheets (in tab order), shared strings and styles."""

    def __init__(self, data: bytes, name: str) -> None:
        try:
            self.package = Package(data)
        except (zipfile.BadZipFile, OSError, ValueError, KeyError) as err:
            raise OutputError(
                _("Cannot open {path} as a workbook to copy it: {reason}.").format(
                    path=name, reason=err
                )
            ) from err
        package = self.package
        offices = [
            resolve("", rel.target)
            for rel in package.relationships("")
            if rel.type == OFFICE_DOCUMENT
        ]
        if not offices or offices[0] not in package:
            if any(
                rel.type.startswith("http://purl.oclc.org") for rel in package.relationships("")
            ):
                raise OutputError(
                    _(
                        "{path} is saved as Strict Open XML; save it as an ordinary Excel "
                        "workbook (.xlsx) and run again."
                    ).format(path=name)
                )
            raise OutputError(
                _("Cannot open {path} as a workbook to copy it: {reason}.").format(
                    path=name, reason="no workbook part"
                )
            )
        self.part = offices[0]
        self.original = package.read(self.part)
        root = parse_xml(self.original)
        if etree.QName(root).namespace == STRICT_MAIN_NS:
            raise OutputError(
                _(
                    "{path} is saved as Strict Open XML; save it as an ordinary Excel "
                    "workbook (.xlsx) and run again."
                ).format(path=name)
            )
        targets = {
            rel.id: (rel.type, resolve(self.part, rel.target))
            for rel in package.relationships(self.part)
            if not rel.external
        }
        self.sheets: list[tuple[str, str | None, bool]] = []  # (name, worksheet part, visible)
        for el in root.iter():
            if isinstance(el.tag, str) and etree.QName(el).localname == "sheet":
                kind, part = targets.get(el.get(f"{{{DOC_REL_NS}}}id", ""), ("", ""))
                worksheet = part if kind == WORKSHEET and part in package else None
                visible = el.get("state", "visible") == "visible"
                self.sheets.append((el.get("name", ""), worksheet, visible))
        strings = [p for t, p in targets.values() if t == SHARED_STRINGS and p in package]
        self.shared = shared_strings(package.read(strings[0]) if strings else None)
        styles = [p for t, p in targets.values() if t == STYLES and p in package]
        self.styles_part = styles[0] if styles else None
        self.styles = StyleBook(
            package.read(styles[0])
            if styles
            else b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
        )
        self.calc_chain = [(i, p) for i, (t, p) in targets.items() if t == CALC_CHAIN]
        self.marks = _marks_of(root, [name for name, _part, _visible in self.sheets])

    def sheet_index(self, name: str) -> int | None:
        for index, (sheet, _part, _visible) in enumerate(self.sheets):
            if sheet == name:
                return index
        return None


def _marks_of(root: etree._Element, names: list[str]) -> dict[str, list[marks.Mark]]:
    found: dict[str, list[marks.Mark]] = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).localname != "definedName":
            continue
        column = marks.column_of_mark(el.get("name", ""))
        local = el.get("localSheetId", "")
        if column is None or not local.isdigit() or int(local) >= len(names):
            continue
        where = marks.parse_mark_ref(el.text or "")
        if where is not None:
            found.setdefault(names[int(local)], []).append(marks.Mark(*where, column.name))
    return found


class SheetPatch:
    """One worksheet of the copy: our columns placed, written and marked."""

    def __init__(self, book: Book, name: str, part: str, header_row: int) -> None:
        self.book = book
        self.name = name
        self.part = part
        self.header_row = header_row
        self.sheet = Worksheet(book.package.read(part))
        sheet = self.sheet
        shared = book.shared
        self.headers: dict[int, str] = {}
        for cell in sheet.cells_of_row(header_row):
            value = sheet.value(cell, shared)
            if value is not None and str(value).strip():
                column = _column_of(cell)
                self.headers[column] = str(value)
        self.last_header = max(self.headers, default=0)
        marked = {m.column: m.name for m in book.marks.get(name, []) if m.header_row == header_row}
        width = max([*self.headers, *marked], default=0)
        listed = [self.headers.get(i) for i in range(1, width + 1)]
        self.ours: dict[int, ResultColumn] = marks.recognise(listed, marked)
        self.tables: dict[str, tuple[etree._Element, bytes]] = {}
        for _rel_id, table_part in book.package.related(part, TABLE):
            if table_part in book.package:
                data = book.package.read(table_part)
                self.tables[table_part] = (parse_xml(data), data)
        self.next_column = 1 + max(
            self._last_used_column(),
            sheet.merged_max_column(header_row),
            last_covered_column(book.package, part, sheet, header_row),
            self._areas_max_column(),
        )
        self.hidden = sheet.merged_hidden()
        self.widths: dict[int, int] = {}
        self.base_style: dict[tuple[int, int], int] = {}
        self.links: dict[tuple[int, int], str | None] = {}
        self.formula_lost = False
        self.filter_change: tuple[str, str] | None = None
        self.changed_tables: set[str] = set()
        self._rels_original = (
            book.package.read(rels_name(part)) if rels_name(part) in book.package else None
        )
        links = sheet.child("hyperlinks")
        self._pristine_links = [copy.deepcopy(el) for el in links] if links is not None else []
        self.notes = SheetNotes(book.package, part, sheet)
        self.noted: dict[tuple[int, int], list[str]] = {}
        self.noted_base: dict[tuple[int, int], int] = {}
        for where in self.notes.cleaned:  # an old note's red fill goes with the note
            cell = sheet.cell(*where, create=False)
            if cell is not None and book.styles.fill_rgb(sheet.style(cell)) == NOTE_FILL:
                _set_style(cell, book.styles.derive(sheet.style(cell), fill=None))

    def _last_used_column(self) -> int:
        """Rightmost column holding anything at or below the header (formatting alone is not)."""
        last = self.last_header
        shared = self.book.shared
        for number, row in self.sheet.rows.items():
            if number < self.header_row:
                continue
            for cell in reversed(row.findall(self.sheet.q("c"))):
                column = _column_of(cell)
                if column <= last:
                    break
                if self.sheet.has_value(cell, shared):
                    last = column
                    break
        return last

    def _areas_max_column(self) -> int:
        """Rightmost column of a table or pivot table reaching the header row or below: an
        empty table body or a pivot's blank cells hold no value, yet are not ours to write."""
        refs = [root.get("ref", "") for root, _data in self.tables.values()]
        package = self.book.package
        for _rel_id, pivot_part in package.related(self.part, PIVOT_TABLE):
            if pivot_part not in package:
                continue
            try:
                location = parse_xml(package.read(pivot_part)).find("{*}location")
            except etree.XMLSyntaxError:
                continue
            if location is not None:
                refs.append(location.get("ref", ""))
        last = 0
        for ref in refs:
            try:
                _min_col, _min_row, max_col, max_row = parse_range(ref)
            except ValueError:
                continue
            if max_row >= self.header_row:
                last = max(last, max_col)
        return last

    # --- columns ---------------------------------------------------------------------------
    def column_for(self, header: str) -> int:
        """The column of ``header``: ours when marked, else a new one (the user's stay theirs)."""
        column = marks.named_column(header)
        if column is not None:
            for index, ours in self.ours.items():
                if ours.name == column.name:
                    return index
            theirs = [h for i, h in self.headers.items() if i not in self.ours]
            clash = any(
                marks.named_column(h) == column or header_key(h) == header_key(header)
                for h in theirs
            )
            text = header + marks.SUFFIX if clash and not marks.has_suffix(header) else header
            return self._append(text, column)
        for index, text in self.headers.items():
            if header_key(text) == header_key(header):
                return index
        return self._append(header, None)

    def _append(self, header: str, column: ResultColumn | None) -> int:
        index = self.next_column
        self.next_column += 1
        cell = self.sheet.cell(self.header_row, index)
        self.sheet.set_text(cell, ooxml_text(clean_text(header)))
        if self.last_header:
            model = self.sheet.cell(self.header_row, self.last_header, create=False)
            if model is not None and model.get("s"):
                cell.set("s", model.get("s", "0"))
        self.headers[index] = header
        if column is not None:
            self.ours[index] = column
        self.widths[index] = 0
        self._extend_tables_and_filter(index, header)
        return index

    def _extend_tables_and_filter(self, index: int, header: str) -> None:
        """A table or filter whose header row is ours and that ends just left of the new column
        grows to include it."""
        for table_part, (root, _data) in self.tables.items():
            ref = root.get("ref", "")
            try:
                min_col, min_row, max_col, max_row = parse_range(ref)
            except ValueError:
                continue
            if min_row != self.header_row or max_col != index - 1:
                continue
            new_ref = range_ref(min_col, min_row, index, max_row)
            root.set("ref", new_ref)
            ns = etree.QName(root).namespace
            for child in root:
                if isinstance(child.tag, str) and etree.QName(child).localname == "autoFilter":
                    # Only wider: a table's filter stops above its Total Row (totalsRowCount),
                    # which must stay out of it.
                    try:
                        f_col, f_row, _f_max_col, f_max_row = parse_range(child.get("ref", ""))
                    except ValueError:
                        f_col, f_row, f_max_row = min_col, min_row, max_row
                    child.set("ref", range_ref(f_col, f_row, index, f_max_row))
            columns = root.find(f"{{{ns}}}tableColumns")
            if columns is not None:
                next_id = 1 + max((int(c.get("id", "0")) for c in columns), default=0)
                new = etree.SubElement(columns, f"{{{ns}}}tableColumn")
                new.set("id", str(next_id))
                new.set("name", clean_text(header))
                columns.set("count", str(len(columns)))
            self.changed_tables.add(table_part)
        auto_filter = self.sheet.child("autoFilter")
        if auto_filter is not None and auto_filter.get("ref"):
            try:
                min_col, min_row, max_col, max_row = parse_range(auto_filter.get("ref", ""))
            except ValueError:
                return
            if min_row == self.header_row and max_col == index - 1:
                old = auto_filter.get("ref", "")
                auto_filter.set("ref", range_ref(min_col, min_row, index, max_row))
                first = self.filter_change[0] if self.filter_change else old
                self.filter_change = (first, auto_filter.get("ref", ""))

    # --- writing ---------------------------------------------------------------------------
    def apply(
        self,
        columns: Sequence[str],
        rows: Mapping[int, Mapping[str, CellLike]],
        notes: Sequence[CellNote] | None = None,
    ) -> None:
        index_of: dict[str, int] = {}
        for header in columns:
            index = index_of[header_key(header)] = self.column_for(header)
            self._grow_width(index, display_width(str(self.headers.get(index, header))))
        for sheet_row, index, output in placed_cells(index_of, columns, rows, self.header_row):
            if (sheet_row, index) in self.hidden:
                continue  # inside a user's merged block: not ours to write
            self._write(sheet_row, index, output)
        if notes is not None:
            self._apply_notes(notes)

    def _grow_width(self, index: int, width: int) -> None:
        """Only columns we appended get a width; the user's own widths are theirs."""
        if index in self.widths and width > self.widths[index]:
            self.widths[index] = width

    def _write(self, row: int, column: int, output: OutputCell) -> None:
        sheet, styles = self.sheet, self.book.styles
        cell = sheet.cell(row, column)
        base = self.base_style.setdefault((row, column), sheet.style(cell))
        value = output.value
        link = safe_link(output.link)
        if value is None and output.link:
            value = output.link
        date = False
        if value is None:
            lost = sheet.clear(cell)
        elif output.timestamp and (
            (serial := value if excel_number(value) else local_serial(str(value))) is not None
        ):
            lost = sheet.set_number(cell, serial)  # type: ignore[arg-type]
            date = True
        elif excel_number(value):
            lost = sheet.set_number(cell, value)  # type: ignore[arg-type]
        else:
            text = clean_text(str(value))
            lost = sheet.set_text(cell, ooxml_text(text))
            self._grow_width(
                column, len(text[:MAX_WIDTH]) if text.isascii() else display_width(text[:MAX_WIDTH])
            )
        if date:
            self._grow_width(column, 19)
        self.formula_lost = self.formula_lost or lost
        if output.fill:
            fill: str | bool | None = output.fill.upper()
        elif styles.fill_rgb(base) in OUR_FILLS:
            fill = None  # the colour of an earlier status goes with it
        else:
            fill = False
        _set_style(cell, styles.derive(base, fill=fill, hyperlink=bool(link), date=date))
        self.links[(row, column)] = link

    def _apply_notes(self, notes: Sequence[CellNote]) -> None:
        """Notes replace those of the previous write: a fixed cell loses its highlight."""
        styles = self.book.styles
        for where, base in self.noted_base.items():
            cell = self.sheet.cell(*where, create=False)
            if cell is not None:
                _set_style(cell, base)
        self.noted_base.clear()
        self.noted = {}
        for note in notes:
            where = (note.sheet_row, note.column_index)
            if where in self.hidden:
                continue
            self.noted.setdefault(where, []).append(clean_text(str(note.message)))
        for where in self.noted:
            cell = self.sheet.cell(*where)
            self.noted_base[where] = self.sheet.style(cell)
            _set_style(cell, styles.derive(self.sheet.style(cell), fill=NOTE_FILL))

    # --- saving ----------------------------------------------------------------------------
    def finalize(self) -> None:
        """Put this sheet's parts into the package (called before every save)."""
        package = self.book.package
        self._set_widths()
        self._update_dimension()
        rels = RelsEditor(package, self.part)  # from the source's relationships, every time
        if self._rels_original is not None:
            rels.root = parse_xml(self._rels_original)
        else:
            rels.original = None
            for el in list(rels.root):
                rels.root.remove(el)
        self.notes.render(self.noted, rels, self.sheet)
        self._rebuild_hyperlinks(rels)
        data = rels.data()
        if data != self._rels_original and (len(rels.root) or self._rels_original is not None):
            package.changed[rels.name] = data
        else:
            package.changed.pop(rels.name, None)
        package.changed[self.part] = self.sheet.data()
        for table_part in self.changed_tables:
            root, original = self.tables[table_part]
            package.changed[table_part] = serialize_xml(root, original)

    def _set_widths(self) -> None:
        if not self.widths:
            return
        cols = self.sheet.ensure("cols")
        for index, width in sorted(self.widths.items()):
            _set_column_width(cols, index, min(MAX_WIDTH, max(MIN_WIDTH, width + 2)))

    def _update_dimension(self) -> None:
        dimension = self.sheet.child("dimension")
        if dimension is None or not self.links:
            return
        rows = [r for r, _c in self.links]
        cols = [c for _r, c in self.links] + list(self.headers)
        try:
            min_col, min_row, max_col, max_row = parse_range(dimension.get("ref", "A1"))
        except ValueError:
            return
        dimension.set(
            "ref",
            range_ref(
                min(min_col, *cols),
                min(min_row, self.header_row),
                max(max_col, *cols),
                max(max_row, *rows),
            ),
        )

    def _rebuild_hyperlinks(self, rels: RelsEditor) -> None:
        """The user's links as they were, except on our cells, plus our links."""
        sheet = self.sheet
        letters = {c: column_letter(c) for _r, c in self.links}
        ours = {f"{letters[c]}{r}" for r, c in self.links}
        kept = [el for el in self._pristine_links if el.get("ref", "").upper() not in ours]
        dropped = [el for el in self._pristine_links if el.get("ref", "").upper() in ours]
        still_used = {el.get(f"{{{DOC_REL_NS}}}id") for el in kept}
        for el in dropped:
            rel_id = el.get(f"{{{DOC_REL_NS}}}id")
            rel = rels.find(rel_id) if rel_id else None
            if rel is not None and rel_id not in still_used and rel.get("Type") == HYPERLINK:
                rels.remove(rel_id)  # type: ignore[arg-type]
        element = sheet.child("hyperlinks")
        if element is not None:
            sheet.root.remove(element)
        links = [copy.deepcopy(el) for el in kept]
        tag, rid = sheet.q("hyperlink"), f"{{{DOC_REL_NS}}}id"
        for (row, column), link in sorted(self.links.items()):
            if link:
                links.append(
                    etree.Element(
                        tag,
                        {
                            "ref": f"{letters[column]}{row}",
                            rid: rels.add(HYPERLINK, link, external=True),
                        },
                    )
                )
        if links:
            element = sheet.insert(etree.Element(sheet.q("hyperlinks")))
            element.extend(links)

    def marks(self) -> list[tuple[ResultColumn, int]]:
        return sorted(((column, index) for index, column in self.ours.items()), key=lambda x: x[1])


class XlsxSheet:
    """One worksheet of a workbook package held in memory between writes."""

    def __init__(self, source: Path, *, sheet_name: str | None, header_row: int, keep_vba: bool):
        try:
            data = source.read_bytes()
        except OSError as err:
            raise OutputError(
                _("Cannot read {path} to copy it: {reason}.").format(
                    path=source, reason=err.strerror or err
                )
            ) from err
        self.source = source
        self.keep_vba = keep_vba
        self.book = Book(data, str(source))
        book = self.book
        if sheet_name is None:
            chosen = next((n for n, p, visible in book.sheets if p and visible), None)
        else:
            chosen = next((n for n, p, _v in book.sheets if p and n == sheet_name), None)
        if chosen is None:
            raise OutputError(
                _("The workbook {file} has no sheet named {sheet}.").format(
                    file=source.name, sheet=repr(sheet_name)
                )
            )
        self.patches: dict[str, SheetPatch] = {}
        self.target = self._patch(chosen, header_row)
        self.warnings: list[str] = []  # what the copy cannot keep, as sentences
        self._carried: set[Path] = set()

    def _patch(self, name: str, header_row: int) -> SheetPatch:
        if name not in self.patches:
            part = next(p for n, p, _v in self.book.sheets if n == name and p)
            self.patches[name] = SheetPatch(self.book, name, part, header_row)
        return self.patches[name]

    # --- the results workbook this copy replaces --------------------------------------------
    def carry_from(self, dest: Path) -> None:
        """Take over the result columns of the *other* sheets of the workbook at ``dest``
        (by sheet name and row): writing one sheet never wipes another's results."""
        key = Path(os.path.abspath(dest))
        if key in self._carried:
            return
        self._carried.add(key)
        try:
            if not dest.is_file() or (self.source.exists() and dest.samefile(self.source)):
                return
            data = dest.read_bytes()
            if not data.startswith(b"PK"):
                return
            old = Book(data, str(dest))
        except (OSError, OutputError):
            return
        for name, part, _visible in old.sheets:
            if part is None or name == self.target.name:
                continue
            try:
                found = _results_of(old, name, part)
            except (etree.XMLSyntaxError, ValueError):
                continue
            if found is None:
                continue
            header_row, columns, rows = found
            if next((p for n, p, _v in self.book.sheets if n == name), None) is None:
                self.warnings.append(
                    _(
                        "{dest} holds results in sheet {sheet}, which {source} no longer has; "
                        "the new copy will not include them (keep a copy of {dest} if you need "
                        "them)."
                    ).format(dest=dest.name, sheet=repr(name), source=self.source.name)
                )
                continue
            self._patch(name, header_row).apply(columns, rows)

    # --- writing ---------------------------------------------------------------------------
    def apply(
        self,
        columns: Sequence[str],
        rows: Mapping[int, Mapping[str, CellLike]],
        notes: Sequence[CellNote],
    ) -> None:
        self.target.apply(columns, rows, notes)

    def save(self, path: Path) -> None:
        try:
            for patch in self.patches.values():
                patch.finalize()
            book = self.book
            if book.styles.changed and book.styles_part:
                book.package.changed[book.styles_part] = book.styles.data()
            self._write_workbook()
            if self.keep_vba:
                _macro_content_type(book.package, book.part)
            book.package.save(str(path))
        except OSError:
            raise
        except (etree.LxmlError, ValueError, KeyError, zipfile.BadZipFile) as err:
            raise OutputError(
                _("Cannot save the results workbook: {reason}.").format(reason=err)
            ) from err

    def _write_workbook(self) -> None:
        """Marks for our columns, the filter name, recalculation, and the stale calc chain."""
        book = self.book
        package = book.package
        root = parse_xml(book.original)
        ns = etree.QName(root).namespace
        names = root.find(f"{{{ns}}}definedNames")
        if names is None:
            names = etree.Element(f"{{{ns}}}definedNames")
            _insert_ordered(root, names, _WORKBOOK_ORDER)
        for patch in self.patches.values():
            local = str(book.sheet_index(patch.name))
            quoted = "'" + patch.name.replace("'", "''") + "'"
            for el in list(names):
                if el.get("localSheetId") != local:
                    continue
                if marks.column_of_mark(el.get("name", "")) is not None:
                    names.remove(el)
                elif el.get("name") == "_xlnm._FilterDatabase" and patch.filter_change:
                    min_col, min_row, max_col, max_row = parse_range(patch.filter_change[1])
                    el.text = (
                        f"{quoted}!${column_letter(min_col)}${min_row}:"
                        f"${column_letter(max_col)}${max_row}"
                    )
            for column, index in patch.marks():
                el = etree.SubElement(names, f"{{{ns}}}definedName")
                el.set("name", marks.mark_name(column))
                el.set("localSheetId", local)
                el.set("hidden", "1")
                el.text = f"{quoted}!${column_letter(index)}${patch.header_row}"
        calc = root.find(f"{{{ns}}}calcPr")
        asked = calc is not None and calc.get("fullCalcOnLoad", "").strip().lower() in ("1", "true")
        if not asked and not any(el.get("name") == marks.CALC_MARK for el in names):
            # The input's saved results were calculated (the loader trusted them); the flag set
            # below must not make a rerun on this results sheet distrust them (see
            # hhbatch.loader.formulas). Without the flag (XlsxWriter, openpyxl saved 0s), no mark.
            el = etree.SubElement(names, f"{{{ns}}}definedName")
            el.set("name", marks.CALC_MARK)
            el.set("hidden", "1")
            el.text = "TRUE"
        if not len(names):
            root.remove(names)
        if calc is None:
            calc = etree.Element(f"{{{ns}}}calcPr")
            _insert_ordered(root, calc, _WORKBOOK_ORDER)
        calc.set("fullCalcOnLoad", "1")  # formulas reading our columns recompute on open
        package.changed[book.part] = serialize_xml(root, book.original)
        if any(p.formula_lost for p in self.patches.values()):
            for rel_id, chain in book.calc_chain:
                # A formula we replaced with data would leave the chain pointing at a value;
                # Excel "repairs" such files. The chain is only a cache: Excel rebuilds it.
                package.removed.add(chain)
                drop_content_type(package, chain)
                rels = RelsEditor(package, book.part)
                rels.remove(rel_id)
                package.changed[rels.name] = rels.data()


MACRO_MAIN_CT = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


def _macro_content_type(package: Package, workbook_part: str) -> None:
    """An .xlsm must declare its workbook macro-enabled, or Excel refuses to open it (a workbook
    renamed from .xlsx to .xlsm is the usual case); a real one already does and is left alone."""
    name = "[Content_Types].xml"
    original = package.read(name)
    root = parse_xml(original)
    for el in root:
        if el.get("PartName") == "/" + workbook_part and "macroEnabled" not in el.get(
            "ContentType", ""
        ):
            el.set("ContentType", MACRO_MAIN_CT)
            package.changed[name] = serialize_xml(root, original)


def _results_of(
    book: Book, name: str, part: str
) -> tuple[int, list[str], dict[int, dict[str, OutputCell]]] | None:
    """The result columns of one sheet of an earlier results workbook, as cells to carry."""
    sheet = Worksheet(book.package.read(part))
    shared = book.shared
    sheet_marks = book.marks.get(name, [])
    header_row = None
    if sheet_marks:
        header_row = sheet_marks[0].header_row
    else:
        for number in sorted(sheet.rows)[:HEADER_SEARCH_ROWS]:
            headers = _header_list(sheet, number, shared)
            if marks.recognise(headers):
                header_row = number
                break
    if header_row is None:
        return None
    headers = _header_list(sheet, header_row, shared)
    marked = {m.column: m.name for m in sheet_marks if m.header_row == header_row}
    ours = marks.recognise(headers, marked)
    if not ours:
        return None
    links = _links_of(book, part, sheet)
    texts = {index: str(headers[index - 1] or column.name) for index, column in ours.items()}
    rows: dict[int, dict[str, OutputCell]] = {}
    for number in sorted(sheet.rows):
        if number <= header_row:
            continue
        cells: dict[str, OutputCell] = {}
        for cell in sheet.cells_of_row(number):
            index = _column_of(cell)
            if index not in ours:
                continue
            value = sheet.value(cell, shared)
            style = sheet.style(cell)
            fill = book.styles.fill_rgb(style)
            cells[texts[index]] = OutputCell(
                value,
                link=links.get((number, index)),
                fill=fill if fill in OUR_FILLS else None,
                timestamp=ours[index].name == "readyAt" and isinstance(value, (int, float)),
            )
        if any(c.value is not None for c in cells.values()):
            rows[number] = cells
    return header_row, list(texts.values()), rows


def _header_list(sheet: Worksheet, number: int, shared: list[str]) -> list[object]:
    values: dict[int, object] = {}
    for cell in sheet.cells_of_row(number):
        value = sheet.value(cell, shared)
        if value is not None:
            values[_column_of(cell)] = value
    return [values.get(i) for i in range(1, max(values, default=0) + 1)]


def _links_of(book: Book, part: str, sheet: Worksheet) -> dict[tuple[int, int], str]:
    targets = {
        rel.id: rel.target for rel in book.package.relationships(part) if rel.type == HYPERLINK
    }
    found: dict[tuple[int, int], str] = {}
    element = sheet.child("hyperlinks")
    for el in element if element is not None else ():
        target = targets.get(el.get(f"{{{DOC_REL_NS}}}id", ""))
        try:
            min_col, min_row, _c, _r = parse_range(el.get("ref", ""))
        except ValueError:
            continue
        if target:
            found[(min_row, min_col)] = target
    return found


def _column_of(cell: etree._Element) -> int:
    ref = cell.get("r", "A1")
    letters = "".join(ch for ch in ref if ch.isalpha())
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index


def _set_style(cell: etree._Element, style: int) -> None:
    if style:
        cell.set("s", str(style))
    elif "s" in cell.attrib:
        del cell.attrib["s"]


def _set_column_width(cols: etree._Element, index: int, width: float) -> None:
    """Give one column a width, splitting a ``<col min max>`` range that covers it."""

    def styled(element: etree._Element, low: int, high: int) -> etree._Element:
        element.set("min", str(low))
        element.set("max", str(high))
        return element

    for col in list(cols):
        try:
            low, high = int(col.get("min", "0")), int(col.get("max", "0"))
        except ValueError:
            continue
        if low <= index <= high:
            middle = styled(copy.deepcopy(col), index, index)
            middle.set("width", f"{width:g}")
            middle.set("customWidth", "1")
            pieces = []
            if low < index:
                pieces.append(styled(copy.deepcopy(col), low, index - 1))
            pieces.append(middle)
            if high > index:
                pieces.append(styled(copy.deepcopy(col), index + 1, high))
            for piece in pieces:
                col.addprevious(piece)
            cols.remove(col)
            return
        if low > index:
            ns = etree.QName(cols).namespace
            new = etree.Element(f"{{{ns}}}col" if ns else "col")
            col.addprevious(styled(new, index, index))
            new.set("width", f"{width:g}")
            new.set("customWidth", "1")
            return
    ns = etree.QName(cols).namespace
    new = etree.SubElement(cols, f"{{{ns}}}col" if ns else "col")
    styled(new, index, index)
    new.set("width", f"{width:g}")
    new.set("customWidth", "1")


def _insert_ordered(parent: etree._Element, element: etree._Element, order: list[str]) -> None:
    rank = {name: i for i, name in enumerate(order)}
    mine = rank[etree.QName(element).localname]
    for index, child in enumerate(parent):
        if not isinstance(child.tag, str):
            continue
        theirs = rank.get(etree.QName(child).localname)
        if theirs is not None and theirs > mine:
            parent.insert(index, element)
            return
    parent.append(element)
