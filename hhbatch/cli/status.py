"""``hhbatch status``: one reconcile pass over in-flight videos; updates the results sheet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hhbatch.cli import exitcodes
from hhbatch.cli.render import TqdmProgress, report_json, summary_lines, write_error_line
from hhbatch.cli.run import add_common_options
from hhbatch.i18n import _
from hhbatch.workflow import RunOptions, prepare

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
    parser.add_argument("--json", action="store_true", help=_("print the summary as JSON"))
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    options = RunOptions(
        manifest=args.manifest,
        out=args.out,
        sheet=args.sheet,
        config_path=args.config,
        encoding=args.encoding,
    )
    with prepare(options) as batch:
        progress = TqdmProgress(batch.plan, submitting=False)
        try:
            report = batch.status_pass(progress)
        finally:
            progress.close()
        if args.json:
            print(report_json(report, batch.plan))
        else:
            for line in summary_lines(report):
                print(line, file=sys.stderr)
        if report.write_error:
            print(write_error_line(report, args.manifest), file=sys.stderr)
            return exitcodes.ROWS_NOT_OK
        return exitcodes.OK if report.all_ready else exitcodes.ROWS_NOT_OK
