"""Every rule of API.md, with the exact one-line message naming sheet, cell, column and value."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from hhbatch import spec
from hhbatch.config import Config
from hhbatch.loader import load_manifest, summarize

HEADERS = [
    "Prompt",
    "Style",
    "Duration (s)",
    "Aspect ratio",
    "Resolution",
    "Camera motion",
    "Motion intensity",
    "CFG scale",
]
GOOD = ["A horse gallops on the beach", "cinematic", 6, "16:9", "720p", "none", 3, 0.5]


def sheet(tmp_path: Path, *rows: list[object], headers: list[str] = HEADERS) -> Path:
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = "Sheet1"
    ws.append(headers)
    for row in rows:
        ws.append(row)
    path = tmp_path / "m.xlsx"
    workbook.save(path)
    return path


def with_cell(column: str, value: object) -> list[object]:
    row = list(GOOD)
    row[HEADERS.index(column)] = value
    return row


def messages(path: Path, **kw: object) -> list[str]:
    manifest = load_manifest(path, **kw)
    return [p.message for p in manifest.all_problems()]


def test_a_good_row_is_valid(tmp_path: Path) -> None:
    manifest = load_manifest(sheet(tmp_path, GOOD))
    assert manifest.valid
    assert manifest.rows[0].request == {
        "prompt": "A horse gallops on the beach",
        "style": "cinematic",
        "durationSec": 6,
        "aspectRatio": "16:9",
        "resolution": "720p",
        "cameraMotion": "none",
        "motionIntensity": 3,
        "cfgScale": 0.5,
    }
    assert spec.check_create_body(manifest.rows[0].request) == []


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (
            "Duration (s)",
            15,
            "Sheet1!C2 (Duration (s)): durationSec must be a whole number from 3 to 12, got 15",
        ),
        (
            "Duration (s)",
            2,
            "Sheet1!C2 (Duration (s)): durationSec must be a whole number from 3 to 12, got 2",
        ),
        (
            "Duration (s)",
            6.5,
            "Sheet1!C2 (Duration (s)): durationSec must be a whole number from 3 to 12, got 6.5",
        ),
        (
            "Duration (s)",
            "six",
            'Sheet1!C2 (Duration (s)): durationSec must be a whole number from 3 to 12, got "six"',
        ),
        (
            "Duration (s)",
            True,
            "Sheet1!C2 (Duration (s)): durationSec must be a whole number from 3 to 12, got TRUE",
        ),
        (
            "Prompt",
            "hi",
            "Sheet1!A2 (Prompt): prompt must be text of 3 to 2000 characters, "
            'got 2 characters ("hi")',
        ),
        (
            "Prompt",
            "x" * 2001,
            "Sheet1!A2 (Prompt): prompt must be text of 3 to 2000 characters, got 2001 characters",
        ),
        ("Prompt", None, "Sheet1!A2 (Prompt): prompt is required, but the cell is empty"),
        (
            "Style",
            "s" * 51,
            "Sheet1!B2 (Style): style must be text of at most 50 characters, got 51 characters",
        ),
        (
            "Aspect ratio",
            "4:3",
            'Sheet1!D2 (Aspect ratio): aspectRatio must be one of 16:9, 9:16, 1:1, got "4:3"',
        ),
        (
            "Resolution",
            "4k",
            'Sheet1!E2 (Resolution): resolution must be one of 720p, 1080p, got "4k"',
        ),
        (
            "Camera motion",
            "spin",
            "Sheet1!F2 (Camera motion): cameraMotion must be one of none, static, pan-left, "
            'pan-right, tilt-up, tilt-down, zoom-in, zoom-out, orbit, got "spin"',
        ),
        (
            "Motion intensity",
            6,
            "Sheet1!G2 (Motion intensity): motionIntensity must be a whole number from 1 to 5, "
            "got 6",
        ),
        (
            "Motion intensity",
            0,
            "Sheet1!G2 (Motion intensity): motionIntensity must be a whole number from 1 to 5, "
            "got 0",
        ),
        (
            "Motion intensity",
            2.5,
            "Sheet1!G2 (Motion intensity): motionIntensity must be a whole number from 1 to 5, "
            "got 2.5",
        ),
        ("CFG scale", 1.5, "Sheet1!H2 (CFG scale): cfgScale must be a number from 0 to 1, got 1.5"),
        (
            "CFG scale",
            -0.1,
            "Sheet1!H2 (CFG scale): cfgScale must be a number from 0 to 1, got -0.1",
        ),
        (
            "CFG scale",
            "high",
            'Sheet1!H2 (CFG scale): cfgScale must be a number from 0 to 1, got "high"',
        ),
    ],
)
def test_rule_messages(tmp_path: Path, column: str, value: object, message: str) -> None:
    manifest = load_manifest(sheet(tmp_path, with_cell(column, value)))
    assert [p.message for p in manifest.rows[0].problems] == [message]
    problem = manifest.rows[0].problems[0]
    assert (problem.sheet, problem.column, problem.sheet_row) == ("Sheet1", column, 2)
    assert not manifest.rows[0].valid


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("Prompt", "abc"),
        ("Prompt", "x" * 2000),
        ("Style", "s" * 50),
        ("Duration (s)", 3),
        ("Duration (s)", 12),
        ("Motion intensity", 1),
        ("Motion intensity", 5),
        ("CFG scale", 0),
        ("CFG scale", 1),
        ("Aspect ratio", "9:16"),
        ("Aspect ratio", "1:1"),
        ("Resolution", "1080p"),
        ("Camera motion", "orbit"),
    ],
)
def test_boundaries_are_accepted(tmp_path: Path, column: str, value: object) -> None:
    assert load_manifest(sheet(tmp_path, with_cell(column, value))).valid


def test_prompt_length_counts_characters_not_bytes(tmp_path: Path) -> None:
    chinese = "马" * 2000  # 6000 bytes in UTF-8, still 2000 characters
    assert load_manifest(sheet(tmp_path, with_cell("Prompt", chinese))).valid
    emoji_short = "🐎🐎"  # 8 bytes, 2 characters
    [problem] = load_manifest(sheet(tmp_path, with_cell("Prompt", emoji_short))).all_problems()
    assert "got 2 characters" in problem.message


def test_optional_cells_may_be_empty(tmp_path: Path) -> None:
    row = ["A horse gallops on the beach", None, 6, None, None, None, None, None]
    manifest = load_manifest(sheet(tmp_path, row))
    assert manifest.valid
    assert manifest.rows[0].request == {"prompt": "A horse gallops on the beach", "durationSec": 6}


def test_all_errors_of_all_rows_in_one_pass(tmp_path: Path) -> None:
    bad1 = with_cell("Duration (s)", 15)
    bad1[0] = "no"
    bad2 = with_cell("Resolution", "8k")
    manifest = load_manifest(sheet(tmp_path, GOOD, bad1, bad2, GOOD))
    assert [(p.cell, p.field) for p in manifest.all_problems()] == [
        ("A3", "prompt"),
        ("C3", "durationSec"),
        ("E4", "resolution"),
    ]
    assert [r.valid for r in manifest.rows] == [True, False, False, True]
    assert not manifest.valid


def test_missing_required_column(tmp_path: Path) -> None:
    path = sheet(tmp_path, ["A horse gallops"], headers=["Prompt"])
    assert messages(path) == [
        "Sheet1 row 2: durationSec is required, but the sheet has no 'Duration (s)' column and "
        "hhbatch.yaml sets no default"
    ]


def test_config_defaults_fill_empty_cells_and_missing_columns(tmp_path: Path) -> None:
    path = sheet(
        tmp_path, ["A horse", None], ["A cat sits", "720p"], headers=["Prompt", "Resolution"]
    )
    config = Config(defaults={"resolution": "1080P", "durationSec": 5})
    manifest = load_manifest(path, config=config)
    assert manifest.valid
    assert [r.request for r in manifest.rows] == [
        {"prompt": "A horse", "resolution": "1080p", "durationSec": 5},
        {"prompt": "A cat sits", "resolution": "720p", "durationSec": 5},
    ]


def test_config_defaults_never_override_a_filled_cell(tmp_path: Path) -> None:
    path = sheet(tmp_path, ["A horse", "720p", 6], headers=["Prompt", "Resolution", "Duration"])
    manifest = load_manifest(path, config=Config(defaults={"resolution": "1080p"}))
    assert manifest.rows[0].request["resolution"] == "720p"


def test_default_keys_may_be_header_aliases(tmp_path: Path) -> None:
    path = sheet(tmp_path, ["A horse"], headers=["Prompt"])
    manifest = load_manifest(path, config=Config(defaults={"Duration (s)": 6}))
    assert manifest.rows[0].request == {"prompt": "A horse", "durationSec": 6}


def test_bad_default_is_reported_and_blocks_rows_that_need_it(tmp_path: Path) -> None:
    path = sheet(
        tmp_path,
        ["A horse", None, 6],
        ["A cat", "720p", 6],
        headers=["Prompt", "Resolution", "Duration"],
    )
    manifest = load_manifest(path, config=Config(defaults={"resolution": "4k"}))
    assert [p.message for p in manifest.problems] == [
        'hhbatch.yaml defaults, resolution: resolution must be one of 720p, 1080p, got "4k"'
    ]
    assert [r.valid for r in manifest.rows] == [False, True]
    assert manifest.rows[0].problems[0].cell == "B2"
    assert "default for resolution is unusable" in manifest.rows[0].problems[0].message
    assert not manifest.valid


def test_unknown_default_key(tmp_path: Path) -> None:
    path = sheet(tmp_path, ["A horse", 6], headers=["Prompt", "Duration"])
    manifest = load_manifest(path, config=Config(defaults={"colour": "red"}))
    assert manifest.rows[0].valid
    assert [p.message for p in manifest.problems] == [
        "hhbatch.yaml defaults, colour: 'colour' is not a field"
    ]
    assert not manifest.valid


def test_summary_counts_seconds_by_resolution(tmp_path: Path) -> None:
    rows = [
        with_cell("Resolution", "1080p"),
        GOOD,
        with_cell("Duration (s)", 10),
        with_cell("Duration (s)", 99),
    ]
    summary = summarize(load_manifest(sheet(tmp_path, *rows)))
    assert (summary.rows_total, summary.rows_valid, summary.rows_invalid) == (4, 3, 1)
    assert summary.seconds_by_resolution == {"720p": 16, "1080p": 6}
    assert summary.videos_by_resolution == {"720p": 2, "1080p": 1}
    assert summary.errors == 1
    assert not summary.valid


def test_missing_resolution_counts_as_the_api_default(tmp_path: Path) -> None:
    path = sheet(tmp_path, ["A horse", 6], headers=["Prompt", "Duration"])
    summary = summarize(load_manifest(path))
    default = spec.CREATE_FIELDS["resolution"].default
    assert summary.seconds_by_resolution[default] == 6


def test_messages_stay_on_one_line(tmp_path: Path) -> None:
    [problem] = load_manifest(sheet(tmp_path, with_cell("Duration (s)", "6\n7"))).all_problems()
    assert problem.message == (
        'Sheet1!C2 (Duration (s)): durationSec must be a whole number from 3 to 12, got "6\\n7"'
    )


def test_model_default_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = sheet(tmp_path, ["A horse", 6], headers=["Prompt", "Duration"])
    manifest = load_manifest(path, config=Config(defaults={"model": "hh-2"}))
    assert [p.message for p in manifest.problems] == [
        f"hhbatch.yaml defaults, model: model is not accepted: {spec.FORBIDDEN_FIELDS['model']}"
    ]
