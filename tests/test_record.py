"""The record survives everyday file handling (issue #9 points 1, 2, 4, 10).

Whatever the user does to the campaign files — copies the folder without the hidden ``.hhbatch``,
truncates the journal, copies the manifest into another folder, runs two sheets of one workbook —
nothing is created (and charged) twice, and no video id is lost from the results sheet. Creates
are counted by the sandbox itself. The in-process runs use the real CLI entry point; the
process-level ones are what a user types.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from runhelpers import (
    CreateWatch,
    creates_by_prompt,
    describe,
    prompt_for,
    read_results,
    run_to_end,
    start_run,
    wait_until,
    write_manifest,
)
from runkit import Cli, by_prompt, prompt, read_rows, results_path, write_csv, write_xlsx

from hhbatch import userdata
from hhbatch.cli import exitcodes
from hhbatch.ledger import Ledger, history_status
from hhbatch.sandbox import Sandbox
from hhbatch.workflow import JOURNAL_DIRNAME, journal_path

HEADER = ("Prompt", "Duration (s)", "Resolution")
IMAGE_HEADER = (*HEADER, "Source image")
SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "assets"


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def row(i: int, *extra: Any) -> list[Any]:
    return [prompt(i), 3, "720p", *extra]


def creates(sandbox: Sandbox) -> int:
    return int(sandbox.counters()["creates"])


def ids_of(results: Path, sheet: str | None = None) -> list[str]:
    return [str(r["videoId"]) for r in read_rows(results, sheet)]


def another_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str = "other") -> Path:
    """From here on, runs see a user data folder of their own: no ledger of the first runs."""
    home = tmp_path / f"home-{name}"
    monkeypatch.setenv("HHBATCH_HOME", str(home))
    return home


def with_assets(folder: Path) -> Path:
    assets = folder / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SAMPLES / "shoe.png", assets / "shoe.png")
    shutil.copyfile(SAMPLES / "storefront.jpg", assets / "storefront.jpg")
    return folder


def journals(folder: Path) -> list[Path]:
    return sorted((folder / JOURNAL_DIRNAME).rglob("*.journal.sqlite"))


def write_sheets(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        ws.append(list(HEADER))
        for values in rows:
            ws.append(values)
    wb.save(path)
    return path


# --- 1. the results sheet is a record -----------------------------------------------------------
def test_a_folder_copied_without_hidden_files_creates_nothing_again(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The campaign folder goes to a colleague's machine without ``.hhbatch/``; the README's
    resume command on the manifest adopts the results sheet's ids: 0 creates, every id kept.
    (The same as separate processes: the kill test below.)"""
    mine = tmp_path / "mine"
    manifest = write_manifest(mine, 4, image_every=2)
    assert cli.run(manifest).code == exitcodes.OK
    before = {p: r["videoId"] for p, r in read_results(manifest).items()}
    assert creates(sandbox) == 4 and all(before.values())

    colleague = tmp_path / "colleague"
    shutil.copytree(mine, colleague, ignore=shutil.ignore_patterns(".*"))
    assert not (colleague / JOURNAL_DIRNAME).exists()
    another_machine(monkeypatch, tmp_path)  # no ledger of the first run there
    moved = colleague / manifest.name
    resumed = cli.run(moved)
    assert resumed.code == exitcodes.OK, resumed
    assert creates(sandbox) == 4, resumed
    after = read_results(moved)
    assert {p: r["videoId"] for p, r in after.items()} == before
    assert {r["status"] for r in after.values()} == {"ready"}


def test_a_results_sheet_written_elsewhere_is_read_against_the_manifest_folder(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--out`` in another folder, rows with pictures, journal lost, another machine: the
    results rows are paired by content (the pictures resolved from the manifest's folder)."""
    folder = with_assets(tmp_path / "camp")
    manifest = write_xlsx(
        folder / "camp.xlsx",
        IMAGE_HEADER,
        [row(0, "assets/shoe.png"), row(1, "assets/storefront.jpg"), row(2, "")],
    )
    out = tmp_path / "shared" / "camp-results.xlsx"
    out.parent.mkdir()
    assert cli.run(manifest, "--out", out).code == exitcodes.OK
    before = ids_of(out)
    shutil.rmtree(folder / JOURNAL_DIRNAME)
    another_machine(monkeypatch, tmp_path)
    result = cli.run(manifest, "--out", out)
    assert result.code == exitcodes.OK, result
    assert creates(sandbox) == 3, result
    assert ids_of(out) == before


def test_a_row_edited_after_the_journal_was_lost_is_an_edit_not_a_new_video(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_xlsx(tmp_path / "ed.xlsx", HEADER, [row(0), row(1), row(2)])
    assert cli.run(manifest).code == exitcodes.OK
    old = ids_of(results_path(manifest))
    shutil.rmtree(tmp_path / JOURNAL_DIRNAME)
    another_machine(monkeypatch, tmp_path)
    edited = prompt(1, " at sunset")
    write_xlsx(manifest, HEADER, [row(0), [edited, 3, "720p"], row(2)])
    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    assert creates(sandbox) == 3, result
    rows = by_prompt(read_rows(results_path(manifest)))
    assert rows[edited]["status"] == "edited" and rows[edited]["videoId"] == old[1]
    assert "--resubmit-edited" in rows[edited]["error"]
    assert [rows[prompt(i)]["videoId"] for i in (0, 2)] == [old[0], old[2]]


def test_twins_keep_their_own_videos_when_the_journal_is_lost(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_xlsx(tmp_path / "tw.xlsx", HEADER, [row(0), row(1), row(0), row(0)])
    assert cli.run(manifest).code == exitcodes.OK
    before = ids_of(results_path(manifest))
    shutil.rmtree(tmp_path / JOURNAL_DIRNAME)
    another_machine(monkeypatch, tmp_path)
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert creates(sandbox) == 4, result
    assert ids_of(results_path(manifest)) == before


@pytest.mark.parametrize("survivor", ["results sheet", "ledger"])
def test_a_zero_byte_journal_is_not_a_new_batch(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, survivor: str
) -> None:
    """A sync tool or a full disk leaves the journal at 0 bytes: the batch is rebuilt from
    whichever record survived — the results sheet (on another machine) or this machine's
    ledger (the results sheet gone too) — and nothing is created again."""
    manifest = write_xlsx(tmp_path / "zero.xlsx", HEADER, [row(0), row(1), row(2)])
    assert cli.run(manifest).code == exitcodes.OK
    before = ids_of(results_path(manifest))
    (path,) = journals(tmp_path)
    path.write_bytes(b"")
    for extra in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        extra.unlink(missing_ok=True)
    if survivor == "results sheet":
        another_machine(monkeypatch, tmp_path)
    else:
        results_path(manifest).unlink()
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert creates(sandbox) == 3, result
    assert ids_of(results_path(manifest)) == before


@pytest.mark.parametrize("run_on", ["manifest", "results sheet"])
def test_ready_rows_recovered_from_the_results_sheet_are_planned_as_ready(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_on: str
) -> None:
    """#9 review: after the journal was lost, rows the results sheet shows ready (with their
    video link) were planned as "still generating". They are ready: the plan says so, and the
    sheet keeps their links and ready times."""
    manifest = write_xlsx(tmp_path / "lost.xlsx", HEADER, [row(0), row(1)])
    assert cli.run(manifest).code == exitcodes.OK
    before = read_rows(results_path(manifest))
    shutil.rmtree(tmp_path / JOURNAL_DIRNAME)
    another_machine(monkeypatch, tmp_path)  # no ledger either: only the sheet remembers
    target = manifest if run_on == "manifest" else results_path(manifest)
    result = cli.run(target, "--dry-run")
    assert result.code == exitcodes.OK, result
    counts = {line[:27].strip(): line[27:34].strip() for line in result.err.splitlines()}
    assert counts["already ready"] == "2" and counts["still generating"] == "0", result
    result = cli.run(target)
    assert result.code == exitcodes.OK, result
    assert creates(sandbox) == 2
    after = read_rows(results_path(manifest))
    keep = ("videoId", "status", "videoUrl", "readyAt")
    assert [[r[k] for k in keep] for r in after] == [[r[k] for k in keep] for r in before]


def test_a_zero_byte_journal_with_no_other_record_is_refused_with_what_to_do(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_csv(tmp_path / "gone.csv", HEADER, [row(0), row(1)])
    assert cli.run(manifest).code == exitcodes.OK
    results_path(manifest).unlink()
    (path,) = journals(tmp_path)
    path.write_bytes(b"")
    another_machine(monkeypatch, tmp_path)
    result = cli.run(manifest)
    assert result.code == exitcodes.USAGE, result
    assert "empty (0 bytes)" in result.err and str(path) in result.err, result
    assert "Put the results sheet back" in result.err and "Traceback" not in result.err
    assert creates(sandbox) == 2


def test_a_damaged_journal_tells_how_to_recover_and_moving_it_aside_does(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = write_csv(tmp_path / "dmg.csv", HEADER, [row(0), row(1)])
    assert cli.run(manifest).code == exitcodes.OK
    before = ids_of(results_path(manifest))
    path = journal_path(manifest)
    path.write_bytes(b"not a journal " * 300)
    refused = cli.run(manifest)
    assert refused.code == exitcodes.USAGE, refused
    assert "Move it aside" in refused.err and "results sheet" in refused.err, refused
    path.rename(path.with_name("dmg.journal.sqlite.bad"))
    recovered = cli.run(manifest)
    assert recovered.code == exitcodes.OK, recovered
    assert creates(sandbox) == 2
    assert ids_of(results_path(manifest)) == before


# --- 2. the per-user ledger ---------------------------------------------------------------------
def test_a_copy_in_another_folder_adopts_the_videos_and_again_creates_new_ones(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    first = with_assets(tmp_path / "first")
    rows = [row(0, "assets/shoe.png"), row(1, ""), row(2, "assets/storefront.jpg")]
    manifest = write_csv(first / "spring.csv", IMAGE_HEADER, rows)
    assert cli.run(manifest).code == exitcodes.OK
    original = ids_of(results_path(manifest))

    copy = with_assets(tmp_path / "copy")
    moved = shutil.copy(manifest, copy / "spring-copy.csv")  # renamed, another folder
    result = cli.run(moved)
    assert result.code == exitcodes.OK, result
    assert creates(sandbox) == 3, result
    assert ids_of(results_path(Path(moved))) == original
    assert "3 row(s) were already created from another file or folder" in result.err, result
    assert f"{manifest.resolve()}, row 2" in result.err, result  # where, and when
    assert datetime.now().strftime("%Y-%m-%d") in result.err, result

    dry = cli.run(moved, "--dry-run", "--again")
    assert "3 row(s) already created elsewhere will be created again (--again)" in dry.err, dry
    again = cli.run(moved, "--again")
    assert again.code == exitcodes.OK, again
    assert creates(sandbox) == 6
    renewed = ids_of(results_path(Path(moved)))
    assert not set(renewed) & set(original)
    for flags in ((), ("--again",)):  # they are this batch's own videos now
        assert cli.run(moved, *flags).code == exitcodes.OK
    assert creates(sandbox) == 6
    assert ids_of(results_path(Path(moved))) == renewed
    assert ids_of(results_path(manifest)) == original  # the first batch keeps its own


def test_twins_in_a_copy_adopt_one_video_each_and_extra_twins_are_created(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = write_csv(tmp_path / "a" / "takes.csv", HEADER, [row(0), row(0), row(1)])
    assert cli.run(manifest).code == exitcodes.OK
    made = ids_of(results_path(manifest))
    copy = write_csv(tmp_path / "b" / "takes.csv", HEADER, [row(1), row(0), row(0), row(0)])
    result = cli.run(copy)
    assert result.code == exitcodes.OK, result
    assert creates(sandbox) == 4  # only the third take is new
    ids = ids_of(results_path(copy))
    assert ids[0] == made[2] and ids[1:3] == made[0:2]
    assert ids[3] not in made


def test_an_unknown_create_elsewhere_stays_unknown_and_resubmit_unknown_sends_it(
    sandbox_factory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    sb = sandbox_factory(create_then_drop=1.0, fault_routes=("create",))
    cli = Cli(sb, monkeypatch, capsys)
    manifest = write_csv(tmp_path / "a" / "lost.csv", HEADER, [row(0)])
    assert cli.run(manifest).code == exitcodes.ROWS_NOT_OK
    sb.update_config(create_then_drop=0.0)
    copy = write_csv(tmp_path / "b" / "lost.csv", HEADER, [row(0)])
    result = cli.run(copy)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    assert creates(sb) == 1
    (sheet_row,) = read_rows(results_path(copy))
    assert sheet_row["status"] == "unknown" and "--resubmit-unknown" in sheet_row["error"]
    assert str(manifest.resolve()) in sheet_row["error"]
    assert cli.run(copy, "--resubmit-unknown").code == exitcodes.OK
    assert creates(sb) == 2


def test_the_same_bytes_renamed_are_the_same_row_and_new_bytes_are_not(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    """#9.10: file identity is by content, in the batch and across copies."""
    folder = with_assets(tmp_path / "c")
    manifest = write_csv(folder / "f.csv", IMAGE_HEADER, [row(0, "assets/shoe.png"), row(1, "")])
    assert cli.run(manifest).code == exitcodes.OK
    made = ids_of(results_path(manifest))
    (folder / "assets" / "shoe.png").rename(folder / "assets" / "product.png")
    write_csv(manifest, IMAGE_HEADER, [row(0, "assets/product.png"), row(1, "")])
    moved = cli.run(manifest)
    assert moved.code == exitcodes.OK, moved
    assert creates(sandbox) == 2 and ids_of(results_path(manifest)) == made

    copy = tmp_path / "d"
    (copy / "pics").mkdir(parents=True)
    shutil.copyfile(SAMPLES / "shoe.png", copy / "pics" / "hero.png")  # same bytes, new name
    same = write_csv(copy / "g.csv", IMAGE_HEADER, [row(0, "pics/hero.png")])
    assert cli.run(same).code == exitcodes.OK
    assert creates(sandbox) == 2 and ids_of(results_path(same)) == made[:1]

    other = tmp_path / "e"
    (other / "assets").mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (320, 320), (200, 30, 30)).save(other / "assets" / "shoe.png")  # other bytes
    changed = write_csv(other / "f.csv", IMAGE_HEADER, [row(0, "assets/shoe.png")])
    assert cli.run(changed).code == exitcodes.OK
    assert creates(sandbox) == 3 and ids_of(results_path(changed))[0] not in made


def test_history_json_lists_every_video_of_the_account_newest_first(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = write_xlsx(tmp_path / "h.xlsx", HEADER, [row(0), row(1), row(2)])
    assert cli.run(manifest).code == exitcodes.OK
    later = write_csv(tmp_path / "later.csv", HEADER, [row(3), row(0)])  # row(0): adopted
    assert cli.run(later).code == exitcodes.OK
    listed = cli("history", "--json")
    assert listed.code == exitcodes.OK, listed
    data = json.loads(listed.out)
    assert data["account"] == {
        "baseUrl": sandbox.base_url,
        "keyFingerprint": userdata.key_fingerprint(sandbox.api_key),
    }
    assert sandbox.api_key not in listed.out
    videos = data["videos"]
    assert sorted(v["videoId"] for v in videos) == sorted(j["id"] for j in sandbox.jobs())
    assert len(videos) == 4
    assert [datetime.fromisoformat(v["createdAt"]) for v in videos] == sorted(
        (datetime.fromisoformat(v["createdAt"]) for v in videos), reverse=True
    )
    newest = videos[0]
    assert newest["batch"] == str(later.resolve()) and newest["row"] == 2
    assert newest["sheet"] is None and newest["prompt"] == prompt(3)
    first = next(v for v in videos if v["prompt"] == prompt(2))
    assert first["sheet"] == "Videos" and first["row"] == 4
    assert {v["status"] for v in videos} == {"ready"}
    assert all(v["videoUrl"].startswith("http") for v in videos)

    text = cli("history")
    assert text.code == exitcodes.OK
    assert all(v["videoId"] in text.out for v in videos)

    cli.use_key(None)
    missing = cli("history", "--json")
    assert missing.code == exitcodes.AUTH, missing
    error = json.loads(missing.out)["error"]
    assert error["code"] and "HAPPYHORSE_API_KEY" in error["message"]
    cli.use_key("hh_live_someone_else_entirely")
    assert json.loads(cli("history", "--json").out)["videos"] == []


def test_a_sandbox_rehearsal_never_writes_the_ledger(
    cli: Cli, tmp_path: Path, user_home: Path
) -> None:
    manifest = write_csv(tmp_path / "try.csv", HEADER, [row(0)])
    result = cli("run", manifest, "--sandbox", "--yes", "--poll-interval", "0.05")
    assert result.code == exitcodes.OK, result
    assert not (user_home / "ledger.sqlite").exists()


def test_the_ledger_is_durable_and_shared_by_concurrent_runs(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, user_home: Path
) -> None:
    """Intents are fsynced (``synchronous=FULL``) in a WAL file; a run holding its batch and the
    ledger open does not stop another run on another batch (no exclusive lock)."""
    from hhbatch.workflow import RunOptions, prepare

    busy = write_csv(tmp_path / "a" / "busy.csv", HEADER, [row(0)])
    with prepare(RunOptions(manifest=busy)) as batch:
        assert batch.record.ledger is not None
        other = write_csv(tmp_path / "b" / "other.csv", HEADER, [row(1), row(2)])
        result = cli.run(other)
        assert result.code == exitcodes.OK, result
        assert creates(sandbox) == 2
        ledger = batch.record.ledger
        assert ledger._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        ledger.record_intent("acct", "fp", batch.record.batch, "fp#1", 2, "p")
        assert ledger._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with Ledger.open() as ledger:
        states = Counter(e.state for e in ledger.history(batch.record.account or ""))
    assert states == Counter({"ready": 2})


def test_a_kill_between_intent_and_id_leaves_the_ledger_unknown_and_a_copy_creates_nothing(
    sandbox_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    manifest = write_manifest(tmp_path / "batch", 2)
    watch = CreateWatch().install(monkeypatch)
    sb: Sandbox = sandbox_factory(fault_routes=("create",), latency_sec=1.0)
    proc = start_run(manifest, sb, "--rate", "100", "--concurrency", "1")
    if not watch.wait_for(1, 30, proc):
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"no create arrived\n{out}\n{err}")
    proc.kill()
    proc.communicate(timeout=30)
    sb.update_config(latency_sec=0.0)
    assert wait_until(lambda: sb.counters()["creates"] == 1, 10)  # the server made it anyway

    with Ledger.open() as ledger:  # what `hhbatch history` reads (see its own test)
        (entry,) = ledger.history(userdata.account_id(sb.base_url, sb.api_key))
    assert history_status(entry) == "unknown" and entry.video_id is None, entry
    assert entry.prompt == prompt_for(0)

    copy = tmp_path / "copy"
    shutil.copytree(manifest.parent, copy, ignore=shutil.ignore_patterns(".*"))
    elsewhere = run_to_end(copy / manifest.name, sb, "--rate", "100")
    diag = describe(elsewhere, sb)
    assert elsewhere.returncode == 1, diag
    sheet = read_results(copy / manifest.name)
    assert sheet[prompt_for(0)]["status"] == "unknown", diag
    assert "--resubmit-unknown" in sheet[prompt_for(0)]["error"], diag
    assert sheet[prompt_for(1)]["status"] == "ready", diag
    rerun = Cli(sb, monkeypatch, capsys).run(manifest)  # the first folder: row 2 is adopted
    assert rerun.code == exitcodes.ROWS_NOT_OK, rerun
    assert creates_by_prompt(sb) == Counter({prompt_for(0): 1, prompt_for(1): 1})
    assert read_results(manifest)[prompt_for(1)]["videoId"] == sheet[prompt_for(1)]["videoId"]


# --- 4. each sheet is its own batch -------------------------------------------------------------
def test_each_sheet_of_a_workbook_is_its_own_batch(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    workbook = write_sheets(
        tmp_path / "weeks.xlsx", {"Week1": [row(0), row(1)], "Week2": [row(2), row(3), row(4)]}
    )
    assert cli.run(workbook, "--sheet", "Week1").code == exitcodes.OK
    assert creates(sandbox) == 2
    plain = cli.run(workbook)  # the first visible sheet, by name: the same batch
    assert plain.code == exitcodes.OK and creates(sandbox) == 2, plain
    week2 = cli.run(workbook, "--sheet", "Week2")
    assert week2.code == exitcodes.OK, week2
    assert creates(sandbox) == 5
    rows = read_rows(results_path(workbook), "Week2")
    assert [r["status"] for r in rows] == ["ready"] * 3
    assert cli.run(workbook, "--sheet", "week2").code == exitcodes.OK  # how Excel matches names
    assert creates(sandbox) == 5
    assert len(journals(tmp_path)) == 2


def test_running_one_sheet_keeps_the_other_sheets_results(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    workbook = write_sheets(tmp_path / "keep.xlsx", {"Week1": [row(0)], "Week2": [row(1)]})
    assert cli.run(workbook, "--sheet", "Week1").code == exitcodes.OK
    week1 = ids_of(results_path(workbook), "Week1")
    assert cli.run(workbook, "--sheet", "Week2").code == exitcodes.OK
    assert ids_of(results_path(workbook), "Week1") == week1
    assert ids_of(results_path(workbook), "Week2")[0] not in week1


def test_a_journal_of_the_previous_version_keeps_serving_its_sheet(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgrading mid-batch: the old ``<name>.journal.sqlite`` (no sheet recorded) belongs to the
    sheet whose rows it knows; another sheet gets a journal of its own."""
    workbook = write_sheets(
        tmp_path / "up.xlsx", {"Week1": [row(0), row(1)], "Week2": [row(2), row(3)]}
    )
    assert cli.run(workbook, "--sheet", "Week2").code == exitcodes.OK
    legacy = journal_path(workbook)
    journal_path(workbook, "Week2").rename(legacy)  # as the previous version left it
    results_path(workbook).unlink()
    another_machine(monkeypatch, tmp_path)  # the previous version kept no ledger

    week1 = cli.run(workbook)
    assert week1.code == exitcodes.OK, week1
    assert creates(sandbox) == 4  # Week1's rows are created, not paired with Week2's jobs
    assert journal_path(workbook, "Week1").is_file()
    week2 = cli.run(workbook, "--sheet", "Week2")
    assert week2.code == exitcodes.OK, week2
    assert creates(sandbox) == 4  # the old journal still knows Week2's videos
    assert not journal_path(workbook, "Week2").exists()
    db = sqlite3.connect(legacy)
    try:
        assert db.execute("SELECT value FROM meta WHERE key = 'sheet'").fetchone() == ("Week2",)
    finally:
        db.close()


def test_sheet_journal_names_are_safe_and_distinct_on_every_os() -> None:
    from hhbatch.batchid import sheet_slug

    names = ["Week1", "第一周", "Q1/Q2", "a:b", " padded ", "CON", "con", "Sheet 1", "x%41", "xA"]
    slugs = [sheet_slug(name) for name in names]
    assert slugs[:2] == ["Week1", "第一周"]  # letters of any script are kept
    assert len({s.casefold() for s in slugs}) == len(slugs) - 1  # only CON/con fold together
    for slug in slugs:
        assert not set(slug) & set('<>:"/\\|?*') and slug == slug.strip()
        assert slug.upper() not in {"CON", "PRN", "AUX", "NUL"}


# --- two manifests with one name in one folder --------------------------------------------------
INPUTS = Path(__file__).resolve().parent / "data" / "inputs"


def test_src_ods_and_src_xls_in_one_folder_never_share_a_batch(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#9 review: src.ods and src.xls shared src.results.xlsx and one journal. The batch that
    was there first keeps its names (also one made before owners were marked); the other file
    gets its own, named in full: src.xls.results.xlsx."""
    ods = Path(shutil.copyfile(INPUTS / "libreoffice.ods", tmp_path / "src.ods"))
    assert cli.run(ods).code == exitcodes.OK
    made = creates(sandbox)
    plain = tmp_path / "src.results.xlsx"
    ods_ids = ids_of(plain)
    (tmp_path / JOURNAL_DIRNAME / "src.manifest").unlink(
        missing_ok=True
    )  # as an earlier version left it

    xls = Path(shutil.copyfile(INPUTS / "libreoffice.xls", tmp_path / "src.xls"))
    result = cli.run(xls)
    assert result.code == exitcodes.OK, result
    assert creates(sandbox) == made  # the same requests: shown from the ledger, not paid again
    own = tmp_path / "src.xls.results.xlsx"
    assert own.is_file() and ids_of(own) == ods_ids, result
    assert len(journals(tmp_path)) == 2
    again = cli.run(ods)  # the first batch still resumes where it was
    assert again.code == exitcodes.OK and creates(sandbox) == made, again
    assert ids_of(plain) == ods_ids
    assert "src.xls" not in json.dumps(read_rows(plain), default=str)

    # On another machine (no ledger) with no mark, which file made "src" cannot be told.
    (tmp_path / JOURNAL_DIRNAME / "src.manifest").unlink()
    another_machine(monkeypatch, tmp_path)
    shutil.rmtree(tmp_path / JOURNAL_DIRNAME / "src.xls.sheets")
    own.unlink()
    refused = cli.run(xls)
    assert refused.code == exitcodes.USAGE, refused
    assert "src.ods, src.xls" in refused.err and "Nothing was sent" in refused.err
    assert creates(sandbox) == made


def test_each_sheet_uploads_its_own_pictures(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    """A decision, not an accident (#9 review): the API page does not say how long an uploaded
    file's key stays usable, and a create is charged when it is accepted, so a key is reused
    only within its batch (rows and reruns of one sheet), never by another sheet's batch."""
    folder = with_assets(tmp_path / "wb")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, i in (("Week1", 0), ("Week2", 1)):
        ws = wb.create_sheet(name)
        ws.append(list(IMAGE_HEADER))
        ws.append(row(i, "assets/shoe.png"))
        ws.append(row(i + 5, "assets/shoe.png"))
    manifest = folder / "wb.xlsx"
    wb.save(manifest)
    assert cli.run(manifest, "--sheet", "Week1").code == exitcodes.OK
    assert sandbox.counters()["presigns"] == 1  # one upload serves both rows of the sheet
    result = cli.run(manifest, "--sheet", "Week2")
    assert result.code == exitcodes.OK, result
    assert sandbox.counters()["presigns"] == 2 and creates(sandbox) == 4
