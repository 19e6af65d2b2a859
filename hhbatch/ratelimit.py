"""One adaptive token bucket shared by every API request of a run.

Why adaptive: the API page documents a 429 ``rate_limited`` but not the numbers behind it, nor
whether a 429 carries ``Retry-After``. So the limiter starts at the configured rate, and learns:

* a 429 pauses *everyone* (not just the request that got it) until ``Retry-After`` when the server
  sends one, otherwise for an exponential backoff with jitter; and the rate is cut
  (multiplicative decrease);
* requests that go through without a 429 raise the rate a little (additive increase, at most one
  step per request interval), back up to the starting rate (or ``max_rate``).

Why kinds: a batch mixes presigns, creates and polls. Waiters are queued per kind and the kinds are
served round-robin, so a thousand polls can never starve submission (nor the reverse); within one
kind it is first come, first served.

The outside world is injected (``clock``, ``sleep``, ``rng``) so tests assert the delays asked for
instead of sleeping.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from hhbatch import retry

DEFAULT_RATE = 5.0
# Never slow below one request per 10 s, however many 429s arrive: polls must still get through.
DEFAULT_MIN_RATE = 0.1
# Cut the rate in half on a 429 …
DEFAULT_DECREASE_FACTOR = 0.5
# … and win it back in steps of 1/50 of the ceiling per successful request (25 successes from half).
DEFAULT_INCREASE_FRACTION = 1 / 50
_EPSILON = 1e-9
# An event loop wakes a sleeper late (a busy loop by milliseconds). With burst 1 the bucket would
# be full already and the late time lost: at 500 requests/s a 1 ms overshoot on every 2 ms wait
# costs a third of the rate. A late wake-up is credited, up to this many seconds' worth of tokens.
MAX_LATE_CREDIT = 0.05


class RateLimiter:
    """Token bucket with AIMD rate control, a shared pause for 429s, and round-robin kinds."""

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
        increase: float | None = None,
        initial_backoff: float = retry.INITIAL_RATE_LIMIT_BACKOFF,
        max_backoff: float = retry.MAX_RATE_LIMIT_BACKOFF,
    ) -> None:
        if not rate > 0:
            raise ValueError("rate must be a positive number of requests per second")
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
        self.increase = (
            increase if increase is not None else self.max_rate * DEFAULT_INCREASE_FRACTION
        )
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff

        self._tokens = self.burst
        self._last = clock()
        self._paused_until = -float("inf")
        self._backoff_streak = 0  # 429s since the last success: drives the exponential pause
        self._next_increase = -float("inf")  # additive increase: at most one step per interval

        self._queues: dict[str, deque[asyncio.Future[None]]] = {}
        self._turns: deque[str] = deque()  # kinds with waiters, in round-robin order
        self._waiting = 0  # futures queued and neither granted nor cancelled
        self._pump: asyncio.Task[None] | None = None

        self._acquired: dict[str, int] = {}
        self._rate_limited = 0
        self._successes = 0
        self._total_wait = 0.0
        self._paused_total = 0.0

    # ----------------------------------------------------------------- public interface
    @property
    def rate(self) -> float:
        """Current rate in requests per second (for display and the bench)."""
        return self._rate

    @property
    def paused_until(self) -> float:
        """Clock time until which every request waits (after a 429); in the past when not paused."""
        return self._paused_until

    async def acquire(self, kind: str = "api") -> None:
        """Wait for this request's turn: a token, no 429 pause, and its kind's round-robin slot."""
        loop = asyncio.get_running_loop()
        started = self.clock()
        future: asyncio.Future[None] = loop.create_future()
        queue = self._queues.setdefault(kind, deque())
        queue.append(future)
        self._waiting += 1
        if kind not in self._turns:
            self._turns.append(kind)
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
        """A request went through without a 429: end the backoff streak, win back some rate.

        Answers that arrive during a pause came from requests sent before the 429, so they prove
        nothing about the new rate and are ignored. After that the rate grows by one step at most
        once per request interval (1/rate): fifty answers landing together are one step, not fifty,
        or the decrease would be undone the moment the in-flight requests return.
        """
        self._successes += 1
        now = self.clock()
        if now < self._paused_until:
            return
        self._backoff_streak = 0
        if self._rate >= self.max_rate or now < self._next_increase:
            return
        self._set_rate(min(self.max_rate, self._rate + self.increase))
        self._next_increase = now + 1.0 / self._rate

    def on_rate_limited(self, retry_after: float | None = None) -> None:
        """A 429: pause everyone, honour ``retry_after`` if given, and lower the rate.

        Several requests in flight usually hit the same 429 together; only the first one of a pause
        cuts the rate and grows the backoff, the others may only lengthen the pause.
        """
        self._rate_limited += 1
        now = self.clock()
        already_paused = now < self._paused_until
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
            self._set_rate(max(self.min_rate, self._rate * self.decrease_factor))
        until = now + pause
        if until > self._paused_until:
            self._refill(now)
            self._paused_total += until - max(now, self._paused_until)
            self._paused_until = until
            # One probe request may go the moment the pause ends, then the (lower) rate applies.
            self._tokens = min(1.0, self.burst)
            self._last = until
        self._next_increase = max(self._next_increase, self._paused_until + 1.0 / self._rate)

    def stats(self) -> dict[str, Any]:
        """Counters for the progress display and the bench."""
        return {
            "acquired": dict(self._acquired),
            "rate_limited": self._rate_limited,
            "successes": self._successes,
            "rate": self._rate,
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
    def _set_rate(self, new_rate: float) -> None:
        self._refill(self.clock())  # tokens earned so far count at the old rate
        self._rate = new_rate

    def _refill(self, now: float, late: float = 0.0) -> None:
        """Earn tokens up to the burst (plus ``late`` seconds' worth the pump overslept)."""
        if now > self._last:
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
        """Head of the next kind in round-robin order, skipping waiters that gave up."""
        while self._turns:
            kind = self._turns.popleft()
            queue = self._queues.get(kind)
            while queue and queue[0].done():
                queue.popleft()
            if not queue:
                continue
            future = queue.popleft()
            while queue and queue[0].done():
                queue.popleft()
            if queue:
                self._turns.append(kind)  # still waiting: back of the line of kinds
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
        """Hand out tokens one by one to waiters, round-robin between kinds, until none wait."""
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
            future.set_result(None)
            # Let the granted task start before the next grant, so grants interleave with sends.
            await asyncio.sleep(0)
