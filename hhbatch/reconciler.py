"""Polls in-flight jobs and turns journal state into the cells of the results sheet.

Why polls are scheduled rather than looped: the rate limit is shared with submission, and with
real generation taking minutes, polling every job every few seconds would eat the whole budget.
Each job is polled when it is *likely* done: once a few jobs have finished, the poller learns how
long generation takes and first asks at that point, then every ``poll_interval`` (with jitter).
It learns only from answers to polls that went out on time: while rows wait to be created, polls
get only what creates leave (see :mod:`hhbatch.ratelimit`), and a job found ready after its poll
waited seconds behind the creates may have been ready long before.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from hhbatch import errors, spec
from hhbatch import journal as j
from hhbatch.columns import RESULT_COLUMNS, header_for, status_for_sheet
from hhbatch.i18n import _
from hhbatch.plan import EDITED, INVALID, LATER, SKIPPED, UNKNOWN, Plan

if TYPE_CHECKING:
    from hhbatch.commits import Commits

# Learn from this many finished jobs before trusting the estimate.
_MIN_SAMPLES = 5
_ESTIMATE_QUANTILE = 0.75
# Until then: a job younger than this many jobs known to be still running is not polled (similar
# jobs take similar times). Several, so one stuck job cannot hold back the polls of the others.
_RUNNING_WITNESSES = 3


class PollEvents(Protocol):
    def finished(self, row_key: str, status: str) -> None: ...
    def status_seen(self, row_key: str, status: str) -> None: ...


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    row_key: str
    video_id: str
    created_at: float
    polled: bool = field(default=False, compare=False)


class Poller:
    """Keeps a heap of in-flight jobs ordered by when each should next be polled."""

    def __init__(
        self,
        journal: j.Journal,
        client: Any,
        events: PollEvents,
        *,
        poll_interval: float,
        concurrency: int,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        commits: Commits | None = None,
    ) -> None:
        self.journal = journal
        # A poll's news goes to the run's journal writer (hhbatch.commits) without waiting for
        # it: the next run asks again if it is lost. Without one it is written here and now.
        self.commits = commits
        self.client = client
        self.events = events
        self.poll_interval = poll_interval
        self.clock = clock
        self.rng = rng
        self.polls = 0
        self.finished_count = 0
        self.auth_error: errors.AuthError | None = None
        # Set when the API could not be reached before it ever answered a poll: waiting on is
        # pointless (the base URL is wrong or there is no network); the run says so (exit 5).
        self.unreachable: errors.ApiUnreachable | None = None
        self._answered = 0
        self._heap: list[_Due] = []
        self._seq = 0
        self._durations: list[float] = []
        self._estimate_cache: float | None = None
        # row_key -> created_at of jobs last seen unfinished (only until there is an estimate)
        self._running: dict[str, float] = {}
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._changed = asyncio.Event()
        self._active: set[asyncio.Task[None]] = set()
        self._once = False

    # --- feeding -----------------------------------------------------------------------------
    def add(self, row_key: str, video_id: str, *, just_created: bool) -> None:
        now = self.clock()
        delay = self._first_delay() if just_created else 0.0
        self._push(now + delay, row_key, video_id, created_at=now if just_created else now - 1e9)

    @property
    def pending(self) -> int:
        return len(self._heap) + len(self._active)

    def _reschedule(self, item: _Due) -> None:
        if not self._once:
            at = self.clock() + self._jitter(self.poll_interval)
            self._push(at, item.row_key, item.video_id, item.created_at, polled=True)

    def _not_before(self, item: _Due) -> float:
        """When polling this job may be worth a request (its due time aside).

        Polling every job every ``poll_interval`` spends the rate limit on answers that say
        "processing" and starves submission. So: before any estimate, a job younger than several
        jobs known to be still running waits for them; once jobs have finished, a job that was
        queued before the estimate existed is first asked when it is as old as the estimate.
        """
        if self._once or self._adopted(item):
            return -float("inf")
        if len(self._durations) >= _MIN_SAMPLES:
            return -float("inf") if item.polled else item.created_at + self._estimate()
        if item.row_key in self._running or len(self._running) < _RUNNING_WITNESSES:
            return -float("inf")
        witness = heapq.nsmallest(_RUNNING_WITNESSES, self._running.values())[-1]
        return float("inf") if item.created_at > witness else -float("inf")

    def _seen_unfinished(self, item: _Due) -> None:
        if not self._once and len(self._durations) < _MIN_SAMPLES and not self._adopted(item):
            self._running[item.row_key] = item.created_at

    def _adopted(self, item: _Due) -> bool:
        """Jobs of an earlier run: their age is unknown (``add`` dates them far in the past)."""
        return self.clock() - item.created_at > 1e8

    def _push(
        self, at: float, row_key: str, video_id: str, created_at: float, polled: bool = False
    ) -> None:
        self._seq += 1
        heapq.heappush(self._heap, _Due(at, self._seq, row_key, video_id, created_at, polled))
        self._changed.set()

    def _jitter(self, seconds: float) -> float:
        return seconds * (0.9 + 0.2 * self.rng())

    def _first_delay(self) -> float:
        if len(self._durations) >= _MIN_SAMPLES:
            return self._estimate()
        return self._jitter(self.poll_interval)

    def _estimate(self) -> float:
        """How old a job usually is when it is found finished (needs ``_MIN_SAMPLES``)."""
        if self._estimate_cache is None:
            ordered = sorted(self._durations[-200:])
            estimate = ordered[int(_ESTIMATE_QUANTILE * (len(ordered) - 1))]
            self._estimate_cache = max(estimate, self.poll_interval * 0.2)
        return self._estimate_cache

    # --- running -----------------------------------------------------------------------------
    async def run(
        self,
        *,
        keep_going: Callable[[], bool],
        deadline: float | None,
        should_stop: Callable[[], bool] = lambda: False,
        once: bool = False,
    ) -> None:
        """Poll until nothing is in flight and ``keep_going()`` is false, or the deadline.

        ``once``: ask each job exactly one time (``hhbatch status``), do not reschedule.
        """
        self._once = once
        while True:
            if self.auth_error is not None or self.unreachable is not None or should_stop():
                break
            if deadline is not None and self.clock() >= deadline:
                break
            if not self._heap:
                if not self._active and not keep_going():
                    break
                await self._wait_for_change(None if deadline is None else deadline - self.clock())
                continue
            due = self._heap[0].at - self.clock()
            if due > 0:
                limit = due if deadline is None else min(due, deadline - self.clock())
                await self._wait_for_change(limit)
                continue
            await self._slots.acquire()
            item = heapq.heappop(self._heap)
            not_before = self._not_before(item)
            if not_before > self.clock():  # not worth a request yet: look again later
                self._slots.release()
                if not_before == float("inf"):
                    not_before = self.clock() + self._jitter(self.poll_interval)
                self._push(not_before, item.row_key, item.video_id, item.created_at, item.polled)
                continue
            task = asyncio.ensure_future(self._poll(item))
            self._active.add(task)
            task.add_done_callback(self._active.discard)
        for task in list(self._active):
            task.cancel()
        await asyncio.gather(*self._active, return_exceptions=True)

    def _record_status(self, row_key: str, **fields: Any) -> None:
        if self.commits is not None:
            self.commits.submit(self.journal.record_status, row_key, **fields)
        else:
            self.journal.record_status(row_key, **fields)

    async def _wait_for_change(self, timeout: float | None) -> None:
        self._changed.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout=timeout)

    def wake(self) -> None:
        self._changed.set()

    async def _poll(self, item: _Due) -> None:
        try:
            try:
                video = await self.client.get_video(item.video_id)
            except errors.AuthError as err:
                self.auth_error = err
                self._changed.set()
                return
            except errors.NotFound:
                self._answered += 1
                self._record_status(
                    item.row_key,
                    status="not_found",
                    video_url=None,
                    thumbnail_url=None,
                    ready_at=None,
                    error=(
                        _(
                            "The API does not know video {video_id} for this key (not_found). "
                            "Was the batch started with another API key?"
                        ).format(video_id=item.video_id)
                    ),
                    state=j.SUBMITTED,
                )
                self.events.status_seen(item.row_key, "not_found")
                return
            except errors.ApiError as err:
                if isinstance(err, errors.ApiUnreachable) and not self._answered:
                    self.unreachable = err
                    self._changed.set()
                    return
                # Transient trouble after the client's own retries: ask again later.
                self._reschedule(item)
                return
            finally:
                self.polls += 1
            self._answered += 1
            self._record(item, video)
        finally:
            # Leave the active set *before* waking the loop, or it may see this task as still
            # running, go back to sleep and never be woken again.
            self._active.discard(asyncio.current_task())  # type: ignore[arg-type]
            self._slots.release()
            self._changed.set()

    def _record(self, item: _Due, video: Any) -> None:
        status = str(video.status or "")
        if status in spec.TERMINAL_STATUSES:
            state = j.READY if status == spec.STATUS_READY else j.FAILED
            self._record_status(
                item.row_key,
                status=status,
                video_url=video.video_url,
                thumbnail_url=video.thumbnail_url,
                ready_at=video.ready_at,
                error=video.error_message if state == j.FAILED else None,
                state=state,
            )
            now = self.clock()
            age = now - item.created_at
            if 0 < age < 1e8 and now - item.at <= self.poll_interval:
                self._durations.append(age)
                self._estimate_cache = None
            # else: asked late (the poll waited behind creates): the job may have been done
            # long before, so its age says nothing about how long generation takes.
            self._running.pop(item.row_key, None)
            self.finished_count += 1
            self.events.finished(item.row_key, status)
            return
        # queued, processing, or a status the page does not list: still in progress.
        self._record_status(
            item.row_key,
            status=status,
            video_url=video.video_url,
            thumbnail_url=video.thumbnail_url,
            ready_at=None,
            error=None,
            state=j.SUBMITTED,
        )
        self.events.status_seen(item.row_key, status)
        self._seen_unfinished(item)
        self._reschedule(item)


# --- the results sheet -------------------------------------------------------------------------
# Status words written to the sheet for rows that have no server status.
SHEET_INVALID = "invalid"
SHEET_NOT_SUBMITTED = "not submitted"
SHEET_UNKNOWN = "unknown"
SHEET_SUBMITTING = "submitting"
SHEET_FAILED = "failed"
SHEET_EDITED = "edited"  # inputs changed after the video was made; the old video is shown
SHEET_SUBMITTED = "submitted"  # an id exists, no status seen yet (e.g. adopted from a sheet)
SHEET_SKIPPED = "skipped"  # marked in the Skip column (template examples): never sent
# Sheet statuses that are settled for this run: everything else is still generating.
SETTLED_STATUSES = frozenset(
    {
        spec.STATUS_READY,
        SHEET_FAILED,
        SHEET_INVALID,
        SHEET_UNKNOWN,
        SHEET_NOT_SUBMITTED,
        SHEET_EDITED,
        SHEET_SKIPPED,
        "not_found",
    }
)


@dataclass
class RowResult:
    status: str
    video_id: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ready_at: str | None = None
    error: str | None = None


def row_result(action: str, note: str | None, job: j.JobRecord | None) -> RowResult:
    """What the sheet says for one row, from the plan's action and the journal's record."""
    if action == SKIPPED:
        if job is None:
            return RowResult(SHEET_SKIPPED, error=note)
        return RowResult(
            SHEET_SKIPPED,
            video_id=job.video_id,
            video_url=job.video_url,
            thumbnail_url=job.thumbnail_url,
            ready_at=job.ready_at,
            error=note,
        )
    if action == INVALID:
        if job is None or not job.video_id:
            return RowResult(SHEET_INVALID, error=note)
        # invalid now, but a video was made from it before: keep showing that video
        return RowResult(
            SHEET_INVALID,
            video_id=job.video_id,
            video_url=job.video_url,
            thumbnail_url=job.thumbnail_url,
            ready_at=job.ready_at,
            error=note,
        )
    if job is None:
        if action == UNKNOWN:  # from a results sheet whose journal is lost
            return RowResult(SHEET_UNKNOWN, error=note)
        return RowResult(SHEET_NOT_SUBMITTED, error=note)
    result = RowResult(
        status=job.status or (SHEET_SUBMITTED if job.video_id else SHEET_SUBMITTING),
        video_id=job.video_id,
        video_url=job.video_url,
        thumbnail_url=job.thumbnail_url,
        ready_at=job.ready_at,
        error=job.error,
    )
    if job.state == j.REJECTED:
        result.status = SHEET_FAILED
    elif job.state == j.UNKNOWN:
        result.status = SHEET_UNKNOWN
    elif job.state == j.HELD:
        result.status = SHEET_NOT_SUBMITTED
    elif job.state == j.SUBMITTING:
        result.status = SHEET_SUBMITTING
    if action == EDITED:
        # Not "ready": the video shown was made from the row's old inputs, not what it says now.
        result.status = SHEET_EDITED
        result.error = note
    elif action == LATER and job.state == j.HELD:
        result.error = note
    return result


def sheet_results(plan: Plan, journal: j.Journal) -> dict[int, RowResult]:
    """Every row of the plan, keyed by its sheet row, with the journal's latest word."""
    jobs = journal.jobs()
    by_video = {job.video_id: job for job in jobs.values() if job.video_id}
    results = {}
    for rp in plan.rows:
        job = None
        if rp.action in (EDITED, INVALID, SKIPPED):
            job = rp.job
            if job is not None:
                job = jobs.get(job.row_key, job)
        elif rp.row_key is not None:
            job = jobs.get(rp.row_key)
            if job is not None and job.state == j.HELD and rp.adopted is not None:
                job = None  # never sent here; the ledger's create of it is what the row shows
            if job is None and rp.adopt_video_id:
                job = by_video.get(rp.adopt_video_id)
        results[rp.row.sheet_row] = row_result(rp.action, rp.note, job)
    return results


def summarize(results: dict[int, RowResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results.values():
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


def output_cells(
    results: dict[int, RowResult], language: str, fills: dict[str, str]
) -> tuple[list[str], dict[int, dict[str, Any]]]:
    """The result columns (headers in the manifest's language) and their cells."""
    from hhbatch.output import OutputCell  # the writer's cell type

    headers = {column.name: header_for(column, language) for column in RESULT_COLUMNS}
    rows: dict[int, dict[str, Any]] = {}
    for sheet_row, r in results.items():
        rows[sheet_row] = {
            headers["status"]: OutputCell(
                status_for_sheet(r.status, language), fill=fills.get(_fill_key(r.status))
            ),
            headers["videoId"]: OutputCell(r.video_id),
            headers["videoUrl"]: OutputCell(r.video_url, link=r.video_url),
            headers["thumbnailUrl"]: OutputCell(r.thumbnail_url, link=r.thumbnail_url),
            headers["readyAt"]: OutputCell(r.ready_at, timestamp=True),
            headers["error"]: OutputCell(r.error),
        }
    return list(headers.values()), rows


def _fill_key(status: str) -> str:
    if status in (
        spec.STATUS_READY,
        SHEET_FAILED,
        SHEET_UNKNOWN,
        SHEET_NOT_SUBMITTED,
        SHEET_INVALID,
        SHEET_SUBMITTED,
    ):
        return status
    if status == SHEET_EDITED:
        return SHEET_UNKNOWN  # the same warning colour: look at this row
    if status == SHEET_SKIPPED:
        return status  # no fill: nothing happened to it
    return "processing"
