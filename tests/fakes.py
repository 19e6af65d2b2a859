"""Test doubles shared by the client and limiter tests."""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


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


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: whenever every task waits, the clock jumps to the next timer.

    Unlike :class:`FakeTime`, every ``asyncio.sleep``/``wait_for`` of every task runs on it, so
    several tasks that sleep at once (a rate limiter, a poller, submitters) stay in step. Use
    ``loop.time`` as the clock and plain ``asyncio.sleep``; run with :func:`run_virtual`.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._virtual_now = start
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        return self._virtual_now


_TICK = 1e-9


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None):  # type: ignore[no-untyped-def]
        if timeout is None:
            raise RuntimeError("every task waits and no timer is set: the test would hang")
        # A real clock always moves a little: asyncio fires a timer due within its clock
        # resolution early, and code that waits for "a hair later" would otherwise spin forever.
        self._loop._virtual_now += max(timeout, _TICK)
        return super().select(0)


def run_virtual(main: Coroutine[Any, Any, T], start: float = 1000.0) -> T:
    """``asyncio.run`` on a :class:`VirtualTimeLoop`."""
    loop = VirtualTimeLoop(start)
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()
