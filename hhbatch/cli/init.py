"""``hhbatch init``: start a campaign folder from the bundled templates."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hhbatch.cli import exitcodes
from hhbatch.scaffold import LANGUAGES, InitResult, init_folder

DESCRIPTION = """\
Start a campaign: write campaign.xlsx (one row per video, with dropdowns and hints for every
column) and a commented hhbatch.yaml into DIR (default: the current folder).

An existing file is never overwritten: it is kept and named in the output.
"""

EPILOG = """\
examples:
  hhbatch init                    English template in the current folder
  hhbatch init 春季活动 --lang zh   Chinese headers, in a new folder 春季活动
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "init",
        help="write a campaign.xlsx template and hhbatch.yaml to start from",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "folder", nargs="?", type=Path, default=Path("."), metavar="DIR", help="default: ."
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default="en",
        help="column headers in English (en) or Chinese (zh); default en",
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    result = init_folder(args.folder, args.lang)
    for line in result_lines(result):
        print(line)
    return exitcodes.OK


def result_lines(result: InitResult) -> list[str]:
    lines = [f"Wrote {path}" for path in result.written]
    lines += [f"Kept {path} (already there; not overwritten)" for path in result.kept]
    lines += [
        "",
        f"Fill in {result.campaign} (one row per video) in Excel, WPS or LibreOffice, then:",
        *(f"  {command}" for command in next_commands(result)),
    ]
    return lines


def next_commands(result: InitResult) -> list[str]:
    """The three commands to run next, each with what it does."""
    campaign = _quote(str(result.campaign))
    return [
        f"hhbatch validate {campaign}               check every row; sends nothing",
        f"hhbatch run {campaign} --sandbox --yes    try it on a local fake server",
        f"hhbatch run {campaign}                    create the videos (HAPPYHORSE_API_KEY)",
    ]


def _quote(text: str) -> str:
    """Quote a path for copy-and-paste into a shell when it has spaces."""
    return f'"{text}"' if any(ch.isspace() for ch in text) else text
