"""``hhbatch run`` on the bundled sample, end to end over real HTTP against the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from runkit import Cli, by_prompt, copy_samples, read_rows, results_path

from hhbatch.sandbox import Sandbox


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def _distinct_files(folder: Path) -> int:
    """Distinct referenced files of the sample (by content), computed, not hard-coded."""
    import hashlib

    rows = read_rows(folder / "campaign.xlsx")
    columns = ("Source image", "Last frame", "Reference video", "Reference audio")
    hashes = {
        hashlib.sha256((folder / row[c]).read_bytes()).hexdigest()
        for row in rows
        for c in columns
        if row.get(c)
    }
    return len(hashes)


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _assert_key_nowhere(key: str, folder: Path, *texts: str) -> None:
    secret = key.encode("utf-8")
    written = _files_under(folder)
    assert any(p.name.endswith(".sqlite") for p in written), "the journal should be under tmp"
    for path in written:
        assert secret not in path.read_bytes(), f"API key found in {path}"
    for text in texts:
        assert key not in text


def test_sample_runs_to_ready_with_each_file_uploaded_once(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = copy_samples(tmp_path)
    manifest = folder / "campaign.xlsx"
    result = cli.run(manifest)
    assert result.code == 0, result

    out = results_path(manifest)
    assert out == folder / "campaign.results.xlsx"
    rows = read_rows(out)
    source = read_rows(manifest)
    assert len(rows) == len(source) == 7
    assert [r["Prompt"] for r in rows] == [r["Prompt"] for r in source]  # row order kept
    for row in rows:
        assert row["status"] == "ready", row
        assert row["videoId"] and row["videoUrl"].startswith("http")
        assert row["readyAt"]
        assert not row["error"]

    counters = sandbox.counters()
    distinct = _distinct_files(folder)
    assert distinct < 7  # the sample reuses a file, so "once per file" is tested
    assert counters["presigns"] == distinct
    assert counters["uploads_completed"] == distinct
    assert counters["creates"] == 7
    assert counters["duplicate_creates"] == 0
    assert counters["storage_authorization_headers"] == 0
    # every id in the sheet is a job the server made, one per row
    assert sorted(r["videoId"] for r in rows) == sorted(j["id"] for j in sandbox.jobs())
    _assert_key_nowhere(sandbox.api_key, tmp_path, result.out, result.err)


def test_rerun_of_a_finished_batch_sends_no_create_and_no_upload(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = copy_samples(tmp_path)
    manifest = folder / "campaign.xlsx"
    assert cli.run(manifest).code == 0
    before = sandbox.counters()
    again = cli.run(manifest)
    assert again.code == 0, again
    after = sandbox.counters()
    assert after["creates"] == before["creates"]
    assert after["presigns"] == before["presigns"]
    assert "already ready" in again.err
    assert all(r["status"] == "ready" for r in read_rows(results_path(manifest)))


def test_json_summary_on_stdout(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    import json

    folder = copy_samples(tmp_path)
    result = cli.run(folder / "campaign.csv", "--json")
    assert result.code == 0, result
    data = json.loads(result.out)
    assert data["counts"] == {"ready": 7}
    assert len(data["rows"]) == 7
    assert {r["status"] for r in data["rows"]} == {"ready"}
    assert data["output"].endswith("campaign.results.csv")


def test_sample_as_a_real_process(sandbox: Sandbox, tmp_path: Path) -> None:
    folder = copy_samples(tmp_path)
    manifest = folder / "campaign.xlsx"
    env = {**os.environ, "HAPPYHORSE_BASE_URL": sandbox.base_url}
    env["HAPPYHORSE_API_KEY"] = sandbox.api_key
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hhbatch",
            "run",
            str(manifest),
            "--yes",
            "--poll-interval",
            "0.05",
            "--rate",
            "500",
        ],
        env=env,
        cwd=folder,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    rows = by_prompt(read_rows(results_path(manifest)))
    assert {r["status"] for r in rows.values()} == {"ready"}
    counters = sandbox.counters()
    assert counters["creates"] == 7
    assert counters["storage_authorization_headers"] == 0
    assert "Summary" in proc.stderr
    _assert_key_nowhere(sandbox.api_key, tmp_path, proc.stdout, proc.stderr)
