"""hhbatch.twins through build_plan: which record each of several identical rows is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runkit import prompt, write_csv

from hhbatch import journal as j
from hhbatch import plan as p
from hhbatch.loader import load_manifest

HEADER = ("Prompt", "Duration (s)", "Resolution")


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[j.Journal]:
    with j.Journal.open(tmp_path / "j.sqlite", base_url="https://x.test") as opened:
        yield opened


def _plan(tmp_path: Path, journal: j.Journal, rows: list[list[Any]], **options: Any) -> p.Plan:
    header = HEADER if len(rows[0]) == 3 else (*HEADER, "videoId")
    manifest = write_csv(tmp_path / "m.csv", header, rows)
    return p.build_plan(load_manifest(manifest), journal, p.PlanOptions(**options))


def _record(journal: j.Journal, rp: p.RowPlan, video_id: str | None, state: str) -> None:
    assert rp.row_key and rp.fingerprint
    journal.record_intent(rp.row_key, rp.fingerprint, rp.row.sheet_row, dict(rp.row.request))
    if video_id is None:
        journal.record_unknown(rp.row_key, "lost")
        return
    journal.record_created(rp.row_key, video_id, "queued")
    if state != j.SUBMITTED:
        journal.record_status(
            rp.row_key,
            status=state,
            video_url=None,
            thumbnail_url=None,
            ready_at=None,
            error=None,
            state=state,
        )


def _take(i: int = 0, extra: str = "") -> list[Any]:
    return [prompt(i, extra), 3, "720p"]


def _seen(plan: p.Plan) -> list[tuple[str, str | None]]:
    return [(rp.action, rp.job.video_id if rp.job else None) for rp in plan.rows]


def _record_all(journal: j.Journal, plan: p.Plan, outcomes: list[tuple[str | None, str]]) -> None:
    for rp, (video_id, state) in zip(plan.rows, outcomes, strict=True):
        _record(journal, rp, video_id, state)


def test_a_lone_survivor_takes_the_most_advanced_record(tmp_path: Path, journal: j.Journal) -> None:
    first = _plan(tmp_path, journal, [_take(), _take(), _take(), _take(1)])
    _record_all(
        journal,
        first,
        [(None, j.UNKNOWN), ("failed", j.FAILED), ("ready", j.READY), ("other", j.READY)],
    )
    plan = _plan(tmp_path, journal, [_take(), _take(1)])
    assert _seen(plan) == [(p.DONE, "ready"), (p.DONE, "other")]
    plan = _plan(tmp_path, journal, [_take(), _take(), _take(1)])
    assert _seen(plan) == [(p.FAILED, "failed"), (p.DONE, "ready"), (p.DONE, "other")]


def test_a_sheet_id_pins_its_row_before_any_ranking(tmp_path: Path, journal: j.Journal) -> None:
    first = _plan(tmp_path, journal, [[*_take(), ""], [*_take(), ""]])
    _record_all(journal, first, [("generating", j.SUBMITTED), ("ready", j.READY)])
    plan = _plan(tmp_path, journal, [[*_take(), "generating"]])
    assert _seen(plan) == [(p.WAIT, "generating")]
    plan = _plan(tmp_path, journal, [[*_take(), ""], [*_take(), "generating"]])
    assert _seen(plan) == [(p.DONE, "ready"), (p.WAIT, "generating")]


def test_an_edit_of_the_ready_twin_is_an_edit_when_the_other_is_unknown(
    tmp_path: Path, journal: j.Journal
) -> None:
    first = _plan(tmp_path, journal, [_take(), _take()])
    _record_all(journal, first, [("ready", j.READY), (None, j.UNKNOWN)])
    plan = _plan(tmp_path, journal, [_take(0, " at dusk"), _take()])
    actions = [rp.action for rp in plan.rows]
    assert actions == [p.EDITED, p.DONE]  # the survivor keeps the ready video...
    assert plan.rows[0].job is not None  # ...and the edited take is held, not created again
    assert plan.rows[1].job is not None and plan.rows[1].job.video_id == "ready"
    forced = _plan(tmp_path, journal, [_take(0, " at dusk"), _take()], resubmit_edited=True)
    assert [rp.action for rp in forced.rows] == [p.SUBMIT, p.DONE]


def test_a_twin_added_above_does_not_shift_the_videos(tmp_path: Path, journal: j.Journal) -> None:
    first = _plan(tmp_path, journal, [_take(1), _take(), _take()])
    _record_all(journal, first, [("other", j.READY), ("a", j.READY), ("b", j.READY)])
    plan = _plan(tmp_path, journal, [_take(1), _take(), _take(), _take()])  # a third take, last
    assert _seen(plan) == [(p.DONE, "other"), (p.DONE, "a"), (p.DONE, "b"), (p.SUBMIT, None)]
    plan = _plan(tmp_path, journal, [_take(), _take(2), _take(1), _take(), _take()])
    assert _seen(plan) == [
        (p.SUBMIT, None),  # the new take at the top
        (p.SUBMIT, None),
        (p.DONE, "other"),
        (p.DONE, "a"),
        (p.DONE, "b"),
    ]
    keys = [rp.row_key for rp in plan.rows]
    assert len(set(keys)) == len(keys)  # a new take never reuses a record's key
