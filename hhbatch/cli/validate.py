"""``hhbatch validate``: check a manifest without sending anything; render, never decide.

The verdicts and the figures come from :mod:`hhbatch.loader` (``load_manifest`` and
``summarize``); this module only turns them into lines, JSON, an annotated copy and an exit code.
"""

from __future__ import annotations

import argparse
import functools
import re
import textwrap
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hhbatch import spec
from hhbatch.cli import exitcodes
from hhbatch.cli.jsonout import emit
from hhbatch.cli.options import add_encoding_option
from hhbatch.cli.render import source_lines
from hhbatch.columns import VALIDATION_COLUMN, header_for
from hhbatch.config import CONFIG_FILENAME, load_config
from hhbatch.errors import UsageError
from hhbatch.i18n import _, current_language
from hhbatch.loader.filetypes import extensions_for, human_size
from hhbatch.loader.headers import (
    KEY_TO_FILE_COLUMN,
    MANIFEST_FIELDS,
    chinese_header,
    english_header,
)

if TYPE_CHECKING:
    from hhbatch.loader import Manifest, Summary

_HELP_WIDTH = 96


_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"


@functools.cache
def _tokens() -> re.Pattern[str]:
    """Compiled when Chinese help is wrapped, not at every start (5 ms: the ranges are wide)."""
    return re.compile(rf"[{_WIDE}]|[^\s{_WIDE}]+|\s+")


_NO_LINE_START = "，。、；：！？）」』”"  # Chinese punctuation never begins a line


def wrap(text: str, width: int = _HELP_WIDTH, first: str = "", rest: str = "") -> list[str]:
    """``textwrap.wrap`` in English; Chinese has no spaces to break at and each character takes
    two terminal columns, so it is cut by display width instead (never before punctuation)."""
    if current_language() != "zh":
        return textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest)
    lines: list[str] = []
    line, used = first, len(first)
    for token in _tokens().findall(text):  # a CJK character, a word, or a run of spaces
        size = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in token)
        if used + size > width and token[0] not in _NO_LINE_START and line.strip():
            lines.append(line.rstrip())
            line, used = rest, len(rest)
            if token.isspace():
                continue
        line += token
        used += size
    return [*lines, line.rstrip()]


def fill(text: str, width: int = _HELP_WIDTH) -> str:
    return "\n".join(wrap(text, width))


FORMAT_INTRO = """\
manifest format:
  One row per video. The first non-empty row holds the headers; headers may be the API's
  names (durationSec), plain English or Chinese, in any case. Columns hhbatch does not
  know are kept and come back in the results sheet."""

FORMAT_EXAMPLE = """\
  example (campaign.xlsx or campaign.csv):
    Prompt                      | Duration (s) | Aspect ratio | Resolution | Source image
    A horse gallops on a beach  | 6            | 16:9         | 1080p      |
    产品在桌面上缓缓旋转        | 8            | 9:16         | 720p       | img/shoe.png"""

FORMAT_COLUMNS = "  columns (English / 中文 / API name: what is allowed):"

FORMAT_FOOTER = """\
  Files are checked before anything is sent: they must exist, fit the size limit of
  their kind and really be the type their extension says. Web links are refused (the
  API takes uploads only). Defaults and extra header names can be set in
  {config} beside the sheet. Templates: templates/campaign.xlsx (English),
  templates/campaign.zh.xlsx (中文), templates/campaign.csv."""


def _file_allowed(key: str, kind: spec.UploadKind) -> str:
    if kind.name[0] in "aeiou":
        text = _(
            "path of an {kind} file ({extensions}, at most {megabytes} MB) relative to the "
            "sheet's folder, or an existing storage key ({prefix}...)"
        )
    else:
        text = _(
            "path of a {kind} file ({extensions}, at most {megabytes} MB) relative to the "
            "sheet's folder, or an existing storage key ({prefix}...)"
        )
    allowed = text.format(
        kind=kind.name,
        extensions=extensions_for(kind.name),
        megabytes=kind.max_megabytes,
        prefix=spec.STORAGE_KEY_PREFIX,
    )
    for pair in spec.MUTUALLY_EXCLUSIVE:
        if key in pair:
            other = next(k for k in pair if k != key)
            allowed = _("{allowed}; not together with {other}").format(
                allowed=allowed, other=KEY_TO_FILE_COLUMN.get(other, other)
            )
    return allowed


def manifest_format_help() -> str:
    """The manifest format, taught with an example; built from spec so it never goes stale."""
    lines = [*_(FORMAT_INTRO).split("\n"), "", *_(FORMAT_EXAMPLE).split("\n"), ""]
    lines.append(_(FORMAT_COLUMNS))
    for name in MANIFEST_FIELDS:
        key = spec.FILE_COLUMNS.get(name, name)
        field = spec.CREATE_FIELDS[key]
        if name in spec.FILE_COLUMNS:
            kind = spec.UPLOAD_KINDS[field.upload_kind or spec.DEFAULT_UPLOAD_KIND]
            allowed = _file_allowed(key, kind)
        else:
            allowed = field.allowed_text()
            if field.default is not None:
                allowed = _("{allowed} (default {default})").format(
                    allowed=allowed, default=field.default
                )
        if field.required:
            allowed = _("required: {allowed}").format(allowed=allowed)
        entry = f"{english_header(name)} / {chinese_header(name)} / {name}: {allowed}"
        lines += wrap(entry, first="    ", rest="        ")
    lines += _(FORMAT_FOOTER).format(config=CONFIG_FILENAME).split("\n")
    return "\n".join(lines)


EPILOG_EXAMPLES = """
examples:
  hhbatch validate campaign.xlsx
  hhbatch validate campaign.csv --encoding cp1252
  hhbatch validate campaign.xlsx --sheet "May launch" --out checked.xlsx
  hhbatch validate campaign.csv --json

exit codes: 0 every row valid, 1 some rows invalid, 2 the file cannot be used at all.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help=_("check a manifest against the API's rules without sending anything"),
        description=fill(
            _(
                "Check every row and every file of a manifest against the API's documented "
                "limits, print every problem (sheet, cell, column, value, what is allowed) and a "
                "summary (rows valid and invalid, seconds of video per resolution, files to "
                "upload). Nothing is sent and no credit is spent."
            )
        ),
        epilog=manifest_format_help() + "\n" + _(EPILOG_EXAMPLES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "manifest", type=Path, metavar="MANIFEST", help=_(".xlsx, .xlsm, .ods, .xls, .csv or .txt")
    )
    parser.add_argument("--sheet", metavar="NAME", help=_("sheet to read (default: first visible)"))
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=_("settings file (default: {file} beside the manifest, if any)").format(
            file=CONFIG_FILENAME
        ),
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help=_("write a copy of the sheet with an error column and the bad cells highlighted"),
    )
    add_encoding_option(parser)
    parser.add_argument("--json", action="store_true", help=_("print the report as JSON"))
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from hhbatch.loader import load_manifest, summarize  # the readers: not for --help

    config = load_config(args.config, args.manifest)
    if args.out is not None and args.out.resolve() == args.manifest.resolve():
        raise UsageError(_("--out must name a new file; hhbatch never overwrites your manifest."))
    manifest = load_manifest(args.manifest, sheet=args.sheet, config=config, encoding=args.encoding)
    summary = summarize(manifest)
    losses: list[str] = []
    written = None
    if args.out is not None:
        written, losses = write_annotated(manifest, args.out)
    code = exitcodes.OK if manifest.valid else exitcodes.ROWS_NOT_OK
    if args.json:
        document = report_dict(manifest, summary, written, losses)
        emit({"command": "validate", **document, "exitCode": code})
    else:
        print(render_text(manifest, summary, written, losses))
    return code


def write_annotated(manifest: Manifest, dest: Path) -> tuple[Path, list[str]]:
    """A copy of the sheet: one error column, and each bad cell filled and commented; and the
    sentences naming what the copy could not keep."""
    from hhbatch.output import CellNote, OutputCell, SheetWriter

    header = header_for(VALIDATION_COLUMN, manifest.language)
    index_of = {column.letter: column.index for column in manifest.columns}
    rows: dict[int, dict[str, OutputCell]] = {}
    notes: list[CellNote] = []
    for row in manifest.rows:
        messages = [p.message for p in row.errors]
        rows[row.sheet_row] = {header: OutputCell("\n".join(messages) if messages else None)}
        for problem in row.errors:
            letter = (problem.cell or "").rstrip("0123456789")
            if letter in index_of:
                notes.append(CellNote(row.sheet_row, index_of[letter], problem.message))
    writer = SheetWriter(manifest)
    return writer.write(dest, [header], rows, notes), list(getattr(writer, "losses", []))


def report_dict(
    manifest: Manifest, summary: Summary, written: Path | None, losses: list[str] | None = None
) -> dict[str, Any]:
    return {
        "manifest": {
            "path": str(manifest.path),
            "format": manifest.format,
            "sheet": manifest.sheet_name,
            "headerRow": manifest.header_row,
            "language": manifest.language,
            "csvEncoding": manifest.csv_encoding,
            "csvEncodingHow": manifest.csv_encoding_how,
            "csvDelimiter": manifest.csv_delimiter,
            "columns": [
                {
                    "letter": c.letter,
                    "header": c.header,
                    "field": c.field,
                    "output": c.output.name if c.output else None,
                }
                for c in manifest.columns
            ],
        },
        "valid": manifest.valid,
        "problems": [p.to_dict() for p in manifest.all_problems()],
        "summary": summary.to_dict(),
        "output": str(written) if written is not None else None,
        "losses": list(losses or []),
    }


def _counted(count: int, one: str, many: str) -> str:
    """``one``/``many`` are whole translated messages with ``{count}`` (no pasted-on "s")."""
    return (one if count == 1 else many).format(count=count)


def _rows(count: int) -> str:
    return _counted(count, _("{count} row"), _("{count} rows"))


def _errors(count: int) -> str:
    return _counted(count, _("{count} error"), _("{count} errors"))


def _warnings(count: int) -> str:
    return _counted(count, _("{count} warning"), _("{count} warnings"))


def _videos(count: int) -> str:
    return _counted(count, _("{count} video"), _("{count} videos"))


def _files_of_kind(kind: str, count: int) -> str:
    """``2 images``, ``1 video``, ``3 audio files`` (``2 张图片`` …): the kind in words."""
    if kind == "image":
        return _counted(count, _("{count} image"), _("{count} images"))
    if kind == "video":
        return _videos(count)
    if kind == "audio":
        return _counted(count, _("{count} audio file"), _("{count} audio files"))
    return _counted(count, _("{count} file"), _("{count} files"))


def render_text(
    manifest: Manifest, summary: Summary, written: Path | None, losses: list[str] | None = None
) -> str:
    lines = []
    for problem in manifest.all_problems():
        if problem.is_error:
            lines.append(problem.message)
        else:
            lines.append(_("warning: {message}").format(message=problem.message))
    if lines:
        lines.append("")
    where = _("{file}, sheet {sheet}").format(
        file=manifest.path.name, sheet=repr(manifest.sheet_name)
    )
    if manifest.format == "csv":
        where = f"{manifest.path.name} ({manifest.csv_encoding}, {manifest.csv_delimiter!r})"
    lines.append(
        _("{where}: {rows}, {valid} valid, {invalid} invalid ({errors}, {warnings}).").format(
            where=where,
            rows=_rows(summary.rows_total),
            valid=summary.rows_valid,
            invalid=summary.rows_invalid,
            errors=_errors(summary.errors),
            warnings=_warnings(summary.warnings),
        )
    )
    counts = summary.videos_by_resolution
    video = [
        _("{seconds} s at {resolution} ({videos})").format(
            seconds=seconds, resolution=resolution, videos=_videos(counts[resolution])
        )
        for resolution, seconds in summary.seconds_by_resolution.items()
        if counts.get(resolution)
    ]
    total = sum(summary.seconds_by_resolution.values())
    if video:
        lines.append(
            _("Video to generate: {total} s = {parts}.").format(
                total=total, parts=_(", ").join(video)
            )
        )
    else:
        lines.append(_("Video to generate: {total} s.").format(total=total))
    if summary.rows_skipped:
        lines.append(
            _(
                "{count} row(s) marked in the Skip column (such as the template's examples) "
                "are not checked and never submitted."
            ).format(count=summary.rows_skipped)
        )
    uploads = _("Files to upload: {count}").format(count=summary.files_to_upload)
    if summary.files_to_upload:
        kinds = _(", ").join(
            _files_of_kind(kind, n) for kind, n in sorted(summary.uploads_by_kind.items())
        )
        uploads = _("{uploads} ({kinds}), {size} in total").format(
            uploads=uploads, kinds=kinds, size=human_size(summary.upload_bytes)
        )
    if summary.storage_keys_reused:
        reused = summary.storage_keys_reused
        keys = _counted(
            reused, _("{count} existing storage key"), _("{count} existing storage keys")
        )
        uploads = _("{uploads}; {keys} reused").format(uploads=uploads, keys=keys)
    lines.append(_("{text}.").format(text=uploads))
    lines.extend(line.strip() for line in source_lines(manifest, losses or []))
    if written is not None:
        lines.append(_("Annotated copy written to {path}.").format(path=written))
    if manifest.valid:
        lines.append(_("Every row is valid."))
    else:
        lines.append(_("Fix the problems above and run 'hhbatch validate' again."))
    return "\n".join(lines)
