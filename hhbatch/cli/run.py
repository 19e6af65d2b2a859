"""``hhbatch run``: validate, show the plan, ask, then upload, submit, wait and write results."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hhbatch.cli import exitcodes, failures
from hhbatch.cli.jsonout import emit, error_object
from hhbatch.cli.options import (
    add_cap_options,
    add_common_options,
    positive_float,
    positive_int,
)
from hhbatch.cli.render import (
    ROWS_PATTERN,
    NextContext,
    TqdmProgress,
    command_line,
    dry_run_document,
    invalid_lines,
    loss_lines,
    plan_lines,
    resume_command,
    rows_text,
    run_document,
    source_lines,
    summary_lines,
    write_error_line,
)
from hhbatch.errors import UsageError
from hhbatch.i18n import _

if TYPE_CHECKING:  # the run's machinery (httpx, openpyxl …) loads when a run starts
    from hhbatch.download import BackgroundDownloads
    from hhbatch.workflow import Batch

DESCRIPTION = """\
Create one video per row of MANIFEST (.xlsx/.xlsm/.ods/.xls/.csv/.tsv/.txt) and write status
and links into <name>.results.xlsx beside it. Rows are checked and the plan confirmed before
any credit is spent; run the same command again to continue: nothing is created twice.
"""

EPILOG = """\
examples:
  hhbatch run campaign.xlsx --dry-run        show the plan, send nothing
  hhbatch run campaign.xlsx --limit 5        try five rows first; the next run does the rest

exit codes: 0 all rows ready (with --no-wait: all submitted) · 1 some rows failed, invalid,
unknown or not finished · 2 usage or input error · 3 authentication · 4 out of credits ·
5 API unreachable · 130 interrupted (Ctrl-C) · 143 stopped by SIGTERM
"""
MORE_OPTIONS = 'more options (README.md, "Options of run"): {options}'
# What ``run --help`` explains; every other option is named in one line and described in the
# README, so the help fits on one screen (options other packages add land there by themselves).
COMMON_OPTIONS = frozenset(
    {
        "--help",
        "--yes",
        "--dry-run",
        "--sandbox",
        "--limit",
        "--no-wait",
        "--retry-failed",
        "--resubmit-unknown",
        "--out",
        "--json",
    }
)


# What a person types to say yes at the confirmation prompt, in either language.
YES_ANSWERS = ("y", "yes", "是", "好", "是的", "确定")
ALL_ROWS = "all"  # --resubmit-unknown without ROWS


def register(subparsers: Any) -> None:
    """Common options are shown by ``run --help``; the rest are listed by name in the epilog
    and explained in the README, so the help fits on one screen."""
    parser = subparsers.add_parser(
        "run",
        help=_("create the videos of a sheet and write the results (resumable)"),
        description=_(DESCRIPTION),
        epilog=_(EPILOG),
        usage="hhbatch run MANIFEST [options]",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "manifest", type=Path, metavar="MANIFEST", help=_("the .xlsx/.xlsm/.ods/.xls/.csv/.txt")
    )
    parser.add_argument("--yes", "-y", action="store_true", help=_("do not ask before spending"))
    parser.add_argument(
        "--dry-run", action="store_true", help=_("validate and show the plan; send nothing")
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help=_("rehearse on a local fake server (no credits)"),
    )
    parser.add_argument(
        "--limit", type=positive_int, metavar="N", help=_("submit only the first N rows this run")
    )
    add_cap_options(parser)
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help=_(
            "submit and exit (exit 0 while the videos are still generating); "
            "'hhbatch status' checks later"
        ),
    )
    parser.add_argument(
        "--retry-failed", action="store_true", help=_("submit again rows that failed before")
    )
    parser.add_argument(
        "--resubmit-unknown",
        type=_rows_arg,
        metavar="[ROWS]",
        help=_("create again rows whose create got no answer (all, or rows like 5,7-9)"),
    )
    parser.add_argument(
        "--json", action="store_true", help=_("print the outcome as JSON on stdout")
    )
    add_common_options(parser)
    parser.add_argument(
        "--rate",
        type=positive_float,
        metavar="REQ_PER_S",
        help=_(
            "the most requests per second (your key's limit, if you know it; default: found "
            "from the API's answers and remembered for the next run)"
        ),
    )
    parser.add_argument("--concurrency", type=positive_int, metavar="N")
    parser.add_argument("--poll-interval", type=positive_float, metavar="SECONDS")
    parser.add_argument("--wait-timeout", type=positive_float, metavar="SECONDS")
    parser.add_argument("--resubmit-edited", action="store_true")
    parser.add_argument("--again", action="store_true")
    parser.add_argument("--download", action="store_true")
    parser.set_defaults(func=handle)
    _brief_help(parser)


def _brief_help(parser: argparse.ArgumentParser) -> None:
    """Hide the help of every option but the common ones and name them in the epilog."""
    more = []
    for action in parser._actions:
        flags = [o for o in action.option_strings if o.startswith("--")]
        if flags and flags[0] not in COMMON_OPTIONS:
            action.help = argparse.SUPPRESS
            more.append(flags[0])
    line = _(MORE_OPTIONS).format(options=", ".join(more))
    wrapped = textwrap.fill(line, width=92, subsequent_indent="  ", break_on_hyphens=False)
    parser.epilog = wrapped + "\n\n" + (parser.epilog or "")


def normalize_argv(argv: list[str]) -> list[str]:
    """``--resubmit-unknown`` takes optional ROWS; a bare one followed by the manifest (``run
    --resubmit-unknown campaign.xlsx``) must not swallow it, so it becomes ``=all`` here."""
    out = list(argv)
    for index, arg in enumerate(out):
        if arg == "--":
            break
        if arg == "--resubmit-unknown":
            following = out[index + 1] if index + 1 < len(out) else None
            if following is None or not (ROWS_PATTERN.match(following) or following == ALL_ROWS):
                out[index] = f"--resubmit-unknown={ALL_ROWS}"
    return out


def _rows_arg(text: str) -> frozenset[int] | str:
    """``5,7-9`` → {5, 7, 8, 9}; ``all`` → every unknown row."""
    if text.strip().lower() == ALL_ROWS:
        return ALL_ROWS
    if not ROWS_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            _("{text} is not a list of sheet rows such as 5,7-9").format(text=repr(text))
        )
    rows: set[int] = set()
    for part in text.split(","):
        first, _dash, last = part.strip().partition("-")
        low, high = int(first), int(last or first)
        if high < low or high - low > 1_000_000:
            raise argparse.ArgumentTypeError(
                _("{text} is not a list of sheet rows such as 5,7-9").format(text=repr(text))
            )
        rows.update(range(low, high + 1))
    return frozenset(rows)


def say(text: str = "") -> None:
    print(text, file=sys.stderr, flush=True)


def handle(args: argparse.Namespace) -> int:
    # The run's machinery (httpx, openpyxl …) loads only now that a run starts, so that
    # `hhbatch --help` and the start of every other command do not pay for it.
    from hhbatch.adoption import adopted_lines
    from hhbatch.download import DownloadOnReady
    from hhbatch.workflow import RunOptions, is_sandbox_results, prepare, rehearsal_manifest

    manifest = Path(args.manifest)
    if is_sandbox_results(manifest) and not args.sandbox:
        raise UsageError(
            _(
                "{file} holds the results of a --sandbox rehearsal: its video ids belong to a "
                "fake server that no longer runs. Run the real batch on your manifest instead "
                "(e.g. {real}), or add --sandbox to rehearse again."
            ).format(file=manifest.name, real=rehearsal_manifest(manifest).name)
        )
    rows = args.resubmit_unknown
    options = RunOptions(
        manifest=manifest,
        out=args.out,
        sheet=args.sheet,
        config_path=args.config,
        sandbox=args.sandbox,
        rate=args.rate,
        concurrency=args.concurrency,
        poll_interval=args.poll_interval or (1.0 if args.sandbox else None),
        wait=not args.no_wait,
        wait_timeout=args.wait_timeout,
        limit=args.limit,
        max_videos=args.max_videos,
        max_seconds=args.max_seconds,
        max_credits=args.max_credits,
        retry_failed=args.retry_failed,
        resubmit_unknown=rows is not None,
        resubmit_unknown_rows=rows if isinstance(rows, frozenset) else None,
        resubmit_edited=args.resubmit_edited,
        encoding=args.encoding,
        again=args.again,
    )
    with prepare(options, require_credentials=not args.dry_run) as batch:
        for warning in batch.manifest.problems:
            say(warning.message)
        for line in invalid_lines(batch.plan):
            say(line)
        for line in plan_lines(batch.plan, options.manifest, batch.manifest.sheet_name):
            say(line)
        unasked = args.yes and not args.dry_run and bool(batch.plan.to_submit)
        source = source_lines(batch.manifest, unasked=unasked)
        for line in [*source, *loss_lines(batch.losses())]:
            say(line)
        for line in adopted_lines(batch.plan, _batch_key(batch)):
            say(line)
        if batch.record is not None and batch.record.ledger is None and batch.plan.to_submit:
            say(
                "  "
                + _(
                    "Without an API key, this machine's record of created videos was not "
                    "checked: a real run may find some of these rows already created (from a "
                    "copy of this sheet) and not create them again."
                )
            )
        _warn_rows_not_unknown(batch, options.resubmit_unknown_rows)
        if args.dry_run:
            say(_("Dry run: nothing was sent."))
            code = exitcodes.ROWS_NOT_OK if batch.plan.by_action("invalid") else exitcodes.OK
            if args.json:
                document = dry_run_document(
                    batch.plan, manifest, batch.manifest.sheet_name, _batch_key(batch)
                )
                losses = batch.losses()
                emit({**document, **({"losses": losses} if losses else {}), "exitCode": code})
            return code
        if options.sandbox:
            say(
                _(
                    "Sandbox rehearsal: a local fake HappyHorse server at {url}, no credits spent. "
                    "Its results go to {path}; the real results sheet and journal are not "
                    "touched."
                ).format(url=batch.base_url, path=batch.output_path)
            )
        if batch.plan.to_submit and not _confirmed(batch, args.yes):
            say(_("Nothing was sent."))
            return exitcodes.OK
        if batch.needs_api():
            batch.check_api()  # unreachable (exit 5) or a refused key (exit 3): before any bar
        progress = TqdmProgress(batch.plan)
        downloads = _start_downloads(batch) if args.download else None
        try:
            with _stops_on_signals(batch, progress.message) as stop:
                report = batch.execute(
                    progress if downloads is None else DownloadOnReady(progress, batch, downloads)
                )
        finally:
            progress.close()
            if downloads is not None:
                _finish_downloads(batch, downloads)
        return _finish(args, batch, report, stop)


def _batch_key(batch: Batch) -> str | None:
    """Which batch this is in the ledger (None: a rehearsal, which has no ledger)."""
    return batch.record.batch.key if batch.record is not None else None


def _warn_rows_not_unknown(batch: Batch, rows: frozenset[int] | None) -> None:
    if not rows:
        return
    planned = {rp.row.sheet_row: rp.action for rp in batch.plan.rows}
    others = sorted(r for r in rows if planned.get(r) not in ("submit", "unknown"))
    if others:
        say(
            _("--resubmit-unknown: rows {rows} are not unknown; they are left as they are.").format(
                rows=rows_text(others)
            )
        )


def _start_downloads(batch: Batch) -> BackgroundDownloads:
    from hhbatch.download import BackgroundDownloads

    return BackgroundDownloads(batch)


def _finish_downloads(batch: Batch, downloads: BackgroundDownloads) -> None:
    from hhbatch.cli.download import TqdmDownload
    from hhbatch.cli.download import summary_lines as download_lines
    from hhbatch.download import finish_background

    bar = TqdmDownload(0)
    try:
        result = finish_background(batch, downloads, bar)
    finally:
        bar.close()
    for line in download_lines(result):
        say(line)


def _confirmed(batch: Batch, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(
            _(
                "Not asking for confirmation without a terminal: add --yes to submit, or "
                "--dry-run to see the plan only."
            )
        )
    count = len(batch.plan.to_submit)
    answer = input(
        _("Create {count} video(s)? Credits are charged as each is created. [y/N] ").format(
            count=count
        )
    )
    return answer.strip().lower() in YES_ANSWERS


class _StopSignal:
    """Which signal stopped the run (SIGINT: Ctrl-C, exit 130; SIGTERM: exit 143)."""

    def __init__(self) -> None:
        self.presses = 0
        self.terminated = False

    @property
    def exit_code(self) -> int:
        return exitcodes.TERMINATED if self.terminated else exitcodes.INTERRUPTED


@contextmanager
def _stops_on_signals(batch: Batch, tell: Callable[[str], None]) -> Iterator[_StopSignal]:
    """First Ctrl-C or SIGTERM: stop submitting and save. Second: leave at once (the journal is
    always consistent: every change is one SQLite transaction).

    The sentence is printed from the event loop (``batch.call_soon``), not inside the handler:
    a signal interrupts the main thread anywhere, also halfway through a progress-bar redraw."""
    stop = _StopSignal()

    def on_signal(signum: int, frame: object) -> None:
        stop.presses += 1
        if stop.presses == 1:
            stop.terminated = signum != signal.SIGINT
            if stop.terminated:
                text = _(
                    "Stopping (SIGTERM): no new videos will be created; saving results "
                    "(a second signal quits at once)."
                )
            else:
                text = _(
                    "Stopping: no new videos will be created; saving results (Ctrl-C again to "
                    "quit)."
                )
            batch.request_stop()
            batch.call_soon(lambda: tell(text))
        else:
            os._exit(stop.exit_code)

    with failures.handling([signal.SIGINT, *failures.termination_signals()], on_signal):
        yield stop


def _own_argv() -> list[str]:
    """The user's arguments when hhbatch is the program running (the ``hhbatch`` script, its
    Windows ``hhbatch.exe``, or ``python -m hhbatch``), so the resume command keeps --out, --sheet
    and --config; empty when called from inside another program (tests)."""
    if not sys.argv or not sys.argv[0]:
        return []
    program = Path(sys.argv[0])
    if program.stem.lower() == "hhbatch" or (
        program.name == "__main__.py" and program.parent.name == "hhbatch"
    ):
        return sys.argv[1:]
    return []


def next_context(args: argparse.Namespace, report: Any, *, sandbox: bool = False) -> NextContext:
    """How the "next" commands name this batch: the manifest and --sheet/--out/--config as
    the user gave them."""
    return NextContext(
        manifest=str(args.manifest),
        options=batch_options(args),
        sandbox=sandbox,
        results=report.output_path,
    )


def batch_options(args: argparse.Namespace) -> list[str]:
    options: list[str] = []
    for flag, value in (("--sheet", args.sheet), ("--out", args.out), ("--config", args.config)):
        if value is not None:
            options += [flag, str(value)]
    return options


def status_command(args: argparse.Namespace) -> str:
    """``hhbatch status MANIFEST`` with the --sheet/--out/--config this run was given."""
    return command_line(["status", str(args.manifest), *batch_options(args)])


def _finish(args: argparse.Namespace, batch: Batch, report: Any, stop: _StopSignal) -> int:
    """The end of a run: what happened to whom, what to do next, and the exit code."""
    from hhbatch.reconciler import SETTLED_STATUSES

    ctx: NextContext | None = next_context(args, report, sandbox=args.sandbox)
    resume = resume_command(_own_argv() or ["run", str(args.manifest)])
    submit = report.submit
    still_running = sum(n for status, n in report.counts.items() if status not in SETTLED_STATUSES)
    closing: list[str] = []
    error: tuple[str, str] | None = None
    if report.interrupted:
        code = stop.exit_code if stop.presses else exitcodes.INTERRUPTED
        if stop.terminated:
            text = _(
                "Stopped by SIGTERM; the journal and the results sheet are saved. To continue: "
                "{command}"
            ).format(command=resume)
            error = ("terminated", text)
        else:
            text = _("Interrupted. To continue: {command}").format(command=resume)
            error = ("interrupted", text)
        closing.append(text)
    elif report.unreachable is not None:
        code = exitcodes.UNREACHABLE
        error = ("api_unreachable", str(report.unreachable))
        closing.append(str(report.unreachable))
    elif submit is not None and submit.out_of_credits:
        code = exitcodes.NO_CREDITS
        text = _("Out of credits: top up, then continue with: {command}").format(command=resume)
        error = ("insufficient_credits", text)
        closing.append(text)
    elif report.write_error:
        # a failed final write is never a success (the journal holds every result)
        code = exitcodes.ROWS_NOT_OK
        error = ("results_not_written", write_error_line(report, args.manifest))
    else:
        code = rows_code(report, no_wait=args.no_wait)
    if report.write_error and error is not None and error[0] != "results_not_written":
        closing.insert(0, write_error_line(report, args.manifest))
    elif report.write_error:
        closing.append(write_error_line(report, args.manifest))
    if still_running and not report.interrupted:
        closing.append(
            _(
                "{count} video(s) still generating. Check later with '{command}' or by running "
                "the same command again."
            ).format(count=still_running, command=status_command(args))
        )
    if error is not None:
        ctx = None  # the closing sentence says how to continue
    if args.json:
        emit(
            run_document(
                report,
                batch.plan,
                ctx=ctx,
                error=error_object(*error) if error else None,
                exit_code=code,
                batch_key=_batch_key(batch),
            )
        )
    else:
        for line in summary_lines(report, ctx):
            say(line)
    for line in closing:
        say(line)
    return code


def rows_code(report: Any, *, no_wait: bool = False) -> int:
    """The exit code the rows give (README, "Exit codes"): 0 when every row is ready (rows
    marked to skip aside); with ``--no-wait`` (submitting and returning is its success) also
    when the rest are still generating; 1 when any row failed, is invalid, unknown, edited or
    not submitted, or (without ``--no-wait``) is still generating."""
    from hhbatch.reconciler import SETTLED_STATUSES

    bad = SETTLED_STATUSES - {"ready", "skipped"}  # failed, invalid, unknown, not submitted, …
    if any(report.counts.get(s) for s in bad):
        return exitcodes.ROWS_NOT_OK
    if not report.results:
        return exitcodes.OK
    settled = all(status in SETTLED_STATUSES for status in report.counts)
    if settled or no_wait:
        return exitcodes.OK  # ready and skipped rows only; or submitted and left generating
    return exitcodes.ROWS_NOT_OK
