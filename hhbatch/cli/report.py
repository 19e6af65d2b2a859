"""``hhbatch report``: write the review page of a batch (one self-contained HTML file)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hhbatch.cli import exitcodes
from hhbatch.cli.options import add_encoding_option
from hhbatch.i18n import _

DESCRIPTION = """\
Write <name>.report.html beside MANIFEST: one card per row with its prompt, settings, status,
error, and the video (the downloaded file when 'hhbatch download' fetched it, else its link)
or thumbnail. Buttons filter the cards by status. The page is a single file that needs no
network to open: send it to a reviewer with the videos folder, or open it with --open.
"""

EPILOG = """\
examples:
  hhbatch report campaign.xlsx --open        write campaign.report.html and show it
  hhbatch download campaign.xlsx && hhbatch report campaign.xlsx
                                             review the downloaded files offline
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help=_("write an HTML page to review every row and its video"),
        description=_(DESCRIPTION),
        epilog=_(EPILOG),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "manifest", type=Path, metavar="MANIFEST", help=_("the .xlsx/.xlsm/.ods/.xls/.csv/.txt")
    )
    parser.add_argument(
        "--out", type=Path, metavar="PATH", help=_("the HTML file (default <name>.report.html)")
    )
    parser.add_argument(
        "--videos", type=Path, metavar="DIR", help=_("where 'download --to' put the files")
    )
    parser.add_argument("--open", action="store_true", help=_("open the page in the browser"))
    parser.add_argument("--sheet", metavar="NAME", help=_("sheet to read (default: first visible)"))
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=_("settings file (default hhbatch.yaml beside it)"),
    )
    add_encoding_option(parser)
    parser.add_argument(
        "--json", action="store_true", help=_("print the outcome as JSON on stdout")
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from hhbatch.report import write_report
    from hhbatch.workflow import RunOptions, prepare

    options = RunOptions(
        manifest=args.manifest, sheet=args.sheet, config_path=args.config, encoding=args.encoding
    )
    with prepare(options, require_credentials=False) as batch:
        path, cards = write_report(batch, args.out, args.videos)
    print(_("Wrote {path} ({rows} row(s)).").format(path=path, rows=len(cards)), file=sys.stderr)
    if args.json:
        from hhbatch.cli.jsonout import camel_keys, emit

        counts: dict[str, int] = {}
        for card in cards:
            counts[card.status] = counts.get(card.status, 0) + 1
        emit(
            {
                "command": "report",
                "path": str(path),
                "rows": len(cards),
                "counts": camel_keys(counts),
                "exitCode": exitcodes.OK,
            }
        )
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return exitcodes.OK
