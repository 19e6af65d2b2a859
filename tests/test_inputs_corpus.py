"""The input corpus (``tests/data/inputs/``) run end to end against the sandbox over real HTTP.

For every text file as Excel, Notepad and LibreOffice save it: the prompts the server received are
exactly the text that was typed, and the user's own columns come back unchanged in the results
file. An ambiguous file sends nothing and names ``--encoding``; ``--encoding`` fixes it.
.ods/.xls manifests give an .xlsx copy, said in the plan; .txt/.tsv give a file of their own kind.
"""

from __future__ import annotations

import codecs
import csv
import importlib.util
import io
import shutil
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from runkit import Cli, creates, prompts_created

from hhbatch.cli import exitcodes
from hhbatch.sandbox import Sandbox
from hhbatch.workflow import default_output_path

INPUTS = Path(__file__).resolve().parent / "data" / "inputs"
_spec = importlib.util.spec_from_file_location("build_inputs", INPUTS / "build_inputs.py")
assert _spec is not None and _spec.loader is not None
build_inputs = importlib.util.module_from_spec(_spec)
sys.modules["build_inputs"] = build_inputs  # dataclasses look their module up there
_spec.loader.exec_module(build_inputs)
CSV_FILES: dict[str, Any] = build_inputs.CSV_FILES
DETECTED = sorted(name for name in CSV_FILES if name != "ambiguous.csv")
RESULT_HEADERS = ["status", "videoId", "videoUrl", "thumbnailUrl", "readyAt", "error"]


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def _copy(name: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(INPUTS / name, folder / name))


def _text_rows(path: Path, delimiter: str) -> tuple[str, list[list[str]]]:
    """The results file's encoding (by its BOM) and its records."""
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF16_LE):
        encoding, text = "utf-16", data[2:].decode("utf-16-le")
    else:
        assert data.startswith(codecs.BOM_UTF8), "results must carry a BOM for Excel"
        encoding, text = "utf-8-sig", data[3:].decode("utf-8")
    return encoding, list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


@pytest.mark.parametrize("name", DETECTED)
def test_every_text_file_is_sent_as_typed_and_comes_back_whole(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, name: str
) -> None:
    spec = CSV_FILES[name]
    manifest = _copy(name, tmp_path)
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert sorted(prompts_created(sandbox)) == sorted(spec.prompts)
    # the plan named the encoding and showed a prompt as it was read
    assert "text encoding:" in result.err, result
    assert "as read: " in result.err, result
    results = default_output_path(manifest)
    assert results.suffix == manifest.suffix  # .csv → .csv, .txt → .txt
    assert "locked" not in result.err, result
    encoding, records = _text_rows(results, spec.delimiter)
    assert encoding == ("utf-16" if spec.encoding == "utf-16" else "utf-8-sig")
    width = len(spec.header)
    assert records[0][:width] == list(spec.header)
    assert len(records[0]) == width + len(RESULT_HEADERS)  # Chinese headers for a Chinese sheet
    assert [r[:width] for r in records[1:]] == [list(row) for row in spec.rows]
    video_ids = {job["id"] for job in sandbox.jobs()}
    assert {r[width + 1] for r in records[1:]} == video_ids


def test_ambiguous_file_sends_nothing_and_names_encoding_which_fixes_it(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    spec = CSV_FILES["ambiguous.csv"]
    manifest = _copy("ambiguous.csv", tmp_path)
    refused = cli.run(manifest)
    assert refused.code == exitcodes.USAGE, refused
    assert "--encoding cp1252" in refused.err and "--encoding cp1250" in refused.err, refused
    assert '"crêpe"' in refused.err and '"crępe"' in refused.err, refused
    assert creates(sandbox) == 0
    assert not default_output_path(manifest).exists()

    fixed = cli.run(manifest, "--encoding", "cp1252")
    assert fixed.code == exitcodes.OK, fixed
    assert "Windows-1252 (cp1252), as given" in fixed.err, fixed
    assert sorted(prompts_created(sandbox)) == sorted(spec.prompts)


def test_encoding_from_hhbatch_yaml_and_on_status(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = _copy("ambiguous.csv", tmp_path)
    (tmp_path / "hhbatch.yaml").write_text("encoding: cp1252\n", encoding="utf-8")
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert "A crêpe stand at a garden party" in prompts_created(sandbox)
    (tmp_path / "hhbatch.yaml").unlink()
    # the batch journal remembers how the run read this file: status needs no --encoding
    remembered = cli.status(manifest)
    assert remembered.code == exitcodes.OK, remembered
    # a file whose bytes changed is decided afresh: refused again until told
    manifest.write_bytes(manifest.read_bytes() + b"\r\n")
    refused = cli.status(manifest)
    assert refused.code == exitcodes.USAGE and "--encoding" in refused.err, refused
    status = cli.status(manifest, "--encoding", "cp1252")
    assert status.code == exitcodes.OK, status


def test_unknown_encoding_name_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    manifest = _copy("cp1252.csv", tmp_path)
    for name in ("klingon", "base64"):
        stopped = cli("validate", manifest, "--encoding", name)  # argparse: usage error
        assert stopped.code == exitcodes.USAGE
        assert "is not a text encoding" in stopped.err


def test_wrong_encoding_given_shows_in_the_plan_before_anything_is_sent(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    """--encoding overrides; the plan shows the prompt as read, so mojibake is seen for free."""
    manifest = tmp_path / "utf8.csv"
    manifest.write_text("Prompt,Duration (s)\nEin Pferd läuft über die Wiese,5\n", encoding="utf-8")
    result = cli("run", manifest, "--dry-run", "--encoding", "cp1252")
    assert result.code == exitcodes.OK, result
    assert "prompt of row 2 as read: Ein Pferd lÃ¤uft Ã¼ber" in result.err, result
    assert creates(sandbox) == 0


@pytest.mark.parametrize("name", ["libreoffice.ods", "libreoffice.xls"])
def test_ods_and_xls_run_and_give_an_xlsx_copy(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, name: str
) -> None:
    manifest = _copy(name, tmp_path)
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert "results are written as an .xlsx copy" in result.err, result
    assert "own formatting, formulas, charts and pictures are not kept" in result.err, result
    plan_end = result.err.index("not kept")
    assert plan_end < result.err.index("Summary"), "the loss is told in the plan, before sending"
    assert sorted(prompts_created(sandbox)) == sorted(r[0] for r in build_inputs.OFFICE_ROWS)
    sent = {job["body"]["prompt"]: job["body"].get("aspectRatio") for job in sandbox.jobs()}
    assert sent == {row[0]: row[2] for row in build_inputs.OFFICE_ROWS}
    results = default_output_path(manifest)
    assert results.name == manifest.stem + ".results.xlsx"
    wb = openpyxl.load_workbook(results)
    try:
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        assert rows[0] == [*build_inputs.OFFICE_HEADER, *RESULT_HEADERS]
        assert ws["A1"].font.b, "the header keeps the basic look: bold"
        assert [r[0] for r in rows[1:]] == [r[0] for r in build_inputs.OFFICE_ROWS]
        assert [r[4] for r in rows[1:]] == [r[4] for r in build_inputs.OFFICE_ROWS]  # "007" text
        assert [r[5] for r in rows[1:]] == ["ready"] * 3
    finally:
        wb.close()
    assert (INPUTS / name).read_bytes() == manifest.read_bytes()


def test_tsv_results_are_a_tsv_without_a_false_locked_message(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = tmp_path / "campaign.tsv"
    manifest.write_bytes("Prompt\tDuration (s)\tOwner\r\nA horse on a beach\t4\tZoé\r\n".encode())
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert "locked" not in result.err and "instead" not in result.err, result
    results = tmp_path / "campaign.results.tsv"
    encoding, records = _text_rows(results, "\t")
    assert encoding == "utf-8-sig"
    assert records[1][:3] == ["A horse on a beach", "4", "Zoé"]


def test_libreoffice_special_numbers_are_aspect_ratios(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = _copy("special_numbers.csv", tmp_path)
    assert "04:09:00 PM" in manifest.read_text(encoding="utf-8")
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    sent = {job["body"]["prompt"]: job["body"]["aspectRatio"] for job in sandbox.jobs()}
    assert sent == {row[0]: row[2] for row in build_inputs.OFFICE_ROWS}


def test_formulas_without_saved_results_are_named(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = _copy("formulas_uncached.xlsx", tmp_path)
    result = cli.run(manifest)
    assert result.code == exitcodes.USAGE, result
    assert "Videos!C2, C3, D3: these cells hold formulas" in result.err, result
    assert "open formulas_uncached.xlsx in Excel or LibreOffice and save it" in result.err
    assert "paste the cells as values" in result.err
    assert "no rows below the header" not in result.err
    assert creates(sandbox) == 0
