"""The Chinese interface beyond init/download/report: validation, plan, prompt, summary, sheet text.

English must stay word for word what it was (other tests assert it); Chinese must name the same
cells and read its numbers from :mod:`hhbatch.spec`, like the English does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from runkit import SIMPLE_HEADER, Cli, read_rows, results_path, simple_rows, write_csv

from hhbatch import errors, i18n, spec
from hhbatch.cli import exitcodes, run
from hhbatch.executor import plan_gate_sentence
from hhbatch.sandbox import Sandbox

HEADER = ("Prompt", "Duration (s)", "Aspect ratio", "Resolution")
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(autouse=True)
def back_to_english() -> Iterator[None]:
    yield
    i18n.set_language("en")


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def bad_sheet(tmp_path: Path) -> Path:
    """Five good rows, then row 7 with a resolution the API refuses in column D."""
    rows: list[list[object]] = [[f"a horse on a beach {i}", 5, "16:9", "720p"] for i in range(5)]
    rows.append(["a horse in the snow", 5, "16:9", "4K"])
    return write_csv(tmp_path / "bad.csv", HEADER, rows)


def test_validate_in_chinese_names_the_cell_in_a_real_process(tmp_path: Path) -> None:
    manifest = bad_sheet(tmp_path)
    env = {**os.environ, "HHBATCH_LANG": "zh", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "hhbatch", "validate", str(manifest)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
    )
    assert proc.returncode == exitcodes.ROWS_NOT_OK, proc.stderr
    choices = "、".join(spec.RESOLUTIONS)  # the numbers come from spec, in Chinese list style
    assert f"bad!D7（Resolution）：resolution 必须是 {choices} 之一" in proc.stdout, proc.stdout
    assert "共 6 行，5 行有效，1 行无效（1 个错误，0 个警告）" in proc.stdout
    assert "请修正以上问题" in proc.stdout


def test_validate_in_english_is_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HHBATCH_LANG", "en")
    from hhbatch.cli import main

    assert main(["validate", str(bad_sheet(tmp_path))]) == exitcodes.ROWS_NOT_OK
    out = capsys.readouterr().out
    allowed = spec.CREATE_FIELDS["resolution"].allowed()
    assert f'bad!D7 (Resolution): resolution must be {allowed}, got "4K"' in out
    assert "6 rows, 5 valid, 1 invalid (1 error, 0 warnings)." in out
    assert not CJK.search(out)


@pytest.mark.parametrize("name", list(spec.CREATE_FIELDS))
def test_allowed_text_is_the_same_sentence_in_english_and_keeps_its_numbers(name: str) -> None:
    field = spec.CREATE_FIELDS[name]
    assert field.allowed_text() == field.allowed()
    numbers = re.findall(r"\d+(?:\.\d+)?", field.allowed())
    i18n.set_language("zh")
    chinese = field.allowed_text()
    assert re.findall(r"\d+(?:\.\d+)?", chinese) == numbers
    if field.type != "key":
        assert CJK.search(chinese), chinese


def test_a_cell_outside_its_range_in_chinese_reads_the_limit_from_spec(tmp_path: Path) -> None:
    from hhbatch.loader import load_manifest

    duration = spec.CREATE_FIELDS["durationSec"]
    too_long = int(duration.maximum or 0) + 1
    manifest = write_csv(tmp_path / "d.csv", SIMPLE_HEADER, [["a horse", too_long, "720p"]])
    i18n.set_language("zh")
    (problem,) = load_manifest(manifest).all_problems()
    low, high = int(duration.minimum or 0), int(duration.maximum or 0)
    assert problem.cell == "B2"
    assert problem.message == (
        f"d!B2（Duration (s)）：durationSec 必须是 {low} 到 {high} 的整数，实际为 {too_long}"
    )


def test_data_sentences_from_spec_have_translations() -> None:
    translations = i18n.parse_po(i18n.po_path("zh").read_text(encoding="utf-8"))
    # Every sentence hhbatch.spec holds as data and the loader passes to translate_data().
    sentences = {*spec.REFUSED_CONTENT_TYPES.values(), *spec.FORBIDDEN_FIELDS.values()}
    missing = sorted(m for m in sentences if not translations.get(m))
    assert missing == []


def test_dry_run_plan_in_chinese(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HHBATCH_LANG", "zh")
    manifest = write_csv(tmp_path / "plan.csv", SIMPLE_HEADER, simple_rows(3))
    result = cli("run", manifest, "--dry-run")
    assert result.code == exitcodes.OK, result
    assert "plan.csv（工作表 'plan'）的计划：" in result.err
    assert re.search(r"本次要生成的视频 +3 +视频秒数：", result.err), result
    assert "试运行：没有发送任何内容。" in result.err
    assert "Plan for" not in result.err and "Dry run" not in result.err


def test_run_summary_and_sheet_errors_in_chinese_statuses_stay_english(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HHBATCH_LANG", "zh")
    manifest = write_csv(tmp_path / "run.csv", SIMPLE_HEADER, simple_rows(2))
    result = cli.run(manifest, "--limit", "1")
    assert result.code == exitcodes.ROWS_NOT_OK, result
    assert "汇总：" in result.err and "结果表：" in result.err
    assert re.search(r"已完成 +1", result.err), result
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["ready", "not submitted"]  # data: English words
    assert rows[1]["error"] == "本次运行未提交（--limit 1）；下次运行时会处理。"


def test_run_summary_in_english_is_unchanged(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HHBATCH_LANG", "en")
    manifest = write_csv(tmp_path / "run.csv", SIMPLE_HEADER, simple_rows(2))
    result = cli.run(manifest, "--limit", "1")
    assert "\nSummary:\n" in result.err
    rows = read_rows(results_path(manifest))
    assert rows[1]["error"] == "Not submitted this run (--limit 1); the next run takes it."
    assert not CJK.search(result.err)


class _Terminal:
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("是", True),
        ("好", True),
        ("y", True),
        ("YES", True),
        (" 是 ", True),
        ("否", False),
        ("", False),
    ],
)
def test_confirmation_accepts_chinese_and_english_yes(
    monkeypatch: pytest.MonkeyPatch, answer: str, expected: bool
) -> None:
    i18n.set_language("zh")
    asked: list[str] = []

    def fake_input(prompt: str) -> str:
        asked.append(prompt)
        return answer

    monkeypatch.setattr("sys.stdin", _Terminal())
    monkeypatch.setattr("builtins.input", fake_input)
    batch = SimpleNamespace(plan=SimpleNamespace(to_submit=[1, 2, 3]))
    assert run._confirmed(batch, assume_yes=False) is expected  # type: ignore[arg-type]
    assert asked == ["生成 3 个视频？每创建一个视频就会扣除相应额度。[是/否] "]


def test_core_sentences_follow_the_interface_language() -> None:
    body = {"field": "resolution", "requiredPlan": "pro", "currentPlan": "basic"}
    err = errors.PlanGateExceeded("plan gate", status_code=403, body=body)
    english = plan_gate_sentence(err, {"resolution": "1080p"})
    assert english == (
        "Your plan does not allow resolution = 1080p: it needs the pro plan (your plan: basic)."
    )
    i18n.set_language("zh")
    assert plan_gate_sentence(err, {"resolution": "1080p"}) == (
        "您的套餐不支持 resolution = 1080p：需要 pro 套餐（您的套餐：basic）。"
    )


def test_help_of_run_status_validate_sandbox_in_chinese(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hhbatch.cli import main

    expected = {
        "run": "为 MANIFEST（.xlsx/.xlsm/.ods/.xls/.csv/.tsv/.txt）的每一行生成一个视频",
        "status": "查询 MANIFEST 中每个仍在生成的视频",
        "validate": "按 API 文档中的限制检查表格的每一行和每个文件",
        "sandbox": "在本机运行一个模拟的 HappyHorse API",
    }
    for command, description in expected.items():
        with pytest.raises(SystemExit):
            main([command, "--help", "--lang", "zh"])
        out = capsys.readouterr().out
        assert out.startswith(f"用法：hhbatch {command}"), out[:80]
        assert description in out.replace("\n", "")
    with pytest.raises(SystemExit):
        main(["--help", "--lang", "zh"])
    top = capsys.readouterr().out
    assert "用表格批量生成 AI 视频" in top and "命令" in top
