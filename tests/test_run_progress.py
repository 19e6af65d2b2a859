"""What a person sees while ``hhbatch run`` works: bars on a terminal, silence elsewhere."""

from __future__ import annotations

import pytest

from hhbatch import plan as p
from hhbatch.cli.render import TqdmProgress


def _plan(submit: int, wait: int) -> p.Plan:
    rows = [p.RowPlan(row=None, action=p.SUBMIT, row_key=f"s{i}") for i in range(submit)]
    rows += [p.RowPlan(row=None, action=p.WAIT, row_key=f"w{i}") for i in range(wait)]
    return p.Plan(rows)


def test_bars_show_counts_and_every_status_seen(capsys: pytest.CaptureFixture) -> None:
    plan = _plan(submit=3, wait=1)
    progress = TqdmProgress(plan, enabled=True)
    for rp in plan.to_submit:
        progress.submitted(rp, "created")
    progress.status_seen("s0", "processing")
    progress.status_seen("s1", "upscaling")  # not in the API page: still shown
    progress.finished("s2", "ready")
    progress.finished("w0", "failed")
    progress.close()
    err = capsys.readouterr().err
    assert "submitted" in err and "3/3" in err
    assert "finished" in err and "2/4" in err
    assert "upscaling=1" in err and "processing=1" in err
    assert "ready=1" in err and "failed=1" in err


def test_rows_not_created_leave_the_finish_total(capsys: pytest.CaptureFixture) -> None:
    plan = _plan(submit=2, wait=0)
    progress = TqdmProgress(plan, enabled=True)
    progress.submitted(plan.rows[0], "held")
    progress.submitted(plan.rows[1], "created")
    progress.finished("s1", "ready")
    progress.close()
    assert "1/1" in capsys.readouterr().err


def test_status_pass_counts_only_videos_generating(capsys: pytest.CaptureFixture) -> None:
    plan = _plan(submit=5, wait=2)
    progress = TqdmProgress(plan, enabled=True, submitting=False)
    progress.finished("w0", "ready")
    progress.finished("w1", "ready")
    progress.close()
    err = capsys.readouterr().err
    assert "2/2" in err and "/7" not in err
    assert "upload" not in err and "submitted" not in err  # status neither uploads nor submits


def test_piped_status_line_counts_by_state_and_elapsed() -> None:
    now = [100.0]
    plan = _plan(submit=3, wait=1)
    progress = TqdmProgress(plan, enabled=False, interval=3600, clock=lambda: now[0])
    progress.submitted(plan.rows[0], "created")
    progress.submitted(plan.rows[1], "held")  # never sent: not counted as submitted
    progress.status_seen("s0", "processing")
    progress.finished("w0", "ready")
    now[0] += 75
    line = progress.status_line()
    progress.close()
    assert line == "hhbatch: 1:15 elapsed: submitted 1 of 2, ready 1, failed 0, processing 1"


def test_quiet_when_not_a_terminal(capsys: pytest.CaptureFixture) -> None:
    plan = _plan(submit=2, wait=0)
    progress = TqdmProgress(plan)  # pytest's captured stderr is not a terminal
    progress.submitted(plan.rows[0], "created")
    progress.finished("s0", "ready")
    progress.close()
    assert capsys.readouterr().err == ""
