"""One adaptive token bucket shared by every API request of a run, which finds the key's limit.

Why adaptive: the API page documents a 429 ``rate_limited`` but not the numbers behind it, nor
whether a 429 carries ``Retry-After``; almost nobody can tell us their limit. So the limiter
learns it (AIMD, as TCP learns a link):

* **climb** while requests go through and the limiter is what holds them back: fast (the rate
  doubles in under a second, TCP's "slow start") while no limit is known or the rate is well
  below the level of the last 429, then **gently**: an additive step of 1 % of that level a second,
  so a server whose limit rose is found again without hammering it;
* a 429 **pauses everyone** until ``Retry-After`` when the server sends one, otherwise for an
  exponential backoff with jitter, notes where the limit probably is (the *level*: the rate it
  came at, or, when it came well below the old level, halfway back to the last rate that went
  through) and **halves** the rate (multiplicative decrease). 429s are free (nothing was
  created), so hitting one now and then is the price of running near the limit, not a failure;
* going well past the level without a 429 means the limit rose: the level is forgotten;
* an explicit ceiling (``--rate``) is never exceeded. Nothing grows while the limiter is not the
  bottleneck (it must be handing out nearly every token its rate offers): a run held back by
  its concurrency, or polling twice a minute, must not "learn" a rate it never sends at.

The level and the highest rate that went through are what :mod:`hhbatch.ratememory` keeps per
account, so the next run starts near the limit instead of at the modest default.

Why kinds: a batch mixes presigns, creates and polls. Waiters are queued per kind and the kinds
are served round-robin, so within one class nothing starves; within one kind it is first come,
first served. *Background* kinds (polls, see :mod:`hhbatch.workflow`) are served only when no
other kind waits: every second a create waits is a second added to the whole batch, while a
poll that waits loses nothing (the job keeps generating), and polls get the whole rate the
moment no create is waiting.

The outside world is injected (``clock``, ``sleep``, ``rng``) so tests assert the delays asked for
instead of sleeping.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from hhbatch import retry

# Where a run starts when nothing is known about the key (no --rate, nothing remembered): the
# old fixed default, which no real key has been seen to refuse.
DEFAULT_RATE = 5.0
# Never slow below one request per 10 s, however many 429s arrive: polls must still get through.
DEFAULT_MIN_RATE = 0.1
# Cut the rate in half on a 429 …
DEFAULT_DECREASE_FACTOR = 0.5
# … climb by the whole rate again per second (doubling in ~0.7 s, TCP's slow start) while no limit
# is known or the rate is well below the last 429's level …
CLIMB_PER_SEC = 1.0
MIN_CLIMB = 1.0  # requests/s per second: low rates still climb at a useful pace
# … and from this fraction of that level on, probe gently: an additive step per second of this
# fraction of the level (20/s → +0.2/s a second: from 90 % of the level to past it in ten seconds,
# so a 429 costs a pause every ten seconds or more, not every two).
PROBE_FROM = 0.9
PROBE_PER_SEC = 0.01
MIN_PROBE = 0.05
# A 429 before the gentle climb got halfway to the level means the level was too high (see
# _level_after_429) …
TRUST_ABOVE = 0.95
# … and going this far past the level without a 429 means it is out of date (the limit rose):
# it is forgotten and the climb is fast again until the next 429.
FORGET_ABOVE = 1.25
# The rate only grows while the limiter is the bottleneck: over the last second (or five
# request intervals, when that is longer) it handed out at least this share of the tokens its
# rate offered. A run held back by something else (concurrency, slow answers, the journal) must
# not climb to a rate it never sends at: its 429s would then say nothing about the limit.
BUSY_WINDOW = 1.0
BUSY_SHARE = 0.8
# One answer adds at most this many seconds' worth of climbing (answers after a quiet spell).
MAX_GROWTH_STEP = 0.5
_EPSILON = 1e-9
# An event loop wakes a sleeper late (a busy loop by milliseconds). With burst 1 the bucket would
# be full already and the late time lost: at 500 requests/s a 1 ms overshoot on every 2 ms wait
# costs a third of the rate. A late wake-up is credited, up to this many seconds' worth of tokens.
MAX_LATE_CREDIT = 0.05


class RateLimiter:
    """Token bucket with AIMD rate control, a shared pause for 429s, and kinds served in turn.

    ``RateLimiter(rate=20)`` runs at most 20 requests/s from the start (``max_rate`` defaults to
    ``rate``); :meth:`discovering` starts modestly and finds the server's limit.
    """

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        *,
        min_rate: float | None = None,
        max_rate: float | None = None,
        decrease_factor: float = DEFAULT_DECREASE_FACTOR,
        initial_backoff: float = retry.INITIAL_RATE_LIMIT_BACKOFF,
        max_backoff: float = retry.MAX_RATE_LIMIT_BACKOFF,
        known_level: float | None = None,
        background_kinds: Iterable[str] = (),
    ) -> None:
        if not rate > 0:
            raise ValueError("rate must be a positive number of requests per second")
        if max_rate is not None and not max_rate > 0:
            raise ValueError("max_rate must be a positive number of requests per second")
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        self.max_rate = float(max_rate) if max_rate is not None else float(rate)
        self.min_rate = min(
            float(min_rate) if min_rate is not None else DEFAULT_MIN_RATE, float(rate)
        )
        self._rate = min(float(rate), self.max_rate)
        # Default burst 1: requests evenly spaced at 1/rate, the friendliest shape for a server
        # whose limiter we cannot see.
        self.burst = max(1.0, float(burst) if burst is not None else 1.0)
        self.decrease_factor = decrease_factor
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.background_kinds = frozenset(background_kinds)

        # The rate the server last answered 429 at (or a remembered one): climbing turns gentle
        # near it. None until the first 429 when nothing is remembered.
        self._level = float(known_level) if known_level is not None and known_level > 0 else None
        self._highest_ok = 0.0  # the highest rate at which the bottleneck limiter got answers
        self._restarted_at: float | None = None  # the rate right after the last decrease
        self._cut_at = -float("inf")  # when the rate was last cut

        self._tokens = self.burst
        self._last = clock()
        self._paused_until = -float("inf")
        self._backoff_streak = 0  # 429s since the last success: drives the exponential pause
        self._grown_at = self._last  # up to when climbing has been credited
        # Tokens the rate has offered since the start (time x rate, pauses excluded), and for
        # each recent grant (time, offered so far): how much of its rate the run really uses.
        self._offered = 0.0
        self._grants: deque[tuple[float, float]] = deque()

        self._queues: dict[str, deque[asyncio.Future[None]]] = {}
        self._turns: deque[str] = deque()  # foreground kinds with waiters, round-robin
        self._background_turns: deque[str] = deque()
        self._waiting = 0  # futures queued and neither granted nor cancelled
        self._pump: asyncio.Task[None] | None = None

        self._acquired: dict[str, int] = {}
        self._rate_limited = 0
        self._successes = 0
        self._total_wait = 0.0
        self._paused_total = 0.0

    @classmethod
    def discovering(
        cls,
        *,
        ceiling: float | None = None,
        start: float | None = None,
        known_level: float | None = None,
        **kwargs: Any,
    ) -> RateLimiter:
        """A limiter that finds the server's limit: starts at ``start`` (default the modest
        :data:`DEFAULT_RATE`, or ``ceiling`` when that is lower) and climbs, never above
        ``ceiling`` (None: no ceiling but the server's 429s)."""
        top = math.inf if ceiling is None else float(ceiling)
        first = min(float(start) if start is not None else DEFAULT_RATE, top)
        return cls(rate=first, max_rate=top, known_level=known_level, **kwargs)

    # ----------------------------------------------------------------- public interface
    @property
    def rate(self) -> float:
        """Current rate in requests per second (for display and the bench)."""
        return self._rate

    @property
    def level(self) -> float | None:
        """The rate at which the server last said 429 (or the remembered one); None if unknown."""
        return self._level

    @property
    def highest_ok(self) -> float:
        """The highest rate at which this limiter was the bottleneck and requests went through."""
        return self._highest_ok

    @property
    def paused_until(self) -> float:
        """Clock time until which every request waits (after a 429); in the past when not paused."""
        return self._paused_until

    async def acquire(self, kind: str = "api") -> None:
        """Wait for this request's turn: a token, no 429 pause, and its kind's turn."""
        loop = asyncio.get_running_loop()
        started = self.clock()
        future: asyncio.Future[None] = loop.create_future()
        queue = self._queues.setdefault(kind, deque())
        queue.append(future)
        self._waiting += 1
        turns = self._background_turns if kind in self.background_kinds else self._turns
        if kind not in turns:
            turns.append(kind)
        self._ensure_pump(loop)
        try:
            await future
        finally:
            if not future.done():
                future.cancel()
            if future.cancelled():  # gave up while waiting: the pump skips it, no token used
                self._waiting -= 1
            self._total_wait += max(0.0, self.clock() - started)
        self._acquired[kind] = self._acquired.get(kind, 0) + 1

    def on_success(self) -> None:
        """A request went through without a 429: end the backoff streak, and climb.

        Answers that arrive during a pause came from requests sent before the 429, so they prove
        nothing about the new rate and are ignored. Climbing is credited by the time passed, not
        per answer: fifty answers landing together are one moment, not fifty steps, or the
        decrease would be undone the moment the in-flight requests return.
        """
        self._successes += 1
        now = self.clock()
        if now < self._paused_until:
            return
        self._backoff_streak = 0
        elapsed = min(max(now - self._grown_at, 0.0), MAX_GROWTH_STEP)
        self._grown_at = max(self._grown_at, now)
        if not self._busy(now):
            return  # not the bottleneck: this answer says nothing about a higher rate
        self._highest_ok = max(self._highest_ok, self._rate)
        if self._level is not None and self._rate > FORGET_ABOVE * self._level:
            self._level = None  # went well past it without a 429: the limit rose
        if self._rate >= self.max_rate or elapsed <= 0:
            return
        self._set_rate(min(self.max_rate, self._rate + self._climb_per_sec() * elapsed))

    def on_rate_limited(
        self, retry_after: float | None = None, *, sent_at: float | None = None
    ) -> None:
        """A 429: pause everyone, honour ``retry_after`` if given, note the level, lower the rate.

        Several requests in flight usually hit the same 429 together; only the first one cuts the
        rate and grows the backoff, the others may only lengthen the pause. "The same 429" is one
        that arrives during the pause, or (``sent_at``: when the limiter let the request go) for
        a request sent before the last cut, whose answer may come after a short pause ended.
        """
        self._rate_limited += 1
        now = self.clock()
        already_paused = now < self._paused_until or (
            sent_at is not None and sent_at < self._cut_at
        )
        if retry_after is not None:
            pause = min(max(float(retry_after), 0.0), retry.MAX_RETRY_AFTER)
        elif already_paused:
            pause = 0.0  # the same limit bounced another request: the running pause covers it
        else:
            pause = retry.backoff_delay(
                self._backoff_streak,
                rng=self.rng,
                initial=self.initial_backoff,
                maximum=self.max_backoff,
            )
        if not already_paused:
            self._backoff_streak += 1
            self._level = self._level_after_429(self._rate)
            self._set_rate(max(self.min_rate, self._rate * self.decrease_factor))
            self._restarted_at = self._rate
            self._cut_at = now
        until = now + pause
        if until > self._paused_until:
            self._refill(now)
            self._paused_total += until - max(now, self._paused_until)
            self._paused_until = until
            # One probe request may go the moment the pause ends, then the (lower) rate applies.
            self._tokens = min(1.0, self.burst)
            self._last = until
        self._grown_at = max(self._grown_at, self._paused_until)

    def stats(self) -> dict[str, Any]:
        """Counters for the progress display and the bench."""
        return {
            "acquired": dict(self._acquired),
            "rate_limited": self._rate_limited,
            "successes": self._successes,
            "rate": self._rate,
            "level": self._level,
            "highest_ok": self._highest_ok,
            "total_wait": self._total_wait,
            "paused_total": self._paused_total,
            "waiting": self._waiting,
        }

    def __repr__(self) -> str:
        return (
            f"RateLimiter(rate={self._rate:.3g}/s, burst={self.burst:g}, "
            f"max_rate={self.max_rate:g})"
        )

    # ----------------------------------------------------------------- internals
    def _level_after_429(self, rate: float) -> float:
        """Where the limit probably is, given a 429 at ``rate``.

        Met near or past the old level (or with nothing known yet), the rate is the level: a
        server without burst answers 429 the moment the rate passes its limit. Met well below
        the old level (climbing fast, or early in the gentle climb), the old level was too high:
        a server with a burst lets a fast climb overshoot until the burst is spent, so that 429
        came late and its rate was above the limit too. The limit then lies between the rate the
        climb restarted from (which went through) and ``rate``: take the middle, halving the
        doubt each time instead of creeping down a few percent per 429.
        """
        level, restarted = self._level, self._restarted_at
        if level is None or restarted is None or rate >= TRUST_ABOVE * level:
            return rate
        return max(restarted, (restarted + rate) / 2.0)

    def _climb_per_sec(self) -> float:
        """How fast the rate grows (requests/s per second) while requests go through."""
        level = self._level
        if level is not None and self._rate >= PROBE_FROM * level:
            return max(MIN_PROBE, PROBE_PER_SEC * level)  # near the limit: additive, gentle
        return max(MIN_CLIMB, CLIMB_PER_SEC * self._rate)  # well below it, or none known yet

    def _busy(self, now: float) -> bool:
        """Whether the limiter is what limits the run: lately it handed out nearly every token
        its rate offered (requests waited for tokens, not the other way round)."""
        self._refill(now)
        window = max(BUSY_WINDOW, 5.0 / self._rate)
        grants = self._grants
        while len(grants) > 1 and grants[0][0] < now - window:
            grants.popleft()
        if len(grants) < 2:
            return False
        offered = self._offered - grants[0][1]  # since the oldest grant in the window
        return offered > 0 and len(grants) - 1 >= BUSY_SHARE * offered

    def _set_rate(self, new_rate: float) -> None:
        self._refill(self.clock())  # tokens earned so far count at the old rate
        self._rate = new_rate

    def _refill(self, now: float, late: float = 0.0) -> None:
        """Earn tokens up to the burst (plus ``late`` seconds' worth the pump overslept)."""
        if now > self._last:
            self._offered += (now - self._last) * self._rate
            cap = self.burst + min(max(late, 0.0), MAX_LATE_CREDIT) * self._rate
            earned = self._tokens + (now - self._last) * self._rate
            # The cap limits what is earned now; it never takes back a late credit already given.
            self._tokens = max(self._tokens, min(cap, earned))
            self._last = now

    def _delay(self, now: float) -> float:
        """Seconds until a token may be handed out (0 = now)."""
        self._refill(now)
        if now < self._paused_until:
            return self._paused_until - now
        if self._tokens >= 1.0 - _EPSILON:  # float dust must not become an endless tiny sleep
            return 0.0
        return (1.0 - self._tokens) / self._rate

    def _next_waiter(self) -> asyncio.Future[None] | None:
        """Head of the next foreground kind in turn, else of the next background kind; waiters
        that gave up are skipped."""
        for turns in (self._turns, self._background_turns):
            while turns:
                kind = turns.popleft()
                queue = self._queues.get(kind)
                while queue and queue[0].done():
                    queue.popleft()
                if not queue:
                    continue
                future = queue.popleft()
                while queue and queue[0].done():
                    queue.popleft()
                if queue:
                    turns.append(kind)  # still waiting: back of the line of its class
                return future
        return None

    def _ensure_pump(self, loop: asyncio.AbstractEventLoop) -> None:
        """One pump task per event loop hands out the tokens; start it when it is not running.

        While it sleeps, a 429 or a new rate simply changes what it computes when it wakes up.
        """
        if self._pump is not None and not self._pump.done() and self._pump.get_loop() is loop:
            return
        self._pump = loop.create_task(self._run_pump(), name="hhbatch-ratelimit")

    async def _run_pump(self) -> None:
        """Hand out tokens one by one to waiters, foreground kinds first, until none wait."""
        while self._waiting > 0:
            now = self.clock()
            delay = self._delay(now)
            if delay > 0:
                waiting_for_token = now >= self._paused_until
                await self.sleep(delay)
                if waiting_for_token:  # not after a 429 pause: the probe goes alone
                    woke = self.clock()
                    self._refill(woke, late=woke - (now + delay))
                continue
            future = self._next_waiter()
            if future is None:
                break
            self._tokens -= 1.0
            self._waiting -= 1
            self._grants.append((now, self._offered))
            future.set_result(None)
            # Let the granted task start before the next grant, so grants interleave with sends.
            await asyncio.sleep(0)
