"""``hhbatch init``: start a campaign folder from the bundled templates."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hhbatch.cli import exitcodes
from hhbatch.i18n import _, current_language
from hhbatch.scaffold import LANGUAGES, InitResult, init_folder

DESCRIPTION = """\
Start a campaign: write campaign.xlsx (one row per video, with dropdowns and hints for every
column) and a commented hhbatch.yaml into DIR (default: the current folder).

An existing file is never overwritten: it is kept and named in the output.
"""

EPILOG = """\
examples:
  hhbatch init                    template in the current folder
  hhbatch init spring --lang zh   Chinese headers and messages, in a new folder 'spring'
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "init",
        help=_("write a campaign.xlsx template and hhbatch.yaml to start from"),
        description=_(DESCRIPTION),
        epilog=_(EPILOG),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "folder", nargs="?", type=Path, default=Path("."), metavar="DIR", help=_("default: .")
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        help=_(
            "column headers and messages in English (en) or Chinese (zh); default: the "
            "interface language (HHBATCH_LANG or the system's)"
        ),
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    result = init_folder(args.folder, args.lang or current_language())
    for line in result_lines(result):
        print(line)
    return exitcodes.OK


def result_lines(result: InitResult) -> list[str]:
    lines = [_("Wrote {path}").format(path=path) for path in result.written]
    lines += [
        _("Kept {path} (already there; not overwritten)").format(path=path) for path in result.kept
    ]
    lines += [
        "",
        _(
            "Its example rows are marked in the first column (Skip) and are never submitted: "
            "add your rows below them, or clear that cell to use an example."
        ),
        _("Fill in {path} (one row per video) in Excel, WPS or LibreOffice, then:").format(
            path=result.campaign
        ),
        *(f"  {command}" for command in next_commands(result)),
    ]
    return lines


def next_commands(result: InitResult) -> list[str]:
    """The three commands to run next, each with what it does."""
    campaign = _quote(str(result.campaign))
    commands = [
        (f"hhbatch validate {campaign}", _("check every row; sends nothing")),
        (f"hhbatch run {campaign} --sandbox --yes", _("try it on a local fake server")),
        (f"hhbatch run {campaign}", _("create the videos (needs HAPPYHORSE_API_KEY)")),
    ]
    width = max(len(command) for command, _text in commands) + 3
    return [f"{command:<{width}}{text}" for command, text in commands]


def _quote(text: str) -> str:
    """Quote a path for copy-and-paste into a shell when it has spaces."""
    return f'"{text}"' if any(ch.isspace() for ch in text) else text
