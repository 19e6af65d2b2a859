"""Uploads in ``hhbatch run``: once per file and across reruns; expired URLs presigned again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from runkit import Cli, copy_samples, read_rows, results_path, write_csv

from hhbatch.cli import exitcodes
from hhbatch.client import ApiClient

FILE_COLUMNS = ("Source image", "Last frame", "Reference video", "Reference audio")


def _distinct(folder: Path, manifest: Path) -> int:
    return len(
        {
            hashlib.sha256((folder / row[c]).read_bytes()).hexdigest()
            for row in read_rows(manifest)
            for c in FILE_COLUMNS
            if row.get(c)
        }
    )


def test_files_are_reused_across_reruns(sandbox, monkeypatch, capsys, tmp_path: Path) -> None:
    cli = Cli(sandbox, monkeypatch, capsys)
    folder = copy_samples(tmp_path)
    manifest = folder / "campaign.xlsx"
    for _ in range(4):
        cli.run(manifest, "--limit", "2")
    assert cli.run(manifest).code == exitcodes.OK
    counters = sandbox.counters()
    assert counters["creates"] == 7
    assert counters["presigns"] == counters["uploads_completed"] == _distinct(folder, manifest)


def test_an_expired_upload_url_is_presigned_again(
    sandbox_factory, fake_clock, monkeypatch, capsys, tmp_path: Path
) -> None:
    sb = sandbox_factory(clock=fake_clock, upload_url_ttl_sec=60)
    cli = Cli(sb, monkeypatch, capsys)
    real_upload = ApiClient.upload
    calls = {"n": 0}

    async def slow_first_upload(self, presign, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            fake_clock.advance(120)  # this URL ran out before the bytes went
        return await real_upload(self, presign, *args, **kwargs)

    monkeypatch.setattr(ApiClient, "upload", slow_first_upload)
    folder = copy_samples(tmp_path)
    manifest = folder / "campaign.xlsx"
    fake_clock.advance(0)
    result = cli.run(manifest, "--no-wait")
    assert result.code == exitcodes.OK, result
    distinct = _distinct(folder, manifest)
    counters = sb.counters()
    assert counters["uploads_completed"] == distinct
    # presigned again (other uploads presigned before the clock jumped may expire too)
    assert distinct < counters["presigns"] <= 2 * distinct
    assert counters["creates"] == 7


def test_uploads_that_keep_failing_leave_rows_not_submitted(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path
) -> None:
    sb = sandbox_factory(upload_url_ttl_sec=0)  # every upload URL is already expired
    cli = Cli(sb, monkeypatch, capsys)
    folder = copy_samples(tmp_path)
    manifest = folder / "campaign.xlsx"
    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    rows = read_rows(results_path(manifest))
    with_files = [r for r in rows if any(r.get(c) for c in FILE_COLUMNS)]
    text_only = [r for r in rows if not any(r.get(c) for c in FILE_COLUMNS)]
    assert {r["status"] for r in text_only} == {"ready"}
    assert {r["status"] for r in with_files} == {"not submitted"}
    for row in with_files:
        assert "uploading a file failed" in row["error"] and "Nothing was charged" in row["error"]
    assert sb.counters()["creates"] == len(text_only)

    sb.update_config(upload_url_ttl_sec=900)
    again = cli.run(manifest)
    assert again.code == exitcodes.OK, again
    assert sb.counters()["creates"] == 7
    assert sb.counters()["duplicate_creates"] == 0


@pytest.mark.parametrize("fault", ["error_probability", "drop_probability"])
def test_storage_faults_on_upload_are_retried_and_each_row_created_once(
    sandbox_factory, monkeypatch, capsys, tmp_path: Path, fault: str
) -> None:
    """One upload in five fails (a 500, or a connection dropped): each file is tried again
    until it lands, in the same run, and every row is created exactly once. Thirty distinct
    files make a fault all but certain (0.8**30 = 0.1 %) and seven failures in a row of one
    file all but impossible (30 x 0.2**7 = 0.04 %)."""
    sb = sandbox_factory(**{fault: 0.2}, fault_routes=("upload",), seed=11)
    cli = Cli(sb, monkeypatch, capsys)
    (tmp_path / "img").mkdir()
    png = (Path(__file__).parent.parent / "samples" / "assets" / "shoe.png").read_bytes()
    rows = []
    for i in range(30):
        (tmp_path / "img" / f"p{i}.png").write_bytes(png + f"picture {i}".encode())
        rows.append([f"A horse in picture {i}", 3, f"img/p{i}.png"])
    manifest = write_csv(tmp_path / "faults.csv", ("Prompt", "Duration (s)", "Source image"), rows)
    first = cli.run(manifest)
    counters = sb.counters()
    injected = counters["faults"]["error" if fault == "error_probability" else "drop"]
    assert injected > 0, counters  # the faults did happen
    assert first.code == exitcodes.OK, first
    assert counters["uploads_completed"] == 30
    assert counters["creates"] == 30
    assert [r["status"] for r in read_rows(results_path(manifest))] == ["ready"] * 30
    sb.update_config(**{fault: 0.0})
    assert cli.run(manifest).code == exitcodes.OK  # a rerun finds nothing left to do
    counters = sb.counters()
    assert counters["creates"] == 30 and counters["duplicate_creates"] == 0
    assert counters["uploads_completed"] == 30
    assert counters["storage_authorization_headers"] == 0
