"""When the poller asks (issue #5: polls of unfinished jobs must not starve submission).

Fake clock, no network: we feed the poller answers and ask whether a job is worth a request yet.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from fakes import run_virtual

from hhbatch.client import BACKGROUND_KINDS, KIND_CREATE, KIND_POLL
from hhbatch.ratelimit import RateLimiter
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
    poller, clock = make(poll_interval=20.0)  # each fast job is asked on time, at 20 s
    start(poller, clock, ["late"])
    for i in range(_MIN_SAMPLES):
        start(poller, clock, [f"fast{i}"], spacing=20.0)
        answer(poller, f"fast{i}", "ready")
    late = entry(poller, "late")
    assert poller._not_before(late) == pytest.approx(late.created_at + 20.0)
    answer(poller, "late", "processing")  # once asked, the normal interval applies
    assert poller._not_before(entry(poller, "late")) == NOW


def test_only_polls_that_went_out_on_time_teach_how_long_generation_takes():
    poller, clock = make(poll_interval=1.0)
    start(poller, clock, [f"early{i}" for i in range(_MIN_SAMPLES)], spacing=0.0)
    start(poller, clock, ["young"], spacing=0.0)
    clock.now += 30.0  # their polls waited behind the creates: asked 29 s after they were due
    for i in range(_MIN_SAMPLES):
        answer(poller, f"early{i}", "ready")
    assert poller._durations == []  # ready after at most 30 s: says nothing about generation
    assert poller._not_before(entry(poller, "young")) == NOW  # not held back by a wrong guess
    start(poller, clock, [f"on_time{i}" for i in range(_MIN_SAMPLES)], spacing=0.0)
    clock.now += 1.0  # due after one interval, answered then
    for i in range(_MIN_SAMPLES):
        answer(poller, f"on_time{i}", "ready")
    assert poller._durations == [pytest.approx(1.0)] * _MIN_SAMPLES


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


# --- creates first: the poller and the submitters share one limiter, on virtual time ----------
class _FakeApi:
    """Creates and polls through the real limiter; a job is ready ``generation`` s after it was
    created. Records when each create left and what each poll found."""

    def __init__(self, limiter: RateLimiter, generation: float) -> None:
        self.limiter = limiter
        self.generation = generation
        self.created: dict[str, float] = {}
        self.create_times: list[float] = []
        self.polls: list[tuple[float, str]] = []

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def create(self, name: str) -> str:
        await self.limiter.acquire(KIND_CREATE)
        self.limiter.on_success()
        self.created[name] = self.now()
        self.create_times.append(self.now())
        return f"v-{name}"

    async def get_video(self, video_id: str) -> SimpleNamespace:
        await self.limiter.acquire(KIND_POLL)
        self.limiter.on_success()
        done = self.now() >= self.created[video_id[2:]] + self.generation
        status = "ready" if done else "processing"
        self.polls.append((self.now(), status))
        return video(status)


def _creates_and_polls(rows: int, *, background: bool) -> tuple[_FakeApi, Poller]:
    rate, generation = 10.0, 3.0

    async def main() -> tuple[_FakeApi, Poller]:
        loop = asyncio.get_running_loop()
        limiter = RateLimiter(
            rate=rate,
            clock=loop.time,
            rng=lambda: 0.0,
            background_kinds=BACKGROUND_KINDS if background else (),
        )
        api = _FakeApi(limiter, generation)
        journal = SimpleNamespace(record_status=lambda *args, **kwargs: None)
        poller = Poller(
            journal,  # type: ignore[arg-type]
            client=api,
            events=Events(),
            poll_interval=1.0,
            concurrency=8,
            clock=loop.time,
            rng=lambda: 0.5,
        )
        queue = [f"row{i}" for i in range(rows)]
        submitting = True

        async def submitter() -> None:
            while queue:
                name = queue.pop(0)
                poller.add(name, await api.create(name), just_created=True)

        async def submit_all() -> None:
            nonlocal submitting
            await asyncio.gather(*(submitter() for _ in range(8)))
            submitting = False
            poller.wake()

        await asyncio.gather(submit_all(), poller.run(keep_going=lambda: submitting, deadline=None))
        return api, poller

    return run_virtual(main())


def test_creates_are_not_delayed_by_polls_and_polls_follow_when_creation_is_done():
    rows = 60
    api, poller = _creates_and_polls(rows, background=True)
    first = api.create_times[0]
    # every create left on its token: one every 1/rate, no gap for a poll of a young job
    assert [round(t - first, 6) for t in api.create_times] == [
        pytest.approx(i / 10.0) for i in range(rows)
    ]
    last_create = api.create_times[-1]
    assert all(when > last_create for when, _status in api.polls)
    # after creation, polls get the whole rate and every job is found ready
    assert poller.finished_count == rows
    assert len(api.polls) <= rows * 1.1  # a job is asked when it can plausibly be done
    span = api.polls[-1][0] - last_create
    assert span <= rows / 10.0 + 3.0 + 0.5


def test_without_creates_first_polls_of_unfinished_jobs_delay_the_creates():
    # The same batch with polls served in turn with creates (the old behaviour): the control
    # that shows the test above measures something.
    rows = 60
    api, _poller = _creates_and_polls(rows, background=False)
    first = api.create_times[0]
    assert api.create_times[-1] - first > (rows - 1) / 10.0 + 0.5
    assert any(status == "processing" for _when, status in api.polls)
