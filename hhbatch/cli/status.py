"""``hhbatch status``: one reconcile pass over in-flight videos; updates the results sheet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hhbatch.cli import exitcodes
from hhbatch.cli.jsonout import emit, error_document
from hhbatch.cli.options import add_common_options
from hhbatch.cli.render import TqdmProgress, run_document, summary_lines, write_error_line
from hhbatch.cli.run import next_context
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
    from hhbatch.workflow import RunOptions, prepare

    options = RunOptions(
        manifest=args.manifest,
        out=args.out,
        sheet=args.sheet,
        config_path=args.config,
        encoding=args.encoding,
    )
    with prepare(options) as batch:
        if batch.needs_api(submit=False):
            batch.check_api()  # unreachable (exit 5) or a refused key (exit 3): before the bar
        progress = TqdmProgress(batch.plan, submitting=False)
        try:
            report = batch.status_pass(progress)
        finally:
            progress.close()
        ctx = next_context(args, report)
        code = exitcodes.OK if report.all_ready else exitcodes.ROWS_NOT_OK
        if report.write_error:
            code = exitcodes.ROWS_NOT_OK  # a failed write is never a success
        if report.unreachable is not None:
            code = exitcodes.UNREACHABLE
        if args.json:
            error = None
            if report.unreachable is not None:
                error = error_document("api_unreachable", str(report.unreachable))["error"]
            emit(
                run_document(
                    report, batch.plan, command="status", ctx=ctx, error=error, exit_code=code
                )
            )
        else:
            for line in summary_lines(report, ctx):
                print(line, file=sys.stderr, flush=True)
        if report.unreachable is not None:
            print(str(report.unreachable), file=sys.stderr, flush=True)
        if report.write_error:
            print(write_error_line(report, args.manifest), file=sys.stderr, flush=True)
        return code
