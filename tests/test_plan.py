"""build_plan: one action per row, from the manifest and the journal, before anything is sent."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runkit import SAMPLES, prompt, write_csv

from hhbatch import journal as j
from hhbatch import plan as p
from hhbatch.loader import load_manifest

HEADER = ("Prompt", "Duration (s)", "Resolution", "Source image")


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[j.Journal]:
    with j.Journal.open(tmp_path / "j.sqlite", base_url="https://x.test") as opened:
        yield opened


def _rows(*specs: Any) -> list[list[Any]]:
    """``3`` → a text row with prompt 3; ``(3, "a.png")`` → with an image."""
    out = []
    for spec in specs:
        i, image = spec if isinstance(spec, tuple) else (spec, "")
        out.append([prompt(i), 3, "720p", image])
    return out


def _plan(tmp_path: Path, journal: j.Journal, rows: list[list[Any]], **options: Any) -> p.Plan:
    manifest = write_csv(tmp_path / "m.csv", HEADER, rows)
    return p.build_plan(load_manifest(manifest), journal, p.PlanOptions(**options))


def _create(journal: j.Journal, rp: p.RowPlan, video_id: str, state: str = j.SUBMITTED) -> None:
    assert rp.row_key and rp.fingerprint
    journal.record_intent(rp.row_key, rp.fingerprint, rp.row.sheet_row, dict(rp.row.request))
    journal.record_created(rp.row_key, video_id, "queued")
    if state != j.SUBMITTED:
        error = "boom" if state == j.FAILED else None
        journal.record_status(
            rp.row_key,
            status=state,
            video_url=None,
            thumbnail_url=None,
            ready_at=None,
            error=error,
            state=state,
        )


def _actions(plan: p.Plan) -> list[str]:
    return [rp.action for rp in plan.rows]


def test_fresh_rows_are_submitted_and_files_uploaded_once_by_content(
    tmp_path: Path, journal: j.Journal
) -> None:
    (tmp_path / "a").mkdir()
    shutil.copyfile(SAMPLES / "assets" / "shoe.png", tmp_path / "a" / "one.png")
    shutil.copyfile(SAMPLES / "assets" / "shoe.png", tmp_path / "a" / "same-bytes.png")
    shutil.copyfile(SAMPLES / "assets" / "storefront.jpg", tmp_path / "a" / "other.jpg")
    rows = _rows((0, "a/one.png"), (1, "a/same-bytes.png"), (2, "a/other.jpg"), 3)
    plan = _plan(tmp_path, journal, rows)
    assert _actions(plan) == [p.SUBMIT] * 4
    assert sorted(u.rows for u in plan.uploads) == [1, 2]
    assert plan.upload_bytes == sum(u.size for u in plan.uploads)
    assert plan.uploads_reused == 0
    assert plan.seconds_by_resolution() == {"720p": 12}

    journal.record_upload(
        j.UploadRecord(
            plan.uploads[0].sha256,
            plan.uploads[0].kind,
            plan.uploads[0].content_type,
            plan.uploads[0].size,
            "videos/k",
            None,
        )
    )
    again = _plan(tmp_path, journal, rows)
    assert len(again.uploads) == 1 and again.uploads_reused == 1


def test_journal_states_decide_the_action(tmp_path: Path, journal: j.Journal) -> None:
    rows = _rows(0, 1, 2, 3, 4, 5)
    first = _plan(tmp_path, journal, rows)
    _create(journal, first.rows[0], "v0")  # still generating
    _create(journal, first.rows[1], "v1", j.READY)
    _create(journal, first.rows[2], "v2", j.FAILED)
    journal.record_intent(first.rows[3].row_key, "f", 5, {})
    journal.record_unknown(first.rows[3].row_key, "lost")
    journal.record_intent(first.rows[4].row_key, "f", 6, {})
    journal.record_rejected(first.rows[4].row_key, "refused")
    journal.record_held(first.rows[5].row_key, "f", 7, "out of credits")

    plan = _plan(tmp_path, journal, rows)
    assert _actions(plan) == [p.WAIT, p.DONE, p.FAILED, p.UNKNOWN, p.FAILED, p.SUBMIT]
    assert plan.rows[2].note == "boom" and plan.rows[4].note == "refused"

    retry = _plan(tmp_path, journal, rows, retry_failed=True)
    assert _actions(retry) == [p.WAIT, p.DONE, p.SUBMIT, p.UNKNOWN, p.SUBMIT, p.SUBMIT]
    resubmit = _plan(tmp_path, journal, rows, resubmit_unknown=True)
    assert _actions(resubmit) == [p.WAIT, p.DONE, p.FAILED, p.SUBMIT, p.FAILED, p.SUBMIT]


def test_limit_defers_the_rest_with_a_note(tmp_path: Path, journal: j.Journal) -> None:
    rows = _rows(0, 1, 2, 3, 4)
    first = _plan(tmp_path, journal, rows)
    _create(journal, first.rows[0], "v0", j.READY)
    plan = _plan(tmp_path, journal, rows, limit=2)
    assert _actions(plan) == [p.DONE, p.SUBMIT, p.SUBMIT, p.LATER, p.LATER]
    assert "--limit 2" in (plan.rows[3].note or "")
    assert plan.seconds_by_resolution() == {"720p": 6}


def test_invalid_rows_carry_their_first_error(tmp_path: Path, journal: j.Journal) -> None:
    rows = [*_rows(0), ["ab", 99, "720p", ""]]
    plan = _plan(tmp_path, journal, rows)
    assert _actions(plan) == [p.SUBMIT, p.INVALID]
    assert "more)" in (plan.rows[1].note or "")


def test_an_edited_row_between_unchanged_rows_is_edited(tmp_path: Path, journal: j.Journal) -> None:
    rows = _rows(0, 1, 2)
    first = _plan(tmp_path, journal, rows)
    for i, rp in enumerate(first.rows):
        _create(journal, rp, f"v{i}", j.READY)
    edited = [*rows[:1], [prompt(1, " at dusk"), 3, "720p", ""], rows[2]]
    # rows inserted above and at the end as well
    plan = _plan(tmp_path, journal, [*_rows(7), *edited, *_rows(8)])
    assert _actions(plan) == [p.SUBMIT, p.DONE, p.EDITED, p.DONE, p.SUBMIT]
    assert plan.rows[2].job is not None and plan.rows[2].job.video_id == "v1"
    assert "v1" in (plan.rows[2].note or "")
    forced = _plan(tmp_path, journal, [*_rows(7), *edited, *_rows(8)], resubmit_edited=True)
    assert _actions(forced) == [p.SUBMIT, p.DONE, p.SUBMIT, p.DONE, p.SUBMIT]


def test_an_edit_next_to_an_inserted_row_pairs_by_prompt(
    tmp_path: Path, journal: j.Journal
) -> None:
    rows = _rows(0, 1, 2)
    first = _plan(tmp_path, journal, rows)
    for i, rp in enumerate(first.rows):
        _create(journal, rp, f"v{i}", j.READY)
    new_row = ["A completely different idea: fireworks over a harbour", 3, "720p", ""]
    edited = [prompt(1, " at dusk"), 3, "720p", ""]
    plan = _plan(tmp_path, journal, [rows[0], new_row, edited, rows[2]])
    assert _actions(plan) == [p.DONE, p.SUBMIT, p.EDITED, p.DONE]


def test_a_deleted_row_does_not_make_a_new_row_an_edit(tmp_path: Path, journal: j.Journal) -> None:
    rows = _rows(0, 1, 2)
    first = _plan(tmp_path, journal, rows)
    for i, rp in enumerate(first.rows):
        _create(journal, rp, f"v{i}", j.READY)
    plan = _plan(tmp_path, journal, [rows[0], rows[2], *_rows(5)])  # row 1 deleted, one added
    assert _actions(plan) == [p.DONE, p.DONE, p.SUBMIT]


def test_results_sheet_ids(tmp_path: Path, journal: j.Journal) -> None:
    header = (*HEADER, "videoId")
    rows = [[*r, ""] for r in _rows(0, 1)]
    manifest = write_csv(tmp_path / "m.csv", header, rows)
    first = p.build_plan(load_manifest(manifest), journal, p.PlanOptions())
    _create(journal, first.rows[0], "v0", j.READY)

    # an edited row whose sheet still carries the old id, and a row with an id the journal lost
    rows = [[prompt(0, " edited"), 3, "720p", "", "v0"], [*_rows(1)[0], "v-lost"]]
    manifest = write_csv(tmp_path / "m.csv", header, rows)
    plan = p.build_plan(load_manifest(manifest), journal, p.PlanOptions())
    assert _actions(plan) == [p.EDITED, p.WAIT]
    assert plan.rows[1].adopt_video_id == "v-lost"
    fresh = p.build_plan(load_manifest(manifest), journal, p.PlanOptions(trust_sheet_ids=False))
    assert p.WAIT not in _actions(fresh)  # a fresh sandbox: ids in the sheet mean nothing
    assert all(rp.adopt_video_id is None for rp in fresh.rows)


def test_an_edited_failed_row_is_resubmitted_with_retry_failed(
    tmp_path: Path, journal: j.Journal
) -> None:
    rows = _rows(0, 1)
    first = _plan(tmp_path, journal, rows)
    _create(journal, first.rows[0], "v0", j.READY)
    _create(journal, first.rows[1], "v1", j.FAILED)
    fixed = [rows[0], [prompt(1, " without the logo"), 3, "720p", ""]]
    plan = _plan(tmp_path, journal, fixed)
    assert _actions(plan) == [p.DONE, p.EDITED]
    assert "--retry-failed" in (plan.rows[1].note or "")
    assert _actions(_plan(tmp_path, journal, fixed, retry_failed=True)) == [p.DONE, p.SUBMIT]


def test_an_invalid_new_row_in_place_of_a_deleted_one_shows_no_old_video(
    tmp_path: Path, journal: j.Journal
) -> None:
    rows = _rows(0, 1, 2)
    first = _plan(tmp_path, journal, rows)
    for i, rp in enumerate(first.rows):
        _create(journal, rp, f"v{i}", j.READY)
    invalid_new = ["Fireworks over the harbour at midnight", 99, "720p", ""]
    plan = _plan(tmp_path, journal, [rows[0], invalid_new, rows[2]])
    assert _actions(plan) == [p.DONE, p.INVALID, p.DONE]
    assert plan.rows[1].job is None
    invalid_old = [prompt(1), 99, "720p", ""]  # the same row, made invalid by an edit
    plan = _plan(tmp_path, journal, [rows[0], invalid_old, rows[2]])
    assert plan.rows[1].job is not None and plan.rows[1].job.video_id == "v1"
