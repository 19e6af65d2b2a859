"""Bytes uploaded are bytes validated: a file changed on disk (same size) after it was checked is
not uploaded under the old hash, no row uses the upload, and a later row with the original
picture gets the original bytes."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from runkit import Cli, journal_file, prompt, read_rows, results_path, write_csv

from hhbatch.cli import exitcodes
from hhbatch.client import ApiClient
from hhbatch.sandbox import Sandbox

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "assets"
HEADER = ("Prompt", "Duration (s)", "Resolution", "Source image")


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size, same file type, other bytes
    path.write_bytes(bytes(data))


def _uploads_in_journal(manifest: Path) -> list[str]:
    db = sqlite3.connect(journal_file(manifest))
    try:
        return [row[0] for row in db.execute("SELECT sha256 FROM uploads")]
    finally:
        db.close()


def _stored_bytes(sandbox: Sandbox, key: str) -> bytes:
    response = httpx.get(f"{sandbox.storage_url}/{key}", timeout=10.0)
    response.raise_for_status()
    return response.content


def test_a_file_changed_between_validation_and_upload_is_not_sent(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    cli = Cli(sandbox, monkeypatch, capsys)
    assets = tmp_path / "assets"
    assets.mkdir()
    shutil.copyfile(SAMPLES / "shoe.png", assets / "shoe.png")
    shutil.copyfile(SAMPLES / "shoe.png", assets / "original.png")  # the same picture, elsewhere
    original = (assets / "shoe.png").read_bytes()
    manifest = write_csv(
        tmp_path / "changed.csv",
        HEADER,
        [
            [prompt(0), 3, "720p", "assets/shoe.png"],
            [prompt(1), 3, "720p", "assets/original.png"],
            [prompt(2), 3, "720p", ""],
        ],
    )

    real_upload = ApiClient.upload
    changed: list[Path] = []

    async def edit_then_upload(
        self: ApiClient, presign: Any, path: Path, *a: Any, **k: Any
    ) -> None:
        if not changed:  # the user saves the picture again while the batch is starting
            _flip_last_byte(Path(path))
            changed.append(Path(path))
        return await real_upload(self, presign, path, *a, **k)

    monkeypatch.setattr(ApiClient, "upload", edit_then_upload)
    result = cli.run(manifest)
    assert changed == [assets / "shoe.png"]  # the planned upload reads the first row's file
    assert result.code == exitcodes.ROWS_NOT_OK, result
    counters = sandbox.counters()
    assert counters["uploads_completed"] == 0  # the changed bytes never completed an upload
    assert counters["creates"] == 1  # only the text row
    assert _uploads_in_journal(manifest) == []  # nothing recorded under the old hash
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["not submitted", "not submitted", "ready"]
    for row in rows[:2]:
        assert "changed after it was checked" in row["error"], row
        assert "Run again" in row["error"], row
        assert not row["videoId"]

    # The next run checks again: the edited picture is new content, the untouched copy still the
    # original; each is uploaded from its own file and no row uses a wrong upload.
    monkeypatch.setattr(ApiClient, "upload", real_upload)
    again = cli.run(manifest)
    assert again.code == exitcodes.OK, again
    bodies = {job["body"]["prompt"]: job["body"] for job in sandbox.jobs()}
    edited = (assets / "shoe.png").read_bytes()
    assert edited != original
    assert _stored_bytes(sandbox, bodies[prompt(0)]["sourceImageKey"]) == edited
    assert _stored_bytes(sandbox, bodies[prompt(1)]["sourceImageKey"]) == original
    recorded = set(_uploads_in_journal(manifest))
    assert recorded == {hashlib.sha256(original).hexdigest(), hashlib.sha256(edited).hexdigest()}


def test_a_file_changed_while_it_streams_never_completes_its_upload(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    import asyncio

    from hhbatch.errors import FileChangedError

    path = tmp_path / "big.png"
    path.write_bytes((SAMPLES / "shoe.png").read_bytes()[:16] + bytes(range(256)) * 1024)
    data = path.read_bytes()
    validated = hashlib.sha256(data).hexdigest()

    def edit_after_first_chunk(n: int) -> None:
        if n > 0 and path.read_bytes() == data:
            _flip_last_byte(path)

    async def scenario() -> None:
        async with ApiClient(
            sandbox.base_url, sandbox.api_key, upload_chunk_size=64 * 1024
        ) as client:
            presign = await client.presign("image", "image/png", len(data))
            with pytest.raises(FileChangedError) as err:
                await client.upload(
                    presign,
                    path,
                    "image/png",
                    len(data),
                    progress=edit_after_first_chunk,
                    sha256=validated,
                )
            assert "changed after it was checked" in str(err.value)

    asyncio.run(scenario())
    assert sandbox.counters()["uploads_completed"] == 0
