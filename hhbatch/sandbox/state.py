"""Everything the sandbox remembers: credits, uploads, jobs, rate buckets and counters.

Why one lock around plain dicts: requests arrive on many threads (one per connection) and every
operation is tiny, so a single ``RLock`` is simpler and safe; nothing blocks while holding it.
Job status is computed lazily from timestamps, so no background thread moves jobs along.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from hhbatch import spec


def iso_z(timestamp: float) -> str:
    """``2026-04-26T12:30:00.000Z``: the format the vendor page shows for ``readyAt``."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Upload:
    """A presigned upload; usable as a create-video key only once its PUT completed."""

    key: str
    user: str
    kind: str
    content_type: str
    size: int
    token: str
    expires_at: float
    completed: bool = False
    data: bytes | None = None  # kept only for small files, to serve publicUrl


@dataclass
class Job:
    """One create-video job; its status follows from ``created_at`` and the sampled timings."""

    id: str
    user: str
    api_key: str
    body: dict[str, Any]
    created_at: float
    queue_sec: float
    processing_sec: float
    fails: bool
    error_message: str | None
    has_thumbnail: bool
    cost: float

    @property
    def finished_at(self) -> float:
        return self.created_at + self.queue_sec + self.processing_sec

    def status_at(self, now: float, extra_status: str | None = None) -> str:
        if now < self.created_at + self.queue_sec:
            return spec.STATUS_QUEUED
        if now < self.finished_at:
            halfway = self.created_at + self.queue_sec + self.processing_sec / 2
            if extra_status and now >= halfway:
                return extra_status
            return spec.STATUS_PROCESSING
        return spec.STATUS_FAILED if self.fails else spec.STATUS_READY


class TokenBucket:
    """Classic token bucket: ``burst`` tokens, refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def take(self, now: float) -> float | None:
        """Take a token; return None when allowed, else seconds until one is available."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.rate


def canonical_body(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class State:
    """Mutable sandbox state; take ``lock`` for anything that reads then writes."""

    credits: dict[str, float]
    lock: threading.RLock = field(default_factory=threading.RLock)
    uploads: dict[str, Upload] = field(default_factory=dict)  # by storage key
    uploads_by_token: dict[str, Upload] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)  # insertion order = creation order
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    seen_bodies: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    requests: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    events: Counter[str] = field(default_factory=Counter)
    duplicates_by_user: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    peak_in_flight: int = 0
    fail_rotation: int = 0

    def count_request(self, route: str, status: int | str) -> None:
        with self.lock:
            self.requests[route][str(status)] += 1

    def count(self, event: str, n: int = 1) -> None:
        with self.lock:
            self.events[event] += n

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def record_body(self, user: str, body: dict[str, Any]) -> bool:
        """Remember a created body; True when this user already created the identical body."""
        text = canonical_body(body)
        with self.lock:
            seen = self.seen_bodies[user]
            if text in seen:
                self.duplicates_by_user[user] += 1
                self.events["duplicate_creates"] += 1
                return True
            seen.add(text)
            return False

    def counters(self) -> dict[str, Any]:
        """JSON-ready snapshot; the same dict ``GET /_sandbox/counters`` returns."""
        with self.lock:
            requests = {
                route: dict(sorted(c.items())) for route, c in sorted(self.requests.items())
            }
            by_status: Counter[str] = Counter()
            for c in self.requests.values():
                by_status.update(c)
            return {
                "requests": requests,
                "requests_total": sum(by_status.values()),
                "requests_by_status": dict(sorted(by_status.items())),
                "rate_limited": self.events["rate_limited"],
                "creates": self.events["creates"],
                "presigns": self.events["presigns"],
                "uploads_completed": self.events["uploads_completed"],
                "duplicate_creates": self.events["duplicate_creates"],
                "duplicate_creates_by_user": dict(self.duplicates_by_user),
                "storage_authorization_headers": self.events["storage_authorization_headers"],
                "faults": {
                    name: self.events[f"fault_{name}"]
                    for name in ("error", "drop", "create_then_fail", "create_then_drop")
                },
                "credits": dict(self.credits),
                "jobs": len(self.jobs),
                "peak_in_flight": self.peak_in_flight,
            }
