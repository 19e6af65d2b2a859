"""Uploads each distinct file once and submits each planned row exactly once.

Why the create path looks the way it does: credits are charged the moment a job is created, and
the API has no idempotency key. So the journal records the intent *before* the request leaves and
the id right after; a create is repeated only when the request provably never reached the server
(the client retries connect failures and 429s itself). Any other lost answer makes the row
``unknown``, which only the user can turn into a resubmission (``--resubmit-unknown``).

The intent is written the moment the rate limiter lets the create go (the client tells the
create's :class:`_CreateGate`), not when the row starts waiting for its turn: a row queued
behind the limiter has not left the machine, so a kill -9 during that wait must leave it
submittable, not ``unknown``. A row still waiting when the run is stopped (Ctrl-C) or halted
(out of credits), also one waiting to retry after a 429, is withdrawn unsent: Ctrl-C never
waits out a rate-limit pause.

Every journal write goes through :class:`hhbatch.commits.Commits`: made in a worker thread, in
groups sharing one fsync, so the event loop keeps sending while the disk works. The gate awaits
the intent's commit before the request leaves; a create halted while its intent was being
committed is recorded as not sent instead of being sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from hhbatch import errors, spec
from hhbatch import journal as j
from hhbatch.commits import Commits
from hhbatch.i18n import _
from hhbatch.plan import Plan, RowPlan, UploadNeed

UPLOAD_ATTEMPTS = 3  # presign again when a presigned URL expired or was refused

T = TypeVar("T")


class _Withdrawn(Exception):
    """The run was stopped or halted before this create went out: it is not sent at all."""


class _Slot:
    """A row's place among the creates in flight (``--concurrency``), given back once."""

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self._slots = slots
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots.release()


class _CreateGate:
    """One create's way through the rate limiter.

    ``admitted`` runs the moment the limiter lets an attempt go: it writes the journal's intent
    and returns once it is durable; only then do the bytes leave. ``waiting`` runs when an
    attempt queues for its turn; for a retry (the client retries a create only after an answer
    proving nothing was created: a 429, a refused connection) the row is first recorded as not
    sent. ``on_wire`` says whether the request may have reached the server; while it and
    ``committing`` (the intent is being written) are false the create may be withdrawn.
    """

    def __init__(
        self,
        record_intent: Callable[[], Awaitable[None]],
        record_retry_wait: Callable[[], Awaitable[None]],
        record_withdrawn: Callable[[], Awaitable[None]],
        halted: Callable[[], bool],
    ) -> None:
        self._record_intent = record_intent
        self._record_retry_wait = record_retry_wait
        self._record_withdrawn = record_withdrawn
        self._halted = halted
        self.intent_recorded = False
        self.retried = False
        self.on_wire = False
        self.committing = False

    @property
    def interruptible(self) -> bool:
        return not (self.on_wire or self.committing)

    async def waiting(self) -> None:
        if self.intent_recorded:
            # A retry: the last attempt provably created nothing. Say so durably, so a kill
            # during the wait (a 429 pause can be long) leaves the row submittable.
            self.committing = True
            try:
                await self._record_retry_wait()
            finally:
                self.committing = False
            self.intent_recorded = False
            self.retried = True
        self.on_wire = False
        if self._halted():
            raise _Withdrawn

    async def admitted(self) -> None:
        if self._halted():
            raise _Withdrawn
        if not self.intent_recorded:
            # Not withdrawn halfway: once written, the intent is either followed by the request
            # or undone below, never left behind for a create that did not leave.
            self.committing = True
            try:
                await self._record_intent()
                self.intent_recorded = True
                if self._halted():
                    # Stopped or out of credits while the intent was being committed: the
                    # create does not leave after all; the row stays submittable.
                    await self._record_withdrawn()
                    self.intent_recorded = False
                    raise _Withdrawn
            finally:
                self.committing = False
        self.on_wire = True


class ExecutorEvents(Protocol):
    def upload_progress(self, nbytes: int) -> None: ...
    def upload_done(self, need: UploadNeed) -> None: ...
    def submitted(self, rp: RowPlan, outcome: str) -> None: ...


@dataclass
class SubmitOutcome:
    created: int = 0
    rejected: int = 0
    unknown: int = 0
    held: int = 0
    out_of_credits: bool = False
    auth_error: errors.AuthError | None = None
    # The API could not be reached at all: submission stopped, every unsent row is held.
    unreachable: errors.ApiUnreachable | None = None
    upload_failures: dict[str, str] = field(default_factory=dict)
    # Rows another run (a copy of the sheet) created or was creating at the same moment: not
    # sent here. Sheet rows showing its video, and rows held until it answers.
    adopted_elsewhere: list[int] = field(default_factory=list)
    held_elsewhere: list[int] = field(default_factory=list)


class Executor:
    """Runs the submission half of a plan. ``on_created(rp, video_id)`` hands each new job to the
    poller as soon as it exists, so polling overlaps submission."""

    def __init__(
        self,
        plan: Plan,
        journal: j.Journal,
        client: Any,  # hhbatch.client.ApiClient
        events: ExecutorEvents,
        *,
        concurrency: int,
        stop: asyncio.Event,
        on_created: Callable[[RowPlan, str], None],
        on_adopted: Callable[[RowPlan, str], None] | None = None,
        upload_concurrency: int = 3,
        commits: Commits | None = None,
    ) -> None:
        self.plan = plan
        self.journal = journal
        # The run's journal writes (shared with the poller); without one, a private one.
        self._own_commits = commits is None
        self.commits = commits if commits is not None else Commits(journal)
        self.client = client
        self.events = events
        self.stop = stop
        self.on_created = on_created
        self.on_adopted = on_adopted  # a video of another run, shown instead (to be polled)
        self.outcome = SubmitOutcome()
        self._create_slots = asyncio.Semaphore(max(1, concurrency))
        self._upload_slots = asyncio.Semaphore(max(1, upload_concurrency))
        self._uploads: dict[tuple[str, str, str], asyncio.Task[str]] = {}
        self._reused: dict[tuple[str, str, str], str | None] = {}  # keys of earlier runs' uploads
        self._halt = asyncio.Event()  # out of credits or auth failure: stop submitting

    # --- public ------------------------------------------------------------------------------
    async def run(self) -> SubmitOutcome:
        for need in self.plan.uploads:
            ident = (need.sha256, need.kind, need.content_type)
            self._uploads[ident] = asyncio.ensure_future(self._upload(need))
        tasks: list[asyncio.Task[None]] = []
        for rp in self.plan.to_submit:
            if self._halted():
                break
            await self._create_slots.acquire()
            if self._halted():
                self._create_slots.release()
                break
            tasks.append(asyncio.ensure_future(self._submit(rp, _Slot(self._create_slots))))
        if tasks:
            await asyncio.gather(*tasks)
        for task in self._uploads.values():
            if not task.done():
                task.cancel()
        await asyncio.gather(*self._uploads.values(), return_exceptions=True)
        if self._own_commits:
            await self.commits.close()
        self._hold_unsent()
        return self.outcome

    # --- uploads -----------------------------------------------------------------------------
    async def _upload(self, need: UploadNeed) -> str:
        async with self._upload_slots:
            last: Exception | None = None
            for _attempt in range(UPLOAD_ATTEMPTS):
                presign = await self.client.presign(need.kind, need.content_type, need.size)
                try:
                    await self.client.upload(
                        presign,
                        need.path,
                        need.content_type,
                        need.size,
                        progress=self.events.upload_progress,
                        sha256=need.sha256,  # what was validated is what is sent, or nothing
                    )
                except errors.UploadError as err:
                    last = err
                    if err.expired:
                        continue  # the presigned URL ran out: ask for a fresh one
                    raise
                await self.commits.call(
                    self.journal.record_upload,
                    j.UploadRecord(
                        need.sha256,
                        need.kind,
                        need.content_type,
                        need.size,
                        presign.key,
                        presign.public_url,
                    ),
                )
                self.events.upload_done(need)
                return presign.key
            assert last is not None
            raise last

    async def _storage_keys(self, rp: RowPlan) -> dict[str, str]:
        keys: dict[str, str] = {}
        for api_field, ref in rp.row.files.items():
            if ref.path is None:
                keys[api_field] = ref.key
                continue
            ident = (ref.sha256, ref.kind, ref.content_type)
            task = self._uploads.get(ident)
            if task is None and ident not in self._reused:  # uploaded by an earlier run
                record = self.journal.get_upload(*ident)
                self._reused[ident] = record.key if record is not None else None
            if task is None and self._reused[ident] is not None:
                keys[api_field] = self._reused[ident]  # type: ignore[assignment]
                continue
            if task is None:  # planned as reused, but the journal lost it: upload now
                need = UploadNeed(ref.sha256, ref.kind, ref.content_type, ref.size, ref.path, 1)
                task = self._uploads[ident] = asyncio.ensure_future(self._upload(need))
            keys[api_field] = await asyncio.shield(task)
        return keys

    # --- creates -----------------------------------------------------------------------------
    async def _submit(self, rp: RowPlan, slot: _Slot) -> None:
        try:
            if self._halted():
                return
            try:
                keys = await self._until_halted(
                    asyncio.ensure_future(self._storage_keys(rp)), interruptible=lambda: True
                )
            except _Withdrawn:
                return  # stopped while its files were uploading: _hold_unsent says why
            except errors.AuthError as err:
                self._auth_failed(err)
                return
            except errors.FileChangedError as err:
                await self._hold(rp, _(FILE_CHANGED).format(file=Path(err.path).name))
                return
            except errors.ApiUnreachable as err:
                await self.commits.call(
                    self.journal.record_held,
                    rp.row_key,
                    rp.fingerprint,
                    rp.row.sheet_row,
                    _(NOT_SUBMITTED_UNREACHABLE),
                )
                self._unreachable(err)
                self.outcome.held += 1
                self.events.submitted(rp, "held")
                return
            except (errors.ApiError, OSError) as err:
                reason = _(
                    "Not submitted: uploading a file failed ({error}). Nothing was charged."
                ).format(error=err)
                self.outcome.upload_failures[rp.row_key or ""] = reason
                await self.commits.call(
                    self.journal.record_held, rp.row_key, rp.fingerprint, rp.row.sheet_row, reason
                )
                self.outcome.held += 1
                self.events.submitted(rp, "held")
                return
            if self._halted():
                return
            await self._create(rp, build_body(rp.row.request, keys), slot)
        finally:
            slot.release()

    async def _create(self, rp: RowPlan, body: dict[str, Any], slot: _Slot) -> None:
        key = rp.row_key

        replaces = rp.supersedes.row_key if rp.supersedes is not None else None

        async def record_intent(check: bool = rp.check_elsewhere) -> None:
            await self.commits.call(
                self.journal.record_intent,
                key,
                rp.fingerprint,
                rp.row.sheet_row,
                body,
                elsewhere_check=check,
                supersedes=replaces,
                intent_of=key,
            )

        async def record_retry_wait() -> None:
            await self.commits.call(self.journal.record_not_sent, key, _(RETRY_WAIT))

        async def record_withdrawn() -> None:
            await self.commits.call(self.journal.record_not_sent, key, self._halt_reason())

        gate = _CreateGate(record_intent, record_retry_wait, record_withdrawn, self._halted)
        request = asyncio.ensure_future(self.client.create_video(body, gate=gate))
        # Answered (or given up): the slot is for requests in flight (--concurrency), so the next
        # create goes while this one's outcome is being committed.
        request.add_done_callback(lambda _done: slot.release())
        try:
            created = await self._until_halted(request, interruptible=lambda: gate.interruptible)
        except _Withdrawn:
            if gate.retried:  # every attempt so far provably created nothing
                await self.commits.call(self.journal.record_not_sent, key, self._halt_reason())
            return
        except j.TakenElsewhere as taken:
            # Another run created (or is creating) this exact request: nothing was sent, and
            # the journal already shows its video or holds the row with the reason.
            if taken.video_id is None:
                self.outcome.held_elsewhere.append(rp.row.sheet_row)
                self.outcome.held += 1
                self.events.submitted(rp, "held")
                return
            self.outcome.adopted_elsewhere.append(rp.row.sheet_row)
            self.events.submitted(rp, "adopted")
            if self.on_adopted is not None:  # asked once even when ready: its latest word
                self.on_adopted(rp, taken.video_id)
            return
        except errors.InsufficientCredits:
            self._halt.set()
            self.outcome.out_of_credits = True
            await self.commits.call(self.journal.record_not_sent, key, _(NOT_SUBMITTED_CREDITS))
            self.outcome.held += 1
            self.events.submitted(rp, "held")
            return
        except errors.AuthError as err:
            await self.commits.call(
                self.journal.record_not_sent, key, _("Not submitted: {error}").format(error=err)
            )
            self._auth_failed(err)
            return
        except errors.PlanGateExceeded as err:
            await self.commits.call(
                self.journal.record_rejected, key, plan_gate_sentence(err, body)
            )
            self.outcome.rejected += 1
            self.events.submitted(rp, "rejected")
            return
        except errors.RateLimited as err:  # the client gave up retrying: provably not created
            await self.commits.call(
                self.journal.record_not_sent,
                key,
                _("Not submitted: rate limited ({error}).").format(error=err),
            )
            self.outcome.held += 1
            self.events.submitted(rp, "held")
            return
        except errors.ApiUnreachable as err:
            await self.commits.call(self.journal.record_not_sent, key, _(NOT_SUBMITTED_UNREACHABLE))
            self._unreachable(err)
            self.outcome.held += 1
            self.events.submitted(rp, "held")
            return
        except errors.ApiConnectionError as err:
            if not err.request_sent:
                await self.commits.call(
                    self.journal.record_not_sent,
                    key,
                    _("Not submitted: could not connect ({error}).").format(error=err),
                )
                self.outcome.held += 1
                self.events.submitted(rp, "held")
                return
            await self._unknown(rp, _("the answer was lost ({error})").format(error=err))
            return
        except errors.ApiStatusError as err:
            if err.status_code >= 500:
                await self._unknown(
                    rp,
                    _("the server answered {code} ({error})").format(
                        code=err.status_code, error=err
                    ),
                )
                return
            await self.commits.call(
                self.journal.record_rejected,
                key,
                _("The API refused this row: {error}").format(error=err),
            )
            self.outcome.rejected += 1
            self.events.submitted(rp, "rejected")
            return
        if not gate.intent_recorded:  # cannot happen; never lose an id regardless
            await record_intent(False)
        await self.commits.call(self.journal.record_created, key, created.id, created.status)
        self.outcome.created += 1
        self.events.submitted(rp, "created")
        self.on_created(rp, created.id)

    async def _until_halted(
        self, work: asyncio.Future[T], *, interruptible: Callable[[], bool]
    ) -> T:
        """Await ``work``. When the run is stopped or halted first and ``interruptible()``, cancel
        it and raise :class:`_Withdrawn` (Ctrl-C must not wait out a 429 pause or a queue). A
        request that may be on the wire always gets its answer."""
        waiters = [
            asyncio.ensure_future(self.stop.wait()),
            asyncio.ensure_future(self._halt.wait()),
        ]
        try:
            done, _rest = await asyncio.wait({work, *waiters}, return_when=asyncio.FIRST_COMPLETED)
            if work not in done and interruptible():
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, _Withdrawn):
                    await work
                raise _Withdrawn
            return await work
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _halted(self) -> bool:
        # The client knows of a 402 as soon as its head arrives, before the executor hears of
        # it: a create admitted in between must not be sent.
        credits_gone = getattr(self.client, "out_of_credits", False)
        return self.stop.is_set() or self._halt.is_set() or credits_gone

    def _halt_reason(self) -> str:
        if self.outcome.out_of_credits or getattr(self.client, "out_of_credits", False):
            return _(NOT_SUBMITTED_CREDITS)
        if self.outcome.unreachable is not None:
            return _(NOT_SUBMITTED_UNREACHABLE)
        if self.outcome.auth_error is not None:
            return _("Not submitted: {error}").format(error=self.outcome.auth_error)
        return _(NOT_SUBMITTED_STOPPED)

    async def _hold(self, rp: RowPlan, reason: str) -> None:
        """Not sent this run, for ``reason``; the next run takes the row again."""
        self.outcome.upload_failures[rp.row_key or ""] = reason
        await self.commits.call(
            self.journal.record_held, rp.row_key, rp.fingerprint, rp.row.sheet_row, reason
        )
        self.outcome.held += 1
        self.events.submitted(rp, "held")

    async def _unknown(self, rp: RowPlan, what: str) -> None:
        await self.commits.call(
            self.journal.record_unknown,
            rp.row_key,
            _(
                "Unknown whether this video was created (and charged): {what}. It was not "
                "resubmitted; check your HappyHorse dashboard, then rerun with "
                "--resubmit-unknown if it is not there."
            ).format(what=what),
        )
        self.outcome.unknown += 1
        self.events.submitted(rp, "unknown")

    def _auth_failed(self, err: errors.AuthError) -> None:
        self.outcome.auth_error = err
        self._halt.set()

    def _unreachable(self, err: errors.ApiUnreachable) -> None:
        """No connection could be made within the client's budget: the next creates would only
        fail the same way, each after its own retries. Stop; every unsent row stays held."""
        if self.outcome.unreachable is None:
            self.outcome.unreachable = err
        self._halt.set()

    def _hold_unsent(self) -> None:
        """Rows planned but never sent (halted or stopped) keep a reason in the sheet."""
        unreachable = self.outcome.unreachable is not None
        if not (self.outcome.out_of_credits or unreachable or self.stop.is_set()):
            return
        reason = self._halt_reason()
        jobs = self.journal.jobs()
        elsewhere = set(self.outcome.held_elsewhere)
        for rp in self.plan.to_submit:
            if rp.row.sheet_row in elsewhere:
                continue  # held for another run's create: that reason stays
            job = jobs.get(rp.row_key)
            fresh_hold = job is not None and job.state == j.HELD
            if job is None or (fresh_hold and rp.row_key not in self.outcome.upload_failures):
                self.journal.record_held(rp.row_key, rp.fingerprint, rp.row.sheet_row, reason)


NOT_SUBMITTED_CREDITS = (
    "Not submitted: the account ran out of credits. Top up, then run the same command again."
)
FILE_CHANGED = (
    "Not submitted: {file} changed after it was checked, so its upload was discarded. Run again "
    "to check and send the new version. Nothing was charged."
)
RETRY_WAIT = (
    "Not submitted yet: the API asked to slow down (or could not be reached); the create will "
    "be retried. Nothing was charged."
)
NOT_SUBMITTED_STOPPED = (
    "Not submitted: the run was stopped. Run the same command again to continue."
)
NOT_SUBMITTED_UNREACHABLE = (
    "Not submitted: the HappyHorse API could not be reached (check HAPPYHORSE_BASE_URL and the "
    "network). Nothing was charged; run the same command again to continue."
)


def build_body(request: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    """The create-video JSON: the row's normalised fields plus the storage keys of its files."""
    body = {name: value for name, value in request.items() if value is not None}
    body.update(keys)
    return body


def plan_gate_sentence(err: errors.PlanGateExceeded, body: dict[str, Any] | None = None) -> str:
    """One sentence naming the refused setting (with the row's value, so the user can find it
    in the sheet) and the plan it needs, e.g. "... does not allow resolution = 1080p: ..."."""
    setting = err.field or _("a setting of this row")
    value = (body or {}).get(err.field) if err.field else None
    if err.field in spec.FILE_COLUMNS:
        setting = _("a {field} file").format(field=err.field)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        setting = f"{err.field} = {value}"
    if err.required_plan:
        needed = _("the {plan} plan").format(plan=err.required_plan)
    else:
        needed = _("a higher plan")
    if err.current_plan:
        sentence = _("Your plan does not allow {setting}: it needs {needed} (your plan: {plan}).")
        return sentence.format(setting=setting, needed=needed, plan=err.current_plan)
    return _("Your plan does not allow {setting}: it needs {needed}.").format(
        setting=setting, needed=needed
    )
