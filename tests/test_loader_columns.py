"""Rows whose requests and files stay the sheet's columns until read (issue #12.3).

``hhbatch validate`` reads no row's request or files: the loader keeps them as columns
(``SheetColumns``) and the summary counts whole columns. These tests pin that what a row shows
when read, and what the summary counts, are what a row-by-row loader gave: the same dicts in
the same key order, the same counts whichever way they are taken, upload kinds in the order the
rows meet them, and the bulk paths (plain prompts, plain storage keys, filled text columns,
workbooks without marks) deciding as the cell-by-cell ones do.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from hhbatch import spec
from hhbatch.config import Config
from hhbatch.loader import load_manifest, summarize
from hhbatch.loader.model import ManifestRow
from hhbatch.marks import read_marks

MEDIA = Path(__file__).parent / "data" / "media"


def csv_manifest(folder: Path, header: str, *lines: str) -> Path:
    path = folder / "m.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_a_row_read_shows_the_request_a_row_by_row_check_made(tmp_path: Path) -> None:
    """Fields left to right without the empty or wrong cells, then the defaults it lacks."""
    path = csv_manifest(
        tmp_path,
        "Resolution,Prompt,Duration (s),Style",
        "1080P,A horse runs,6,",
        ",A cat sleeps,99,noir",
    )
    config = Config(defaults={"style": "anime", "durationSec": 5})
    manifest = load_manifest(path, config=config)
    first, second = manifest.rows
    assert list(first.request.items()) == [
        ("resolution", "1080p"),
        ("prompt", "A horse runs"),
        ("durationSec", 6),
        ("style", "anime"),
    ]
    # the wrong duration is left out, and the default stands in (the row is invalid anyway)
    assert list(second.request.items()) == [
        ("prompt", "A cat sleeps"),
        ("style", "noir"),
        ("durationSec", 5),
    ]
    assert not second.valid
    assert first.request is first.request  # made once, then the row's own dict


def test_the_summary_is_the_same_whether_rows_were_read_or_not(tmp_path: Path) -> None:
    lines = [
        f"Prompt {i},{3 + i % 10},{'1080p' if i % 3 else '720p'},videos/k/{i % 7}.png"
        for i in range(40)
    ]
    lines.append("Bad row,99,720p,")
    path = csv_manifest(tmp_path, "Prompt,Duration (s),Resolution,Source image", *lines)
    columns = summarize(load_manifest(path))
    manifest = load_manifest(path)
    for row in manifest.rows[::2]:
        row.request = dict(row.request)  # no longer the columns': the summary asks each row
    assert summarize(manifest) == columns
    assert columns.rows_valid == 40
    assert columns.storage_keys_reused == 7
    assert columns.videos_by_resolution == {"720p": 14, "1080p": 26}
    assert manifest.rows[0].files["sourceImageKey"].key == "videos/k/0.png"


@pytest.mark.parametrize(
    ("rows", "kinds"),
    [
        ([",assets/tiny.mp3", "assets/tiny.png,"], ["audio", "image"]),
        (["assets/tiny.png,", ",assets/tiny.mp3"], ["image", "audio"]),
        (["assets/tiny.png,assets/tiny.mp3"], ["image", "audio"]),
    ],
)
def test_upload_kinds_keep_the_order_the_rows_meet_them(
    tmp_path: Path, rows: list[str], kinds: list[str]
) -> None:
    """Column by column would meet every image before any audio; rows meet them in order."""
    (tmp_path / "assets").mkdir()
    for name in ("tiny.png", "tiny.mp3"):
        shutil.copy(MEDIA / name, tmp_path / "assets" / name)
    lines = [f"A horse runs,6,{files}" for files in rows]
    path = csv_manifest(tmp_path, "Prompt,Duration (s),Source image,Reference audio", *lines)
    summary = summarize(load_manifest(path))
    assert list(summary.uploads_by_kind) == kinds
    assert summary.to_dict()["uploadsByKind"] == dict.fromkeys(kinds, 1)


def test_rows_made_by_hand_still_work() -> None:
    row = ManifestRow(7, {"prompt": "A horse runs"})
    assert (row.files, row.previous, row.problems, row.valid) == ({}, {}, [], True)
    row.problems.append("kept")  # type: ignore[arg-type]
    assert row.problems == ["kept"]


@pytest.mark.parametrize("name", [n for n, f in spec.CREATE_FIELDS.items() if f.type == "string"])
def test_texts_acceptable_agrees_with_check_field(name: str) -> None:
    field = spec.CREATE_FIELDS[name]
    low, high = int(field.minimum or 1), int(field.maximum or 10_000)
    lengths = sorted({max(low - 1, 1), low, low + 1, high - 1, high, high + 1})
    texts = ["x" * n for n in lengths]
    for i in range(len(texts)):
        for j in range(i, len(texts)):
            chosen = texts[i : j + 1]
            expected = all(spec.check_field(name, text) is None for text in chosen)
            assert spec.texts_acceptable(name, chosen) == expected, (name, lengths[i], lengths[j])


def test_plain_prompts_are_trimmed_and_a_bad_one_is_still_named(tmp_path: Path) -> None:
    high = int(spec.CREATE_FIELDS["prompt"].maximum or 0)
    path = csv_manifest(tmp_path, "Prompt,Duration (s)", '"  A horse runs  ",6', "A cat,6")
    assert [r.request["prompt"] for r in load_manifest(path).rows] == ["A horse runs", "A cat"]
    path = csv_manifest(tmp_path, "Prompt,Duration (s)", "A horse runs,6", f"{'x' * (high + 1)},6")
    [problem] = load_manifest(path).all_problems()
    assert problem.cell == "A3"
    assert problem.message.startswith("m!A3 (Prompt): prompt must be ")


def test_a_row_of_spaces_is_blank_in_a_text_column(tmp_path: Path) -> None:
    path = csv_manifest(tmp_path, "Prompt,Duration (s)", "A horse runs,6", "   ,", "A cat,6")
    manifest = load_manifest(path)
    assert [r.sheet_row for r in manifest.rows] == [2, 4]
    assert manifest.valid


def test_plain_storage_keys_and_keys_that_need_trimming(tmp_path: Path) -> None:
    path = csv_manifest(
        tmp_path,
        "Prompt,Duration (s),Source image",
        "A horse runs,6,videos/a.png",
        'A cat,6," videos/b.png "',
        'A dog,6,"""videos/c.png"""',
    )
    keys = [r.files["sourceImageKey"].key for r in load_manifest(path).rows]
    assert keys == ["videos/a.png", "videos/b.png", "videos/c.png"]


def test_a_videos_folder_beside_the_sheet_makes_keys_paths(tmp_path: Path) -> None:
    """``videos/…`` names a local file when the sheet's folder has one: not taken in bulk."""
    (tmp_path / "videos").mkdir()
    shutil.copy(MEDIA / "tiny.png", tmp_path / "videos" / "a.png")
    path = csv_manifest(
        tmp_path,
        "Prompt,Duration (s),Source image",
        "A horse,6,videos/a.png",
        "A cat,6,videos/b.png",
    )
    first, second = (r.files["sourceImageKey"] for r in load_manifest(path).rows)
    assert (first.path, first.key) == ((tmp_path / "videos" / "a.png").resolve(), None)
    assert (second.path, second.key) == (None, "videos/b.png")


@pytest.mark.parametrize("spelt", [b"_hhbatch.", b"&#95;hhbatch.", b"&#x5F;hhbatch."])
def test_marks_are_read_however_the_name_is_spelt(tmp_path: Path, spelt: bytes) -> None:
    """The byte check that spares the XML parser must not miss a mark spelt with a character
    reference (XML allows it for any character)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Videos"
    ws.append(["Prompt", "Status"])
    name = DefinedName("_hhbatch.status", localSheetId=0, attr_text="Videos!$B$1", hidden=True)
    ws.defined_names.add(name)
    path = tmp_path / "m.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as archive:
        parts = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in parts:
            if info.filename == "xl/workbook.xml":
                assert b"_hhbatch." in data
                data = data.replace(b"_hhbatch.", spelt)
            archive.writestr(info, data)
    [mark] = read_marks(path)["Videos"]
    assert (mark.column, mark.header_row, mark.name) == (2, 1, "status")
