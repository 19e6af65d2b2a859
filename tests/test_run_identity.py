"""Row identity across runs: the user edits the sheet between runs; nothing is created twice."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from runkit import (
    Cli,
    by_prompt,
    prompt,
    prompts_created,
    read_rows,
    results_path,
    write_csv,
    write_xlsx,
)

from hhbatch.cli import exitcodes
from hhbatch.sandbox import Sandbox
from hhbatch.workflow import JOURNAL_DIRNAME

HEADER = ("Prompt", "Duration (s)", "Resolution")


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def row(i: int, *extra: Any) -> list[Any]:
    return [prompt(i), 3, "720p", *extra]


def _ids(manifest: Path) -> dict[str, str]:
    return {p: r["videoId"] for p, r in by_prompt(read_rows(results_path(manifest))).items()}


def test_inserted_deleted_reordered_rows_and_extra_columns_keep_their_results(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = tmp_path / "edits.xlsx"
    write_xlsx(manifest, HEADER, [row(0), row(1), row(2), row(3)])
    assert cli.run(manifest).code == exitcodes.OK
    before = _ids(manifest)

    # delete row 2, insert a new row at the top, swap two rows, add a column of the user's own
    write_xlsx(
        manifest,
        (*HEADER, "Owner"),
        [row(9, "new"), row(1, "ann"), row(0, "bob"), row(3, "cy")],
    )
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert prompts_created(sandbox).count(prompt(9)) == 1
    assert sandbox.counters()["creates"] == 5  # only the inserted row is new
    rows = read_rows(results_path(manifest))
    assert [r["Prompt"] for r in rows] == [prompt(9), prompt(1), prompt(0), prompt(3)]
    assert [r["Owner"] for r in rows] == ["new", "ann", "bob", "cy"]
    assert {r["status"] for r in rows} == {"ready"}
    after = _ids(manifest)
    for i in (0, 1, 3):
        assert after[prompt(i)] == before[prompt(i)]


def test_identical_rows_are_distinct_videos(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "twins.csv", HEADER, [row(0), row(0), row(1)])
    assert cli.run(manifest).code == exitcodes.OK
    assert sandbox.counters()["creates"] == 3
    ids = [r["videoId"] for r in read_rows(results_path(manifest))]
    assert len(set(ids)) == 3
    assert cli.run(manifest).code == exitcodes.OK
    assert sandbox.counters()["creates"] == 3


def test_an_edited_ready_row_is_reported_not_resubmitted(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = tmp_path / "edit.xlsx"
    write_xlsx(manifest, HEADER, [row(0), row(1), row(2)])
    assert cli.run(manifest).code == exitcodes.OK
    old_id = _ids(manifest)[prompt(1)]

    edited = prompt(1, " at sunset")
    write_xlsx(manifest, HEADER, [row(0), [edited, 3, "720p"], row(2)])
    result = cli.run(manifest)
    assert sandbox.counters()["creates"] == 3
    assert "skipped, edited after" in result.err
    assert result.code == exitcodes.ROWS_NOT_OK, result
    rows = by_prompt(read_rows(results_path(manifest)))
    assert old_id in rows[edited]["error"] and "--resubmit-edited" in rows[edited]["error"]
    assert rows[edited]["videoId"] == old_id  # still shows the video that exists

    created = cli.run(manifest, "--resubmit-edited")
    assert created.code == exitcodes.OK, created
    assert sandbox.counters()["creates"] == 4
    assert prompts_created(sandbox)[-1] == edited
    rows = by_prompt(read_rows(results_path(manifest)))
    assert rows[edited]["status"] == "ready" and rows[edited]["videoId"] != old_id
    assert not rows[edited]["error"]
    assert cli.run(manifest).code == exitcodes.OK  # and it stays done
    assert sandbox.counters()["creates"] == 4


def test_an_edited_row_is_recognised_when_rows_were_also_inserted(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = tmp_path / "edit2.xlsx"
    write_xlsx(manifest, HEADER, [row(0), row(1), row(2)])
    assert cli.run(manifest).code == exitcodes.OK
    edited = prompt(1, " at sunset")
    write_xlsx(manifest, HEADER, [row(7), row(0), [edited, 3, "720p"], row(2)])
    result = cli.run(manifest)
    assert result.code == exitcodes.ROWS_NOT_OK, result
    created = prompts_created(sandbox)
    assert prompt(7) in created  # the inserted row is new
    assert edited not in created  # the edited one is reported, not silently resubmitted
    rows = by_prompt(read_rows(results_path(manifest)))
    assert "--resubmit-edited" in rows[edited]["error"]


def test_an_edited_file_counts_as_an_edit(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    image = assets / "pic.png"
    shutil.copyfile(Path(__file__).parent.parent / "samples" / "assets" / "shoe.png", image)
    manifest = write_csv(
        tmp_path / "file.csv", (*HEADER, "Source image"), [row(0, "assets/pic.png"), row(1, "")]
    )
    assert cli.run(manifest).code == exitcodes.OK
    # Same path, same sheet, other content: still a PNG, with a different picture (bytes after
    # the image's end are part of the file, so of its hash).
    with image.open("ab") as handle:
        handle.write(b"a retouched version")
    result = cli.run(manifest)
    assert sandbox.counters()["creates"] == 2
    assert "skipped, edited after" in result.err, result


def test_rerun_on_the_results_sheet_resumes_the_same_batch(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    manifest = tmp_path / "res.xlsx"
    write_xlsx(manifest, HEADER, [row(0), row(1), row(2)])
    assert cli.run(manifest, "--limit", "2").code == exitcodes.ROWS_NOT_OK
    assert sandbox.counters()["creates"] == 2
    on_results = cli.run(results_path(manifest))
    assert on_results.code == exitcodes.OK, on_results
    assert sandbox.counters()["creates"] == 3
    assert cli.run(results_path(manifest)).code == exitcodes.OK
    assert sandbox.counters()["creates"] == 3
    rows = read_rows(results_path(manifest))
    assert len(rows[0]) == len(HEADER) + 6  # result columns reused, not appended again
    assert [r["status"] for r in rows] == ["ready"] * 3


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_lost_journal_trusts_the_ids_in_the_results_sheet(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, suffix: str
) -> None:
    writer = write_csv if suffix == ".csv" else write_xlsx
    manifest = writer(tmp_path / f"lost{suffix}", HEADER, [row(0), row(1)])
    assert cli.run(manifest, "--no-wait").code == exitcodes.OK
    ids = _ids(manifest)
    shutil.rmtree(tmp_path / JOURNAL_DIRNAME)  # e.g. the folder was copied without it
    result = cli.run(results_path(manifest))
    assert result.code == exitcodes.OK, result
    assert sandbox.counters()["creates"] == 2  # the ids were polled, not recreated
    assert _ids(manifest) == ids
    assert {r["status"] for r in read_rows(results_path(manifest))} == {"ready"}


def test_a_finished_row_whose_file_went_missing_keeps_its_video(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    shutil.copyfile(
        Path(__file__).parent.parent / "samples" / "assets" / "shoe.png", assets / "a.png"
    )
    header = (*HEADER, "Source image")
    manifest = write_csv(
        tmp_path / "gone.csv", header, [row(0, ""), row(1, "assets/a.png"), row(2, "")]
    )
    assert cli.run(manifest).code == exitcodes.OK
    before = read_rows(results_path(manifest))[1]
    (assets / "a.png").unlink()  # the team tidied up the assets folder
    for target in (manifest, results_path(manifest)):
        result = cli.run(target)
        assert result.code == exitcodes.ROWS_NOT_OK, result
        after = read_rows(results_path(manifest))[1]
        assert after["status"] == "invalid"
        assert "a.png" in after["error"]
        assert after["videoId"] == before["videoId"] and after["videoUrl"] == before["videoUrl"]
    assert sandbox.counters()["creates"] == 3


def test_a_job_replaced_by_an_edit_never_pairs_with_an_unrelated_new_row(
    cli: Cli, sandbox: Sandbox, tmp_path: Path
) -> None:
    """#9 review: after --resubmit-edited replaced row 3's video, that old (paid) video was
    later paired with an unrelated new row put where the edited row used to be: the new row
    showed the old video and was never created."""
    manifest = tmp_path / "superseded.csv"
    write_csv(manifest, HEADER, [row(0), row(1), row(2)])
    assert cli.run(manifest).code == exitcodes.OK
    old_id = _ids(manifest)[prompt(1)]
    edited = prompt(1, " at sunset")
    write_csv(manifest, HEADER, [row(0), [edited, 3, "720p"], row(2)])
    assert cli.run(manifest, "--resubmit-edited").code == exitcodes.OK
    new_id = _ids(manifest)[edited]

    # The edited row moves to the end; an unrelated new row takes its old place.
    unrelated = "A lighthouse in a winter storm, drone shot"
    write_csv(manifest, HEADER, [row(0), [unrelated, 3, "720p"], row(2), [edited, 3, "720p"]])
    result = cli.run(manifest)
    assert result.code == exitcodes.OK, result
    assert prompts_created(sandbox)[-1] == unrelated
    ids = _ids(manifest)
    assert ids[unrelated] not in (old_id, new_id) and ids[edited] == new_id
