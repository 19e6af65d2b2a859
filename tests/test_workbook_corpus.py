"""Workbooks as real tools write them come back whole from a run (``tests/data/workbooks``).

Each corpus workbook is run through ``hhbatch run`` against the sandbox, slowly enough that the
results sheet is written several times (refreshes, then the final write). Then the package is
compared part by part with the input: every part is still there, every part the writer has no
reason to change has the same bytes, and the target sheet keeps its x14 extensions, drawings and
defined names. Every results workbook is then opened by LibreOffice (one headless conversion for
all of them), which must read our columns back.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from lxml import etree

from hhbatch import workflow
from hhbatch.cli import main
from hhbatch.output import CellNote, OutputCell, SheetWriter
from hhbatch.sandbox import Sandbox, SandboxConfig
from hhbatch.workflow import default_output_path

CORPUS = Path(__file__).parent / "data" / "workbooks"
WORKBOOKS = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".xlsx", ".xlsm"))
SHEET = "xl/worksheets/sheet1.xml"  # "Videos", the manifest sheet, in every corpus workbook
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# The parts a write may change; every other part must keep its bytes.
MAY_CHANGE = {
    SHEET,
    "xl/worksheets/_rels/sheet1.xml.rels",
    "xl/styles.xml",
    "xl/workbook.xml",
    "[Content_Types].xml",
}
# Worksheet elements the writer must leave exactly as they were.
KEPT_ELEMENTS = (
    "sheetViews",
    "conditionalFormatting",
    "dataValidations",
    "mergeCells",
    "drawing",
    "legacyDrawing",
    "tableParts",
    "extLst",
    "pageSetup",
    "headerFooter",
)


@dataclass
class Run:
    source: Path
    result: Path
    code: int
    output: str
    writes: int
    converted: Path | None = None
    notes_result: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _convert_all(files: list[Path], folder: Path) -> dict[Path, Path]:
    """One LibreOffice start for every results workbook: {workbook: its CSV, if produced}."""
    soffice = _soffice()
    if soffice is None:
        return {}
    out = folder / "csv"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            str(out),
            *map(str, files),
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    converted = {}
    for path in files:
        candidate = out / (path.stem + ".csv")
        if candidate.exists():
            converted[path] = candidate
    return converted


@pytest.fixture(scope="module")
def corpus_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    base = tmp_path_factory.mktemp("corpus")
    writes: Counter[str] = Counter()
    real_write = SheetWriter.write

    def counting(self: SheetWriter, dest: Any, *args: Any, **kwargs: Any) -> Path:
        written = real_write(self, dest, *args, **kwargs)
        writes[str(written)] += 1
        return written

    sandbox = Sandbox(SandboxConfig(queue_sec=0.05, processing_sec=0.5, rate=None)).start()
    runs: dict[str, Run] = {}
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("HHBATCH_LANG", "en")
            mp.setenv("HHBATCH_HOME", str(base / "home"))
            mp.setenv("HAPPYHORSE_API_KEY", sandbox.api_key)
            mp.setenv("HAPPYHORSE_BASE_URL", sandbox.base_url)
            mp.setattr(workflow, "MIN_REFRESH_SECONDS", 0.05)
            mp.setattr(workflow, "REFRESH_COST_FACTOR", 1.0)
            mp.setattr(SheetWriter, "write", counting)
            for name in WORKBOOKS:
                folder = base / Path(name).stem
                folder.mkdir()
                source = folder / name
                shutil.copyfile(CORPUS / name, source)
                stream = io.StringIO()
                with contextlib.redirect_stderr(stream), contextlib.redirect_stdout(stream):
                    code = main(
                        ["run", str(source), "--yes", "--poll-interval", "0.05", "--rate", "500"]
                    )
                result = default_output_path(source)
                runs[name] = Run(source, result, code, stream.getvalue(), writes[str(result)])
        # validate --out on a sheet with the user's own (formatted) comment: merged, not replaced
        noted = base / "notes" / "libreoffice.checked.xlsx"
        noted.parent.mkdir()
        SheetWriter(CORPUS / "libreoffice.xlsx", format="xlsx", sheet_name="Videos").write(
            noted,
            ["validationErrors"],
            {2: {"validationErrors": OutputCell("A2: prompt is too long")}},
            [CellNote(2, 1, "prompt is too long"), CellNote(3, 2, "=durationSec 4")],
        )
        runs["libreoffice.xlsx"].notes_result = noted
        converted = _convert_all([*(r.result for r in runs.values()), noted], base)
        for run in runs.values():
            run.converted = converted.get(run.result)
        runs["libreoffice.xlsx"].extra["notes_csv"] = converted.get(noted)
    finally:
        sandbox.stop()
    return runs


def _open(path: Path) -> Any:
    """openpyxl as a second reader (it warns about the extensions it cannot keep; we do)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path)


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _element(data: bytes, local: str) -> list[bytes]:
    root = etree.fromstring(data)
    return [etree.tostring(el, method="c14n") for el in root if etree.QName(el).localname == local]


def _defined_names(data: bytes) -> set[tuple[str, str | None, str]]:
    root = etree.fromstring(data)
    return {
        (el.get("name", ""), el.get("localSheetId"), el.text or "")
        for el in root.iter(f"{MAIN}definedName")
    }


def _table_parts(parts: dict[str, bytes]) -> set[str]:
    rels = parts.get("xl/worksheets/_rels/sheet1.xml.rels", b"")
    return (
        {
            "xl/tables/" + target.rsplit("/", 1)[-1]
            for target in etree.fromstring(rels).xpath("//@Target")
            if "tables/" in target
        }
        if rels
        else set()
    )


@pytest.mark.parametrize("name", WORKBOOKS)
def test_corpus_workbook_comes_back_whole_after_repeated_writes(
    corpus_runs: dict[str, Run], name: str
) -> None:
    run = corpus_runs[name]
    assert run.code == 0, run.output
    assert run.writes >= 2, f"the sheet was written {run.writes} time(s)\n{run.output}"
    assert "will not keep everything" not in run.output  # no losses on any corpus workbook

    before, after = _parts(run.source), _parts(run.result)
    assert sorted(set(before) - set(after)) == []  # every part is still there
    may_change = MAY_CHANGE | _table_parts(before)
    changed = [n for n in before if n not in may_change and before[n] != after[n]]
    assert changed == []  # pictures, richData, charts, VBA, properties: byte for byte
    for local in KEPT_ELEMENTS:
        assert _element(after[SHEET], local) == _element(before[SHEET], local), local
    assert _defined_names(before["xl/workbook.xml"]) <= _defined_names(after["xl/workbook.xml"])
    root = etree.fromstring(after[SHEET])
    assert root.nsmap == etree.fromstring(before[SHEET]).nsmap  # prefixes kept (no ns0:)
    assert after[SHEET].count(b"<f>") == before[SHEET].count(b"<f>")

    book = _open(run.result)
    sheet = book["Videos"]
    header = [c.value for c in sheet[1]]
    status = header.index("status") + 1
    assert header[status - 1 : status + 5] == [
        "status",
        "videoId",
        "videoUrl",
        "thumbnailUrl",
        "readyAt",
        "error",
    ]
    assert [sheet.cell(r, status).value for r in (2, 3)] == ["ready", "ready"]
    ready_at = sheet.cell(2, status + 4)
    assert ready_at.is_date and ready_at.number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet.cell(2, status + 2).hyperlink.target.startswith("http")
    book.close()


def test_result_columns_go_right_of_a_picture_beside_the_data(
    corpus_runs: dict[str, Run],
) -> None:
    run = corpus_runs["picture_beside.xlsx"]
    # the photo is anchored over E1:G5 (data ends at D): the first result column is H
    header = [c.value for c in _open(run.result)["Videos"][1]]
    assert header.index("status") + 1 == 8, header


def test_in_cell_picture_and_x14_dropdown_are_kept(corpus_runs: dict[str, Run]) -> None:
    incell = _parts(corpus_runs["incell_picture.xlsx"].result)
    assert b'<c r="D2" t="e" vm="1"><v>#VALUE!</v></c>' in incell[SHEET]
    assert any(n.startswith("xl/richData/") for n in incell) and "xl/metadata.xml" in incell
    dropdown = _parts(corpus_runs["x14_dropdown.xlsx"].result)[SHEET]
    assert b"<xm:f>Lists!$A$1:$A$3</xm:f>" in dropdown
    assert b'mc:Ignorable="x14ac xr xr2 xr3"' in dropdown


def test_notes_merge_into_the_users_formatted_comments(corpus_runs: dict[str, Run]) -> None:
    noted = corpus_runs["libreoffice.xlsx"].notes_result
    assert noted is not None
    parts = _parts(noted)
    comments = next(v for k, v in parts.items() if k.startswith("xl/comments"))
    # the user's run keeps its formatting; ours is a separate run after it
    assert b'<rFont val="Calibri"/>' in comments
    sheet = _open(noted)["Videos"]
    assert sheet["A2"].comment.text == (
        "Check the horse colour with legal\n\n[hhbatch] prompt is too long"
    )
    assert sheet["B3"].comment.text == "[hhbatch] =durationSec 4"
    vml = next(v for k, v in parts.items() if k.endswith(".vml")).decode()
    assert vml.count('ObjectType="Note"') == 2


@pytest.mark.parametrize("name", [*WORKBOOKS, "notes"])
def test_libreoffice_opens_every_results_workbook(corpus_runs: dict[str, Run], name: str) -> None:
    if _soffice() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice (soffice) is required under CI=true")
        pytest.skip("LibreOffice (soffice) is not installed")
    if name == "notes":
        csv_path = corpus_runs["libreoffice.xlsx"].extra["notes_csv"]
        assert csv_path is not None, "LibreOffice could not open the annotated workbook"
        assert "validationErrors" in csv_path.read_text(encoding="utf-8")
        return
    run = corpus_runs[name]
    assert run.converted is not None, f"LibreOffice could not open {run.result.name}"
    text = run.converted.read_text(encoding="utf-8")
    first, second = text.splitlines()[:2]
    assert "status,videoId,videoUrl,thumbnailUrl,readyAt,error" in first
    assert ",ready," in second and "一匹白马" in text
