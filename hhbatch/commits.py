"""The run's journal writes, made off the event loop and grouped: one fsync for many records.

Why: every create needs durable (fsynced) records, the intent before the request leaves and the
id right after, in the batch journal and in the per-user ledger. An fsync takes milliseconds
(tens on a busy disk), and SQLite blocks the thread that commits. Made on the event loop, each one
froze every other request of the run: at 500 requests/s the run spent most of its time waiting
for the disk, one row at a time (issue #5 item 5 fell from 1.2x to over 10x its floor).

So the run's writes go to :class:`Commits`: one worker thread takes them, and every write that
queued while the last group was being committed goes into the next group, committed as one
transaction per file (:meth:`hhbatch.journal.Journal.commit_group`). The event loop keeps sending
and receiving meanwhile, and the thread starts the next group without waiting for the loop (a
busy loop would otherwise add its lag to every commit).

What stays true (see DURABLE in :mod:`hhbatch.journal`):

* :meth:`Commits.call` returns only once the group holding the write is committed at the
  DURABLE level (fsynced). The executor awaits the intent's ``call`` *before* the create request
  leaves, so a create's intent is always durable before the request is sent, grouped or not.
* A write, once handed over, is made even if its caller is cancelled or the event loop goes
  away: the run waits for all of them (:meth:`Commits.close`), and the thread is not a daemon,
  so the interpreter does not exit before it has made what it was given. A returned id is never
  dropped from the queue. Only an intent whose caller gave up before its group started is
  skipped: its create is never sent.
* Writes are made in the order they were handed over; a row's writes are handed over one after
  the other (each awaited, or, for a poll's news, long after the last), so they never cross.

The journal's lock (every public method holds it) keeps the event loop's own reads of the
journal (the sheet refresh) from running on the connection while a group is being committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hhbatch import journal as j

MAX_GROUP = 1000  # writes per transaction: bounds how long one group holds the journal
IDLE_EXIT_SEC = 0.5  # the thread ends after this long without writes (made again when needed)


@dataclass
class _Write:
    call: j.GroupCall
    future: asyncio.Future[Any] | None  # None: nobody waits (a poll's news)
    loop: asyncio.AbstractEventLoop


class Commits:
    """Journal writes in one worker thread, grouped. Call :meth:`close` when done: it waits
    until every write handed over is committed and raises a failure nobody saw yet."""

    def __init__(self, journal: j.Journal, *, max_group: int = MAX_GROUP) -> None:
        self.journal = journal
        self.max_group = max(1, max_group)
        self._cond = threading.Condition()
        self._pending: deque[_Write] = deque()  # guarded by _cond
        self._thread: threading.Thread | None = None  # guarded by _cond
        self._busy = False  # guarded by _cond: a group is being committed
        self._drained: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._failure: BaseException | None = None  # a write nobody awaited failed
        self.groups = 0  # for the bench: how many commits the writes took
        self.writes = 0

    async def __aenter__(self) -> Commits:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- handing writes over -------------------------------------------------------------------
    async def call(
        self, fn: Callable[..., Any], /, *args: Any, intent_of: str | None = None, **kwargs: Any
    ) -> Any:
        """Make ``fn(*args, **kwargs)`` (a journal method) in the next group; return its result
        once that group is durably committed, or raise its error. ``intent_of``: the row key
        whose create intent this records (skipped if the caller gives up before it is made).

        A lossy write that failed earlier (:meth:`submit`) never stops this one: an id the
        server returned must still be recorded; this write fails only by its own error."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        call = j.GroupCall(functools.partial(fn, *args, **kwargs), intent_of)
        self._queue(_Write(call, future, loop))
        return await future

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Make ``fn(*args, **kwargs)`` in the next group without waiting for it: for writes the
        next run recovers by itself if they are lost (a poll's news). A failure is kept and
        raised by :meth:`close`, once every other write is made; it never stops a later write."""
        call = j.GroupCall(functools.partial(fn, *args, **kwargs))
        self._queue(_Write(call, None, asyncio.get_running_loop()))

    async def close(self) -> None:
        """Wait until every write handed over is committed; raise a failure nobody saw yet."""
        loop = asyncio.get_running_loop()
        with self._cond:
            idle = not self._pending and not self._busy
            if not idle:
                drained: asyncio.Future[None] = loop.create_future()
                self._drained.append((loop, drained))
        if not idle:
            await asyncio.shield(drained)
        self._raise_failure()

    # --- the worker thread ---------------------------------------------------------------------
    def _queue(self, write: _Write) -> None:
        with self._cond:
            self._pending.append(write)
            if self._thread is None:
                # Not a daemon: the interpreter waits for the writes it was given.
                self._thread = threading.Thread(
                    target=self._work, name="hhbatch-journal", daemon=False
                )
                self._thread.start()
            else:
                self._cond.notify()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._busy = False
                    self._signal_drained()
                    if not self._cond.wait(IDLE_EXIT_SEC) and not self._pending:
                        self._thread = None  # the next write starts a new one
                        return
                self._busy = True
                group = self._take()
            if group:
                self._commit(group)

    def _take(self) -> list[_Write]:
        kept = []
        while self._pending and len(kept) < self.max_group:
            write = self._pending.popleft()
            gave_up = write.future is not None and write.future.cancelled()
            if gave_up and write.call.intent_of is not None:
                continue  # its create will not be sent: no intent to record
            kept.append(write)
        return kept

    def _commit(self, group: list[_Write]) -> None:
        try:
            outcome = self.journal.commit_group([write.call for write in group])
        except Exception:
            # The group could not be committed (the ledger locked by another process past its
            # busy timeout, a damaged file, a full disk): none of it is done. Each write is made
            # again on its own, as before grouping existed: the journal first, so an id the
            # server returned reaches the journal even when the ledger cannot take it, and each
            # caller gets its own write's outcome (an intent that fails stops its create).
            outcome = [self._alone(write.call) for write in group]
        else:
            self.groups += 1
        self.writes += len(group)
        for write, (ok, value) in zip(group, outcome, strict=True):
            if write.future is None:
                if not ok and self._failure is None:
                    self._failure = value
                continue
            _call_soon(write.loop, _settle, write.future, ok, value)

    @staticmethod
    def _alone(call: j.GroupCall) -> tuple[bool, Any]:
        try:
            return True, call.fn()
        except Exception as err:
            return False, err

    def _signal_drained(self) -> None:
        """Called with the lock held when nothing is pending and no group is running."""
        drained, self._drained = self._drained, []
        for loop, future in drained:
            _call_soon(loop, _settle, future, True, None)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # its caller gave up (the write was still made)
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(fn, *args)
