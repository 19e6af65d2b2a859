"""A pump woken late (a busy event loop) must not lose the time it overslept.

Found by ``bench/bench_scale.py``: with burst 1 the bucket was already full when the pump woke, so
every millisecond of lateness was lost and 500 requests/s came out as ~290. Fake clock: the sleep
overshoots by a fixed amount and we count the grants in a simulated window.
"""

from __future__ import annotations

import asyncio

import pytest

from hhbatch.ratelimit import MAX_LATE_CREDIT, RateLimiter


class LateClock:
    """Every sleep lasts ``late`` seconds longer than asked, like a loop busy with other work."""

    def __init__(self, late: float) -> None:
        self.now = 0.0
        self.late = late
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds + self.late
        await asyncio.sleep(0)


def grants_in(limiter: RateLimiter, t: LateClock, count: int) -> list[float]:
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire("poll")
        times.append(t.now)

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(count)))

    asyncio.run(main())
    return times


@pytest.mark.parametrize("late", [0.0005, 0.001, 0.004])
def test_late_wakeups_keep_the_configured_rate(late):
    t = LateClock(late)
    limiter = RateLimiter(rate=500.0, clock=t.clock, sleep=t.sleep)
    times = grants_in(limiter, t, 1001)
    achieved = 1000 / (times[-1] - times[0])
    assert achieved == pytest.approx(500.0, rel=0.02)


def test_a_punctual_clock_still_spaces_requests_evenly():
    t = LateClock(0.0)
    limiter = RateLimiter(rate=5.0, clock=t.clock, sleep=t.sleep)
    grants_in(limiter, t, 4)
    assert t.sleeps == pytest.approx([0.2, 0.2, 0.2])


def test_the_credit_for_a_late_wakeup_is_bounded():
    """A loop blocked for seconds must not release a flood of requests when it wakes."""
    t = LateClock(5.0)
    limiter = RateLimiter(rate=100.0, clock=t.clock, sleep=t.sleep)
    times = grants_in(limiter, t, 50)
    burst_after_wake = sum(1 for x in times if x == times[1])
    assert burst_after_wake <= 1 + MAX_LATE_CREDIT * 100.0 + 1


def test_no_late_credit_after_a_429_pause():
    """After a pause only the probe goes; a late wake-up does not add more."""
    t = LateClock(0.5)
    limiter = RateLimiter(rate=100.0, clock=t.clock, sleep=t.sleep, rng=lambda: 0.0)

    async def main() -> list[float]:
        await limiter.acquire("create")
        limiter.on_rate_limited(retry_after=1.0)
        granted: list[float] = []

        async def one() -> None:
            await limiter.acquire("create")
            granted.append(t.now)

        await asyncio.gather(*(one() for _ in range(3)))
        return granted

    granted = asyncio.run(main())
    assert granted[0] < granted[1]  # the probe went alone; the next waited for a token
