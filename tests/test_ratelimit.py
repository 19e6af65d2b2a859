"""The rate limiter with a fake clock: we assert the delays it asks for, never sleep for real."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from fakes import FakeTime

from hhbatch import retry
from hhbatch.ratelimit import (
    CLIMB_PER_SEC,
    DEFAULT_DECREASE_FACTOR,
    DEFAULT_RATE,
    FORGET_ABOVE,
    PROBE_FROM,
    PROBE_PER_SEC,
    RateLimiter,
)


def make(rate: float = 5.0, burst: float | None = None, rng: float = 0.0, **kw) -> tuple:
    t = FakeTime(start=1000.0)
    limiter = RateLimiter(
        rate=rate, burst=burst, clock=t.clock, sleep=t.sleep, rng=lambda: rng, **kw
    )
    return limiter, t


async def _gather_order(limiter: RateLimiter, t: FakeTime, plan: list[tuple[str, str]]) -> list:
    """Queue every (kind, tag) before any is served; return (tag, time granted) in grant order."""
    order: list[tuple[str, float]] = []

    async def one(kind: str, tag: str) -> None:
        await limiter.acquire(kind=kind)
        order.append((tag, t.now))

    await asyncio.gather(*(one(k, tag) for k, tag in plan))
    return order


def test_first_request_is_immediate_then_spaced_at_one_over_rate():
    limiter, t = make(rate=5.0)

    async def main():
        for _ in range(4):
            await limiter.acquire(kind="create")

    asyncio.run(main())
    assert t.sleeps == pytest.approx([0.2, 0.2, 0.2])


def test_concurrent_waiters_are_spaced_too():
    limiter, t = make(rate=4.0)
    order = asyncio.run(_gather_order(limiter, t, [("poll", str(i)) for i in range(5)]))
    times = [when - 1000.0 for _, when in order]
    assert times == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])
    assert [tag for tag, _ in order] == ["0", "1", "2", "3", "4"]  # FIFO within a kind


def test_burst_lets_that_many_through_at_once():
    limiter, t = make(rate=2.0, burst=3)
    order = asyncio.run(_gather_order(limiter, t, [("poll", str(i)) for i in range(5)]))
    times = [when - 1000.0 for _, when in order]
    assert times == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0])


def test_kinds_are_served_round_robin_and_fifo_within_a_kind():
    limiter, t = make(rate=10.0)
    plan = [("poll", f"p{i}") for i in range(5)] + [("create", f"c{i}") for i in range(2)]
    plan += [("presign", "s0")]
    order = asyncio.run(_gather_order(limiter, t, plan))
    assert [tag for tag, _ in order] == ["p0", "c0", "s0", "p1", "c1", "p2", "p3", "p4"]


def test_background_kinds_go_only_when_no_other_kind_waits():
    limiter, t = make(rate=10.0, background_kinds=("poll",))
    plan = [("poll", f"p{i}") for i in range(3)] + [("create", f"c{i}") for i in range(4)]
    plan += [("presign", "s0")]
    order = asyncio.run(_gather_order(limiter, t, plan))
    assert [tag for tag, _ in order] == ["c0", "s0", "c1", "c2", "c3", "p0", "p1", "p2"]
    times = [when - 1000.0 for _, when in order]
    assert times == pytest.approx([i / 10.0 for i in range(8)])  # polls then get the full rate


def test_a_poll_queued_alone_goes_at_once_and_a_late_create_overtakes_waiting_polls():
    limiter, _t = make(rate=10.0, background_kinds=("poll",))
    order: list[str] = []

    async def one(kind: str, tag: str) -> None:
        await limiter.acquire(kind=kind)
        order.append(tag)

    async def main():
        polls = [asyncio.create_task(one("poll", f"p{i}")) for i in range(4)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # p0 is granted; p1.. wait for tokens
        await one("create", "c")
        await asyncio.gather(*polls)

    asyncio.run(main())
    assert order[0] == "p0" and order[1] == "c"


def test_a_flood_of_polls_does_not_starve_a_create():
    limiter, t = make(rate=10.0)
    plan = [("poll", f"p{i}") for i in range(100)] + [("create", "c")]
    order = asyncio.run(_gather_order(limiter, t, plan))
    assert [tag for tag, _ in order].index("c") == 1


def test_retry_after_pauses_everyone_for_exactly_that_long_and_halves_the_rate():
    limiter, t = make(rate=5.0)

    async def main():
        await limiter.acquire(kind="create")
        limiter.on_rate_limited(3.0)
        await limiter.acquire(kind="poll")  # waits out the pause; one probe goes at its end
        await limiter.acquire(kind="poll")  # then the new, lower rate applies

    asyncio.run(main())
    assert t.sleeps == pytest.approx([3.0, 1 / 2.5])
    assert limiter.rate == pytest.approx(2.5)


def test_waiters_already_queued_also_wait_for_a_new_pause():
    limiter, t = make(rate=5.0)
    granted: list[float] = []

    async def waiter():
        await limiter.acquire(kind="poll")
        granted.append(t.now)

    async def main():
        await limiter.acquire(kind="create")
        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)  # queued; the pump is now sleeping 0.2 s for the next token
        limiter.on_rate_limited(10.0)
        await task

    asyncio.run(main())
    assert granted[0] - 1000.0 == pytest.approx(10.0)


def test_without_retry_after_the_pause_backs_off_exponentially_with_jitter():
    limiter, t = make(rate=5.0, rng=0.0, min_rate=0.01)

    async def main():
        for _ in range(4):
            limiter.on_rate_limited(None)
            await limiter.acquire(kind="create")

    asyncio.run(main())
    assert t.sleeps == pytest.approx([1.0, 2.0, 4.0, 8.0])
    # jitter takes up to a quarter off
    jittery, t2 = make(rate=5.0, rng=1.0)
    jittery.on_rate_limited(None)
    assert jittery.paused_until - t2.now == pytest.approx(1.0 * (1 - retry.JITTER_FRACTION))


def test_backoff_is_capped_and_a_success_resets_it():
    limiter, t = make(rate=5.0, max_backoff=5.0, min_rate=0.01)
    for _ in range(6):
        t.now = max(t.now, limiter.paused_until)  # each 429 comes after the last pause
        limiter.on_rate_limited(None)
    assert limiter.paused_until - t.now == pytest.approx(5.0)
    t.now = limiter.paused_until
    limiter.on_success()
    limiter.on_rate_limited(None)
    assert limiter.paused_until - t.now == pytest.approx(1.0)


def test_simultaneous_429s_cut_the_rate_once():
    limiter, _ = make(rate=8.0)
    for _ in range(5):  # five requests in flight all bounced by the same limit
        limiter.on_rate_limited(2.0)
    assert limiter.rate == pytest.approx(4.0)
    assert limiter.stats()["rate_limited"] == 5


def test_a_429_for_a_request_sent_before_the_last_cut_does_not_cut_again():
    limiter, t = make(rate=8.0)
    sent = t.now  # two requests leave; the first answer is a 429 a moment later
    t.now += 0.02
    limiter.on_rate_limited(0.01)  # a short pause that ends before the other answers arrive
    t.now += 0.5
    limiter.on_rate_limited(0.01, sent_at=sent)  # in flight before the cut: the same 429
    assert limiter.rate == pytest.approx(4.0)
    t.now += 0.5
    limiter.on_rate_limited(0.01, sent_at=t.now - 0.01)  # sent after the cut: a new one
    assert limiter.rate == pytest.approx(2.0)


def test_simultaneous_429s_without_retry_after_share_one_pause():
    limiter, t = make(rate=8.0)
    for _ in range(5):
        limiter.on_rate_limited(None)
    assert limiter.paused_until - t.now == pytest.approx(1.0)
    t.now = limiter.paused_until
    limiter.on_rate_limited(None)  # still limited after the pause: now it grows
    assert limiter.paused_until - t.now == pytest.approx(2.0)


def test_a_longer_retry_after_during_a_pause_extends_it_but_a_shorter_does_not_shrink_it():
    limiter, t = make(rate=5.0)
    limiter.on_rate_limited(2.0)
    limiter.on_rate_limited(5.0)
    assert limiter.paused_until - t.now == pytest.approx(5.0)
    limiter.on_rate_limited(1.0)
    assert limiter.paused_until - t.now == pytest.approx(5.0)


def test_huge_retry_after_is_capped():
    limiter, t = make(rate=5.0)
    limiter.on_rate_limited(86_400.0)
    assert limiter.paused_until - t.now == pytest.approx(retry.MAX_RETRY_AFTER)


async def _busy_requests(limiter: RateLimiter, count: int, answer=None) -> list[float]:
    """``count`` requests back to back, each answered at once (``answer(i)`` may 429 it)."""
    rates = []
    for i in range(count):
        await limiter.acquire(kind="create")
        if answer is not None and answer(i):
            limiter.on_rate_limited(None)
        else:
            limiter.on_success()
        rates.append(limiter.rate)
    return rates


def test_a_discovering_limiter_starts_modestly_and_climbs_while_requests_go_through():
    t = FakeTime(start=1000.0)
    limiter = RateLimiter.discovering(clock=t.clock, sleep=t.sleep, rng=lambda: 0.0)
    assert limiter.rate == DEFAULT_RATE and limiter.max_rate == float("inf")
    rates = asyncio.run(_busy_requests(limiter, 60))
    assert all(b > a for a, b in itertools.pairwise(rates))  # every answer climbs a little
    assert rates[0] < DEFAULT_RATE + 2  # a step, not a jump
    assert rates[-1] > 4 * DEFAULT_RATE  # and it keeps climbing until the server objects
    assert limiter.level is None  # no 429 yet: nothing known about the limit
    assert limiter.highest_ok == pytest.approx(rates[-2])


def test_climbing_is_credited_by_time_not_by_answers():
    limiter, _t = make(rate=10.0, max_rate=100.0)
    asyncio.run(_busy_requests(limiter, 3))
    before = limiter.rate
    for _ in range(50):  # fifty answers landing together are one moment
        limiter.on_success()
    assert limiter.rate == pytest.approx(before)
    asyncio.run(_busy_requests(limiter, 1))  # the next answer, one request interval later
    assert limiter.rate == pytest.approx(before + CLIMB_PER_SEC * before * (1 / before))


def test_no_climbing_while_the_limiter_is_not_the_bottleneck():
    limiter, t = make(rate=5.0, max_rate=100.0)

    async def main():
        for _ in range(20):  # one request every 10 s: never waits for a token
            t.now += 10.0
            await limiter.acquire(kind="poll")
            limiter.on_success()

    asyncio.run(main())
    assert limiter.rate == pytest.approx(5.0)
    assert limiter.highest_ok == 0.0


def test_a_429_halves_the_rate_and_notes_the_level_it_came_at():
    t = FakeTime(start=1000.0)
    limiter = RateLimiter.discovering(clock=t.clock, sleep=t.sleep, rng=lambda: 0.0)
    asyncio.run(_busy_requests(limiter, 30))
    at = limiter.rate
    limiter.on_rate_limited(None)
    assert limiter.level == pytest.approx(at)
    assert limiter.rate == pytest.approx(at * DEFAULT_DECREASE_FACTOR)


def test_after_a_429_it_climbs_back_fast_then_probes_gently_and_additively():
    limiter, t = make(rate=40.0, max_rate=1000.0)
    limiter.on_rate_limited(0.0)  # level 40, rate 20
    assert (limiter.level, limiter.rate) == (40.0, 20.0)
    t.now = limiter.paused_until
    rates = asyncio.run(_busy_requests(limiter, 300))
    # well below the level: back to 90 % of it within a couple of seconds of answers …
    below = [r for r in rates if r < PROBE_FROM * 40.0]
    assert len(below) < 60
    # … then gently: a constant step of 1 % of the level per second, never faster
    t0, r0 = t.now, limiter.rate
    asyncio.run(_busy_requests(limiter, 200))
    per_sec = (limiter.rate - r0) / (t.now - t0)
    assert per_sec == pytest.approx(PROBE_PER_SEC * 40.0, rel=0.05)
    assert limiter.stats()["rate_limited"] == 1


def test_keeps_probing_past_the_old_level_and_forgets_it_when_the_server_allows_more():
    limiter, t = make(rate=10.0, max_rate=1000.0, known_level=10.0)
    asyncio.run(_busy_requests(limiter, 100))
    assert 10.0 < limiter.rate < FORGET_ABOVE * 10.0  # past the old level: slowly
    assert limiter.level == 10.0
    asyncio.run(_busy_requests(limiter, 300))
    assert limiter.level is None  # well past it without a 429: the limit rose
    t0, r0 = t.now, limiter.rate
    asyncio.run(_busy_requests(limiter, 100))
    assert (limiter.rate - r0) / (t.now - t0) > 10 * PROBE_PER_SEC * 10.0  # fast again


def test_the_ceiling_is_never_exceeded():
    t = FakeTime(start=1000.0)
    limiter = RateLimiter.discovering(ceiling=8.0, clock=t.clock, sleep=t.sleep)
    assert limiter.rate == pytest.approx(DEFAULT_RATE)
    rates = asyncio.run(_busy_requests(limiter, 200))
    assert max(rates) == pytest.approx(8.0)
    assert all(gap >= 1 / 8.0 - 1e-9 for gap in t.sleeps)  # never faster than the ceiling
    low = RateLimiter.discovering(ceiling=2.0, clock=t.clock, sleep=t.sleep)
    assert low.rate == 2.0  # a ceiling below the modest start is where it starts


def test_a_fixed_rate_limiter_recovers_up_to_its_rate_and_never_above():
    limiter, _t = make(rate=5.0)
    limiter.on_rate_limited(0.0)
    assert limiter.rate == pytest.approx(2.5)
    rates = asyncio.run(_busy_requests(limiter, 100))
    assert all(b >= a for a, b in itertools.pairwise(rates))
    assert max(rates) == pytest.approx(5.0)


def test_answers_in_flight_during_a_pause_do_not_undo_the_decrease():
    limiter, t = make(rate=8.0)
    asyncio.run(_busy_requests(limiter, 3))
    limiter.on_rate_limited(2.0)
    t.now += 1.0
    for _ in range(50):  # requests sent before the 429 come back while everyone is paused
        limiter.on_success()
    assert limiter.rate == pytest.approx(4.0)
    t.now += 1.0 + 0.25
    limiter.on_success()  # after the pause, only the time since the pause ended counts
    assert limiter.rate <= 4.0 + CLIMB_PER_SEC * 4.0 * 0.25 + 1e-9
    assert limiter.stats()["successes"] == 3 + 51


def test_successes_during_a_pause_do_not_reset_the_backoff():
    limiter, t = make(rate=5.0, min_rate=0.01)
    limiter.on_rate_limited(None)  # pause 1 s
    limiter.on_success()  # an old request answering during the pause
    t.now = limiter.paused_until
    limiter.on_rate_limited(None)
    assert limiter.paused_until - t.now == pytest.approx(2.0)


def test_rate_never_falls_below_the_floor():
    limiter, t = make(rate=5.0, min_rate=0.5)
    for _ in range(20):
        t.now = max(t.now, limiter.paused_until) + 1
        limiter.on_rate_limited(0.0)
    assert limiter.rate == pytest.approx(0.5)


def test_cancelled_waiter_leaves_the_queue_without_using_a_token():
    limiter, t = make(rate=1.0)
    granted: list[str] = []

    async def one(tag: str) -> None:
        await limiter.acquire(kind="poll")
        granted.append(tag)

    async def main():
        await limiter.acquire(kind="poll")  # use the initial token
        doomed = asyncio.create_task(one("doomed"))
        keeper = asyncio.create_task(one("keeper"))
        await asyncio.sleep(0)
        doomed.cancel()
        await keeper
        with pytest.raises(asyncio.CancelledError):
            await doomed

    asyncio.run(main())
    assert granted == ["keeper"]
    assert t.now - 1000.0 == pytest.approx(1.0)
    assert limiter.stats()["waiting"] == 0


def test_stats_count_per_kind_and_waiting_time():
    limiter, _t = make(rate=2.0)

    async def main():
        await limiter.acquire(kind="create")
        await limiter.acquire(kind="poll")
        await limiter.acquire(kind="poll")
        limiter.on_rate_limited(4.0)

    asyncio.run(main())
    stats = limiter.stats()
    assert stats["acquired"] == {"create": 1, "poll": 2}
    assert stats["rate_limited"] == 1
    assert stats["rate"] == pytest.approx(1.0)
    assert stats["total_wait"] == pytest.approx(1.0)  # 0 + 0.5 + 0.5
    assert stats["paused_total"] == pytest.approx(4.0)


def test_limiter_works_across_event_loops():
    limiter, _t = make(rate=5.0)

    async def once():
        await limiter.acquire(kind="poll")

    asyncio.run(once())
    asyncio.run(once())
    assert limiter.stats()["acquired"] == {"poll": 2}


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        RateLimiter(rate=0)
