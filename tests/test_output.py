"""The results-sheet writer: a faithful copy of the user's sheet plus our columns, data only."""

from __future__ import annotations

import csv
import os
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table
from python_calamine import CalamineWorkbook

from hhbatch.errors import OutputError
from hhbatch.output import STATUS_FILLS, CellNote, OutputCell, SheetWriter, fill_for_status
from hhbatch.output.cells import EXCEL_CELL_MAX_CHARS, TRUNCATION_MARKER, clean_text

NASTY = [
    "=1+1",
    '=HYPERLINK("http://evil","click")',
    "+SUM(A1:A2)",
    "-2+3",
    "@SUM(A1)",
    "\t=tab first",
    "\r=cr first",
    "a\r\nb",
    "_x000D_ literal",
    "  spaces  ",
    " \n ",
    "中文 错误信息",
    "",
]


# --- helpers -------------------------------------------------------------------------------
def simple_xlsx(path: Path, rows: int = 3) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Videos"
    ws.append(["prompt", "durationSec"])
    for i in range(rows):
        ws.append([f"prompt {i}", 5])
    wb.save(path)
    return path


def sheet_xml(path: Path, sheet: int = 1) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read(f"xl/worksheets/sheet{sheet}.xml").decode("utf-8")


def calamine_rows(path: Path, sheet: str | None = None) -> list[list[object]]:
    wb = CalamineWorkbook.from_path(str(path))
    ws = wb.get_sheet_by_name(sheet) if sheet else wb.get_sheet_by_index(0)
    return ws.to_python(skip_empty_area=False)


def header_of(path: Path, header_row: int = 1, sheet: str | None = None) -> list[object]:
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet] if sheet else wb.active
    return [c.value for c in ws[header_row]]


def status_rows(n: int, start: int = 2) -> dict[int, dict[str, OutputCell]]:
    return {
        start + i: {
            "status": OutputCell("ready", fill=STATUS_FILLS["ready"]),
            "videoUrl": OutputCell(
                f"https://cdn.example/v{i}.mp4", link=f"https://cdn.example/v{i}.mp4"
            ),
        }
        for i in range(n)
    }


def rich_workbook(path: Path) -> Path:
    """Everything a marketing team's sheet may contain, header on row 3 under a merged title."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "视频"
    ws["A1"] = "春季活动 Spring campaign"
    ws["A1"].font = Font(size=16, bold=True)
    ws.merge_cells("A1:D1")
    headers = ["prompt", "durationSec", "aspectRatio", "备注 total"]
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(3, col, text)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="4472C4")
    ws.append(["一只猫在草地上奔跑", 5, "16:9", "=B4*2"])
    ws.append(["A dog surfing", 8, "9:16", "=B5*2"])
    ws.column_dimensions["A"].width = 42
    ws.column_dimensions["D"].width = 17
    ws.freeze_panes = "A4"
    dv = DataValidation(type="list", formula1='"16:9,9:16,1:1"', allow_blank=True)
    ws.add_data_validation(dv)
    dv.add("C4:C100")
    ws.conditional_formatting.add(
        "B4:B100",
        CellIsRule(
            operator="greaterThan", formula=["10"], fill=PatternFill("solid", fgColor="FFC7CE")
        ),
    )
    other = wb.create_sheet("说明 notes")
    other["A1"] = "Do not edit 请勿修改"
    other["B2"] = "=1+2"
    wb.save(path)
    return path


# --- XLSX fidelity -------------------------------------------------------------------------
def test_rich_workbook_survives_a_write(tmp_path: Path) -> None:
    src = rich_workbook(tmp_path / "campaign.xlsx")
    writer = SheetWriter(src, format="xlsx", sheet_name="视频", header_row=3)
    rows = {
        4: {
            "status": OutputCell("ready", fill="C6EFCE"),
            "videoUrl": OutputCell("https://v/1.mp4", link="https://v/1.mp4"),
        },
        5: {"status": OutputCell("failed", fill="FFC7CE"), "videoUrl": OutputCell(None)},
    }
    out = writer.write(tmp_path / "campaign.results.xlsx", ["status", "videoUrl"], rows)
    assert out == tmp_path / "campaign.results.xlsx"

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["视频", "说明 notes"]
    ws = wb["视频"]
    assert ws["A1"].value == "春季活动 Spring campaign" and ws["A1"].font.b
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:D1"]
    assert [c.value for c in ws[3]] == [
        "prompt",
        "durationSec",
        "aspectRatio",
        "备注 total",
        "status",
        "videoUrl",
    ]
    assert ws["A4"].value == "一只猫在草地上奔跑"
    assert ws["D4"].value == "=B4*2" and ws["D4"].data_type == "f"  # the user's formula is theirs
    assert ws["D5"].value == "=B5*2"
    assert ws.column_dimensions["A"].width == 42
    assert ws.column_dimensions["D"].width == 17
    assert ws.freeze_panes == "A4"
    assert [(dv.formula1, str(dv.sqref)) for dv in ws.data_validations.dataValidation] == [
        ('"16:9,9:16,1:1"', "C4:C100")
    ]
    assert [str(rng.sqref) for rng in ws.conditional_formatting] == ["B4:B100"]
    assert wb["说明 notes"]["A1"].value == "Do not edit 请勿修改"
    assert wb["说明 notes"]["B2"].value == "=1+2"
    # appended headers look like the existing ones
    for coord in ("E3", "F3"):
        assert ws[coord].font.b and ws[coord].font.color.rgb.endswith("FFFFFF")
        assert ws[coord].fill.fgColor.rgb.endswith("4472C4")
    assert ws["E4"].value == "ready" and ws["E4"].fill.fgColor.rgb.endswith("C6EFCE")
    assert ws["E5"].fill.fgColor.rgb.endswith("FFC7CE")
    assert ws["F4"].hyperlink.target == "https://v/1.mp4" and ws["F4"].style == "Hyperlink"
    assert ws["F5"].value is None
    assert 10 <= ws.column_dimensions["E"].width <= 60
    assert 10 <= ws.column_dimensions["F"].width <= 60
    assert wb.calculation.fullCalcOnLoad


def test_rows_not_mentioned_are_untouched_and_order_kept(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=5)
    writer = SheetWriter(src, format="xlsx", sheet_name=None, header_row=1)
    out = writer.write(
        tmp_path / "m.results.xlsx", ["status"], {4: {"status": OutputCell("queued")}}
    )
    rows = calamine_rows(out)
    assert [r[0] for r in rows] == ["prompt", *(f"prompt {i}" for i in range(5))]
    assert [r[2] for r in rows] == ["status", "", "", "queued", "", ""]


def test_new_columns_go_right_of_everything_used(tmp_path: Path) -> None:
    src = tmp_path / "m.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["prompt", "durationSec", None, "my notes"])
    ws.append(["p", 5, None, "x", None, "stray value"])
    ws.cell(2, 40).fill = PatternFill("solid", fgColor="FFFF00")  # formatting only, no value
    wb.save(src)
    out = SheetWriter(src, format="xlsx").write(
        tmp_path / "o.xlsx", ["status"], {2: {"status": OutputCell("ready")}}
    )
    ws = openpyxl.load_workbook(out).active
    assert ws["F2"].value == "stray value"
    assert ws["G1"].value == "status" and ws["G2"].value == "ready"


def test_server_text_is_never_a_formula_in_xlsx(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=len(NASTY))
    rows = {2 + i: {"error": OutputCell(text)} for i, text in enumerate(NASTY)}
    out = SheetWriter(src, format="xlsx").write(tmp_path / "o.xlsx", ["error"], rows)

    assert "<f>" not in sheet_xml(out) and "<f " not in sheet_xml(out)
    ws = openpyxl.load_workbook(out).active
    for i, text in enumerate(NASTY):
        cell = ws.cell(2 + i, 3)
        if text:
            assert cell.data_type == "s", text
    # calamine (the loader's reader, and like Excel it decodes _xHHHH_) gives the exact text back
    assert [r[2] for r in calamine_rows(out)[1:]] == NASTY


def test_illegal_characters_are_replaced_not_fatal(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=1)
    bad = "bell\x07 nul\x00 esc\x1b ok\ttab \ud800 end"
    out = SheetWriter(src, format="xlsx").write(
        tmp_path / "o.xlsx", ["error"], {2: {"error": OutputCell(bad, link="https://x/\x01")}}
    )
    value = openpyxl.load_workbook(out).active["C2"].value
    assert value == "bell\ufffd nul\ufffd esc\ufffd ok\ttab \ufffd end"


def test_long_text_is_cut_to_excels_limit_with_a_marker(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=2)
    rows = {2: {"error": OutputCell("x" * 40_000)}, 3: {"error": OutputCell("😀" * 20_000)}}
    out = SheetWriter(src, format="xlsx").write(tmp_path / "o.xlsx", ["error"], rows)
    ws = openpyxl.load_workbook(out).active
    plain, emoji = ws["C2"].value, ws["C3"].value
    assert plain.endswith(TRUNCATION_MARKER) and len(plain) == EXCEL_CELL_MAX_CHARS
    assert emoji.endswith(TRUNCATION_MARKER)
    assert len(emoji.encode("utf-16-le")) // 2 <= EXCEL_CELL_MAX_CHARS


def test_numbers_stay_numbers_but_huge_ids_become_text(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=3)
    rows = {
        2: {"n": OutputCell(42)},
        3: {"n": OutputCell(0.5)},
        4: {"n": OutputCell(12345678901234567890)},
    }
    out = SheetWriter(src, format="xlsx").write(tmp_path / "o.xlsx", ["n"], rows)
    ws = openpyxl.load_workbook(out).active
    assert (ws["C2"].value, ws["C3"].value, ws["C4"].value) == (42, 0.5, "12345678901234567890")


def test_only_web_links_become_hyperlinks(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=2)
    rows = {
        2: {"videoUrl": OutputCell("file:///C:/x", link="file:///C:/x")},
        3: {"videoUrl": OutputCell(None, link="https://v/2.mp4")},
    }
    out = SheetWriter(src, format="xlsx").write(tmp_path / "o.xlsx", ["videoUrl"], rows)
    ws = openpyxl.load_workbook(out).active
    assert ws["C2"].hyperlink is None and ws["C2"].value == "file:///C:/x"
    assert ws["C3"].hyperlink.target == "https://v/2.mp4" and ws["C3"].value == "https://v/2.mp4"


def test_excel_table_grows_to_include_new_columns(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=3)
    wb = openpyxl.load_workbook(src)
    wb.active.add_table(Table(displayName="Videos", ref="A1:B4"))
    wb.save(src)
    out = SheetWriter(src, format="xlsx").write(
        tmp_path / "o.xlsx", ["status", "videoId"], status_rows(0)
    )
    table = openpyxl.load_workbook(out).active.tables["Videos"]
    assert table.ref == "A1:D4"
    assert [c.name for c in table.tableColumns] == ["prompt", "durationSec", "status", "videoId"]
    assert len({c.id for c in table.tableColumns}) == 4


def test_xlsm_keeps_macros_and_extension(tmp_path: Path) -> None:
    plain = simple_xlsx(tmp_path / "plain.xlsx", rows=1)
    src = tmp_path / "macro.xlsm"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(src, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
        zout.writestr("xl/vbaProject.bin", b"fake vba project bytes")
    writer = SheetWriter(src, format="xlsx")
    out = writer.write(
        tmp_path / "macro.results.xlsx", ["status"], {2: {"status": OutputCell("ready")}}
    )
    assert out == tmp_path / "macro.results.xlsm"
    for _ in range(2):  # the VBA project survives repeated saves
        out = writer.write(out, ["status"], {2: {"status": OutputCell("ready")}})
        with zipfile.ZipFile(out) as zf:
            assert zf.read("xl/vbaProject.bin") == b"fake vba project bytes"
            assert "macroEnabled" in zf.read("[Content_Types].xml").decode()


# --- reruns, refreshes, notes --------------------------------------------------------------
def test_rerun_on_results_sheet_reuses_columns_and_is_idempotent(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=3)
    first = SheetWriter(src, format="xlsx").write(
        tmp_path / "m.results.xlsx", ["status", "videoUrl"], status_rows(3)
    )
    second = SheetWriter(first, format="xlsx").write(
        tmp_path / "again.xlsx", [" Status ", "VIDEOURL"], status_rows(3)
    )
    assert header_of(second) == header_of(first) == ["prompt", "durationSec", "status", "videoUrl"]
    assert calamine_rows(second) == calamine_rows(first)
    ws = openpyxl.load_workbook(second).active
    assert ws["D2"].hyperlink.target == "https://cdn.example/v0.mp4"


def test_chinese_result_header_is_reused_for_the_english_name(tmp_path: Path) -> None:
    """A results sheet written before the marks existed: its block (with 视频ID) is ours."""
    src = tmp_path / "m.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["提示词", "状态", "视频ID"])
    wb.active.append(["猫", "queued", "vid_1"])
    wb.save(src)
    out = SheetWriter(src, format="xlsx").write(
        tmp_path / "o.xlsx", ["status"], {2: {"status": OutputCell("ready")}}
    )
    assert calamine_rows(out) == [["提示词", "状态", "视频ID"], ["猫", "ready", "vid_1"]]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_users_own_status_column_stays_theirs(tmp_path: Path, kind: str) -> None:
    header, row = (
        ["prompt", "Status", "状态", "Error"],
        ["p", "approved by legal", "已批准", "none"],
    )
    if kind == "csv":
        src = tmp_path / "m.csv"
        src.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    else:
        src = tmp_path / "m.xlsx"
        wb = openpyxl.Workbook()
        wb.active.append(header)
        wb.active.append(row)
        wb.save(src)
    columns = ["status", "videoId", "error"]
    cells = {2: {"status": OutputCell("ready"), "videoId": "vid_1", "error": None}}
    out = SheetWriter(src, format=kind).write(tmp_path / f"o.{kind}", columns, cells)
    rows = calamine_rows(out) if kind == "xlsx" else read_csv(out)
    assert rows[0] == [*header, "status (hhbatch)", "videoId", "error (hhbatch)"]
    assert rows[1][:4] == row and rows[1][4:6] == ["ready", "vid_1"]
    # a rerun on the results finds our columns again, the user's are still theirs
    again = SheetWriter(out, format=kind).write(tmp_path / f"again.{kind}", columns, cells)
    rows = calamine_rows(again) if kind == "xlsx" else read_csv(again)
    assert rows[0] == [*header, "status (hhbatch)", "videoId", "error (hhbatch)"]
    assert rows[1][:4] == row


def test_refreshes_update_the_same_file(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=2)
    writer = SheetWriter(src, format="xlsx")
    dest = tmp_path / "m.results.xlsx"
    writer.write(
        dest, ["status"], {2: {"status": OutputCell("queued", fill=fill_for_status("queued"))}}
    )
    writer.write(dest, ["status", "videoUrl"], {3: {"status": OutputCell("failed")}})
    out = writer.write(dest, ["status"], {2: {"status": OutputCell("ready")}})
    assert out == dest
    assert calamine_rows(out) == [
        ["prompt", "durationSec", "status", "videoUrl"],
        ["prompt 0", 5, "ready", ""],
        ["prompt 1", 5, "failed", ""],
    ]
    ws = openpyxl.load_workbook(out).active
    assert ws["C2"].fill.fill_type is None  # our old yellow went with the old status
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_user_fill_on_a_reused_cell_is_left_alone(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=1)
    wb = openpyxl.load_workbook(src)
    wb.active["C1"] = "status"  # an earlier results sheet: status next to videoId is ours
    wb.active["D1"] = "videoId"
    wb.active["C2"].fill = PatternFill("solid", fgColor="0000FF")
    wb.save(src)
    out = SheetWriter(src, format="xlsx").write(
        tmp_path / "o.xlsx", ["status"], {2: {"status": OutputCell("ready")}}
    )
    assert openpyxl.load_workbook(out).active["C2"].fill.fgColor.rgb.endswith("0000FF")


def test_notes_highlight_and_comment_input_cells(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=2)
    wb = openpyxl.load_workbook(src)
    wb.active["A3"].comment = Comment("my own remark", "Lin")
    wb.save(src)
    writer = SheetWriter(src, format="xlsx")
    notes = [CellNote(2, 2, "durationSec must be 3 to 12"), CellNote(3, 1, "=prompt too short")]
    out = writer.write(tmp_path / "m.checked.xlsx", ["validationErrors"], {}, notes)
    ws = openpyxl.load_workbook(out).active
    assert ws["B2"].comment.text == "[hhbatch] durationSec must be 3 to 12"
    assert ws["B2"].fill.fgColor.rgb.endswith("FFC7CE")
    assert ws["A3"].comment.text == "my own remark\n\n[hhbatch] =prompt too short"
    assert ws["A3"].comment.author == "Lin"

    # a rerun on the checked file starts clean: stale notes gone, the user's remark kept
    rerun = SheetWriter(out, format="xlsx").write(tmp_path / "again.xlsx", ["validationErrors"], {})
    ws2 = openpyxl.load_workbook(rerun).active
    assert ws2["B2"].comment is None and ws2["B2"].fill.fill_type is None
    assert ws2["A3"].comment.text == "my own remark"

    # a later write of the same writer without notes restores the cells
    out = writer.write(tmp_path / "m.checked.xlsx", ["validationErrors"], {})
    ws = openpyxl.load_workbook(out).active
    assert ws["B2"].comment is None and ws["B2"].fill.fill_type is None
    assert ws["A3"].comment.text == "my own remark"


# --- CSV -----------------------------------------------------------------------------------
CSV_SOURCE = (
    "prompt,durationSec,code,when,note\r\n"
    '"一只猫, 在草地上",5,007,2024-01-02,"=SUM(A1)"\r\n'
    '"multi\nline ""quoted""",6,1.50,3/4,\r\n'
    "short,3\r\n"
)


def read_csv(path: Path, encoding: str = "utf-8-sig", delimiter: str = ",") -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.reader(fh, delimiter=delimiter))


def test_csv_keeps_original_cells_as_text_and_appends_columns(tmp_path: Path) -> None:
    src = tmp_path / "m.csv"
    src.write_bytes(CSV_SOURCE.encode("utf-8"))
    rows = {
        2 + i: {"status": OutputCell("ready"), "error": OutputCell(text)}
        for i, text in enumerate(NASTY[:3])
    }
    out = SheetWriter(src, format="csv", csv_encoding="utf-8").write(
        tmp_path / "m.results.csv", ["status", "error"], rows
    )
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    original = read_csv(src, "utf-8")
    written = read_csv(out)
    for before, after in zip(original, written, strict=True):
        assert after[: len(before)] == before
    assert written[0] == ["prompt", "durationSec", "code", "when", "note", "status", "error"]
    assert written[1][5:] == ["ready", "'=1+1"]
    assert written[2][5:] == ["ready", '\'=HYPERLINK("http://evil","click")']
    assert written[3] == ["short", "3", "", "", "", "ready", "'+SUM(A1:A2)"]
    assert b"\r\n" in raw


@pytest.mark.parametrize("text", NASTY)
def test_csv_defuses_formula_text(tmp_path: Path, text: str) -> None:
    src = tmp_path / "m.csv"
    src.write_text("prompt\nhello\n", encoding="utf-8")
    out = SheetWriter(src, format="csv").write(
        tmp_path / "o.csv", ["error"], {2: {"error": OutputCell(text)}}
    )
    value = read_csv(out)[1][1]
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        assert value == "'" + text
    else:
        assert value == text
    assert out.read_bytes().startswith("\ufeffprompt,error\r\nhello,".encode())


def test_csv_semicolon_gbk_source_becomes_utf8_bom_with_same_delimiter(tmp_path: Path) -> None:
    src = tmp_path / "中文 清单.csv"
    src.write_bytes("提示词;时长\r\n小狗跳舞;5\r\n".encode("gbk"))
    manifest = SimpleNamespace(
        path=src,
        format="csv",
        sheet_name="中文 清单",
        header_row=1,
        csv_encoding="gbk",
        csv_delimiter=";",
    )
    out = SheetWriter.for_manifest(manifest).write(
        tmp_path / "out.xlsx", ["状态"], {2: {"状态": OutputCell("ready")}}
    )
    assert out == tmp_path / "out.csv"  # a copy of a CSV is a CSV
    assert out.read_bytes() == "\ufeff提示词;时长;状态\r\n小狗跳舞;5;ready\r\n".encode()


def test_csv_rerun_is_idempotent(tmp_path: Path) -> None:
    src = tmp_path / "m.csv"
    src.write_bytes(CSV_SOURCE.encode("utf-8"))
    rows = {2: {"status": OutputCell("ready"), "videoId": "v1", "error": OutputCell("=x")}}
    columns = ["status", "videoId", "error"]
    first = SheetWriter(src, format="csv").write(tmp_path / "r.csv", columns, rows)
    second = SheetWriter(first, format="csv").write(
        tmp_path / "r2.csv", ["STATUS", "videoId", "error"], rows
    )
    assert second.read_bytes() == first.read_bytes()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(NASTY),
            st.from_regex(r"[=+\-@\t\r][^\x00]{0,20}", fullmatch=True),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_round_trips_exactly(tmp_path: Path, texts: list[str]) -> None:
    """Whatever the server says comes back as the same text (after illegal characters)."""
    src = simple_xlsx(tmp_path / "m.xlsx", rows=len(texts))
    rows = {2 + i: {"error": OutputCell(text)} for i, text in enumerate(texts)}
    out = SheetWriter(src, format="xlsx").write(tmp_path / "o.xlsx", ["error"], rows)
    for value, text in zip(calamine_rows(out)[1:], texts, strict=True):
        expected = clean_text(text)
        if expected.strip(" \u3000\xa0"):
            assert value[2] == expected
        else:  # a message of nothing but spaces may come back trimmed; tabs/newlines survive
            assert value[2] in (expected, expected.strip(" "))
    assert not re.search(r"<f[ >]", sheet_xml(out))

    csv_src = tmp_path / "m.csv"
    csv_src.write_text("prompt\n" + "x\n" * len(texts), encoding="utf-8")
    out = SheetWriter(csv_src, format="csv").write(tmp_path / "o.csv", ["error"], rows)
    values = [r[1] for r in read_csv(out)[1:]]
    expected = [clean_text(t) for t in texts]
    assert values == [("'" + t if t[:1] in "=+-@\t\r" and t else t) for t in expected]


# --- files: atomic replace, locks, paths ---------------------------------------------------
def test_locked_destination_writes_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = simple_xlsx(tmp_path / "campaign.xlsx", rows=1)
    dest = tmp_path / "campaign.results.xlsx"
    dest.write_bytes(b"the file Excel has open")
    (tmp_path / "campaign.results (2).xlsx").write_bytes(b"someone else's")
    real_replace = os.replace

    def locked(src_: os.PathLike[str], dst: os.PathLike[str]) -> None:
        if Path(dst) == dest:
            raise PermissionError(13, "The process cannot access the file")
        real_replace(src_, dst)

    monkeypatch.setattr(os, "replace", locked)
    writer = SheetWriter(src, format="xlsx")
    out = writer.write(dest, ["status"], {2: {"status": OutputCell("queued")}})
    assert out == tmp_path / "campaign.results (3).xlsx"
    assert dest.read_bytes() == b"the file Excel has open"
    assert (tmp_path / "campaign.results (2).xlsx").read_bytes() == b"someone else's"
    # every refresh goes to the same sibling, not (4), (5), ...
    again = writer.write(dest, ["status"], {2: {"status": OutputCell("ready")}})
    assert again == out and calamine_rows(out)[1][2] == "ready"
    # once Excel lets go, the real destination is written again
    monkeypatch.setattr(os, "replace", real_replace)
    assert writer.write(dest, ["status"], {}) == dest
    assert calamine_rows(dest)[1][2] == "ready"


def test_nothing_writable_raises_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=1)

    def always_locked(src_: object, dst: object) -> None:
        raise PermissionError(13, "locked")

    monkeypatch.setattr(os, "replace", always_locked)
    with pytest.raises(OutputError, match="is locked"):
        SheetWriter(src, format="xlsx").write(tmp_path / "o.xlsx", ["status"], {})
    assert [p.name for p in tmp_path.iterdir()] == ["m.xlsx"]  # no temp files left behind


def test_unwritable_folder_raises_output_error(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=1)
    blocker = tmp_path / "not a folder"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="Cannot write the results sheet into the folder"):
        SheetWriter(src, format="xlsx").write(blocker / "o.xlsx", ["status"], {})


def test_failed_save_leaves_destination_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=1)
    dest = tmp_path / "o.xlsx"
    dest.write_bytes(b"previous results")
    writer = SheetWriter(src, format="xlsx")

    def half_save(path: Path) -> None:
        path.write_bytes(b"half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer._sheet, "save", half_save)
    with pytest.raises(OutputError, match="No space left on device"):
        writer.write(dest, ["status"], {})
    assert dest.read_bytes() == b"previous results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.xlsx", "o.xlsx"]


def test_paths_with_spaces_and_chinese(tmp_path: Path) -> None:
    folder = tmp_path / "营销 团队" / "春季 活动"
    folder.mkdir(parents=True)
    src = simple_xlsx(folder / "视频 清单.xlsx", rows=1)
    out = SheetWriter(src, format="xlsx").write(
        folder / "视频 清单.results.xlsx", ["状态"], {2: {"状态": OutputCell("完成")}}
    )
    assert out.name == "视频 清单.results.xlsx"
    assert calamine_rows(out)[1] == ["prompt 0", 5, "完成"]


def test_destination_without_extension_gets_one(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=1)
    out = SheetWriter(src, format="xlsx").write(tmp_path / "m.results", ["status"], {})
    assert out == tmp_path / "m.results.xlsx"


# --- construction --------------------------------------------------------------------------
def test_manifest_like_objects_are_accepted(tmp_path: Path) -> None:
    src = rich_workbook(tmp_path / "m.xlsx")
    manifest = SimpleNamespace(
        path=src,
        format="xlsx",
        sheet_name="视频",
        header_row=3,
        csv_encoding=None,
        csv_delimiter=None,
    )
    for writer in (SheetWriter(manifest), SheetWriter.for_manifest(manifest)):
        out = writer.write(tmp_path / "o.xlsx", ["status"], {4: {"status": OutputCell("ready")}})
        assert openpyxl.load_workbook(out)["视频"]["E4"].value == "ready"


def test_unusable_sources_raise_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="Cannot read"):
        SheetWriter(tmp_path / "missing.xlsx", format="xlsx")
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a zip")
    with pytest.raises(OutputError, match="Cannot open"):
        SheetWriter(junk, format="xlsx")
    with pytest.raises(OutputError, match="no sheet named 'Nope'"):
        SheetWriter(simple_xlsx(tmp_path / "m.xlsx"), format="xlsx", sheet_name="Nope")
    with pytest.raises(OutputError, match=r"save the sheet as \.xlsx"):
        SheetWriter(tmp_path / "binary.xlsb", format="xlsx")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_rows_must_name_requested_columns_below_the_header(tmp_path: Path, fmt: str) -> None:
    if fmt == "xlsx":
        source = simple_xlsx(tmp_path / "m.xlsx")
    else:
        source = tmp_path / "m.csv"
        source.write_text("prompt,durationSec\nA horse,5\n", encoding="utf-8")
    writer = SheetWriter(source, format=fmt)
    out = tmp_path / f"o.{fmt}"
    with pytest.raises(ValueError, match="not one of the columns"):
        writer.write(out, ["status"], {2: {"videoId": OutputCell("x")}})
    with pytest.raises(ValueError, match="not below the header"):
        writer.write(out, ["status"], {1: {"status": OutputCell("x")}})


def test_fill_for_status_normalises() -> None:
    assert fill_for_status("Not_Submitted") == STATUS_FILLS["not submitted"]
    assert fill_for_status(" READY ") == STATUS_FILLS["ready"]
    assert fill_for_status("mystery") is None and fill_for_status(None) is None


def test_auto_filter_grows_to_include_new_columns(tmp_path: Path) -> None:
    src = simple_xlsx(tmp_path / "m.xlsx", rows=3)
    wb = openpyxl.load_workbook(src)
    wb.active.auto_filter.ref = "A1:B4"
    wb.save(src)
    out = SheetWriter(src, format="xlsx").write(tmp_path / "o.xlsx", ["status"], {})
    assert openpyxl.load_workbook(out).active.auto_filter.ref == "A1:C4"


def test_merged_block_in_our_column_is_skipped_not_fatal(tmp_path: Path) -> None:
    src = tmp_path / "m.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["prompt", "status", "videoId"])
    ws.append(["p1", None])
    ws.append(["p2", None])
    ws["B2"] = "merged remark"
    ws.merge_cells("B2:B3")
    wb.save(src)
    rows = {2: {"status": OutputCell("ready")}, 3: {"status": OutputCell("failed")}}
    out = SheetWriter(src, format="xlsx").write(tmp_path / "o.xlsx", ["status"], rows)
    ws = openpyxl.load_workbook(out).active
    assert ws["B2"].value == "ready" and [str(r) for r in ws.merged_cells.ranges] == ["B2:B3"]


# --- with the real loader ------------------------------------------------------------------
def test_loader_manifest_round_trip_xlsx(tmp_path: Path) -> None:
    from hhbatch.loader import load_manifest

    src = tmp_path / "活动 清单.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["提示词", "时长"])
    wb.active.append(["一只猫在草地上奔跑", 5])
    wb.active.append(["狗", 6])
    wb.save(src)
    manifest = load_manifest(src)
    problems = [p for row in manifest.rows for p in row.problems]
    assert problems, "the one-character prompt is a problem"
    index = {c.header: c.index for c in manifest.columns}
    notes = [CellNote(p.sheet_row, index[p.column], p.message) for p in problems]
    rows = {
        2: {
            "状态": OutputCell("ready"),
            "视频链接": OutputCell("https://v/=1", link="https://v/=1"),
        }
    }
    out = SheetWriter.for_manifest(manifest).write(
        tmp_path / "活动 清单.results.xlsx", ["状态", "视频链接"], rows, notes
    )
    again = load_manifest(out)
    assert [c.output.name if c.output else c.field for c in again.columns] == [
        "prompt",
        "durationSec",
        "status",
        "videoUrl",
    ]
    assert again.rows[0].previous == {"status": "ready", "videoUrl": "https://v/=1"}
    assert openpyxl.load_workbook(out).active["A3"].comment.text.startswith("[hhbatch] ")


def test_loader_manifest_round_trip_csv(tmp_path: Path) -> None:
    from hhbatch.loader import load_manifest

    src = tmp_path / "m.csv"
    src.write_bytes("prompt;durationSec\r\nA cat running;5\r\n".encode("gbk"))
    manifest = load_manifest(src)
    out = SheetWriter.for_manifest(manifest).write(
        tmp_path / "m.results.csv",
        ["status", "videoId", "error"],
        {2: {"status": OutputCell("failed"), "videoId": None, "error": OutputCell("-bad")}},
    )
    again = load_manifest(out)
    assert again.csv_delimiter == ";"
    assert again.rows[0].previous["status"] == "failed"
    assert again.rows[0].previous["error"] == "-bad"  # the defusing quote is ours: read off


def tiny_png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def test_pictures_are_kept_or_their_loss_is_reported(tmp_path: Path) -> None:
    import io

    import xlsxwriter
    from openpyxl.drawing.image import PILImage

    src = tmp_path / "m.xlsx"
    book = xlsxwriter.Workbook(str(src))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["prompt", "durationSec"])
    sheet.write_row(1, 0, ["A cat running", 5])
    sheet.insert_image("D2", "p.png", {"image_data": io.BytesIO(tiny_png())})
    book.close()
    writer = SheetWriter(src, format="xlsx")
    out = writer.write(tmp_path / "o.xlsx", ["status"], {2: {"status": OutputCell("ready")}})
    with zipfile.ZipFile(out) as zf:
        has_media = any(n.startswith("xl/media/") for n in zf.namelist())
    if PILImage:
        assert has_media and writer.warnings == []
    else:
        assert not has_media
        assert writer.warnings == ["Pictures in m.xlsx are not copied into the results sheet."]
    assert SheetWriter(simple_xlsx(tmp_path / "plain.xlsx"), format="xlsx").warnings == []


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_bare_values_are_accepted_as_cells(tmp_path: Path, kind: str) -> None:
    if kind == "csv":
        src = tmp_path / "m.csv"
        src.write_text("prompt\nx\ny\n", encoding="utf-8")
    else:
        src = simple_xlsx(tmp_path / "m.xlsx", rows=2)
    rows = {2: {"videoId": "vid_1"}, 3: {"videoId": None}}
    out = SheetWriter(src, format=kind).write(tmp_path / f"o.{kind}", ["videoId"], rows)  # type: ignore[arg-type]
    values = [r[-1] for r in (calamine_rows(out) if kind == "xlsx" else read_csv(out))]
    assert values == ["videoId", "vid_1", ""]


def test_csv_with_title_lines_above_the_header(tmp_path: Path) -> None:
    src = tmp_path / "m.csv"
    src.write_text("Spring campaign\n\nprompt,durationSec\nA cat running,5\n", encoding="utf-8")
    writer = SheetWriter(src, format="csv", header_row=3)
    out = writer.write(
        tmp_path / "o.csv",
        ["status"],
        {4: {"status": OutputCell("ready")}},
        [CellNote(4, 1, "ignored in CSV")],
    )
    assert read_csv(out) == [
        ["Spring campaign"],
        [],
        ["prompt", "durationSec", "status"],
        ["A cat running", "5", "ready"],
    ]
