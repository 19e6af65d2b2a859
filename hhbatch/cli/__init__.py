"""The ``hhbatch`` command: parse, call the core, render. Nothing here decides anything.

Each subcommand lives in its own module exposing ``register(subparsers)`` (which sets
``func`` on its parser) so no single file grows into a 3,000-line cli.py.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from hhbatch import __version__, i18n, redact, spec
from hhbatch.cli import exitcodes
from hhbatch.cli.lang import add_lang_options
from hhbatch.errors import HhbatchError
from hhbatch.i18n import _

# Order is the order shown in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "init",
    "run",
    "status",
    "download",
    "report",
    "history",
    "validate",
    "sandbox",
)

DESCRIPTION = """\
Turn a spreadsheet into a batch of AI videos on the HappyHorse Customer API.

One row of the sheet is one video. hhbatch checks every row against the API's documented limits
before a single credit is spent, uploads the files rows point at, submits the jobs under the rate
limit, waits for them, and writes status and video links into a results sheet. Run the same
command again to resume an interrupted batch: nothing is ever submitted twice.
"""

EPILOG = """\
getting started:
  hhbatch run samples/campaign.xlsx --sandbox --yes   try the bundled sample on a local fake server
  hhbatch validate campaign.xlsx                      check a sheet without sending anything

credentials (for the real API):
  HAPPYHORSE_API_KEY   your key (hh_live_...), from Dashboard / Settings / API Keys
  HAPPYHORSE_BASE_URL  your HappyHorse domain, e.g. https://example.happyhorse.ai

exit codes:
  0 all rows ready (or valid)    1 some rows failed, invalid or unknown    2 usage or input error
  3 authentication error         4 out of credits                          130 interrupted

Run 'hhbatch COMMAND --help' for each command's options and an example.
"""


def build_parser() -> argparse.ArgumentParser:
    from hhbatch.cli.validate import manifest_format_help

    parser = argparse.ArgumentParser(
        prog="hhbatch",
        description=_(DESCRIPTION),
        epilog=_(EPILOG) + "\n" + manifest_format_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hhbatch {__version__}")
    subparsers = parser.add_subparsers(title=_("commands"), metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"hhbatch.cli.{name}").register(subparsers)
    add_lang_options(parser, subparsers)
    return parser


def _make_console_safe() -> None:
    """A GBK Windows console cannot print every character; replace rather than crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # detached or odd streams
                reconfigure(errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    _make_console_safe()
    redact.register_secret(os.environ.get(spec.ENV_API_KEY))  # no message may ever show it
    i18n.setup(sys.argv[1:] if argv is None else argv)  # --lang, HHBATCH_LANG or the locale
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return exitcodes.USAGE
    try:
        return int(func(args))
    except HhbatchError as err:
        print(f"hhbatch: {redact.redact(str(err))}", file=sys.stderr)
        return exitcodes.for_error(err)
    except KeyboardInterrupt:
        print(_("hhbatch: interrupted."), file=sys.stderr)
        return exitcodes.INTERRUPTED
