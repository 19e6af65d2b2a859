"""``hhbatch run``: validate, show the plan, ask, then upload, submit, wait and write results."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hhbatch.adoption import adopted_lines
from hhbatch.cli import exitcodes
from hhbatch.cli.render import (
    TqdmProgress,
    invalid_lines,
    loss_lines,
    plan_lines,
    report_json,
    resume_command,
    source_lines,
    summary_lines,
    write_error_line,
)
from hhbatch.download import (
    BackgroundDownloads,
    DownloadOnReady,
    finish_background,
)
from hhbatch.errors import UsageError
from hhbatch.i18n import _
from hhbatch.reconciler import SETTLED_STATUSES
from hhbatch.workflow import Batch, RunOptions, prepare

DESCRIPTION = """\
Create one video per row of MANIFEST (.xlsx, .xlsm, .ods, .xls, .csv, .tsv or .txt) and write
the results sheet.

Every row is checked first; then hhbatch shows a plan (videos to create, seconds of video,
files to upload) and asks before spending credits. It uploads each distinct file once, submits
under the API's rate limit, waits for the videos and writes status, videoId, videoUrl,
thumbnailUrl, readyAt and error into <name>.results.xlsx (.csv/.tsv/.txt for a text
manifest) beside the manifest, refreshing it as it goes. The text encoding of a CSV/TXT
file is detected; when it cannot be told for sure, hhbatch asks for --encoding.

Safe to stop and rerun: run the same command again (on the manifest or on the results sheet)
to continue. Nothing is ever created twice: a row whose create request got no answer is marked
'unknown' and left alone unless you pass --resubmit-unknown.
"""

EPILOG = """\
examples:
  hhbatch run campaign.xlsx --dry-run        show the plan, send nothing
  hhbatch run campaign.xlsx --limit 5        try five rows first; the next run does the rest
  hhbatch run campaign.xlsx --yes            no question (scripts, scheduled jobs)
  hhbatch run campaign.csv --encoding cp1252 a CSV saved by Excel on Western Windows
  hhbatch run samples/campaign.xlsx --sandbox --yes   everything against a local fake server

credentials: HAPPYHORSE_API_KEY (required) and HAPPYHORSE_BASE_URL (or base_url in hhbatch.yaml).

exit codes: 0 all rows ready · 1 some rows failed, invalid, unknown or not finished ·
2 usage or input error · 3 authentication · 4 out of credits · 130 interrupted
"""


# What a person types to say yes at the confirmation prompt, in either language.
YES_ANSWERS = ("y", "yes", "是", "好", "是的", "确定")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help=_("create the videos of a sheet and write the results (resumable)"),
        description=_(DESCRIPTION),
        epilog=_(EPILOG),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "manifest", type=Path, metavar="MANIFEST", help=_("the .xlsx/.xlsm/.ods/.xls/.csv/.txt")
    )
    add_common_options(parser)
    parser.add_argument("--yes", "-y", action="store_true", help=_("do not ask before spending"))
    parser.add_argument(
        "--dry-run", action="store_true", help=_("validate and show the plan; send nothing")
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help=_("run against a built-in local fake server (no account, no credits)"),
    )
    parser.add_argument(
        "--rate", type=_positive_float, metavar="REQ_PER_S", help=_("starting request rate")
    )
    parser.add_argument(
        "--concurrency", type=_positive_int, metavar="N", help=_("requests in flight at once")
    )
    parser.add_argument(
        "--poll-interval",
        type=_positive_float,
        metavar="SECONDS",
        help=_("seconds between checks of one video (default 5; vendor advises 5-10)"),
    )
    parser.add_argument(
        "--no-wait", action="store_true", help=_("submit and exit; 'hhbatch status' checks later")
    )
    parser.add_argument(
        "--wait-timeout",
        type=_positive_float,
        metavar="SECONDS",
        help=_(
            "stop waiting after this long; videos keep generating and the next run picks them up"
        ),
    )
    parser.add_argument(
        "--limit", type=_positive_int, metavar="N", help=_("submit only the first N rows this run")
    )
    add_cap_options(parser)
    parser.add_argument(
        "--retry-failed", action="store_true", help=_("submit again rows that failed before")
    )
    parser.add_argument(
        "--resubmit-unknown",
        action="store_true",
        help=_("submit again rows whose earlier create got no answer (may charge twice)"),
    )
    parser.add_argument(
        "--resubmit-edited",
        action="store_true",
        help=_("create new videos for rows edited after they were submitted"),
    )
    parser.add_argument(
        "--again",
        action="store_true",
        help=_(
            "create new videos for rows whose exact request was already created from another "
            "file or folder (a copy of the sheet); without it they show that video"
        ),
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help=_("download each video as it becomes ready (like 'hhbatch download')"),
    )
    parser.add_argument("--json", action="store_true", help=_("print the final summary as JSON"))
    parser.set_defaults(func=handle)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, metavar="PATH", help=_("results sheet (default <name>.results.xlsx)")
    )
    parser.add_argument("--sheet", metavar="NAME", help=_("sheet to read (default: first visible)"))
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=_("settings file (default hhbatch.yaml beside it)"),
    )
    add_encoding_option(parser)


def add_encoding_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--encoding",
        type=encoding_name,
        metavar="NAME",
        help=_(
            "text encoding of a CSV/TXT manifest when detection cannot tell "
            "(e.g. cp1252, gbk, big5, shift_jis, utf-8; or 'encoding:' in hhbatch.yaml)"
        ),
    )


def encoding_name(text: str) -> str:
    """An encoding Python can decode text with; anything else is a usage error (exit 2)."""
    from hhbatch.loader.encoding import check_encoding_name

    try:
        return check_encoding_name(text)
    except LookupError:
        raise argparse.ArgumentTypeError(
            _(
                "{name} is not a text encoding; use e.g. cp1252, gbk, big5, shift_jis or utf-8"
            ).format(name=repr(text))
        ) from None


def add_cap_options(parser: argparse.ArgumentParser) -> None:
    """Spend caps for one run (also max_videos / max_seconds / max_credits in hhbatch.yaml)."""
    parser.add_argument(
        "--max-videos",
        type=_positive_int,
        metavar="N",
        help=_("create at most N videos this run; the rest wait for the next run"),
    )
    parser.add_argument(
        "--max-seconds",
        type=_positive_int,
        metavar="S",
        help=_("create at most S seconds of video (total durationSec) this run"),
    )
    parser.add_argument(
        "--max-credits",
        type=_positive_float,
        metavar="C",
        help=_("spend at most C credits this run (needs credits_per_second in hhbatch.yaml)"),
    )


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text} is not a number").format(text=repr(text))
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(_("{text} must be more than 0").format(text=text))
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text} is not a whole number").format(text=repr(text))
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(_("{text} must be 1 or more").format(text=text))
    return value


def say(text: str = "") -> None:
    print(text, file=sys.stderr)


def handle(args: argparse.Namespace) -> int:
    options = RunOptions(
        manifest=args.manifest,
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
        resubmit_unknown=args.resubmit_unknown,
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
        for line in [*source_lines(batch.manifest), *loss_lines(batch.losses())]:
            say(line)
        for line in adopted_lines(batch.plan, batch.record.batch.key if batch.record else None):
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
        if args.dry_run:
            say(_("Dry run: nothing was sent."))
            return exitcodes.ROWS_NOT_OK if batch.plan.by_action("invalid") else exitcodes.OK
        if batch.plan.to_submit and not _confirmed(batch, args.yes):
            say(_("Nothing was sent."))
            return exitcodes.OK
        if options.sandbox:
            say(
                _("Sandbox: a local fake HappyHorse server at {url} (no credits spent).").format(
                    url=batch.base_url
                )
            )
        progress = TqdmProgress(batch.plan)
        downloads = _start_downloads(batch) if args.download else None
        try:
            with _ctrl_c_stops(batch, progress.message):
                report = batch.execute(
                    progress if downloads is None else DownloadOnReady(progress, batch, downloads)
                )
        finally:
            progress.close()
            if downloads is not None:
                _finish_downloads(batch, downloads)
        return _finish(args, batch, report)


def _start_downloads(batch: Batch) -> BackgroundDownloads:
    return BackgroundDownloads(batch)


def _finish_downloads(batch: Batch, downloads: BackgroundDownloads) -> None:
    from hhbatch.cli.download import TqdmDownload
    from hhbatch.cli.download import summary_lines as download_lines

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


@contextmanager
def _ctrl_c_stops(batch: Batch, tell: Callable[[str], None]) -> Iterator[None]:
    """First Ctrl-C: stop submitting and save. Second: leave at once (the journal is always
    consistent: every change is one SQLite transaction)."""
    presses = 0

    def on_sigint(signum: int, frame: object) -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            tell(
                _("Stopping: no new videos will be created; saving results (Ctrl-C again to quit).")
            )
            batch.request_stop()
        else:
            os._exit(exitcodes.INTERRUPTED)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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


def _finish(args: argparse.Namespace, batch: Batch, report: Any) -> int:
    if args.json:
        print(report_json(report, batch.plan))
    else:
        for line in summary_lines(report):
            say(line)
    submit = report.submit
    still_running = sum(n for status, n in report.counts.items() if status not in SETTLED_STATUSES)
    resume = resume_command(_own_argv() or ["run", str(args.manifest)])
    if report.interrupted:
        if report.write_error:
            say(write_error_line(report, args.manifest))
        say(_("Interrupted. To continue: {command}").format(command=resume))
        return exitcodes.INTERRUPTED
    if submit is not None and submit.out_of_credits:
        if report.write_error:
            say(write_error_line(report, args.manifest))
        say(_("Out of credits: top up, then continue with: {command}").format(command=resume))
        return exitcodes.NO_CREDITS
    if report.write_error:
        say(write_error_line(report, args.manifest))
        return exitcodes.ROWS_NOT_OK
    if still_running:
        say(
            _(
                "{count} video(s) still generating. Check later with 'hhbatch status {manifest}' "
                "or by running the same command again."
            ).format(count=still_running, manifest=args.manifest)
        )
    if report.all_ready:
        return exitcodes.OK
    bad = SETTLED_STATUSES - {"ready"}  # failed, invalid, unknown, not submitted, edited
    if not args.no_wait or any(report.counts.get(s) for s in bad):
        return exitcodes.ROWS_NOT_OK
    return exitcodes.OK
