"""When the poller asks (issue #5: polls of unfinished jobs must not starve submission).

Fake clock, no network: we feed the poller answers and ask whether a job is worth a request yet.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from hhbatch.reconciler import _MIN_SAMPLES, Poller

NEVER = float("inf")
NOW = -float("inf")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

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
    """Remove one job's entry from the heap and return it (what the run loop pops)."""
    item = next(d for d in poller._heap if d.row_key == row_key)
    poller._heap.remove(item)
    return item


def entry(poller: Poller, row_key: str):
    return next(d for d in poller._heap if d.row_key == row_key)


def start(poller: Poller, clock: Clock, names: list[str], spacing: float = 1.0) -> None:
    for name in names:
        poller.add(name, f"v-{name}", just_created=True)
        clock.now += spacing


def answer(poller: Poller, name: str, status: str) -> None:
    poller._record(take(poller, name), video(status))


def test_young_jobs_wait_while_three_older_ones_are_still_running():
    poller, clock = make()
    start(poller, clock, ["a", "b", "c", "d", "e"])
    clock.now += 60
    for name in ("a", "b", "c"):
        answer(poller, name, "processing")
    assert poller._not_before(entry(poller, "d")) == NEVER
    assert poller._not_before(entry(poller, "a")) == NOW  # the oldest keep their interval
    answer(poller, "b", "ready")  # one of the three finished: the younger ones may be asked
    assert poller._not_before(entry(poller, "d")) == NOW


def test_one_stuck_job_does_not_hold_back_the_others():
    poller, clock = make()
    start(poller, clock, ["stuck", "x", "y"])
    clock.now += 600
    answer(poller, "stuck", "queued")
    assert poller._not_before(entry(poller, "x")) == NOW


def test_jobs_queued_before_the_estimate_are_first_asked_at_the_estimate():
    poller, clock = make()
    start(poller, clock, ["late"])
    for i in range(_MIN_SAMPLES):
        start(poller, clock, [f"fast{i}"], spacing=20.0)
        answer(poller, f"fast{i}", "ready")
    late = entry(poller, "late")
    assert poller._not_before(late) == pytest.approx(late.created_at + 20.0)
    answer(poller, "late", "processing")  # once asked, the normal interval applies
    assert poller._not_before(entry(poller, "late")) == NOW


def test_jobs_of_an_earlier_run_and_hhbatch_status_are_asked_now():
    poller, clock = make()
    start(poller, clock, ["a", "b", "c", "d"])
    poller.add("adopted", "v-adopted", just_created=False)
    clock.now += 60
    for name in ("a", "b", "c"):
        answer(poller, name, "processing")
    assert poller._not_before(entry(poller, "adopted")) == NOW
    poller._once = True
    assert poller._not_before(entry(poller, "d")) == NOW
