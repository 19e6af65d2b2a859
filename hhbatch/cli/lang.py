"""``--lang en|zh`` on ``hhbatch`` and on every command.

Why every command: people type the option where they think of it (``hhbatch run x.xlsx --lang
zh``). The value is read from the command line before the parser is even built
(:func:`hhbatch.i18n.setup`), so help texts come out in that language too; argparse only has to
accept it.
"""

from __future__ import annotations

import argparse
from typing import Any

from hhbatch import i18n
from hhbatch.i18n import ENV_LANG, LANGUAGES, _

# argparse's own words ("usage:", "options", its error messages), looked up through the module's
# ``_`` at the moment they are shown; the catalog translates them like hhbatch's messages.
ARGPARSE_MESSAGES = (
    "usage: ",
    "positional arguments",
    "options",
    "show this help message and exit",
    "show program's version number and exit",
    "argument %(argument_name)s: %(message)s",
    "unrecognized arguments: %s",
    "the following arguments are required: %s",
    "expected one argument",
    "invalid choice: %(value)r (choose from %(choices)s)",
    "invalid %(type)s value: %(value)r",
    "%(prog)s: error: %(message)s\n",
    "ambiguous option: %(option)s could match %(matches)s",
)

# argparse looks ``_`` up when a parser is built and when it prints; ``i18n._`` follows whatever
# language is current at that moment (English: the text unchanged). Done on import, before the
# CLI builds any parser.
argparse._ = i18n._  # type: ignore[attr-defined]


def lang_help() -> str:
    return _("interface language: en or zh (default: {env}, else the system's)").format(
        env=ENV_LANG
    )


def add_lang_options(parser: argparse.ArgumentParser, subparsers: Any) -> None:
    """Add ``--lang`` to ``parser`` and to each command that does not define its own."""
    for each in (parser, *subparsers.choices.values()):
        if not any("--lang" in action.option_strings for action in each._actions):
            each.add_argument("--lang", choices=LANGUAGES, help=lang_help())
