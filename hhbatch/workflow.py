"""``hhbatch run`` and ``hhbatch status`` as plain functions: plan, confirm, apply, report.

The CLI calls :func:`prepare` (load, validate, open the journal, plan), shows the plan and asks,
then calls :meth:`Batch.execute`. Nothing here prints: progress goes to a ``Progress`` object the
CLI supplies, and the outcome comes back as a :class:`RunReport`.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hhbatch import batchid, errors, redact, spec, textencoding
from hhbatch import journal as j
from hhbatch.caps import SpendCaps
from hhbatch.config import Config, load_config
from hhbatch.executor import Executor, SubmitOutcome
from hhbatch.i18n import _
from hhbatch.plan import DONE, WAIT, Plan, PlanOptions, RowPlan, UploadNeed, build_plan
from hhbatch.reconciler import Poller, RowResult, output_cells, sheet_results, summarize

RESULTS_SUFFIX = ".results"
SANDBOX_SUFFIX = ".sandbox"  # a --sandbox rehearsal writes <name>.sandbox.results.xlsx
JOURNAL_DIRNAME = batchid.JOURNAL_DIRNAME
# Refresh the sheet at most this often, and so that writing takes at most ~5% of the run.
MIN_REFRESH_SECONDS = 5.0
REFRESH_COST_FACTOR = 20.0
# Before the first refresh no write has been timed: guess its cost from the sheet's size, so a big
# workbook (the package writer: ~0.4 ms a row on a busy 2-core machine) is not rewritten after
# only 5 s.
FIRST_WRITE_GUESS_SEC_PER_ROW = {".csv": 0.00003, ".tsv": 0.00003, ".txt": 0.00003}
FIRST_WRITE_GUESS_DEFAULT = 0.0003  # .xlsx / .xlsm


class Progress(Protocol):
    """What the core reports while it works; the CLI renders it (tqdm), tests record it."""

    def upload_progress(self, nbytes: int) -> None: ...
    def upload_done(self, need: UploadNeed) -> None: ...
    def submitted(self, rp: RowPlan, outcome: str) -> None: ...
    def finished(self, row_key: str, status: str) -> None: ...
    def status_seen(self, row_key: str, status: str) -> None: ...
    def message(self, text: str) -> None: ...


class NullProgress(Progress):
    """Reports nothing (library use, tests): the protocol's empty bodies are the behaviour."""


@dataclass
class RunOptions:
    manifest: Path
    out: Path | None = None
    sheet: str | None = None
    config_path: Path | None = None
    sandbox: bool = False
    rate: float | None = None
    concurrency: int | None = None
    poll_interval: float | None = None
    wait: bool = True
    wait_timeout: float | None = None
    limit: int | None = None
    max_videos: int | None = None  # spend caps (hhbatch.caps); None: hhbatch.yaml's, if any
    max_seconds: int | None = None
    max_credits: float | None = None
    retry_failed: bool = False
    resubmit_unknown: bool = False
    # --resubmit-unknown ROWS: only these sheet rows (None: every unknown row)
    resubmit_unknown_rows: frozenset[int] | None = None
    resubmit_edited: bool = False
    encoding: str | None = None  # --encoding: a CSV/TXT manifest's text encoding
    again: bool = False  # create anew rows whose request another batch already created


@dataclass
class RunReport:
    results: dict[int, RowResult]
    counts: dict[str, int]
    output_path: Path | None
    submit: SubmitOutcome | None = None
    interrupted: bool = False
    timed_out: bool = False
    polls: int = 0
    requests: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0
    wrote_elsewhere: bool = False
    # The final write of the results sheet failed (the journal still holds every result).
    write_error: str | None = None
    # What the results workbook could not keep (the writer's ``losses``), for the summary.
    losses: list[str] = field(default_factory=list)
    # The API could not be reached (before it ever answered, or submission stopped for it).
    unreachable: errors.ApiUnreachable | None = None

    @property
    def all_ready(self) -> bool:
        return bool(self.results) and all(
            r.status == spec.STATUS_READY for r in self.results.values()
        )


def batch_name(manifest: Path) -> str:
    """``campaign`` for campaign.xlsx and campaign.results.xlsx. A rehearsal's sheet,
    campaign.sandbox.results.xlsx, is the batch ``campaign.sandbox``: its own journal, report
    and videos folder, never the real batch's. Two manifests of one kind with one stem in a
    folder (src.ods and src.xls) never share a batch: one of them is named in full, ``src.ods``
    (:func:`hhbatch.batchid.manifest_batch_name`)."""
    stem = manifest.stem
    if stem.endswith(RESULTS_SUFFIX):
        return stem[: -len(RESULTS_SUFFIX)]
    try:
        return batchid.manifest_batch_name(Path(manifest), _ledger_manifests)
    except batchid.SharedName as err:
        raise errors.UsageError(str(err)) from None


def _ledger_manifests(batch_keys: list[str]) -> set[str]:
    from hhbatch.ledger import manifests_of

    return manifests_of(batch_keys)


# The results file of each kind of manifest: text files get their own kind back, workbooks an
# .xlsx (an .xlsm keeps its macros; .ods/.xls get an .xlsx copy of their values).
RESULT_SUFFIXES = {".csv": ".csv", ".tsv": ".tsv", ".txt": ".txt", ".xlsm": ".xlsm"}
SHEET_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")  # one sheet of text: its encoding may need telling


def is_sandbox_results(manifest: Path) -> bool:
    """A results sheet a ``--sandbox`` rehearsal wrote: its ids belong to a server now gone."""
    return Path(manifest).stem.endswith(SANDBOX_SUFFIX + RESULTS_SUFFIX)


def rehearsal_manifest(results: Path) -> Path:
    """The manifest a ``--sandbox`` rehearsal's results sheet was made from: the file beside
    it named like the batch (campaign.sandbox.results.xlsx → campaign.xlsx, or the campaign.csv
    or .ods that is there), for the advice to rehearse it again."""
    results = Path(results)
    stem = results.name[: -len(results.suffix)] if results.suffix else results.name
    name = stem.removesuffix(SANDBOX_SUFFIX + RESULTS_SUFFIX)
    for suffix in (results.suffix, *SHEET_SUFFIXES):
        candidate = results.with_name(name + suffix)
        if suffix and candidate.is_file():
            return candidate
    return results.with_name(name + results.suffix)


def default_output_path(manifest: Path, *, sandbox: bool = False) -> Path:
    suffix = RESULT_SUFFIXES.get(manifest.suffix.lower(), ".xlsx")
    name = batch_name(manifest)
    if sandbox and not name.endswith(SANDBOX_SUFFIX):
        name += SANDBOX_SUFFIX
    return manifest.with_name(name + RESULTS_SUFFIX + suffix)


def results_path_for(manifest: Path, out: Path | None, *, sandbox: bool = False) -> Path:
    """Where the results go: ``--out``, with the extension the copy must have (a CSV manifest
    gives a CSV, a macro workbook an .xlsm), as the writer will correct it. Knowing the real
    path up front keeps "the sheet was locked, written elsewhere" for when that is true.
    A ``--sandbox`` rehearsal writes ``<name>.sandbox.results.xlsx``, never the real sheet."""
    default = default_output_path(manifest, sandbox=sandbox)
    if out is None:
        return default
    out = Path(out)
    if out.suffix.lower() in SHEET_SUFFIXES:
        return out.with_suffix(default.suffix)
    return out.with_name(out.name + default.suffix)


def journal_path(manifest: Path, sheet: str | None = None) -> Path:
    """The journal of a CSV manifest, or (``sheet``) of one sheet of a workbook; which one an
    existing batch uses is decided by :func:`hhbatch.batchid.journal_for`."""
    if sheet is None:
        return batchid.legacy_journal_path(manifest, batch_name(manifest))
    return batchid.sheet_journal_path(manifest, batch_name(manifest), sheet)


def resolve_credentials(config: Config) -> tuple[str, str]:
    """The API key only ever comes from the environment; the base URL may come from config."""
    key = os.environ.get(spec.ENV_API_KEY, "").strip()
    redact.register_secret(key)
    base = (os.environ.get(spec.ENV_BASE_URL, "").strip() or config.base_url or "").rstrip("/")
    if redact.looks_like_key(base) and key.lower().startswith(("http://", "https://")):
        # Never echo either value: one of them is the key, and this may land in a CI log.
        raise errors.UsageError(
            _(
                "{key_env} holds a web address and {url_env} holds what looks like an API key: "
                "the two are swapped. Set {key_env} to your key and {url_env} to your "
                "HappyHorse domain."
            ).format(key_env=spec.ENV_API_KEY, url_env=spec.ENV_BASE_URL)
        )
    if not key:
        raise errors.MissingCredentials(
            _(
                "No API key: set {env} to your key (Dashboard / Settings / API Keys), or try the "
                "batch on the built-in sandbox with --sandbox."
            ).format(env=spec.ENV_API_KEY)
        )
    if not base:
        raise errors.MissingCredentials(
            _(
                "No API address: set {env} to your HappyHorse domain "
                "(e.g. https://example.happyhorse.ai) or put base_url in hhbatch.yaml."
            ).format(env=spec.ENV_BASE_URL)
        )
    scheme, sep, rest = base.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        # scheme and host are case-insensitive (RFC 3986): HTTPS://API.Example.com is the same
        # server, and the same key of the per-user ledger and learned rates, as https://api.…
        host, slash, path = rest.partition("/")
        base = scheme.lower() + sep + host.lower() + slash + path
    if not base.startswith(("http://", "https://")):
        raise errors.UsageError(
            _("{env} must start with https:// (got {base}).").format(
                env=spec.ENV_BASE_URL, base=repr(redact.mask_value(base))
            )
        )
    return base, key


class Batch:
    """A loaded, planned batch holding its journal lock until closed."""

    def __init__(
        self,
        options: RunOptions,
        config: Config,
        manifest: Any,
        journal: j.Journal,
        plan: Plan,
        base_url: str,
        api_key: str,
        stack: ExitStack,
        record: Any = None,  # hhbatch.record.BatchRecord (None: a sandbox rehearsal)
    ) -> None:
        self.options = options
        self.record = record
        self.config = config
        self.manifest = manifest
        self.journal = journal
        self.plan = plan
        self.base_url = base_url
        self._api_key = api_key
        self._stack = stack
        self.output_path = results_path_for(options.manifest, options.out, sandbox=options.sandbox)
        self._writer: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = threading.Event()
        self._write_lock = threading.Lock()
        # Each picture of the journal gets a number; a slower, older one never overwrites a
        # newer one (a refresh thread may still be starting when the final write is done).
        self._pictures = 0
        self._written: tuple[int, Path] | None = None

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- stopping (thread-safe; called from a signal handler) ---------------------------------
    def request_stop(self) -> None:
        """Stop submitting and waiting; in-flight requests finish and the sheet is written."""
        self._stop_requested.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)

    def call_soon(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the run's event loop between two steps (now when none runs).

        Why: a signal handler interrupts whatever the main thread was doing, possibly a
        progress bar halfway through a redraw; what it wants to print waits for the loop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(callback)
                return
            except RuntimeError:  # the loop closed in between
                pass
        callback()

    # --- before anything is drawn or sent ----------------------------------------------------
    def needs_api(self, *, submit: bool = True) -> bool:
        """Whether a run (``submit``) or a status pass would send any request at all."""
        if submit and self.plan.to_submit:
            return True
        return any(rp.action == WAIT for rp in self.plan.rows)

    def check_api(self) -> None:
        """Make sure the API answers before any bar is drawn: raises ``ApiUnreachable`` (exit 5,
        within ~20 s) or the ``AuthError`` of a rejected key. Creates nothing, costs nothing."""
        from hhbatch.client import ApiClient

        async def probe() -> None:
            async with ApiClient(self.base_url, self._api_key) as client:
                await client.probe()

        asyncio.run(probe())

    # --- results -----------------------------------------------------------------------------
    def results(self) -> dict[int, RowResult]:
        return sheet_results(self.plan, self.journal)

    def write_sheet(self) -> Path:
        """Write the results sheet now; returns where it went (elsewhere when locked)."""
        return self._sheet_writer()()

    def writer(self) -> Any:
        """The results writer, made once: it reads the workbook and the results workbook it will
        replace, so what cannot be kept is known before anything is spent (:meth:`losses`)."""
        from hhbatch.output import SheetWriter

        if self._writer is None:
            self._writer = SheetWriter.for_manifest(self.manifest, dest=self.output_path)
        return self._writer

    def losses(self) -> list[str]:
        """Sentences naming what the results workbook cannot keep (shown in the plan)."""
        return list(self.writer().losses)

    def _sheet_writer(self) -> Callable[[], Path]:
        """Read the journal here (its connection belongs to this thread) and return the slow
        part, the file write, as a callable that may run in a worker thread."""
        from hhbatch.output import STATUS_FILLS

        writer = self.writer()
        columns, rows = output_cells(self.results(), self.manifest.language, STATUS_FILLS)
        self._pictures += 1
        picture = self._pictures

        def write() -> Path:
            # A refresh still running in its thread when the final write starts must finish
            # first: one workbook object, one writer at a time.
            with self._write_lock:
                if self._written is not None and self._written[0] > picture:
                    return self._written[1]  # stale: a newer picture is already on disk
                path = writer.write(self.output_path, columns, rows)
                self._written = (picture, path)
                return path

        return write

    # --- running -----------------------------------------------------------------------------
    def execute(self, progress: Progress) -> RunReport:
        return asyncio.run(self._execute(progress, submit=True))

    def status_pass(self, progress: Progress) -> RunReport:
        """One reconcile pass: poll each in-flight job once, update the sheet, submit nothing."""
        return asyncio.run(self._execute(progress, submit=False))

    async def _execute(self, progress: Progress, *, submit: bool) -> RunReport:
        from hhbatch.client import BACKGROUND_KINDS, ApiClient
        from hhbatch.commits import Commits

        started = time.monotonic()
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._stop_requested.is_set():
            self._stop.set()
        opts, config = self.options, self.config
        concurrency = opts.concurrency or config.concurrency
        poll_interval = opts.poll_interval or config.poll_interval
        limiter = self._make_limiter(
            ceiling=opts.rate or config.rate, background_kinds=BACKGROUND_KINDS
        )
        client = ApiClient(self.base_url, self._api_key, limiter=limiter)
        # The run's journal writes: off the event loop, grouped into shared fsyncs.
        commits = Commits(self.journal)
        poller = Poller(
            self.journal,
            client,
            progress,
            poll_interval=poll_interval,
            concurrency=concurrency,
            commits=commits,
        )
        if self.record is not None and self.record.ledger is not None:
            from hhbatch.adoption import record_adoptions

            record_adoptions(self.plan, self.journal, self.record.ledger, self.record.batch)
        for rp in self.plan.rows:
            if rp.action == DONE and rp.adopt_video_id and rp.job is None:
                # ready in the results sheet, unknown to the journal (lost): kept as it is shown
                previous = rp.row.previous or {}
                self.journal.adopt(
                    rp.row_key,
                    rp.fingerprint,
                    rp.row.sheet_row,
                    rp.adopt_video_id,
                    state=j.READY,
                    known={
                        "status": spec.STATUS_READY,
                        "video_url": previous.get("videoUrl") or None,
                        "thumbnail_url": previous.get("thumbnailUrl") or None,
                        "ready_at": previous.get("readyAt") or None,
                        "request": dict(rp.row.request) or None,
                    },
                )
            elif rp.action == WAIT:
                if rp.adopted is not None and rp.job is None:
                    poller.add(rp.row_key, rp.adopted.video_id, just_created=False)
                elif rp.adopt_video_id:
                    self.journal.adopt(
                        rp.row_key, rp.fingerprint, rp.row.sheet_row, rp.adopt_video_id
                    )
                    poller.add(rp.row_key, rp.adopt_video_id, just_created=False)
                elif rp.job is not None and rp.job.video_id:
                    poller.add(rp.row_key, rp.job.video_id, just_created=False)
        self.journal.update_sheet_rows(
            (rp.row_key, rp.row.sheet_row) for rp in self.plan.rows if rp.row_key and rp.job
        )
        executor = Executor(
            self.plan,
            self.journal,
            client,
            progress,
            concurrency=concurrency,
            stop=self._stop,
            on_created=lambda rp, video_id: poller.add(rp.row_key, video_id, just_created=True),
            on_adopted=lambda rp, video_id: poller.add(rp.row_key, video_id, just_created=False),
            commits=commits,
        )
        report = RunReport(results={}, counts={}, output_path=None)
        submitting = True
        deadline = None if opts.wait_timeout is None else time.monotonic() + opts.wait_timeout

        def keep_polling() -> bool:
            return submitting and not self._stop.is_set()

        async def submit_all() -> None:
            nonlocal submitting
            try:
                if submit:
                    report.submit = await executor.run()
            finally:
                submitting = False
                poller.wake()

        async def poll_all() -> None:
            if not submit:
                # one pass: every in-flight job is due now; stop when each was asked once
                await poller.run(keep_going=lambda: False, deadline=None, once=True)
                return
            if not opts.wait:
                return
            await poller.run(
                keep_going=keep_polling, deadline=deadline, should_stop=self._stop.is_set
            )

        refresher = asyncio.ensure_future(self._refresh_sheet_periodically(progress))
        async with client:
            try:
                stopper = asyncio.ensure_future(self._stop.wait())
                work = asyncio.ensure_future(asyncio.gather(submit_all(), poll_all()))
                await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if not work.done():
                    # Ctrl-C: the executor stops sending; in-flight requests get their answers.
                    poller.wake()
                    await work
                stopper.cancel()
            finally:
                # Every write handed over is made (ids above all), also when the run fails,
                # and before the results are read.
                await commits.close()
            work.result()
        refresher.cancel()
        await asyncio.gather(refresher, return_exceptions=True)

        auth_error = (report.submit.auth_error if report.submit else None) or poller.auth_error
        report.unreachable = (
            report.submit.unreachable if report.submit else None
        ) or poller.unreachable
        report.interrupted = self._stop.is_set()
        report.timed_out = deadline is not None and time.monotonic() >= deadline
        report.polls = poller.polls
        report.requests = limiter.stats()
        self._remember_rate(limiter)
        report.output_path = self._final_write(progress, report)
        report.losses = self.losses()
        report.wrote_elsewhere = report.output_path != self.output_path
        report.results = self.results()
        report.counts = summarize(report.results)
        report.elapsed = time.monotonic() - started
        if auth_error is not None:
            raise auth_error
        return report

    def _account(self) -> str | None:
        """Whose rate limit this run learns; None for the built-in sandbox (a new server, on a
        new port, every time: nothing worth remembering)."""
        if self.options.sandbox or not self.base_url or not self._api_key:
            return None
        from hhbatch.userdata import account_id

        return account_id(self.base_url, self._api_key)

    def _make_limiter(self, *, ceiling: float | None, background_kinds: tuple[str, ...]) -> Any:
        """The run's rate limiter: it finds the key's limit, starting near what an earlier run of
        the same account found, and never exceeds ``ceiling`` (``--rate`` / ``rate:``)."""
        from hhbatch import ratememory
        from hhbatch.ratelimit import RateLimiter

        account = self._account()
        remembered = ratememory.load(account) if account is not None else None
        start = ratememory.start_for(remembered, ceiling=ceiling)
        return RateLimiter.discovering(
            ceiling=ceiling,
            start=start.rate,
            known_level=start.level,
            background_kinds=background_kinds,
        )

    def _remember_rate(self, limiter: Any) -> None:
        account = self._account()
        if account is None:
            return
        from hhbatch import ratememory

        ratememory.remember(
            account,
            level=limiter.level,
            highest_ok=limiter.highest_ok,
            refused=limiter.stats()["rate_limited"] > 0,
        )

    def _first_refresh_delay(self) -> float:
        per_row = FIRST_WRITE_GUESS_SEC_PER_ROW.get(
            self.output_path.suffix.lower(), FIRST_WRITE_GUESS_DEFAULT
        )
        return max(MIN_REFRESH_SECONDS, len(self.plan.rows) * per_row * REFRESH_COST_FACTOR)

    async def _refresh_sheet_periodically(self, progress: Progress) -> None:
        interval = self._first_refresh_delay()
        while True:
            await asyncio.sleep(interval)
            began = time.monotonic()
            try:
                await asyncio.to_thread(self._sheet_writer())
            except errors.OutputError as err:
                progress.message(str(err))
            interval = max(MIN_REFRESH_SECONDS, (time.monotonic() - began) * REFRESH_COST_FACTOR)

    def _final_write(self, progress: Progress, report: RunReport) -> Path | None:
        try:
            written = self.write_sheet()
        except errors.OutputError as err:
            report.write_error = str(err)  # the CLI says so and exits non-zero
            return None
        if written != self.output_path:
            progress.message(
                _(
                    "{path} is open in another program or locked; the results were written to "
                    "{written} instead."
                ).format(path=self.output_path, written=written)
            )
        return written


def prepare(
    options: RunOptions,
    *,
    load_manifest: Callable[..., Any] | None = None,
    require_credentials: bool = True,
    require_started: bool = False,
) -> Batch:
    """Load and validate the manifest, open the journal (taking the batch lock), and plan.

    ``require_started`` (``hhbatch status``): a sheet nothing was ever submitted from raises
    :class:`~hhbatch.errors.NotStarted` before anything is created for it (no journal, no
    results sheet): a status check must not leave files behind for a batch that never ran."""
    from hhbatch.adoption import LedgerAdoption
    from hhbatch.loader import load_manifest as default_loader
    from hhbatch.record import open_record

    loader = load_manifest or default_loader
    manifest_path = Path(options.manifest)
    if not manifest_path.is_file():
        raise errors.UsageError(
            _("{path} does not exist or is not a file.").format(path=manifest_path)
        )
    config = load_config(options.config_path, manifest_path)
    encoding = options.encoding or config.encoding
    remembered = None
    if encoding is None and not options.sandbox and manifest_path.suffix.lower() in TEXT_SUFFIXES:
        # what a run read this very file with (after --encoding, or a detection) stays the rule
        remembered = textencoding.recall(journal_path(manifest_path), manifest_path)
    manifest = loader(
        manifest_path,
        sheet=options.sheet or config.sheet,
        config=config,
        encoding=encoding or remembered,
    )
    if remembered is not None and getattr(manifest, "csv_encoding", None):
        from hhbatch.loader.encoding import REMEMBERED

        manifest.csv_encoding_how = REMEMBERED
    sheet_errors = [problem.message for problem in manifest.problems if problem.is_error]
    if sheet_errors:
        raise errors.ManifestError(" ".join(sheet_errors), path=str(manifest_path))
    if (
        require_started
        and not options.sandbox
        and not _started(options, manifest_path, manifest, loader, config)
    ):
        if manifest.format in batchid.SINGLE_SHEET_FORMATS:
            never = _(
                "{file} was never run: nothing of it was submitted, so there is nothing to "
                "check and no file was made."
            )
        else:
            never = _(
                "{file} (sheet {sheet}) was never run: nothing of it was submitted, so there "
                "is nothing to check and no file was made."
            )
        raise errors.NotStarted(
            never.format(file=manifest_path.name, sheet=repr(manifest.sheet_name)),
            sheet=manifest.sheet_name,
        )
    stack = ExitStack()
    record = None
    adopt = None
    try:
        if options.sandbox:
            base_url, api_key, path = _start_sandbox(stack)
            journal = stack.enter_context(j.Journal.open(path, base_url=base_url))
            recovered = journal.recover_interrupted()
        else:
            try:
                base_url, api_key = resolve_credentials(config)
            except errors.MissingCredentials:
                if require_credentials:
                    raise
                base_url, api_key = "", ""  # a dry run needs no key
            record = open_record(
                stack,
                manifest_path=manifest_path,
                manifest=manifest,
                name=batch_name(manifest_path),
                results_path=results_path_for(manifest_path, options.out),
                base_url=base_url,
                api_key=api_key,
                config=config,
                loader=loader,
            )
            journal, recovered = record.journal, record.recovered
            _remember_encoding(journal, manifest_path, manifest)
            if record.ledger is not None and record.account is not None:
                adopt = LedgerAdoption(
                    record.ledger,
                    record.account,
                    record.batch,
                    again=options.again,
                    resubmit_unknown=options.resubmit_unknown,
                    retry_failed=options.retry_failed,
                    resubmit_unknown_rows=options.resubmit_unknown_rows,
                )
        plan = build_plan(
            manifest,
            journal,
            PlanOptions(
                retry_failed=options.retry_failed,
                resubmit_unknown=options.resubmit_unknown,
                resubmit_unknown_rows=options.resubmit_unknown_rows,
                resubmit_edited=options.resubmit_edited,
                limit=options.limit,
                caps=spend_caps(options, config),
                prices=config.credits_per_second or None,
                # ids of a rehearsal (or in a sheet a rehearsal wrote) died with its sandbox
                trust_sheet_ids=not (options.sandbox or is_sandbox_results(manifest_path)),
            ),
            recovered=len(recovered),
            adopt=adopt,
        )
        # --resubmit-unknown changes nothing here: a row stays unknown until its new create is
        # actually sent (the intent overwrites it), so a dry run, a "no" at the prompt or a stop
        # before its turn never turns it into a row the next plain run would create again.
    except BaseException:
        stack.close()
        raise
    return Batch(options, config, manifest, journal, plan, base_url, api_key, stack, record)


def _remember_encoding(journal: j.Journal, manifest_path: Path, manifest: Any) -> None:
    """A text manifest whose encoding had to be given or detected: keep it for later commands
    (:mod:`hhbatch.textencoding`); a UTF-8 or marked file decides itself every time."""
    from hhbatch.loader.encoding import DETECTED, GIVEN

    how = getattr(manifest, "csv_encoding_how", None)
    if how in (GIVEN, DETECTED) and manifest.format in batchid.SINGLE_SHEET_FORMATS:
        textencoding.remember(journal, manifest_path, manifest.csv_encoding)


def _started(
    options: RunOptions, manifest_path: Path, manifest: Any, loader: Any, config: Config
) -> bool:
    """Whether any run ever worked on this sheet: its journal, its results sheet, result columns
    in the sheet itself (a results sheet given as the manifest), or this machine's record of
    created videos knows it. Read only: creates nothing."""
    from hhbatch.identity import fingerprint

    journal, _mark = batchid.journal_for(
        manifest_path,
        batch_name(manifest_path),
        manifest.format,
        manifest.sheet_name,
        lambda: {fingerprint(row) for row in manifest.rows if row.valid},
    )
    if journal.exists():
        return True
    if _has_results(manifest.rows):
        return True
    results = results_path_for(manifest_path, options.out)
    if results.is_file():
        if manifest.format in batchid.SINGLE_SHEET_FORMATS:
            return True
        # a workbook's results copy holds every sheet: only this sheet's own result columns
        # say that this sheet ran (a run of another sheet wrote the file)
        try:
            copy = loader(results, sheet=manifest.sheet_name, config=config)
        except errors.HhbatchError:
            return True  # unreadable: let the ordinary path say what is wrong with it
        if _has_results(copy.rows):
            return True
    from hhbatch.ledger import Ledger, default_path

    if not default_path().is_file():
        return False
    with Ledger.open() as ledger:
        return ledger.knows_batch(str(journal))


def _has_results(rows: Any) -> bool:
    return any(row.previous.get("videoId") or row.previous.get("status") for row in rows)


def spend_caps(options: RunOptions, config: Config) -> SpendCaps:
    """The caps of this run: each --max-* option, else the same setting in hhbatch.yaml."""

    def pick(option: Any, setting: Any) -> Any:
        return option if option is not None else setting

    return SpendCaps(
        max_videos=pick(options.max_videos, config.max_videos),
        max_seconds=pick(options.max_seconds, config.max_seconds),
        max_credits=pick(options.max_credits, config.max_credits),
    )


def _start_sandbox(stack: ExitStack) -> tuple[str, str, Path]:
    """A fresh local server for this run, and a fresh journal: its ids die with it."""
    from hhbatch.sandbox import Sandbox, SandboxConfig

    # Timings a person can watch: a second or two of "generation" per video.
    config = SandboxConfig().with_overrides(queue_sec=0.5, processing_sec=(1.0, 3.0))
    sandbox = stack.enter_context(Sandbox(config))
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hhbatch-sandbox-")))
    return sandbox.base_url, sandbox.api_key, tmp / "journal.sqlite"
