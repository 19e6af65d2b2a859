"""hhbatch download: names, resumability, size checks, the localFile column, no leaked key."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import openpyxl
import pytest

from hhbatch import download as d
from hhbatch.cli import main
from hhbatch.i18n import set_language
from hhbatch.reconciler import RowResult
from hhbatch.sandbox import assets


@pytest.fixture(autouse=True)
def english_unless_asked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Messages are asserted in English: a Chinese system locale must not change them."""
    monkeypatch.setenv("HHBATCH_LANG", "en")
    yield
    set_language("en")


PROMPTS = [
    "A chestnut horse gallops along a sunlit beach",
    "一匹栗色的马在金色夕阳下奔跑",
    "Product shot [fail] of a shoe",
    "A CON: <weird> / name?",
]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, sandbox):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HAPPYHORSE_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("HAPPYHORSE_API_KEY", sandbox.api_key)
    return sandbox


def write_csv(folder: Path, prompts: list[str], filenames: list[str] | None = None) -> Path:
    path = folder / "spring.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", "durationSec", *(["filename"] if filenames else [])])
        for i, prompt in enumerate(prompts):
            writer.writerow([prompt, 3, *([filenames[i]] if filenames else [])])
    return path


def run_batch(manifest: Path) -> None:
    code = main(["run", str(manifest), "--yes", "--poll-interval", "0.05"])
    assert code == 1  # the [fail] row failed


def results_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# --- names -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ('a<b>c:d"e/f\\g|h?i*j.mp4', "a_b_c_d_e_f_g_h_i_j.mp4"),
        ("CON.mp4", "_CON.mp4"),
        ("nul", "_nul"),
        ("com1.backup.mp4", "_com1.backup.mp4"),
        ("trailing. . ", "trailing"),
        ("tab\tand\x01ctl.mp4", "tab_and_ctl.mp4"),
        ("", "video"),
        ("...", "video"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert d.safe_filename(name) == expected


def test_safe_filename_caps_length_in_characters_and_bytes() -> None:
    assert len(d.safe_filename("x" * 500 + ".mp4")) == d.NAME_MAX_CHARS
    chinese = d.safe_filename("马" * 300 + ".mp4")
    assert chinese.endswith(".mp4")
    assert len(chinese.encode("utf-8")) <= d.NAME_MAX_BYTES


def test_stems_slug_prompt_and_respect_filename_column_without_collisions() -> None:
    stems = d.file_stems(
        [
            (2, "A Chestnut horse, gallops!", None),
            (3, "一匹栗色的马", None),
            (4, "ignored", "Spot_01.mp4"),
            (5, "ignored", "spot_01"),
            (6, "   ", None),
        ]
    )
    assert stems == {
        2: "r2_a-chestnut-horse-gallops",
        3: "r3_一匹栗色的马",
        4: "Spot_01",
        5: "spot_01_r5",  # same name as row 4 on a case-insensitive file system
        6: "r6",
    }


# --- against the sandbox ------------------------------------------------------------------------
def test_download_fetches_ready_rows_and_writes_local_file_column(
    tmp_path: Path, env, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_csv(tmp_path, PROMPTS)
    run_batch(manifest)
    capsys.readouterr()
    assert main(["download", str(manifest)]) == 0
    folder = tmp_path / "spring_videos"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "r2_a-chestnut-horse-gallops-along-a-sunlit.mp4",
        "r2_a-chestnut-horse-gallops-along-a-sunlit.png",
        "r3_一匹栗色的马在金色夕阳下奔跑.mp4",
        "r3_一匹栗色的马在金色夕阳下奔跑.png",
        "r5_a-con-weird-name.mp4",
        "r5_a-con-weird-name.png",
    ]
    assert (folder / names[0]).read_bytes() == assets.mp4_bytes()
    assert (folder / names[1]).read_bytes() == assets.png_bytes()
    rows = results_rows(tmp_path / "spring.results.csv")
    local = [r["localFile"] for r in rows]
    assert local == [
        str(Path("spring_videos") / names[0]),
        str(Path("spring_videos") / names[2]),
        "",
        str(Path("spring_videos") / names[4]),
    ]
    assert [r["status"] for r in rows] == ["ready", "ready", "failed", "ready"]
    assert env.counters()["storage_authorization_headers"] == 0
    out = capsys.readouterr().err
    assert "3 ready row(s): 6 file(s) downloaded, 0 already there, 0 failed." in out

    # Again: complete files are skipped, a truncated one is fetched again, a stray .part goes.
    (folder / names[0]).write_bytes(b"half")
    (folder / (names[2] + ".part")).write_bytes(b"junk")
    assert main(["download", str(manifest)]) == 0
    out = capsys.readouterr().err
    assert "3 ready row(s): 1 file(s) downloaded, 5 already there, 0 failed." in out
    assert (folder / names[0]).read_bytes() == assets.mp4_bytes()
    assert env.counters()["storage_authorization_headers"] == 0


def test_download_uses_filename_column_and_to_folder_and_xlsx(tmp_path: Path, env) -> None:
    path = tmp_path / "广告.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["提示词", "时长", "filename"])
    sheet.append(["A horse on a beach", 3, "beach/horse:1"])
    sheet.append(["A shoe on a table", 3, None])
    book.save(path)
    assert main(["run", str(path), "--yes", "--poll-interval", "0.05"]) == 0
    target = tmp_path / "out dir"
    assert main(["download", str(path), "--to", str(target)]) == 0
    assert sorted(p.name for p in target.iterdir()) == [
        "beach_horse_1.mp4",
        "beach_horse_1.png",
        "r3_a-shoe-on-a-table.mp4",
        "r3_a-shoe-on-a-table.png",
    ]
    results = openpyxl.load_workbook(tmp_path / "广告.results.xlsx").active
    headers = [c.value for c in results[1]]
    assert "本地文件" in headers
    column = headers.index("本地文件")
    assert results.cell(2, column + 1).value == str(Path("out dir") / "beach_horse_1.mp4")


# --- failures are per row ------------------------------------------------------------------------
def fake_host(body_for: dict[str, tuple[int, bytes, str | None]]) -> httpx.MockTransport:
    seen_auth: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if "authorization" in request.headers:
            seen_auth.append(request.headers["authorization"])
        status, body, length = body_for[request.url.path]
        headers = {"content-length": length} if length is not None else {}
        return httpx.Response(
            status, content=body if request.method == "GET" else b"", headers=headers
        )

    transport = httpx.MockTransport(handler)
    transport.seen_auth = seen_auth  # type: ignore[attr-defined]
    return transport


def test_size_mismatch_and_http_errors_fail_that_row_only(tmp_path: Path) -> None:
    results = {
        2: RowResult("ready", video_url="https://files.example/a.mp4"),
        3: RowResult(
            "ready",
            video_url="https://files.example/b.mp4",
            thumbnail_url="https://files.example/b.jpg",
        ),
        4: RowResult("ready", video_url="https://files.example/c.mp4"),
        5: RowResult("failed", video_url=None, error="nope"),
    }
    transport = fake_host(
        {
            "/a.mp4": (200, b"x" * 10, "1000"),  # announced 1000 bytes, sent 10
            "/b.mp4": (200, b"video-b", None),
            "/b.jpg": (200, b"thumb", None),
            "/c.mp4": (404, b"<Error/>", None),
        }
    )
    stems = {2: "r2", 3: "r3", 4: "r4"}
    jobs = d.plan_files(results, stems, tmp_path)
    assert [j.path.name for j in jobs] == ["r2.mp4", "r3.mp4", "r3.jpg", "r4.mp4"]
    outcomes = asyncio.run(d.fetch_files(jobs, transport=transport, retry_delay=0))
    rows, counts = d.collect(jobs, outcomes, results)
    assert counts == {d.DOWNLOADED: 2, d.SKIPPED: 0, d.FAILED: 2}
    assert rows[2].video is None
    assert rows[2].error == (
        "Download failed: the video arrived with 10 bytes but the file host announced 1000."
    )
    assert rows[3].video == tmp_path / "r3.mp4" and rows[3].thumbnail == tmp_path / "r3.jpg"
    assert rows[4].error == (
        "Download failed: the file host answered HTTP 404 for the video (the link may have "
        "expired)."
    )
    assert 5 not in rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r3.jpg", "r3.mp4"]  # no .part left
    assert transport.seen_auth == []  # type: ignore[attr-defined]


def test_existing_file_of_another_size_is_replaced(tmp_path: Path) -> None:
    results = {2: RowResult("ready", video_url="https://files.example/a.mp4")}
    transport = fake_host({"/a.mp4": (200, b"0123456789", "10")})
    jobs = d.plan_files(results, {2: "r2"}, tmp_path)
    (tmp_path / "r2.mp4").write_bytes(b"01234")
    events: list[tuple[str, str | None]] = []

    class Events(d.NullEvents):
        def file_done(self, job: d.FileJob, outcome: str, error: str | None) -> None:
            events.append((outcome, error))

    asyncio.run(d.fetch_files(jobs, Events(), transport=transport, retry_delay=0))
    assert (tmp_path / "r2.mp4").read_bytes() == b"0123456789"
    asyncio.run(d.fetch_files(jobs, Events(), transport=transport, retry_delay=0))
    assert events == [(d.DOWNLOADED, None), (d.SKIPPED, None)]


def test_run_download_fetches_while_running_and_writes_local_file(
    tmp_path: Path, env, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_csv(tmp_path, PROMPTS)
    code = main(["run", str(manifest), "--yes", "--poll-interval", "0.05", "--download"])
    assert code == 1  # the [fail] row
    err = capsys.readouterr().err
    assert "3 ready row(s): 6 file(s) downloaded, 0 already there, 0 failed." in err
    rows = results_rows(tmp_path / "spring.results.csv")
    assert [bool(r["localFile"]) for r in rows] == [True, True, False, True]
    for row in rows:
        if row["localFile"]:
            assert (tmp_path / row["localFile"]).read_bytes() == assets.mp4_bytes()
    assert env.counters()["storage_authorization_headers"] == 0


def test_background_downloads_get_rows_as_they_become_ready(tmp_path: Path) -> None:
    batch = SimpleNamespace(
        options=SimpleNamespace(manifest=tmp_path / "b.csv"),
        manifest=SimpleNamespace(columns=[], rows=[]),
    )
    transport = fake_host({"/a.mp4": (200, b"aaaa", "4"), "/a.png": (200, b"png", "3")})
    downloads = d.BackgroundDownloads(batch, transport=transport, retry_delay=0)
    result = RowResult("ready", video_url="https://h/a.mp4", thumbnail_url="https://h/a.png")
    downloads.row_ready(7, result)
    downloads.row_ready(7, result)  # reported twice: fetched once
    outcomes = downloads.close()
    assert sorted((j.path.name, o) for j, (o, _) in outcomes.items()) == [
        ("r7.mp4", d.DOWNLOADED),
        ("r7.png", d.DOWNLOADED),
    ]
    assert (tmp_path / "b_videos" / "r7.mp4").read_bytes() == b"aaaa"
