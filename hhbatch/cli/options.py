"""Options and argument types that several commands share (run, status, download, report,
validate).

Why a module of their own: ``download`` needs ``run``'s options and ``run --download`` needs
``download``'s progress bar; with the options here the two no longer import each other.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hhbatch.i18n import _


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, metavar="PATH", help=_("results sheet (default <name>.results.xlsx)")
    )
    parser.add_argument("--sheet", metavar="NAME", help=_("sheet to read (default: first visible)"))
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=_("settings file (default hhbatch.yaml beside it)"),
    )
    add_encoding_option(parser)


def add_encoding_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--encoding",
        type=encoding_name,
        metavar="NAME",
        help=_(
            "text encoding of a CSV/TXT manifest when detection cannot tell "
            "(e.g. cp1252, gbk, big5, shift_jis, utf-8; or 'encoding:' in hhbatch.yaml)"
        ),
    )


def encoding_name(text: str) -> str:
    """An encoding Python can decode text with; anything else is a usage error (exit 2)."""
    from hhbatch.loader.encoding import check_encoding_name

    try:
        return check_encoding_name(text)
    except LookupError:
        raise argparse.ArgumentTypeError(
            _(
                "{name} is not a text encoding; use e.g. cp1252, gbk, big5, shift_jis or utf-8"
            ).format(name=repr(text))
        ) from None


def add_cap_options(parser: argparse.ArgumentParser) -> None:
    """Spend caps for one run (also max_videos / max_seconds / max_credits in hhbatch.yaml)."""
    parser.add_argument(
        "--max-videos",
        type=positive_int,
        metavar="N",
        help=_("create at most N videos this run; the rest wait for the next run"),
    )
    parser.add_argument(
        "--max-seconds",
        type=positive_int,
        metavar="S",
        help=_("create at most S seconds of video (total durationSec) this run"),
    )
    parser.add_argument(
        "--max-credits",
        type=positive_float,
        metavar="C",
        help=_("spend at most C credits this run (needs credits_per_second in hhbatch.yaml)"),
    )


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text} is not a number").format(text=repr(text))
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(_("{text} must be more than 0").format(text=text))
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text} is not a whole number").format(text=repr(text))
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(_("{text} must be 1 or more").format(text=text))
    return value
