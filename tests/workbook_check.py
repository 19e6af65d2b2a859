"""Run workbooks as real tools wrote them through ``hhbatch run`` and check nothing was lost.

Used by ``tests/test_workbook_corpus.py`` and, on its own, against any folder of workbooks::

    .venv/bin/python -m tests.workbook_check FOLDER_OR_FILE... [--keep DIR]

A workbook found in the wild has no hhbatch header row, so :func:`add_manifest` makes one sheet a
manifest by surgery: a header row (Prompt / Duration (s) / Resolution) and two rows are added to
that sheet's XML below whatever it holds, as inline strings; every other part of the package keeps
its bytes. The run then writes the results sheet several times (refreshes and the final write) and
:func:`inventory_problems` compares the package part by part with the input.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from lxml import etree

HEADER = ["Prompt", "Duration (s)", "Resolution"]
ROWS = [
    ["A white horse runs along the beach at sunset", 3, "720p"],
    ["一匹白马在雪山脚下的草原上奔跑", 4, "720p"],
]
RESULT_HEADERS = ["status", "videoId", "videoUrl", "thumbnailUrl", "readyAt", "error"]
REL = "http://schemas.openxmlformats.org/package/2006/relationships"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
# Worksheet elements a write must leave exactly as they were (our columns touch none of them).
KEPT_ELEMENTS = (
    "sheetPr",
    "sheetViews",
    "conditionalFormatting",
    "dataValidations",
    "mergeCells",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "oleObjects",
    "controls",
    "tableParts",
    "extLst",
    "AlternateContent",
    "pageSetup",
    "headerFooter",
    "sheetProtection",
)
_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


# --- the package ---------------------------------------------------------------------------
def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _rels(parts: dict[str, bytes], part: str) -> list[tuple[str, str, str, bool]]:
    """(id, type, resolved target, external) of a part's relationships."""
    folder, name = posixpath.split(part)
    data = parts.get(posixpath.join(folder, "_rels", name + ".rels"))
    if data is None:
        return []
    found = []
    for el in etree.fromstring(data):
        if not isinstance(el.tag, str):
            continue
        external = el.get("TargetMode") == "External"
        target = el.get("Target", "")
        found.append(
            (
                el.get("Id", ""),
                el.get("Type", ""),
                target if external else _resolve(part, target),
                external,
            )
        )
    return found


def read_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def workbook_part(parts: dict[str, bytes]) -> str:
    return next(t for _i, kind, t, _e in _rels(parts, "") if kind.endswith("/officeDocument"))


def sheets(parts: dict[str, bytes]) -> list[tuple[str, str | None, str]]:
    """(name, worksheet part or None for chart/dialog sheets, state) in tab order."""
    book = workbook_part(parts)
    targets = {i: (kind, t) for i, kind, t, _e in _rels(parts, book)}
    found = []
    for el in etree.fromstring(parts[book]).iter("{*}sheet"):
        rel_id = next((v for k, v in el.attrib.items() if k.endswith("}id")), "")
        kind, target = targets.get(rel_id, ("", ""))
        part = target if kind.endswith("/worksheet") and target in parts else None
        found.append((el.get("name", ""), part, el.get("state", "visible")))
    return found


def sheet_part(parts: dict[str, bytes], name: str) -> str:
    return next(p for n, p, _s in sheets(parts) if n == name and p)


# --- making a manifest ---------------------------------------------------------------------
def _letters(index: int) -> str:
    text = ""
    while index:
        index, rest = divmod(index - 1, 26)
        text = chr(65 + rest) + text
    return text


def _column(ref: str) -> int:
    found = _REF.match(ref.upper())
    index = 0
    for ch in found.group(1) if found else "A":
        index = index * 26 + ord(ch) - 64
    return index


def add_manifest(
    data: bytes, sheet: str | None = None, at: str | None = None
) -> tuple[bytes, str, int]:
    """The package with a manifest block written into one sheet: (bytes, sheet name, header row).

    The block goes to ``at`` (``"B20"``) or, by default, to column A two rows below the last row
    the sheet holds. Only that sheet's XML changes; every other entry is copied as it was.
    """
    parts = read_parts(data)
    names = [(n, p) for n, p, _s in sheets(parts) if p]
    name, part = next((n, p) for n, p in names if sheet is None or n == sheet)
    root = etree.fromstring(parts[part])
    ns = etree.QName(root).namespace

    def q(local: str) -> str:
        return f"{{{ns}}}{local}"

    sheet_data = root.find(q("sheetData"))
    rows: dict[int, Any] = {}
    previous = 0
    for row in sheet_data.iterfind(q("row")):
        previous = int(row.get("r") or previous + 1)
        rows[previous] = row
    if at is None:
        last = max((n for n, r in rows.items() if len(r)), default=0)
        # below tables and merged blocks too (an empty table body has no cells)
        areas = [el.get("ref", "") for el in root.iter(q("mergeCell"))]
        areas += [
            etree.fromstring(parts[t]).get("ref", "")
            for _i, kind, t, _e in _rels(parts, part)
            if kind.endswith("/table") and t in parts
        ]
        for ref in areas:
            found = _REF.match(ref.rpartition(":")[2])
            last = max(last, int(found.group(2)) if found else 0)
        top, left = (last + 2 if last else 1), 1
    else:
        found = _REF.match(at.upper())
        assert found, at
        top, left = int(found.group(2)), _column(at)
    block = [HEADER, *ROWS]
    for offset, values in enumerate(block):
        number = top + offset
        row = rows.get(number)
        if row is None:
            row = etree.Element(q("row"), r=str(number))
            later = [r for n, r in sorted(rows.items()) if n > number]
            if later:
                later[0].addprevious(row)
            else:
                sheet_data.append(row)
            rows[number] = row
        elif row.get("spans"):
            del row.attrib["spans"]  # optional; Excel recomputes it
        for index, value in enumerate(values):
            column = left + index
            ref = f"{_letters(column)}{number}"
            if any(c.get("r") == ref for c in row.iterfind(q("c"))):
                raise ValueError(f"{name}!{ref} is not empty")
            cell = etree.Element(q("c"), r=ref)
            if isinstance(value, str):
                cell.set("t", "inlineStr")
                etree.SubElement(etree.SubElement(cell, q("is")), q("t")).text = value
            else:
                etree.SubElement(cell, q("v")).text = str(value)
            after = [c for c in row.iterfind(q("c")) if _column(c.get("r", "A1")) > column]
            if after:
                after[0].addprevious(cell)
            else:
                existing = row.findall(q("c"))
                if existing:
                    existing[-1].addnext(cell)
                else:
                    row.insert(0, cell)
    dimension = root.find(q("dimension"))
    if dimension is not None:
        last_row = max(rows)
        last_col = max(
            (_column(c.get("r", "A1")) for r in rows.values() for c in r.iterfind(q("c"))),
            default=1,
        )
        dimension.set("ref", f"A1:{_letters(last_col)}{last_row}")
    declaration = re.match(rb"^\s*<\?xml[^>]*\?>\s*", parts[part])
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    changed = (declaration.group(0) if declaration else b"") + body
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info, changed if info.filename == part else source.read(info))
    return out.getvalue(), name, top


# --- comparing input and results -----------------------------------------------------------
def _children(data: bytes, local: str) -> list[bytes]:
    root = etree.fromstring(data)
    return [
        etree.tostring(el, method="c14n")
        for el in root
        if isinstance(el.tag, str) and etree.QName(el).localname == local
    ]


def _defined_names(data: bytes) -> set[tuple[str, str | None, str]]:
    return {
        (el.get("name", ""), el.get("localSheetId"), el.text or "")
        for el in etree.fromstring(data).iter("{*}definedName")
    }


def _cells(data: bytes) -> dict[str, bytes]:
    """Every cell of a worksheet as canonical XML, by reference."""
    return {
        c.get("r", ""): etree.tostring(c, method="c14n")
        for c in etree.fromstring(data).iter("{*}c")
    }


def may_change(parts: dict[str, bytes], sheet: str) -> set[str]:
    """The parts a write of ``sheet`` may replace: every other part must keep its bytes."""
    book = workbook_part(parts)
    part = sheet_part(parts, sheet)
    folder, name = posixpath.split(part)
    allowed = {part, posixpath.join(folder, "_rels", name + ".rels"), book, "[Content_Types].xml"}
    allowed |= {t for _i, kind, t, _e in _rels(parts, book) if kind.endswith("/styles")}
    allowed |= {t for _i, kind, t, _e in _rels(parts, part) if kind.endswith("/table")}
    return allowed


def inventory_problems(before: bytes, after: bytes, sheet: str) -> list[str]:
    """What the results package lost or changed that it should have kept (empty: all kept)."""
    old, new = read_parts(before), read_parts(after)
    problems = [f"part lost: {n}" for n in old if n not in new]
    allowed = may_change(old, sheet)
    problems += [
        f"part changed: {n}" for n in old if n in new and n not in allowed and old[n] != new[n]
    ]
    part = sheet_part(old, sheet)
    if part not in new:
        return problems
    for local in KEPT_ELEMENTS:
        if _children(old[part], local) != _children(new[part], local):
            problems.append(f"{part}: <{local}> changed")
    book = workbook_part(old)
    lost_names = _defined_names(old[book]) - _defined_names(new[book])
    problems += [f"defined name lost: {n}" for n in sorted(lost_names, key=str)]
    if etree.fromstring(old[part]).nsmap != etree.fromstring(new[part]).nsmap:
        problems.append(f"{part}: namespace prefixes changed")
    before_cells, after_cells = _cells(old[part]), _cells(new[part])
    problems += [
        f"{part}: cell {ref} changed"
        for ref, xml in before_cells.items()
        if ref in after_cells and after_cells[ref] != xml and not _is_ours(ref, new, sheet)
    ]
    for other_name, other, _state in sheets(old):
        if other and other != part and other in new and old[other] != new[other]:
            problems.append(f"sheet {other_name!r} changed")
    return problems


def placement_problems(parts: dict[str, bytes], sheet: str, header_row: int) -> list[str]:
    """Result columns hidden under a drawing, a form control, a table or a pivot table.

    Checked independently of the writer: every two-cell anchor, VML control anchor, table and
    pivot table that reaches the header row or below must end left of the first result column.
    """
    columns = result_columns(parts, sheet)
    if not columns:
        return []
    first = min(columns)
    part = sheet_part(parts, sheet)
    ends: list[tuple[str, int]] = []
    for _i, kind, target, external in _rels(parts, part):
        if external or target not in parts:
            continue
        data = parts[target]
        if kind.endswith("/drawing"):
            for anchor in etree.fromstring(data).iter("{*}twoCellAnchor"):
                end = anchor.find("{*}to")
                values = {etree.QName(c).localname: int(c.text or 0) for c in end}
                if values["row"] + 1 >= header_row:
                    ends.append((target, values["col"] + (1 if values["colOff"] > 0 else 0)))
        elif kind.endswith("/vmlDrawing"):
            text = data.decode("utf-8", "replace")
            for shape in re.findall(r"<v:shape\b.*?</v:shape>", text, re.S):
                anchor = re.search(r"<x:Anchor>\s*([\d\s,]+)</x:Anchor>", shape)
                if anchor is None or 'ObjectType="Note"' in shape:
                    continue
                numbers = [int(n) for n in anchor.group(1).replace(" ", "").split(",") if n]
                if numbers[6] + 1 >= header_row:
                    ends.append((target, numbers[4] + (1 if numbers[5] > 0 else 0)))
        elif kind.endswith(("/table", "/pivotTable")):
            root = etree.fromstring(data)
            element = root if kind.endswith("/table") else root.find("{*}location")
            ref = element.get("ref", "") if element is not None else ""
            first_cell, _, last_cell = ref.partition(":")
            found = _REF.match(last_cell or first_cell)
            if found and int(found.group(2)) >= header_row:
                ends.append((target, _column(found.group(0))))
    return [
        f"result column {_letters(first)} is under {where} (which reaches column {_letters(end)})"
        for where, end in ends
        if end >= first
    ]


def _is_ours(ref: str, parts: dict[str, bytes], sheet: str) -> bool:
    """Cells our columns may rewrite: at or right of the first result column."""
    first = result_columns(parts, sheet)
    return bool(first) and _column(ref) >= min(first)


def result_columns(parts: dict[str, bytes], sheet: str) -> list[int]:
    """The columns our hidden marks (``_hhbatch.*`` names) point at on ``sheet``."""
    names = [n for n, _p, _s in sheets(parts)]
    local = str(names.index(sheet))
    found = []
    for el in etree.fromstring(parts[workbook_part(parts)]).iter("{*}definedName"):
        if el.get("name", "").startswith("_hhbatch.") and el.get("localSheetId") == local:
            found.append(_column((el.text or "").rsplit("!", 1)[-1].replace("$", "")))
    return sorted(found)


# --- running ---------------------------------------------------------------------------------
@dataclass
class Case:
    """One workbook made a manifest: where the block went and what the run did with it."""

    name: str
    source: Path  # the manifest (the real workbook plus our block)
    sheet: str
    header_row: int
    result: Path | None = None
    code: int | None = None
    output: str = ""
    writes: int = 0
    problems: list[str] = field(default_factory=list)
    notes_result: Path | None = None
    noted: list[tuple[int, int, str]] = field(default_factory=list)  # (row, column, old text)


def prepare(workbook: Path, folder: Path, sheet: str | None = None, at: str | None = None) -> Case:
    data, name, header_row = add_manifest(workbook.read_bytes(), sheet, at)
    label = workbook.stem + (f"-{sheet}" if sheet else "") + (f"-{at}" if at else "")
    target = folder / re.sub(r"[^\w.-]+", "_", label) / workbook.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return Case(workbook.name, target, name, header_row)


class Writes(Counter[str]):
    """How often each results path was written; ``sandbox`` is the server the runs talk to."""

    sandbox: Any = None


@contextlib.contextmanager
def sandboxed_runs(home: Path) -> Iterator[Writes]:
    """A fast sandbox and the environment for in-process runs; yields the write counter."""
    import pytest

    from hhbatch import workflow
    from hhbatch.output import SheetWriter
    from hhbatch.sandbox import Sandbox, SandboxConfig

    writes = Writes()
    real_write = SheetWriter.write

    def counting(self: SheetWriter, dest: Any, *args: Any, **kwargs: Any) -> Path:
        written = real_write(self, dest, *args, **kwargs)
        writes[str(written)] += 1
        return written

    sandbox = Sandbox(SandboxConfig(queue_sec=0.05, processing_sec=0.2, rate=None)).start()
    writes.sandbox = sandbox
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("HHBATCH_LANG", "en")
            mp.setenv("HHBATCH_HOME", str(home))
            mp.setenv("HAPPYHORSE_API_KEY", sandbox.api_key)
            mp.setenv("HAPPYHORSE_BASE_URL", sandbox.base_url)
            mp.setattr(workflow, "MIN_REFRESH_SECONDS", 0.05)
            mp.setattr(workflow, "REFRESH_COST_FACTOR", 1.0)
            mp.setattr(SheetWriter, "write", counting)
            yield writes
    finally:
        sandbox.stop()


def rerun_problems(case: Case, writes: Writes) -> list[str]:
    """``hhbatch run`` on the results workbook itself: our columns are read back (marks, dates,
    links), nothing is created again, and the workbook is still whole afterwards."""
    from hhbatch.cli import main

    assert case.result is not None
    creates = writes.sandbox.counters()["creates"]
    stream = io.StringIO()
    args = ["run", str(case.result), "--sheet", case.sheet, "--yes", "--poll-interval", "0.05"]
    with contextlib.redirect_stderr(stream), contextlib.redirect_stdout(stream):
        code = main(args)
    problems = []
    if code != 0:
        problems.append(f"rerun on the results: exit {code}: {stream.getvalue()[-600:]}")
    if writes.sandbox.counters()["creates"] != creates:
        problems.append("rerun on the results created videos again")
    problems += [
        "after the rerun: " + p
        for p in inventory_problems(case.source.read_bytes(), case.result.read_bytes(), case.sheet)
    ]
    return problems


def run_case(case: Case, writes: Counter[str]) -> None:
    """``hhbatch run`` on the case's manifest (inside :func:`sandboxed_runs`)."""
    from hhbatch.cli import main
    from hhbatch.workflow import default_output_path

    stream = io.StringIO()
    args = ["run", str(case.source), "--sheet", case.sheet, "--yes"]
    # The corpus workbooks ask for the same videos: with one per-user ledger, each later case
    # would adopt the earlier one's videos and create (and refresh) nothing. One user per case.
    own_user = {"HHBATCH_HOME": str(case.source.parent / "home")}
    with (
        mock.patch.dict(os.environ, own_user),
        contextlib.redirect_stderr(stream),
        contextlib.redirect_stdout(stream),
    ):
        case.code = main([*args, "--poll-interval", "0.05", "--rate", "500"])
    case.output = stream.getvalue()
    result = default_output_path(case.source)
    if not result.exists():
        result = next(case.source.parent.glob("*.results.*"), result)
    case.result = result if result.exists() else None
    case.writes = writes[str(result)]


NOTE = "prompt is too long"


def comment_cells(parts: dict[str, bytes], sheet: str) -> dict[tuple[int, int], str]:
    """The sheet's legacy comments (notes): {(row, column): text}."""
    part = sheet_part(parts, sheet)
    found = {}
    for _i, kind, target, external in _rels(parts, part):
        if external or not kind.endswith("/comments") or target not in parts:
            continue
        for comment in etree.fromstring(parts[target]).iter("{*}comment"):
            ref = _REF.match(comment.get("ref", ""))
            if ref:
                text = "".join(t.text or "" for t in comment.iter("{*}t"))
                found[(int(ref.group(2)), _column(ref.group(0)))] = text
    return found


def write_notes(case: Case) -> None:
    """``validate --out`` on the case: a note on a prompt cell and on the first cell that
    already has the user's comment (merged into it, never replacing it)."""
    from hhbatch.output import CellNote, OutputCell, SheetWriter

    existing = comment_cells(read_parts(case.source.read_bytes()), case.sheet)
    notes = [CellNote(case.header_row + 1, 1, NOTE)]
    case.noted = [(case.header_row + 1, 1, "")]
    for (row, column), text in sorted(existing.items())[:1]:
        notes.append(CellNote(row, column, NOTE))
        case.noted.append((row, column, text))
    dest = case.source.with_name(case.source.stem + ".checked" + case.source.suffix)
    writer = SheetWriter(
        case.source, format="xlsx", sheet_name=case.sheet, header_row=case.header_row
    )
    row = {"validationErrors": OutputCell(f"A{case.header_row + 1}: {NOTE}")}
    case.notes_result = writer.write(dest, ["validationErrors"], {case.header_row + 1: row}, notes)


def notes_problems(case: Case) -> list[str]:
    """What the annotated copy lost: the user's comments keep their text, ours are added."""
    assert case.notes_result is not None
    before = read_parts(case.source.read_bytes())
    after = read_parts(case.notes_result.read_bytes())
    part = sheet_part(before, case.sheet)
    allowed = may_change(before, case.sheet) | {
        t
        for _i, k, t, _e in _rels(after, part)
        if k.endswith(("/comments", "/vmlDrawing", "/threadedComment"))
    }
    allowed |= {t for _i, k, t, _e in _rels(after, workbook_part(after)) if k.endswith("/person")}
    problems = [f"part lost: {n}" for n in before if n not in after]
    problems += [
        f"part changed: {n}"
        for n in before
        if n in after and n not in allowed and before[n] != after[n]
    ]
    comments = comment_cells(after, case.sheet)
    for row, column, text in case.noted:
        got = comments.get((row, column), "")
        if not got.startswith(text) or NOTE not in got:
            problems.append(f"note on {_letters(column)}{row}: {got!r} (was {text!r})")
    threads = [t for _i, k, t, _e in _rels(after, part) if k.endswith("/threadedComment")]
    for thread in threads:
        root = etree.fromstring(after[thread])
        refs = {c.get("ref") for c in root if isinstance(c.tag, str) and not c.get("parentId")}
        replies = {
            c.get("ref")
            for c in root
            if isinstance(c.tag, str) and c.get("parentId") and NOTE in "".join(c.itertext())
        }
        for row, column, _text in case.noted:
            ref = f"{_letters(column)}{row}"
            if ref in refs and ref not in replies:
                problems.append(f"{ref} has a threaded comment but no reply with our note")
    return problems


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_all(files: Iterable[Path], folder: Path) -> dict[Path, dict[str, str]]:
    """LibreOffice's reading of each workbook: {workbook: {sheet: its CSV text}}.

    One LibreOffice start converts them all (LibreOffice 7.2+ exports every sheet, ``-1``, as
    ``<stem>-<sheet>.csv``); copies with unique names keep equal file names apart. A workbook
    that makes LibreOffice give up stops the batch, so the rest are converted once more.
    """
    office = soffice()
    files = list(dict.fromkeys(files))
    if office is None or not files:
        return {}
    staged = folder / "lo-in"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    copies = {}
    for index, path in enumerate(files):
        copy = staged / f"{index}{path.suffix}"
        shutil.copyfile(path, copy)
        copies[copy] = path
    found: dict[Path, dict[str, str]] = {}
    pending = list(copies)
    while pending:
        out = folder / "lo-out"
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(
            [
                office,
                f"-env:UserInstallation={(folder / 'lo-profile').as_uri()}",
                "--headless",
                "--convert-to",
                "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                "--outdir",
                str(out),
                *map(str, pending),
            ],
            capture_output=True,
            timeout=600,
            check=False,
        )
        done = []
        for copy in pending:
            for csv_path in out.glob(f"{copy.stem}-*.csv"):
                sheet = csv_path.stem[len(copy.stem) + 1 :]
                found.setdefault(copies[copy], {})[sheet] = csv_path.read_text(encoding="utf-8")
            if copies[copy] in found:
                done.append(copy)
        if not done:
            pending = pending[1:]  # the first one stopped LibreOffice: go on without it
        else:
            last = max(pending.index(c) for c in done)
            pending = [c for c in pending[last + 1 :] if c not in done]
    return found


def check_case(case: Case, converted: dict[Path, dict[str, str]] | None) -> list[str]:
    """Everything wrong with one case's run (empty: the workbook came back whole)."""
    problems = []
    if case.code != 0:
        problems.append(f"exit code {case.code}: {case.output.strip()[-600:]}")
    if case.result is None:
        return [*problems, "no results workbook"]
    if case.writes < 2:
        problems.append(f"the results sheet was written {case.writes} time(s)")
    if "will not keep everything" in case.output:
        problems.append("losses announced: " + case.output.strip()[-600:])
    before, after = case.source.read_bytes(), case.result.read_bytes()
    problems += inventory_problems(before, after, case.sheet)
    parts = read_parts(after)
    columns = result_columns(parts, case.sheet)
    if len(columns) != len(RESULT_HEADERS):
        problems.append(f"result columns marked: {columns}")
    problems += placement_problems(parts, case.sheet, case.header_row)
    if converted is not None:
        sheets_csv = converted.get(case.result)
        if not sheets_csv:
            problems.append("LibreOffice could not open the results workbook")
        else:
            text = sheets_csv.get(case.sheet) or next(
                (t for s, t in sheets_csv.items() if s.replace("_", "") in case.sheet), ""
            )
            if ",".join(RESULT_HEADERS) not in text or ROWS[1][0] not in text:
                problems.append(f"LibreOffice does not show our columns on {case.sheet!r}")
    return problems


def _specs(args: list[str]) -> Iterator[tuple[Path, str | None, str | None]]:
    """``FILE``, ``FOLDER`` or ``FILE::SHEET`` / ``FILE::SHEET::A20``."""
    for arg in args:
        path, _, rest = arg.partition("::")
        sheet, _, at = rest.partition("::")
        target = Path(path)
        if target.is_dir():
            for child in sorted(target.iterdir()):
                if child.suffix.lower() in (".xlsx", ".xlsm"):
                    yield child, None, None
        else:
            yield target, sheet or None, at or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "workbooks", nargs="+", help="FILE, FOLDER, FILE::SHEET or FILE::SHEET::A20"
    )
    parser.add_argument("--keep", type=Path, help="keep manifests and results in this folder")
    options = parser.parse_args(argv)
    folder = Path(options.keep or tempfile.mkdtemp(prefix="hhbatch-check-"))
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for path, sheet, at in _specs(options.workbooks):
        try:
            cases.append(prepare(path, folder, sheet, at))
        except Exception as err:
            print(f"{path.name}: cannot add a manifest: {err!r}")
    with sandboxed_runs(folder / "home") as writes:
        for case in cases:
            run_case(case, writes)
            if case.result is not None and case.code == 0:
                case.problems += rerun_problems(case, writes)
            try:
                write_notes(case)
            except Exception as err:
                case.problems.append(f"validate --out notes failed: {err!r}")
    files = [c.result for c in cases if c.result] + [
        c.notes_result for c in cases if c.notes_result
    ]
    converted = convert_all(files, folder)
    unreadable = [c.source for c in cases if c.result and c.result not in converted]
    unreadable += [c.source for c in cases if c.notes_result and c.notes_result not in converted]
    sources = convert_all(unreadable, folder / "sources") if unreadable else {}
    failed = 0
    for case in cases:
        problems = case.problems + check_case(case, converted if soffice() else None)
        if case.notes_result is not None:
            problems += notes_problems(case)
            if soffice() and not converted.get(case.notes_result):
                problems.append("LibreOffice could not open the annotated copy")
        if any("LibreOffice could not open" in p for p in problems) and case.source not in sources:
            problems = [p for p in problems if "LibreOffice could not open" not in p]
            print(f"{case.name}: LibreOffice cannot open the source either (not checked)")
        failed += bool(problems)
        status = "ok" if not problems else "FAILED"
        print(f"{case.name} [{case.sheet}] {status} ({case.writes} writes)")
        for problem in problems:
            print("    " + problem.replace("\n", "\n    "))
    print(f"{len(cases) - failed} passed, {failed} failed; files in {folder}")
    if options.keep is None and not failed:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("HHBATCH_LANG", "en")
    sys.exit(main())
