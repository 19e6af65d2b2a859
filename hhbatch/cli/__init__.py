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
    """The ``hhbatch`` command. Never lets a traceback or a broken pipe reach the user.

    A reader that goes away (``hhbatch history | head -2``) loses the rest of the output and
    nothing else: the command finishes its work quietly and exits with the code that work has
    (:class:`hhbatch.cli.failures.GuardedStream`), so the exit code never depends on how much
    output a pipe happened to take."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        with failures.guarded_output():
            if args == ["--version"]:
                print(f"hhbatch {__version__}")  # before the command modules load
                return exitcodes.OK
            return _main(args)
    except BrokenPipeError:  # pragma: no cover - the guarded streams catch it first
        failures.silence_broken_pipe()
        return exitcodes.USAGE


def command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (``run``), or None: for error documents."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--":
            return None
        if arg == "--lang":
            skip = True
            continue
        if arg.startswith("-"):
            continue
        return arg if arg in COMMAND_MODULES else None
    return None


def _main(argv: list[str]) -> int:
    from hhbatch.cli.run import normalize_argv

    _make_console_safe()
    redact.register_secret(os.environ.get(spec.ENV_API_KEY))  # no message may ever show it
    i18n.setup(argv)  # --lang, HHBATCH_LANG or the locale
    json_mode = wants_json(argv)
    command = command_of(argv)

    def fail(code: str, message: str, exit_code: int, *, echo: str = "") -> int:
        return _fail(json_mode, command, code, message, exit_code, echo=echo)

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
                return fail("usage_error", text.strip(), exitcodes.USAGE, echo=text)
            func = getattr(args, "func", None)
            if func is None:
                parser.print_help()
                return exitcodes.USAGE
            return int(func(args))
        except HhbatchError as err:
            message = redact.redact(failures.message_for(err))
            return fail(jsonout.error_code(err), message, exitcodes.for_error(err))
        except KeyboardInterrupt:
            return fail("interrupted", _("hhbatch: interrupted."), exitcodes.INTERRUPTED)
        except failures.Terminated:
            return fail(
                "terminated",
                _("hhbatch: stopped by SIGTERM; nothing is left half-done."),
                exitcodes.TERMINATED,
            )


def _fail(
    json_mode: bool,
    command: str | None,
    code: str,
    message: str,
    exit_code: int,
    *,
    echo: str = "",
) -> int:
    """A failure: the sentence on stderr (prefixed ``hhbatch:``), and under ``--json`` the error
    document on stdout too (with ``command`` and ``exitCode``, like every document), so a script
    reading stdout is never left with nothing."""
    if echo:
        sys.stderr.write(echo)
    else:
        text = message if message.startswith("hhbatch") else f"hhbatch: {message}"
        print(text, file=sys.stderr, flush=True)
    if json_mode:
        jsonout.emit(jsonout.error_document(code, message, command=command, exit_code=exit_code))
    return exit_code
