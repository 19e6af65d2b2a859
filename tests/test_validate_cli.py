"""``hhbatch validate``: messages, summary, exit codes, --json, --out, --sheet, --config, --help."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

import hhbatch.cli as cli
from hhbatch.columns import VALIDATION_COLUMN

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
MEDIA = Path(__file__).parent / "data" / "media"


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """The real ``hhbatch`` entry point with only this command registered."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("validate",))

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(["validate", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def bad_sheet(folder: Path) -> Path:
    shutil.copy(MEDIA / "tiny.png", folder / "shoe.png")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    sheet.append(["Prompt", "Duration (s)", "Resolution", "Source image", "Notes"])
    sheet.append(["A horse gallops on the beach", 6, "1080p", "shoe.png", "ok"])
    sheet.append(["A cat", 15, "720p", None, "too long"])
    sheet.append(["A dog runs", 5, "4k", "https://example.com/a.png", "two problems"])
    path = folder / "campaign.xlsx"
    workbook.save(path)
    return path


def test_samples_are_valid(run) -> None:
    for name in ("campaign.xlsx", "campaign.csv"):
        code, out, err = run(str(SAMPLES / name))
        assert (code, err) == (0, "")
        assert "7 rows, 7 valid, 0 invalid (0 errors, 0 warnings)." in out
        assert "Files to upload: 5 (2 audio files, 2 images, 1 video)" in out
        assert out.rstrip().endswith("Every row is valid.")


def test_errors_and_summary(run, tmp_path: Path) -> None:
    code, out, _ = run(str(bad_sheet(tmp_path)))
    assert code == 1
    lines = out.splitlines()
    assert lines[:3] == [
        "Sheet1!B3 (Duration (s)): durationSec must be a whole number from 3 to 12, got 15",
        'Sheet1!C4 (Resolution): resolution must be one of 720p, 1080p, got "4k"',
        "Sheet1!D4 (Source image): sourceImage must be a local file or an existing storage key, "
        'got a web link "https://example.com/a.png"; the API takes uploads only, so download the '
        "file and put its path here",
    ]
    assert (
        "campaign.xlsx, sheet 'Sheet1': 3 rows, 1 valid, 2 invalid (3 errors, 0 warnings)." in out
    )
    assert "Video to generate: 6 s = 6 s at 1080p (1 video)." in out
    size = (MEDIA / "tiny.png").stat().st_size
    assert f"Files to upload: 1 (1 image), {size} bytes in total." in out


def test_json_report(run, tmp_path: Path) -> None:
    code, out, _ = run(str(bad_sheet(tmp_path)), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["valid"] is False
    assert report["manifest"]["sheet"] == "Sheet1"
    assert report["manifest"]["columns"][4] == {
        "letter": "E",
        "header": "Notes",
        "field": None,
        "output": None,
    }
    assert [p["cell"] for p in report["problems"]] == ["B3", "C4", "D4"]
    assert report["problems"][0]["value"] == 15
    assert report["summary"]["rowsValid"] == 1
    assert report["summary"]["secondsByResolution"] == {"720p": 0, "1080p": 6}
    assert report["summary"]["filesToUpload"] == 1
    assert report["output"] is None


def test_out_writes_an_annotated_xlsx(run, tmp_path: Path) -> None:
    dest = tmp_path / "checked.xlsx"
    code, out, _ = run(str(bad_sheet(tmp_path)), "--out", str(dest))
    assert code == 1
    assert f"Annotated copy written to {dest}." in out
    sheet = openpyxl.load_workbook(dest).active
    headers = [c.value for c in sheet[1]]
    assert headers[:5] == ["Prompt", "Duration (s)", "Resolution", "Source image", "Notes"]
    column = headers.index(VALIDATION_COLUMN.name) + 1
    assert sheet.cell(2, column).value in (None, "")
    assert "durationSec must be a whole number" in sheet.cell(3, column).value
    assert sheet.cell(4, column).value.count("\n") == 1  # two problems, one per line
    bad = sheet["B3"]
    assert bad.value == 15  # the user's value is kept
    assert bad.comment is not None and "got 15" in bad.comment.text
    assert bad.fill.fill_type == "solid"
    assert sheet["A2"].comment is None
    assert sheet["E4"].value == "two problems"  # the user's own column comes back


def test_out_for_a_chinese_csv(run, tmp_path: Path) -> None:
    source = tmp_path / "m.csv"
    source.write_text("提示词,时长\n一匹马在草原上奔跑,6\n猫,20\n", encoding="utf-8-sig")
    dest = tmp_path / "checked.csv"
    code, _, _ = run(str(source), "--out", str(dest))
    assert code == 1
    with dest.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["提示词", "时长", VALIDATION_COLUMN.zh]
    assert rows[1][2] == ""
    assert "m!B3 (时长): durationSec must be a whole number from 3 to 12, got 20" in rows[2][2]


def test_out_never_overwrites_the_manifest(run, tmp_path: Path) -> None:
    path = bad_sheet(tmp_path)
    before = path.read_bytes()
    code, _, err = run(str(path), "--out", str(path))
    assert code == 2
    assert "--out must name a new file" in err
    assert path.read_bytes() == before


def test_unusable_file_exits_2_with_one_sentence(run, tmp_path: Path) -> None:
    path = tmp_path / "photo.xlsx"
    path.write_bytes((MEDIA / "tiny.png").read_bytes())
    code, out, err = run(str(path))
    assert code == 2
    assert out == ""
    assert err.startswith("hhbatch: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_sheet_option(run, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["nothing", "here"])
    other = workbook.create_sheet("Launch")
    other.append(["Prompt", "Duration (s)"])
    other.append(["A horse gallops", 6])
    workbook.save(tmp_path / "m.xlsx")
    code, out, _ = run(str(tmp_path / "m.xlsx"), "--sheet", "Launch")
    assert code == 0
    assert "sheet 'Launch': 1 row, 1 valid" in out
    code, _, err = run(str(tmp_path / "m.xlsx"), "--sheet", "Nope")
    assert code == 2 and "no sheet named 'Nope'" in err


def test_config_option_and_config_beside_the_manifest(run, tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("Prompt\nA horse gallops\n", encoding="utf-8")
    code, out, _ = run(str(manifest))
    assert code == 1 and "durationSec is required" in out
    (tmp_path / "hhbatch.yaml").write_text("defaults:\n  durationSec: 6\n", encoding="utf-8")
    assert run(str(manifest))[0] == 0
    other = tmp_path / "other.yaml"
    other.write_text("defaults:\n  durationSec: 99\n", encoding="utf-8")
    code, out, _ = run(str(manifest), "--config", str(other))
    assert code == 1
    assert "other.yaml defaults, durationSec: durationSec must be a whole number" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text("colour: red\n", encoding="utf-8")
    code, _, err = run(str(manifest), "--config", str(broken))
    assert code == 2 and "unknown setting 'colour'" in err


def test_warnings_do_not_fail_validation(run, tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("Prompt,Duration (s),model\nA horse gallops,6,x\n", encoding="utf-8")
    code, out, _ = run(str(manifest))
    assert code == 0
    assert out.startswith("warning: m!C1 (model): this column is ignored because the model")


def test_help_teaches_the_manifest_format(run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["validate", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for expected in (
        "manifest format:",
        "example",
        "Duration (s)",
        "时长",
        "durationSec",
        "a whole number from 3 to 12",
        "--out PATH",
        "--json",
        "--sheet NAME",
        "--config FILE",
        "16:9",
        "storage key",
    ):
        assert expected in text, expected


def test_top_level_help_lists_validate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("validate",))
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "check a manifest against the API's rules" in capsys.readouterr().out


def test_json_report_carries_excel_times_as_text(run, tmp_path: Path) -> None:
    import datetime as dt

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Prompt", "Duration (s)", "Aspect ratio"])
    sheet.append(["A horse gallops", 6, dt.time(4, 3)])
    workbook.save(tmp_path / "m.xlsx")
    code, out, _ = run(str(tmp_path / "m.xlsx"), "--json")
    assert code == 1
    [problem] = json.loads(out)["problems"]
    assert problem["value"] == "04:03:00"
    assert problem["message"].endswith('got "4:3" (the cell holds 04:03:00)')
