"""When the poller asks, before it has learnt how long jobs take (issue #5: polls must not starve
submission while the rate limit is scarce).

Fake clock, no network: we feed the poller answers and read when it plans to ask next.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from hhbatch.reconciler import _MIN_SAMPLES, Poller


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Events:
    def finished(self, row_key: str, status: str) -> None: ...
    def status_seen(self, row_key: str, status: str) -> None: ...


def make(poll_interval: float = 5.0) -> tuple[Poller, Clock]:
    clock = Clock()
    journal = SimpleNamespace(record_status=lambda *args, **kwargs: None)
    poller = Poller(
        journal,  # type: ignore[arg-type]
        client=None,
        events=Events(),
        poll_interval=poll_interval,
        concurrency=1,
        clock=clock,
        rng=lambda: 0.5,  # no jitter
    )
    return poller, clock


def video(status: str) -> SimpleNamespace:
    return SimpleNamespace(
        status=status, video_url=None, thumbnail_url=None, ready_at=None, error_message=None
    )


def take(poller: Poller, row_key: str):
    """Remove one job's entry from the heap and return it (what the run loop would poll)."""
    item = next(d for d in poller._heap if d.row_key == row_key)
    poller._heap.remove(item)
    return item


def due(poller: Poller, row_key: str) -> float:
    return next(d.at for d in poller._heap if d.row_key == row_key)


def test_before_anything_finished_young_jobs_wait_until_older_ones_were_seen_running():
    poller, clock = make(poll_interval=5.0)
    for i in range(3):
        clock.now = float(i)
        poller.add(f"old{i}", f"v{i}", just_created=True)
    clock.now = 60.0
    for i in range(3):
        poller._record(take(poller, f"old{i}"), video("processing"), asked_at=60.0)
    # three jobs were still running at ages 60, 59 and 58: a new job is not asked before 58 s
    clock.now = 61.0
    poller.add("new", "vn", just_created=True)
    assert due(poller, "new") == pytest.approx(61.0 + 58.0)
    # the old ones keep their normal interval
    assert due(poller, "old0") == pytest.approx(65.0)


def test_one_stuck_job_does_not_hold_back_the_others():
    poller, clock = make(poll_interval=5.0)
    poller.add("stuck", "vs", just_created=True)
    clock.now = 600.0
    poller._record(take(poller, "stuck"), video("queued"), asked_at=600.0)
    poller.add("new", "vn", just_created=True)
    assert due(poller, "new") == pytest.approx(605.0)


def test_once_enough_jobs_finished_the_learnt_duration_decides():
    poller, clock = make(poll_interval=5.0)
    for i in range(3):
        poller.add(f"slow{i}", f"s{i}", just_created=True)
    clock.now = 100.0
    for i in range(3):
        poller._record(take(poller, f"slow{i}"), video("processing"), asked_at=100.0)
    for i in range(_MIN_SAMPLES):
        clock.now = 200.0 + i
        poller.add(f"fast{i}", f"f{i}", just_created=True)
        clock.now += 20.0
        poller._record(take(poller, f"fast{i}"), video("ready"), asked_at=clock.now)
    clock.now = 300.0
    poller.add("new", "vn", just_created=True)
    assert due(poller, "new") == pytest.approx(320.0)  # the 20 s the finished jobs took


def test_hhbatch_status_asks_every_job_once_now():
    poller, clock = make(poll_interval=5.0)
    poller._once = True
    for i in range(3):
        poller.add(f"j{i}", f"v{i}", just_created=True)
    clock.now = 60.0
    for i in range(3):
        poller._record(take(poller, f"j{i}"), video("processing"), asked_at=60.0)
    assert poller._floor() == 0.0
