"""The retry policy: which failures may be repeated, and how long to wait first. One place.

Why a module of its own: the same questions come up in the client (retry this request?), the rate
limiter (how long to back off after a 429 without ``Retry-After``?) and in tests (what delays were
asked for?). The answers must not drift apart, and one of them is about money:

* ``POST /api/v1/videos`` deducts credits as soon as the server accepts it, and the API has no
  idempotency key and no way to list jobs. A create is therefore repeated only when the failure
  proves the job was *not* created: a 429 (refused before any work) or a connection that never
  reached the server. Everything that happened after the bytes left (timeouts, dropped
  connections, 5xx) is raised so the caller records the row as ``unknown`` instead of paying twice.
* Presign and get-video change nothing on the server (or nothing that costs), so they are also
  repeated after timeouts, dropped connections and 5xx answers, with exponential backoff + jitter.

Modelled on openai-python's ``_parse_retry_after_header`` / ``_calculate_retry_timeout``.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hhbatch.errors import ApiConnectionError, ApiError, ApiStatusError, RateLimited

DEFAULT_MAX_RETRIES = 6
# Backoff between retries of one request (connect failures, 5xx, timeouts): 0.5, 1, 2, … ≤ 30 s.
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 30.0
# Pause after a 429 that carries no Retry-After: 1 s, 2 s, 4 s, … ≤ 60 s (see ratelimit.py).
INITIAL_RATE_LIMIT_BACKOFF = 1.0
MAX_RATE_LIMIT_BACKOFF = 60.0
# A Retry-After is honoured, but a server asking for hours (a daily quota) should not freeze the run
# silently: we wait at most this long, try again, and give up after the usual number of retries.
MAX_RETRY_AFTER = 600.0
# A 429 proves the request did nothing, so it is repeated without counting against
# ``max_retries``: the limiter runs near the key's limit on purpose, and an occasional 429 is the
# price of that, not a failure. Only a server that has refused one request for this long is
# taken at its word (a quota, not a rate): the request gives up, and a create is left unsent.
MAX_RATE_LIMITED_SEC = 900.0
# Jitter takes up to this fraction off each delay so that many waiters do not wake at once.
JITTER_FRACTION = 0.25


def backoff_delay(
    attempt: int,
    *,
    rng: Callable[[], float],
    initial: float = INITIAL_RETRY_DELAY,
    maximum: float = MAX_RETRY_DELAY,
) -> float:
    """Exponential backoff with jitter for retry number ``attempt`` (0 = the first retry).

    ``initial * 2**attempt`` capped at ``maximum``, then reduced by up to ``JITTER_FRACTION``
    (``rng() == 0`` gives the full delay, which is what tests inject).
    """
    base = min(initial * (2.0 ** max(attempt, 0)), maximum)
    return base * (1.0 - JITTER_FRACTION * rng())


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date; None if absent
    or unreadable. Dates in the past give 0; values are capped at ``MAX_RETRY_AFTER``."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:  # RFC 9110 dates are always GMT
            return None
        seconds = when.timestamp() - now()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def retry_after_from_headers(
    headers: Mapping[str, str], *, now: Callable[[], float] = time.time
) -> float | None:
    """``retry-after-ms`` (non-standard, milliseconds) wins over ``Retry-After`` when both are set.

    ``headers`` should be case-insensitive (``httpx.Headers``); lower-case names are looked up.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return min(max(value, 0.0), MAX_RETRY_AFTER)
    return parse_retry_after(headers.get("retry-after"), now=now)


def is_retryable(err: BaseException, *, idempotent: bool) -> bool:
    """Whether repeating the request that raised ``err`` is safe and may help.

    ``idempotent`` is False for create-video: then only failures that prove nothing was created
    (429, a connection that never reached the server) qualify.
    """
    if isinstance(err, RateLimited):
        return True
    if isinstance(err, ApiConnectionError):
        return (not err.request_sent) or idempotent
    if isinstance(err, ApiStatusError):
        return idempotent and err.status_code >= 500
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long: the numbers the client uses for every request."""

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = INITIAL_RETRY_DELAY
    max_delay: float = MAX_RETRY_DELAY

    def should_retry(
        self,
        err: BaseException,
        *,
        attempt: int,
        idempotent: bool,
        rate_limited_for: float = 0.0,
    ) -> bool:
        """``attempt`` counts retries already made after failures other than 429 (0 after the
        first); ``rate_limited_for`` is how long this request has been answered 429 so far."""
        if isinstance(err, RateLimited):
            return rate_limited_for < MAX_RATE_LIMITED_SEC
        return attempt < self.max_retries and is_retryable(err, idempotent=idempotent)

    def delay(self, err: ApiError, *, attempt: int, rng: Callable[[], float]) -> float:
        """Seconds the client sleeps before retry number ``attempt``.

        A 429 gives 0 here: the shared rate limiter pauses *every* request (it was told through
        ``on_rate_limited``), so the retry simply queues for its next token. A 5xx that says
        ``Retry-After`` is honoured; everything else backs off exponentially with jitter.
        """
        if isinstance(err, RateLimited):
            return 0.0
        retry_after = getattr(err, "retry_after", None)
        if retry_after is not None:
            return float(retry_after)
        return backoff_delay(attempt, rng=rng, initial=self.initial_delay, maximum=self.max_delay)
