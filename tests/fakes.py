"""Test doubles shared by the client and limiter tests."""

from __future__ import annotations

import asyncio


class FakeTime:
    """A clock that only moves when something sleeps on it; every sleep is recorded, so tests
    assert the delays asked for instead of waiting them out."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)
