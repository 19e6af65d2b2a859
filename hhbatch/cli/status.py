"""``hhbatch status``: one reconcile pass over in-flight videos; updates the results sheet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hhbatch.cli import exitcodes
from hhbatch.cli.jsonout import emit, error_object
from hhbatch.cli.options import add_common_options
from hhbatch.cli.render import TqdmProgress, run_document, summary_lines, write_error_line
from hhbatch.cli.run import batch_options, next_context, rows_code
from hhbatch.i18n import _

DESCRIPTION = """\
Check every video of MANIFEST that is still generating (one request each), and update the
results sheet. Creates nothing, uploads nothing, spends no credits.
"""

EPILOG = """\
example:
  hhbatch run campaign.xlsx --no-wait --yes   submit everything and return
  hhbatch status campaign.xlsx                later: see what is ready
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help=_("check videos still generating and update the results sheet"),
        description=_(DESCRIPTION),
        epilog=_(EPILOG),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "manifest", type=Path, metavar="MANIFEST", help=_("the .xlsx/.xlsm/.ods/.xls/.csv/.txt")
    )
    add_common_options(parser)
    parser.add_argument(
        "--json", action="store_true", help=_("print the outcome as JSON on stdout")
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from hhbatch.errors import NotStarted
    from hhbatch.workflow import RunOptions, prepare

    options = RunOptions(
        manifest=args.manifest,
        out=args.out,
        sheet=args.sheet,
        config_path=args.config,
        encoding=args.encoding,
    )
    try:
        batch = prepare(options, require_started=True)
    except NotStarted as nothing:
        return _not_started(args, nothing)
    with batch:
        if batch.needs_api(submit=False):
            batch.check_api()  # unreachable (exit 5) or a refused key (exit 3): before the bar
        progress = TqdmProgress(batch.plan, submitting=False)
        try:
            report = batch.status_pass(progress)
        finally:
            progress.close()
        ctx = next_context(args, report)
        code = rows_code(report)
        if report.write_error:
            code = exitcodes.ROWS_NOT_OK  # a failed write is never a success
        if report.unreachable is not None:
            code = exitcodes.UNREACHABLE
        if args.json:
            error = None
            if report.unreachable is not None:
                error = error_object("api_unreachable", str(report.unreachable))
            document = run_document(
                report,
                batch.plan,
                command="status",
                ctx=ctx,
                error=error,
                exit_code=code,
                batch_key=batch.record.batch.key if batch.record is not None else None,
            )
            emit({"command": "status", "started": True, **document})
        else:
            for line in summary_lines(report, ctx):
                print(line, file=sys.stderr, flush=True)
        if report.unreachable is not None:
            print(str(report.unreachable), file=sys.stderr, flush=True)
        if report.write_error:
            print(write_error_line(report, args.manifest), file=sys.stderr, flush=True)
        return code


def _not_started(args: argparse.Namespace, nothing: Exception) -> int:
    """Nothing was submitted from this sheet: say so and what to run; no file was made."""
    from hhbatch.cli.render import command_line, display_width, pad

    options = batch_options(args)
    steps = [
        (
            command_line(["run", str(args.manifest), *options, "--dry-run"]),
            _("see the plan; send nothing"),
        ),
        (command_line(["run", str(args.manifest), *options]), _("create the videos")),
    ]
    commands = [command for command, _text in steps]
    if args.json:
        emit(
            {
                "command": "status",
                "started": False,
                "message": str(nothing),
                "counts": {},
                "rows": [],
                "next": commands,
                "exitCode": exitcodes.OK,
            }
        )
    width = max(display_width(command) for command in commands) + 3
    lines = [str(nothing), _("Next:"), *(f"  {pad(c, width)}{text}" for c, text in steps)]
    print("\n".join(lines), file=sys.stderr, flush=True)
    return exitcodes.OK
