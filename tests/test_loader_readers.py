"""Reading manifests: XLSX/XLSM sheets, CSV encodings and delimiters, unusable files."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from hhbatch.config import Config
from hhbatch.errors import ManifestError
from hhbatch.loader import load_manifest

DATA = Path(__file__).parent / "data"
HEADER = ["Prompt", "Duration (s)", "Aspect ratio"]
ROW = ["A horse gallops on the beach", 6, "16:9"]


def write_xlsx(path: Path, rows: list[list[object]], title: str = "Sheet1") -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def requests(manifest) -> list[dict]:
    return [row.request for row in manifest.rows]


# --- XLSX ---------------------------------------------------------------------------------
def test_xlsx_reads_first_sheet_with_header_on_row_one(tmp_path: Path) -> None:
    manifest = load_manifest(write_xlsx(tmp_path / "m.xlsx", [HEADER, ROW]))
    assert manifest.format == "xlsx"
    assert manifest.sheet_name == "Sheet1"
    assert manifest.header_row == 1
    assert [row.sheet_row for row in manifest.rows] == [2]
    assert requests(manifest) == [
        {"prompt": "A horse gallops on the beach", "durationSec": 6, "aspectRatio": "16:9"}
    ]


def test_xlsx_skips_hidden_sheets_and_takes_the_first_visible(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    hidden = workbook.active
    hidden.title = "Lists"
    hidden.append(["not", "a", "manifest"])
    hidden.sheet_state = "hidden"
    visible = workbook.create_sheet("Campaign")
    visible.append(HEADER)
    visible.append(ROW)
    workbook.active = 1
    workbook.save(tmp_path / "m.xlsx")
    manifest = load_manifest(tmp_path / "m.xlsx")
    assert manifest.sheet_name == "Campaign"
    assert len(manifest.rows) == 1


def test_sheet_option_picks_a_named_sheet_case_insensitively(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["Title only"])
    second = workbook.create_sheet("May Launch")
    second.append(HEADER)
    second.append(ROW)
    workbook.save(tmp_path / "m.xlsx")
    assert load_manifest(tmp_path / "m.xlsx", sheet="may launch").sheet_name == "May Launch"
    assert load_manifest(tmp_path / "m.xlsx", config=Config(sheet="May Launch")).rows


def test_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "m.xlsx", [HEADER, ROW], title="Videos")
    with pytest.raises(ManifestError, match=r"has no sheet named 'Nope'; its sheets are: Videos\."):
        load_manifest(path, sheet="Nope")


def test_header_below_empty_rows_and_a_title_row(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A1"] = "Spring campaign 2026 (do not edit this line)"
    sheet["B3"], sheet["C3"], sheet["D3"] = HEADER
    sheet["B4"], sheet["C4"], sheet["D4"] = ROW
    workbook.save(tmp_path / "m.xlsx")
    manifest = load_manifest(tmp_path / "m.xlsx")
    assert manifest.header_row == 3
    assert [c.letter for c in manifest.columns if c.field] == ["B", "C", "D"]
    assert manifest.rows[0].sheet_row == 4


def test_header_on_row_three_after_blank_rows(tmp_path: Path) -> None:
    manifest = load_manifest(write_xlsx(tmp_path / "m.xlsx", [[], [], HEADER, ROW]))
    assert manifest.header_row == 3
    assert manifest.rows[0].sheet_row == 4


def test_fully_empty_rows_are_skipped_and_row_numbers_kept(tmp_path: Path) -> None:
    rows = [HEADER, ROW, [None, None, None], ["   ", "", None], ROW]
    manifest = load_manifest(write_xlsx(tmp_path / "m.xlsx", rows))
    assert [row.sheet_row for row in manifest.rows] == [2, 5]


def test_xlsm_is_read_like_xlsx(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "m.xlsx", [HEADER, ROW])
    macro = path.rename(tmp_path / "m.xlsm")
    assert load_manifest(macro).rows[0].request["durationSec"] == 6


def test_workbook_written_by_xlsxwriter(tmp_path: Path) -> None:
    """A different writer (XlsxWriter): shared strings off, real times, numbers as text."""
    path = tmp_path / "xw.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = workbook.add_worksheet("Plan")
    time_format = workbook.add_format({"num_format": "hh:mm:ss"})
    sheet.write_row(0, 0, ["提示词", "时长", "画面比例", "分辨率"])
    sheet.write_row(1, 0, ["一匹马在草原上奔跑", 6, "9:16", "1080P"])
    sheet.write_string(2, 0, "Close-up of a steaming coffee cup")
    sheet.write_string(2, 1, "8")
    sheet.write_datetime(2, 2, dt.time(16, 9), time_format)
    sheet.write_string(2, 3, "720p")
    workbook.close()
    manifest = load_manifest(path)
    assert manifest.language == "zh"
    assert requests(manifest) == [
        {
            "prompt": "一匹马在草原上奔跑",
            "durationSec": 6,
            "aspectRatio": "9:16",
            "resolution": "1080p",
        },
        {
            "prompt": "Close-up of a steaming coffee cup",
            "durationSec": 8,
            "aspectRatio": "16:9",
            "resolution": "720p",
        },
    ]


# --- CSV ----------------------------------------------------------------------------------
CSV_TEXT = "提示词,时长,画面比例\r\n一匹马在草原上奔跑,6,16:9\r\n"


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (CSV_TEXT.encode("utf-8"), "utf-8"),
        (CSV_TEXT.encode("utf-8-sig"), "utf-8-sig"),
        (CSV_TEXT.encode("gb18030"), "gb18030"),
        (CSV_TEXT.encode("gbk"), "gb18030"),
        (CSV_TEXT.encode("utf-16"), "utf-16"),
    ],
    ids=["utf8", "utf8-bom", "gb18030", "gbk", "utf16"],
)
def test_csv_encodings_are_detected(tmp_path: Path, encoded: bytes, encoding: str) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(encoded)
    manifest = load_manifest(path)
    assert manifest.csv_encoding == encoding
    assert requests(manifest) == [
        {"prompt": "一匹马在草原上奔跑", "durationSec": 6, "aspectRatio": "16:9"}
    ]
    assert manifest.sheet_name == "m"


def test_gbk_fixture_as_chinese_excel_saves_it() -> None:
    manifest = load_manifest(DATA / "gbk_campaign.csv")
    assert manifest.csv_encoding == "gb18030"
    assert manifest.language == "zh"
    assert [r.request["resolution"] for r in manifest.rows] == ["1080p", "720p"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_csv_delimiters_are_sniffed(tmp_path: Path, delimiter: str) -> None:
    lines = [
        delimiter.join(["Prompt", "Duration (s)", "Style"]),
        delimiter.join(['"A horse, a cat; and a dog"', "6", "cinematic"]),
    ]
    path = tmp_path / "m.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = load_manifest(path)
    assert manifest.csv_delimiter == delimiter
    assert requests(manifest) == [
        {"prompt": "A horse, a cat; and a dog", "durationSec": 6, "style": "cinematic"}
    ]


def test_semicolon_fixture_with_decimal_comma() -> None:
    manifest = load_manifest(DATA / "semicolon_campaign.csv")
    assert manifest.csv_delimiter == ";"
    assert [r.request.get("cfgScale") for r in manifest.rows] == [0.5, 1.0]
    assert manifest.rows[1].request["prompt"] == "A cat; sitting"


def test_csv_multiline_prompt_keeps_record_numbers(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('Prompt,Duration (s)\n"line one\nline two",6\nshort,99\n', encoding="utf-8")
    manifest = load_manifest(path)
    assert manifest.rows[0].request["prompt"] == "line one\nline two"
    assert manifest.rows[1].errors[0].cell == "B3"


# --- unusable files -----------------------------------------------------------------------
def _one_sentence(message: str) -> None:
    assert "\n" not in message
    assert "Traceback" not in message
    assert message.endswith(".")


def test_not_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes((DATA / "media" / "tiny.png").read_bytes())
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert "is not a spreadsheet" in str(err.value)
    _one_sentence(str(err.value))


def test_text_file_without_headers(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("remember to buy milk\nand eggs\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"no header row found; the first non-empty row"):
        load_manifest(path)


def test_corrupt_workbook(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", [HEADER, ROW]).read_bytes()
    path = tmp_path / "broken.xlsx"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ManifestError, match=r"is damaged and cannot be opened") as err:
        load_manifest(path)
    _one_sentence(str(err.value))


def test_renamed_file_with_xlsx_extension(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("Prompt,Duration\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"is not a valid Excel workbook"):
        load_manifest(path)


def test_encrypted_workbook(tmp_path: Path) -> None:
    """Password-protected OOXML is an OLE compound file holding an EncryptedPackage stream."""
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    path = tmp_path / "secret.xlsx"
    path.write_bytes(
        ole
        + "EncryptionInfo".encode("utf-16-le")
        + b"\x00" * 32
        + "EncryptedPackage".encode("utf-16-le")
        + b"\x00" * 64
    )
    with pytest.raises(ManifestError, match=r"is password-protected; remove the password") as err:
        load_manifest(path)
    _one_sentence(str(err.value))


def test_damaged_legacy_xls(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024)
    with pytest.raises(ManifestError, match=r"is damaged and cannot be read") as err:
        load_manifest(path)
    _one_sentence(str(err.value))


@pytest.mark.parametrize("name", ["libreoffice.ods", "libreoffice.xls"])
def test_opendocument_and_legacy_xls_saved_by_libreoffice_are_read(name: str) -> None:
    manifest = load_manifest(DATA / "inputs" / name)
    assert manifest.format == name.rsplit(".", 1)[1]
    assert manifest.sheet_name == "office"
    assert [r.request["aspectRatio"] for r in manifest.rows] == ["16:9", "1:1", "9:16"]
    assert manifest.rows[1].request["prompt"] == "一匹马在草原上奔跑"
    assert manifest.valid


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ManifestError, match=r"is a zip archive, not an Excel workbook"):
        load_manifest(path)


def test_damaged_opendocument(tmp_path: Path) -> None:
    path = tmp_path / "sheet.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(ManifestError, match=r"is damaged and cannot be read"):
        load_manifest(path)


def test_empty_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "m.xlsx", [])
    with pytest.raises(ManifestError, match=r"Sheet 'Sheet1' of m\.xlsx is empty") as err:
        load_manifest(path)
    _one_sentence(str(err.value))


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(b"")
    with pytest.raises(ManifestError, match=r"is empty \(0 bytes\)"):
        load_manifest(path)


def test_header_without_rows(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "m.xlsx", [HEADER, [None, None, None]])
    with pytest.raises(ManifestError, match=r"no rows below the header on row 1"):
        load_manifest(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"does not exist"):
        load_manifest(tmp_path / "nope.xlsx")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError):
        load_manifest(tmp_path)
