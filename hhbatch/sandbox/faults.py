"""Seeded randomness for everything the sandbox decides by chance: faults, latency, timings.

Why one seeded generator behind a lock: with ``seed`` set, a single-threaded test sees the same
sequence of faults every run; with many threads the sequence is still drawn from one stream.
"""

from __future__ import annotations

import random
import threading
import uuid

from hhbatch.sandbox.config import Range, SandboxConfig

ERROR = "error"
DROP = "drop"


class Dice:
    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def chance(self, probability: float) -> bool:
        if probability <= 0.0:
            return False
        if probability >= 1.0:
            return True
        with self._lock:
            return self._rng.random() < probability

    def sample(self, value: Range) -> float:
        if isinstance(value, tuple):
            lo, hi = value
            with self._lock:
                return self._rng.uniform(lo, hi)
        return float(value)

    def bits(self, n: int) -> int:
        with self._lock:
            return self._rng.getrandbits(n)

    def uuid7(self, now: float) -> str:
        """A UUIDv7-shaped id (time-ordered, like the vendor's ``018f3f1d-…`` example)."""
        millis = int(now * 1000) & ((1 << 48) - 1)
        rand_a = self.bits(12)
        rand_b = self.bits(62)
        value = (millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
        return str(uuid.UUID(int=value))

    def before_fault(self, config: SandboxConfig, route: str) -> str | None:
        """A fault that hits before the request does anything (nothing created, nothing charged)."""
        if route not in config.fault_routes:
            return None
        if self.chance(config.drop_probability):
            return DROP
        if self.chance(config.error_probability):
            return ERROR
        return None

    def after_create_fault(self, config: SandboxConfig) -> str | None:
        """A fault that hits after the job was created and charged: the answer is lost."""
        if self.chance(config.create_then_drop):
            return DROP
        if self.chance(config.create_then_fail):
            return ERROR
        return None
