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
from typing import NoReturn

from hhbatch import __version__, i18n, redact, spec
from hhbatch.cli import exitcodes, failures, jsonout
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
  3 authentication error         4 out of credits                          5 API unreachable
  130 interrupted (Ctrl-C)       143 stopped by SIGTERM

Run 'hhbatch COMMAND --help' for each command's options and an example.
"""


class _BadArguments(Exception):
    """argparse found a bad command line; raised instead of exiting so ``--json`` can answer."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors come back to :func:`main` (subcommands inherit it)."""

    def error(self, message: str) -> NoReturn:
        raise _BadArguments(self, message)


def build_parser() -> argparse.ArgumentParser:
    from hhbatch.cli.validate import manifest_format_help

    parser = _Parser(
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


def wants_json(argv: Sequence[str]) -> bool:
    """``--json`` anywhere before a ``--``: errors then also go to stdout as a document."""
    for arg in argv:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """The ``hhbatch`` command. Never lets a traceback or a broken pipe reach the user."""
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:
        print(f"hhbatch {__version__}")  # before the command modules load: start-up is all
        return exitcodes.OK
    code: int | None = None
    try:
        code = _main(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        failures.silence_broken_pipe()
        return code if code is not None else exitcodes.ROWS_NOT_OK


def _main(argv: list[str]) -> int:
    from hhbatch.cli.run import normalize_argv

    _make_console_safe()
    redact.register_secret(os.environ.get(spec.ENV_API_KEY))  # no message may ever show it
    i18n.setup(argv)  # --lang, HHBATCH_LANG or the locale
    json_mode = wants_json(argv)
    with failures.terminate_raises():
        try:
            parser = build_parser()
            try:
                args = parser.parse_args(normalize_argv(argv))
            except _BadArguments as bad:
                bad.parser.print_usage(sys.stderr)
                text = _("%(prog)s: error: %(message)s\n") % {
                    "prog": bad.parser.prog,
                    "message": bad.message,
                }
                return _fail(json_mode, "usage_error", text.strip(), exitcodes.USAGE, echo=text)
            func = getattr(args, "func", None)
            if func is None:
                parser.print_help()
                return exitcodes.USAGE
            return int(func(args))
        except HhbatchError as err:
            message = redact.redact(failures.message_for(err))
            return _fail(json_mode, jsonout.error_code(err), message, exitcodes.for_error(err))
        except KeyboardInterrupt:
            return _fail(
                json_mode, "interrupted", _("hhbatch: interrupted."), exitcodes.INTERRUPTED
            )
        except failures.Terminated:
            return _fail(
                json_mode,
                "terminated",
                _("hhbatch: stopped by SIGTERM; nothing is left half-done."),
                exitcodes.TERMINATED,
            )


def _fail(json_mode: bool, code: str, message: str, exit_code: int, *, echo: str = "") -> int:
    """A failure: the sentence on stderr (prefixed ``hhbatch:``), and under ``--json`` the error
    document on stdout too, so a script reading stdout is never left with nothing."""
    if echo:
        sys.stderr.write(echo)
    else:
        text = message if message.startswith("hhbatch") else f"hhbatch: {message}"
        print(text, file=sys.stderr, flush=True)
    if json_mode:
        jsonout.emit(jsonout.error_document(code, message))
    return exit_code
