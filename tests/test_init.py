"""hhbatch init: templates from inside the package, never overwriting, next commands shown."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hhbatch.cli import main
from hhbatch.errors import UsageError
from hhbatch.i18n import set_language
from hhbatch.loader import load_manifest
from hhbatch.scaffold import init_folder, template_bytes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def english_unless_asked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Messages are asserted in English: a Chinese system locale must not change them."""
    monkeypatch.setenv("HHBATCH_LANG", "en")
    yield
    set_language("en")


TEMPLATES = ROOT / "templates"


@pytest.mark.parametrize(
    "name", ["campaign.xlsx", "campaign.zh.xlsx", "hhbatch.yaml", "hhbatch.zh.yaml"]
)
def test_packaged_templates_equal_the_templates_folder(name: str) -> None:
    # After editing templates/, run templates/build_templates.py: it writes both copies.
    assert template_bytes(name) == (TEMPLATES / name).read_bytes()


@pytest.mark.parametrize(
    ("language", "template", "config"),
    [("en", "campaign.xlsx", "hhbatch.yaml"), ("zh", "campaign.zh.xlsx", "hhbatch.zh.yaml")],
)
def test_init_writes_campaign_and_config(
    tmp_path: Path, language: str, template: str, config: str
) -> None:
    result = init_folder(tmp_path / "new folder", language)
    folder = tmp_path / "new folder"
    assert result.written == [folder / "campaign.xlsx", folder / "hhbatch.yaml"]
    assert result.kept == []
    assert (folder / "campaign.xlsx").read_bytes() == (TEMPLATES / template).read_bytes()
    assert (folder / "hhbatch.yaml").read_bytes() == (TEMPLATES / config).read_bytes()
    manifest = load_manifest(folder / "campaign.xlsx")
    assert manifest.valid
    assert manifest.language == language


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "campaign.xlsx").write_bytes(b"mine")
    result = init_folder(tmp_path, "zh")
    assert result.kept == [tmp_path / "campaign.xlsx"]
    assert result.written == [tmp_path / "hhbatch.yaml"]
    assert (tmp_path / "campaign.xlsx").read_bytes() == b"mine"
    again = init_folder(tmp_path, "en")
    assert again.written == []
    assert again.kept == [tmp_path / "campaign.xlsx", tmp_path / "hhbatch.yaml"]


def test_init_refuses_a_file_as_folder_and_unknown_language(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        init_folder(tmp_path / "f")
    with pytest.raises(UsageError, match="Unknown language 'fr'"):
        init_folder(tmp_path, "fr")


def test_cli_init_prints_kept_files_and_three_next_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "hhbatch.yaml").write_text("rate: 2\n")
    assert main(["init", str(tmp_path), "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert f"已写入 {tmp_path / 'campaign.xlsx'}" in out  # --lang zh: Chinese messages too
    assert f"保留 {tmp_path / 'hhbatch.yaml'}（已存在，未覆盖）" in out
    commands = [line.strip() for line in out.splitlines() if line.strip().startswith("hhbatch ")]
    campaign = str(tmp_path / "campaign.xlsx")
    assert [c.split("  ")[0] for c in commands] == [
        f"hhbatch validate {campaign}",
        f"hhbatch run {campaign} --sandbox --yes",
        f"hhbatch run {campaign}",
    ]
    assert (tmp_path / "hhbatch.yaml").read_text() == "rate: 2\n"


def test_cli_init_in_english_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"Wrote {tmp_path / 'campaign.xlsx'}" in out
    assert f"Wrote {tmp_path / 'hhbatch.yaml'}" in out
    assert load_manifest(tmp_path / "campaign.xlsx").language == "en"


def test_init_default_folder_is_current_directory_and_validates(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hhbatch", "init"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8", "HHBATCH_LANG": "en"},
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "campaign.xlsx").is_file()
    # the first suggested command works as printed
    check = main(["validate", str(tmp_path / "campaign.xlsx")])
    assert check == 0
