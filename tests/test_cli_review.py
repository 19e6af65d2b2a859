"""A new user's findings on the CLI (issues #10, #11, second review): --no-wait's exit code and
advice, no bar redraws in a pipe, JSON error documents shaped like the others, one exit-code
rule for a reader that leaves, a status check of a never-run sheet that creates nothing, URL
schemes in any case, Chinese words and singulars, Strict OOXML refused early, adopted rows in
the JSON plan, and a rehearsal's dead links explained."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from runkit import SAMPLES, SIMPLE_HEADER, Cli, results_path, simple_rows, write_csv

from hhbatch import i18n
from hhbatch.cli import exitcodes
from hhbatch.cli.download import TqdmDownload
from hhbatch.loader.filetypes import human_size
from hhbatch.sandbox import Sandbox


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def test_no_wait_exits_0_offers_status_and_nothing_is_drawn_or_downloaded(
    sandbox_factory, monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path
) -> None:
    cli = Cli(sandbox_factory(queue_sec=60), monkeypatch, capsys)
    manifest = write_csv(tmp_path / "later.csv", SIMPLE_HEADER, simple_rows(2))
    ran = cli.run(manifest, "--no-wait")
    assert ran.code == exitcodes.OK, ran  # submitted and generating: --no-wait's success
    # "Next:" offers the check first (not only the closing sentence)
    assert re.search(rf"hhbatch status {re.escape(str(manifest))}\s+check the 2 video", ran.err)
    status = cli.status(manifest)
    assert status.code == exitcodes.ROWS_NOT_OK, status  # not finished yet
    assert json.loads(cli.status(manifest, "--json").out)["started"] is True
    assert "\r" not in status.err, status  # no bar redraws without a terminal
    download = cli("download", manifest)
    assert download.code == exitcodes.OK, download
    assert "nothing was downloaded" in download.err, download
    assert "localFile" not in download.err, download


def test_download_without_a_terminal_prints_lines_not_bars(cli: Cli, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "dl.csv", SIMPLE_HEADER, simple_rows(2))
    assert cli.run(manifest).code == exitcodes.OK
    download = cli("download", manifest)
    assert download.code == exitcodes.OK, download
    assert "4 file(s) downloaded" in download.err, download
    assert "\r" not in download.err, download
    progress = TqdmDownload(2, enabled=False)  # the line a pipe gets every interval
    progress.expect(2_000_000)
    progress.advance(1_000_000)
    progress.close()
    assert re.search(r"elapsed: downloaded 1\.0 MB of 2\.0 MB, 0 file\(s\) done", progress.line())


def test_status_of_a_never_run_sheet_creates_nothing(cli: Cli, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "fresh.csv", SIMPLE_HEADER, simple_rows(2))
    before = sorted(tmp_path.rglob("*"))
    status = cli.status(manifest)
    assert status.code == exitcodes.OK, status
    assert "was never run" in status.err and f"hhbatch run {manifest}" in status.err, status
    document = json.loads(cli.status(manifest, "--json").out)
    assert document["command"] == "status" and document["started"] is False
    assert document["exitCode"] == exitcodes.OK
    assert sorted(tmp_path.rglob("*")) == before  # no .hhbatch folder, journal or results


def test_json_error_documents_carry_command_and_exit_code(cli: Cli, tmp_path: Path) -> None:
    missing = cli("status", tmp_path / "nope.csv", "--json")
    assert missing.code == exitcodes.USAGE
    assert json.loads(missing.out) == {
        "command": "status",
        "error": {"code": "usage_error", "message": json.loads(missing.out)["error"]["message"]},
        "exitCode": exitcodes.USAGE,
    }
    bad = json.loads(cli("download", tmp_path / "x.csv", "--json", "--to").out)
    assert bad["command"] == "download" and bad["exitCode"] == exitcodes.USAGE


@pytest.mark.parametrize(("rows", "expected"), [(2, exitcodes.OK), (0, exitcodes.ROWS_NOT_OK)])
def test_a_reader_gone_before_output_leaves_the_works_exit_code(
    tmp_path: Path, rows: int, expected: int
) -> None:
    """``hhbatch validate x --json | head -c1``: the same code as with a reader, no traceback."""
    good = simple_rows(2)
    manifest = write_csv(tmp_path / "p.csv", SIMPLE_HEADER, good if rows else [[good[0][0], 15]])
    proc = subprocess.Popen(
        [sys.executable, "-m", "hhbatch", "validate", str(manifest), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader left before the first byte
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == expected
    assert b"Traceback" not in err and b"Broken pipe" not in err, err


def test_url_schemes_are_case_insensitive(
    cli: Cli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    manifest = write_csv(tmp_path / "u.csv", SIMPLE_HEADER, simple_rows(1))
    scheme, rest = sandbox.base_url.split("://", 1)
    monkeypatch.setenv("HAPPYHORSE_BASE_URL", scheme.upper() + "://" + rest)
    ran = cli.run(manifest)
    assert ran.code == exitcodes.OK, ran
    monkeypatch.setenv("HAPPYHORSE_BASE_URL", scheme.capitalize() + "://" + rest.upper())
    assert cli.status(manifest).code == exitcodes.OK  # Http:// is the same server: no lock
    monkeypatch.setenv("HAPPYHORSE_BASE_URL", "FTP://" + rest)
    refused = cli.run(manifest)
    assert refused.code == exitcodes.USAGE and "must start with https://" in refused.err


def test_chinese_sizes_kinds_and_singular_rows(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    i18n.set_language("zh")
    try:
        assert human_size(816) == "816 字节"
    finally:
        i18n.set_language("en")
    shutil.copytree(SAMPLES, tmp_path / "s")
    checked = cli("validate", tmp_path / "s" / "campaign.xlsx", "--lang", "zh")
    assert "image" not in checked.out and "audio" not in checked.out, checked
    manifest = write_csv(tmp_path / "one.csv", SIMPLE_HEADER, [*simple_rows(1), ["x y", 15]])
    ran = cli.run(manifest)
    assert "row 3" in ran.err and "rows 3" not in ran.err, ran


def test_strict_open_xml_is_refused_before_the_plan(cli: Cli, tmp_path: Path) -> None:
    ordinary = SAMPLES / "campaign.xlsx"
    strict = tmp_path / "strict.xlsx"
    with zipfile.ZipFile(ordinary) as src, zipfile.ZipFile(strict, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "_rels/.rels":
                data = data.replace(
                    b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/",
                    b"http://purl.oclc.org/ooxml/officeDocument/relationships/",
                )
            dst.writestr(item, data)
    for command in ("validate", "run"):
        refused = cli(command, strict, "--dry-run") if command == "run" else cli(command, strict)
        assert refused.code == exitcodes.USAGE, refused
        assert 'ordinary "Excel Workbook (.xlsx)"' in refused.err, refused
        assert "Plan" not in refused.err, refused


def test_run_json_shows_rows_adopted_from_another_folder(cli: Cli, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "a" / "spring.csv", SIMPLE_HEADER, simple_rows(2))
    assert cli.run(manifest).code == exitcodes.OK
    copy = tmp_path / "b" / "spring.csv"
    copy.parent.mkdir()
    shutil.copy(manifest, copy)
    document = json.loads(cli.run(copy, "--json").out)
    plan = document["plan"]
    assert plan["adopted"] == 2 and plan["submit"] == 0, plan
    assert [r["sheetRow"] for r in plan["adoptedRows"]] == [2, 3]
    assert all(
        r["elsewhere"] and r["batch"] == str(manifest.resolve()) for r in plan["adoptedRows"]
    )


def test_downloading_a_rehearsals_results_says_the_links_are_gone(cli: Cli, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "campaign.csv", SIMPLE_HEADER, simple_rows(1))
    assert cli.run(manifest, "--sandbox").code == exitcodes.OK
    download = cli("download", tmp_path / "campaign.sandbox.results.csv")
    assert download.code == exitcodes.ROWS_NOT_OK, download
    assert "can never be downloaded" in download.err, download
    assert f"hhbatch run {manifest} --sandbox --yes --download" in download.err, download
    assert "Run the same command again" not in download.err, download
    assert not results_path(manifest).exists()
    assert not (tmp_path / "campaign.sandbox_videos").exists()  # no empty folder left


def test_status_of_a_never_run_sheet_beside_a_run_one_creates_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    first = workbook.active
    first.title = "Spring"
    second = workbook.create_sheet("Autumn")
    for sheet in (first, second):
        sheet.append(list(SIMPLE_HEADER))
        sheet.append(simple_rows(1, start=0 if sheet is first else 1)[0])
    manifest = tmp_path / "two.xlsx"
    workbook.save(manifest)
    assert cli.run(manifest, "--sheet", "Spring").code == exitcodes.OK
    before = sorted(tmp_path.rglob("*"))
    status = cli.status(manifest, "--sheet", "Autumn")
    assert status.code == exitcodes.OK and "was never run" in status.err, status
    assert sorted(tmp_path.rglob("*")) == before  # no journal for Autumn, results untouched
    assert cli.status(manifest, "--sheet", "Spring").code == exitcodes.OK
