"""Header matching: API names, English, Chinese, config aliases, unknown and output columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from hhbatch import spec
from hhbatch.columns import RESULT_COLUMNS, VALIDATION_COLUMN
from hhbatch.config import Config
from hhbatch.errors import ConfigError, ManifestError
from hhbatch.loader import load_manifest
from hhbatch.loader.headers import ALIASES, MANIFEST_FIELDS, HeaderMatcher, header_key
from hhbatch.loader.validate import column_letter


def write_csv(path: Path, header: list[str], *rows: list[object]) -> Path:
    lines = [",".join(header)] + [",".join(str(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_manifest_field_has_english_and_chinese_aliases() -> None:
    assert set(ALIASES) == set(MANIFEST_FIELDS)
    key_fields = set(spec.FILE_COLUMNS.values())
    expected = {k for k in spec.CREATE_FIELDS if k not in key_fields} | set(spec.FILE_COLUMNS)
    assert set(MANIFEST_FIELDS) == expected


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("prompt", "prompt"),
        ("Prompt", "prompt"),
        ("PROMPT ", "prompt"),
        ("提示词", "prompt"),
        ("durationSec", "durationSec"),
        ("Duration (s)", "durationSec"),
        ("duration(s)", "durationSec"),
        ("DURATION  (S)", "durationSec"),
        ("时长", "durationSec"),
        ("时长（秒）", "durationSec"),
        ("Aspect ratio", "aspectRatio"),
        ("aspect_ratio", "aspectRatio"),
        ("画面比例", "aspectRatio"),
        ("Resolution", "resolution"),
        ("分辨率", "resolution"),
        ("Source image", "sourceImage"),
        ("sourceImageKey", "sourceImage"),
        ("首帧图片", "sourceImage"),
        ("Last frame", "lastFrame"),
        ("尾帧图片", "lastFrame"),
        ("Reference video", "referenceVideo"),
        ("参考视频", "referenceVideo"),
        ("Reference audio", "referenceAudio"),
        ("参考音频", "referenceAudio"),
        ("Camera motion", "cameraMotion"),
        ("镜头运动", "cameraMotion"),
        ("Motion intensity", "motionIntensity"),
        ("运动强度", "motionIntensity"),
        ("CFG scale", "cfgScale"),
        ("cfgscale", "cfgScale"),
        ("Style", "style"),
        ("风格", "style"),
        ("Prompt\u00a0", "prompt"),
    ],
)
def test_header_aliases(header: str, field: str) -> None:
    assert HeaderMatcher().match(header).field == field


def test_header_key_ignores_case_spaces_and_full_width() -> None:
    assert (
        header_key(" Duration ( s ) ") == header_key("duration(s)") == header_key("DURATION（S）")
    )


def test_config_aliases_extend_the_table(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", ["Brief", "Länge"], ["A horse in the snow", 5])
    config = Config(aliases={"prompt": ["Brief"], "durationSec": ["Länge"]})
    manifest = load_manifest(path, config=config)
    assert manifest.rows[0].request == {"prompt": "A horse in the snow", "durationSec": 5}


def test_config_alias_for_an_unknown_field_is_a_config_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", ["Prompt"], ["A horse in the snow"])
    with pytest.raises(ConfigError, match=r"'colour' is not a field"):
        load_manifest(path, config=Config(aliases={"colour": ["Farbe"]}))


def test_unknown_columns_are_kept_untouched(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "m.csv",
        ["Campaign", "Prompt", "Duration (s)", "Owner"],
        ["spring", "A horse in the snow", 5, "Li Wei"],
    )
    manifest = load_manifest(path)
    assert [(c.letter, c.header, c.field) for c in manifest.columns] == [
        ("A", "Campaign", None),
        ("B", "Prompt", "prompt"),
        ("C", "Duration (s)", "durationSec"),
        ("D", "Owner", None),
    ]
    assert manifest.rows[0].request == {"prompt": "A horse in the snow", "durationSec": 5}
    assert manifest.problems == []


def test_near_miss_header_warns_with_a_suggestion(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", ["Prompt", "duraton"], ["A horse in the snow", 5])
    manifest = load_manifest(path)
    [warning] = manifest.problems
    assert warning.severity == "warning"
    assert warning.cell == "B1"
    assert warning.message == (
        "m!B1 (duraton): unknown column, kept as is; did you mean 'Duration' (durationSec)?"
    )
    # the misspelt column is not used: the row lacks its duration
    assert manifest.rows[0].errors[0].field == "durationSec"


def test_model_column_is_ignored_with_a_warning(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "m.csv", ["Prompt", "Duration (s)", "Model"], ["A horse", 5, "hh-video-2"]
    )
    manifest = load_manifest(path)
    assert manifest.rows[0].request == {"prompt": "A horse", "durationSec": 5}
    assert manifest.rows[0].valid
    [warning] = manifest.problems
    assert warning.severity == "warning"
    assert "ignored because the model is chosen by your plan" in warning.message


def test_output_columns_are_recognised_and_exposed_as_previous(tmp_path: Path) -> None:
    headers = ["Prompt", "Duration (s)"] + [c.name for c in RESULT_COLUMNS]
    values = ["A horse", 5, "ready", "018f-id", "https://cdn/x.mp4", "", "2026-04-26", ""]
    manifest = load_manifest(write_csv(tmp_path / "m.csv", headers, values))
    outputs = {c.header: c.output.name for c in manifest.columns if c.output}
    assert outputs == {c.name: c.name for c in RESULT_COLUMNS}
    assert all(c.field is None for c in manifest.columns if c.output)
    row = manifest.rows[0]
    assert row.request == {"prompt": "A horse", "durationSec": 5}
    assert row.previous == {
        "status": "ready",
        "videoId": "018f-id",
        "videoUrl": "https://cdn/x.mp4",
        "readyAt": "2026-04-26",
    }


def test_chinese_output_columns_on_a_results_sheet(tmp_path: Path) -> None:
    headers = ["提示词", "时长", "状态", "视频ID", VALIDATION_COLUMN.zh]
    manifest = load_manifest(
        write_csv(tmp_path / "m.csv", headers, ["一匹马", 5, "ready", "abc", "old error"])
    )
    assert manifest.language == "zh"
    assert manifest.rows[0].previous == {
        "status": "ready",
        "videoId": "abc",
        "validationErrors": "old error",
    }


def test_two_columns_for_one_field_is_a_manifest_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", ["Prompt", "提示词"], ["a", "b"])
    with pytest.raises(ManifestError, match=r"columns A \('Prompt'\) and B \('提示词'\) both mean"):
        load_manifest(path)


def test_language_follows_the_headers(tmp_path: Path) -> None:
    english = write_csv(tmp_path / "en.csv", ["Prompt", "Duration (s)"], ["A horse", 5])
    chinese = write_csv(tmp_path / "zh.csv", ["提示词", "时长"], ["一匹马", 5])
    assert load_manifest(english).language == "en"
    assert load_manifest(chinese).language == "zh"


def test_values_without_a_header_are_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "Prompt,,Duration (s)\nA horse,x,6\nA cat sits,,5,stray\nA dog runs,y,4,more\n",
        encoding="utf-8",
    )
    manifest = load_manifest(path)
    assert all(row.valid for row in manifest.rows)
    assert [p.message for p in manifest.problems] == [
        "m!B2: column B has values but no header on row 1, so hhbatch does not use them; give "
        "it a header if it is meant as a field.",
        "m!D3: column D has values but no header on row 1, so hhbatch does not use them; give "
        "it a header if it is meant as a field.",
    ]
    assert {p.severity for p in manifest.problems} == {"warning"}


@pytest.mark.parametrize(
    ("index", "letter"),
    [(1, "A"), (26, "Z"), (27, "AA"), (702, "ZZ"), (703, "AAA"), (16384, "XFD")],
)
def test_column_letters_like_excel(index: int, letter: str) -> None:
    assert column_letter(index) == letter
