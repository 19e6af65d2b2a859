"""Spreadsheet reality is normalised before the verdict: numbers, spaces, enum case, Excel times."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from hhbatch.loader import load_manifest
from hhbatch.loader.normalize import aspect_ratio_text, is_blank, normalize_field


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (6, 6),
        (6.0, 6),
        ("6", 6),
        (" 6 ", 6),
        ("6.0", 6),
        ("6\u00a0", 6),
        ("６", 6),
        ("6s", 6),
        ("6 sec", 6),
        ("6秒", 6),
        ("+6", 6),
    ],
)
def test_whole_numbers(raw: object, expected: int) -> None:
    value = normalize_field("durationSec", raw)
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize(
    ("raw", "expected"), [("6.5", 6.5), (6.5, 6.5), ("six", "six"), ("", None), (True, True)]
)
def test_not_whole_numbers_are_left_for_the_verdict(raw: object, expected: object) -> None:
    value = normalize_field("durationSec", raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("raw", "expected"), [(0.5, 0.5), ("0.5", 0.5), ("0,5", 0.5), (" .5 ", 0.5), (1, 1), ("1", 1)]
)
def test_decimals(raw: object, expected: float) -> None:
    assert normalize_field("cfgScale", raw) == expected


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("resolution", "1080P", "1080p"),
        ("resolution", " 720P ", "720p"),
        ("resolution", 1080, "1080p"),
        ("resolution", 720.0, "720p"),
        ("cameraMotion", "Pan Left", "pan-left"),
        ("cameraMotion", "ZOOM_IN", "zoom-in"),
        ("cameraMotion", "orbit\u00a0", "orbit"),
        ("aspectRatio", "16:9", "16:9"),
        ("aspectRatio", "16：9", "16:9"),
        ("aspectRatio", " 9 : 16 ", "9:16"),
        ("aspectRatio", "1/1", "1:1"),
    ],
)
def test_enum_spelling(name: str, raw: object, expected: str) -> None:
    assert normalize_field(name, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (dt.time(16, 9), "16:9"),
        (dt.time(9, 16), "9:16"),
        (dt.time(1, 1), "1:1"),
        (dt.timedelta(hours=16, minutes=9), "16:9"),
        (dt.timedelta(hours=9, minutes=16), "9:16"),
        (dt.timedelta(hours=1, minutes=1), "1:1"),
        ((16 * 60 + 9) / 1440, "16:9"),
        ((9 * 60 + 16) / 1440, "9:16"),
        (61 / 1440, "1:1"),
        ("16:09:00", "16:9"),
        ("09:16:00", "9:16"),
        ("01:01:00", "1:1"),
        ("16:09", "16:9"),
        (dt.datetime(1899, 12, 31, 16, 9), "16:9"),
    ],
)
def test_aspect_ratios_that_excel_turned_into_times(raw: object, expected: str) -> None:
    assert aspect_ratio_text(raw) == expected
    assert normalize_field("aspectRatio", raw) == expected


def test_a_time_that_is_not_a_ratio_is_reported_as_what_it_reads() -> None:
    assert normalize_field("aspectRatio", dt.time(4, 3)) == "4:3"
    assert normalize_field("aspectRatio", dt.time(16, 9, 30)) == dt.time(16, 9, 30)


@pytest.mark.parametrize("raw", [None, "", "   ", "\u00a0", "\u3000", "\u200b", float("nan")])
def test_blank_cells(raw: object) -> None:
    assert is_blank(raw)
    assert normalize_field("prompt", raw) is None


def test_text_fields_lose_stray_and_non_breaking_spaces() -> None:
    assert normalize_field("prompt", "\u00a0 A horse\u00a0runs  ") == "A horse runs"
    assert normalize_field("style", 3.0) == "3"


def test_excel_stored_values_end_to_end(tmp_path: Path) -> None:
    """What openpyxl writes for each quirk comes back (via calamine) as the intended value."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Prompt", "Duration (s)", "Aspect ratio", "Resolution", "CFG scale"])
    sheet.append(["A horse\u00a0runs ", 6.0, dt.time(16, 9), "1080P", "0.5"])
    sheet.append(["A cat sleeps", "8", dt.timedelta(hours=9, minutes=16), "720p", 1])
    sheet.append(["A dog barks", " 10 ", (61 / 1440), " 720P\u00a0", 0])
    sheet["C4"].number_format = "h:mm"
    sheet.append(["A bird sings", 4, "16:09:00", "720p", None])
    workbook.save(tmp_path / "m.xlsx")
    manifest = load_manifest(tmp_path / "m.xlsx")
    assert [r.problems for r in manifest.rows] == [[], [], [], []]
    assert [r.request for r in manifest.rows] == [
        {
            "prompt": "A horse runs",
            "durationSec": 6,
            "aspectRatio": "16:9",
            "resolution": "1080p",
            "cfgScale": 0.5,
        },
        {
            "prompt": "A cat sleeps",
            "durationSec": 8,
            "aspectRatio": "9:16",
            "resolution": "720p",
            "cfgScale": 1,
        },
        {
            "prompt": "A dog barks",
            "durationSec": 10,
            "aspectRatio": "1:1",
            "resolution": "720p",
            "cfgScale": 0,
        },
        {"prompt": "A bird sings", "durationSec": 4, "aspectRatio": "16:9", "resolution": "720p"},
    ]
    assert type(manifest.rows[0].request["durationSec"]) is int


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("04:09:00 PM", "16:9"),  # LibreOffice, "detect special numbers", saved as CSV
        ("01:01:00 AM", "1:1"),
        ("09:16:00 AM", "9:16"),
        ("4:09 pm", "16:9"),
        ("下午04:09:00", "16:9"),  # Chinese locale
        ("午後4:09:00", "16:9"),  # Japanese locale
    ],
)
def test_twelve_hour_times_are_aspect_ratios(typed: str, meant: str) -> None:
    assert normalize_field("aspectRatio", typed) == meant


@pytest.mark.parametrize("typed", ["13:09:00 PM", "PM 4:09 PM", "04:09:30 PM"])
def test_other_times_are_left_for_the_verdict(typed: str) -> None:
    assert normalize_field("aspectRatio", typed) not in ("16:9", "4:9")
