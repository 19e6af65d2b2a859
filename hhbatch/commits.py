"""The run's journal writes, made off the event loop and grouped: one fsync for many records.

Why: every create needs durable (fsynced) records, the intent before the request leaves and the
id right after, in the batch journal and in the per-user ledger. An fsync takes milliseconds
(tens on a busy disk), and SQLite blocks the thread that commits. Made on the event loop, each one
froze every other request of the run: at 500 requests/s the run spent most of its time waiting
for the disk, one row at a time (issue #5 item 5 fell from 1.2x to over 10x its floor).

So the run's writes go to :class:`Commits`: it hands them to one worker thread, and every write
that queued while the last group was being committed goes into the next group, committed as one
transaction per file (:meth:`hhbatch.journal.Journal.commit_group`). The event loop keeps sending
and receiving meanwhile.

What stays true (see DURABLE in :mod:`hhbatch.journal`):

* :meth:`Commits.call` returns only once the group holding the write is committed at the
  DURABLE level (fsynced). The executor awaits the intent's ``call`` *before* the create request
  leaves, so a create's intent is always durable before the request is sent, grouped or not.
* A write, once handed over, is made even if its caller is cancelled, and the run waits for all
  of them (:meth:`Commits.close`); if the event loop is torn down first, what is left is
  written synchronously. A returned id is never dropped from the queue. Only an intent whose
  caller gave up before its group started is skipped: its create is never sent.
* Writes are made in the order they were handed over; a row's writes are handed over one after
  the other (each awaited, or, for a poll's news, long after the last), so they never cross.

The journal's lock (every public method holds it) keeps the event loop's own reads of the
journal (the sheet refresh) from running on the connection while a group is being committed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hhbatch import journal as j

MAX_GROUP = 1000  # writes per transaction: bounds how long one group holds the journal


@dataclass
class _Write:
    call: j.GroupCall
    future: asyncio.Future[Any] | None  # None: nobody waits (a poll's news)


class Commits:
    """Journal writes in one worker thread, grouped. Use as ``async with Commits(journal):`` or
    call :meth:`close` when done: it waits until every write handed over is committed."""

    def __init__(self, journal: j.Journal, *, max_group: int = MAX_GROUP) -> None:
        self.journal = journal
        self.max_group = max(1, max_group)
        self._pending: list[_Write] = []
        self._flusher: asyncio.Task[None] | None = None
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None  # made when needed
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
        whose create intent this records (skipped if the caller gives up before it is made)."""
        self._raise_failure()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue(_Write(j.GroupCall(functools.partial(fn, *args, **kwargs), intent_of), future))
        return await future

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Make ``fn(*args, **kwargs)`` in the next group without waiting for it: for writes the
        next run recovers by itself if they are lost (a poll's news). A failure is raised by the
        next :meth:`call`, :meth:`submit` or :meth:`close`."""
        self._raise_failure()
        self._queue(_Write(j.GroupCall(functools.partial(fn, *args, **kwargs)), None))

    async def close(self) -> None:
        """Wait until every write handed over is committed; raise a failure nobody saw yet."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)
        if self._pending:  # queued after the flusher's last look (cannot happen; be sure)
            self._write_now()
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        self._raise_failure()

    # --- the flusher ---------------------------------------------------------------------------
    def _queue(self, write: _Write) -> None:
        self._pending.append(write)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush(), name="hhbatch-commits"
            )

    async def _flush(self) -> None:
        running: concurrent.futures.Future[list[tuple[bool, Any]]] | None = None
        try:
            while self._pending:
                group = self._take()
                if not group:
                    continue
                if self._thread is None:
                    self._thread = concurrent.futures.ThreadPoolExecutor(
                        max_workers=1, thread_name_prefix="hhbatch-journal"
                    )
                running = self._thread.submit(
                    self.journal.commit_group, [write.call for write in group]
                )
                try:
                    results = await asyncio.shield(asyncio.wrap_future(running))
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # a commit failed: none of the group is done
                    running = None
                    self._deliver_failure(group, err)
                    continue
                running = None
                self._deliver(group, results)
        finally:
            if running is not None or self._pending:
                # The loop is being torn down (this task was cancelled) with writes still to
                # make: let the thread finish its group, then make the rest here. A returned
                # id must reach the journal whatever happens to the run.
                if running is not None:
                    concurrent.futures.wait([running])
                self._write_now()

    def _take(self) -> list[_Write]:
        group, self._pending = self._pending[: self.max_group], self._pending[self.max_group :]
        kept = []
        for write in group:
            gave_up = write.future is not None and write.future.cancelled()
            if gave_up and write.call.intent_of is not None:
                continue  # its create will not be sent: no intent to record
            kept.append(write)
        return kept

    def _write_now(self) -> None:
        """Make the pending writes in this thread (the event loop is going away)."""
        while self._pending:
            group = self._take()
            try:
                results = self.journal.commit_group([w.call for w in group])
            except Exception as err:
                self._deliver_failure(group, err)
            else:
                self._deliver(group, results)

    def _deliver(self, group: list[_Write], results: list[tuple[bool, Any]]) -> None:
        self.groups += 1
        self.writes += len(group)
        for write, (ok, value) in zip(group, results, strict=True):
            if write.future is None:
                if not ok and self._failure is None:
                    self._failure = value
            elif not write.future.done():
                if ok:
                    write.future.set_result(value)
                else:
                    write.future.set_exception(value)

    def _deliver_failure(self, group: list[_Write], err: BaseException) -> None:
        for write in group:
            if write.future is None:
                if self._failure is None:
                    self._failure = err
            elif not write.future.done():
                write.future.set_exception(err)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure
