"""``hhbatch download``: fetch the finished videos of a batch into a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hhbatch.cli import exitcodes
from hhbatch.cli.options import add_common_options, positive_int
from hhbatch.i18n import _

if TYPE_CHECKING:
    from hhbatch import download as d

# hhbatch.download (httpx) loads only when files are fetched, so its default is restated here
# for --help; tests/test_startup.py checks that the two agree.
DEFAULT_CONCURRENCY = 4

DESCRIPTION = """\
Download every ready video of MANIFEST (and its thumbnail, when there is one) into a folder,
by default <name>_videos/ beside the manifest. Files are named r<row>_<start of the prompt>.mp4,
or after the 'filename' column when the sheet has one. The results sheet gets a localFile column.

Run it again at any time: files already complete are skipped, half-downloaded ones are fetched
again. Works on the manifest or on its results sheet; needs no API key (the links are public).
"""

EPILOG = """\
examples:
  hhbatch download campaign.xlsx                 into campaign_videos/ beside the sheet
  hhbatch download campaign.xlsx --to D:\\clips   into another folder
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "download",
        help=_("download the ready videos and thumbnails into a folder (resumable)"),
        description=_(DESCRIPTION),
        epilog=_(EPILOG),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "manifest", type=Path, metavar="MANIFEST", help=_("the .xlsx/.xlsm/.ods/.xls/.csv/.txt")
    )
    parser.add_argument(
        "--to", type=Path, metavar="DIR", help=_("folder for the files (default <name>_videos)")
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=_("files fetched at once (default {n})").format(n=DEFAULT_CONCURRENCY),
    )
    add_common_options(parser)
    parser.add_argument(
        "--json", action="store_true", help=_("print the outcome as JSON on stdout")
    )
    parser.set_defaults(func=handle)


class TqdmDownload:
    """A byte progress bar whose total grows as each file's size becomes known."""

    def __init__(self, files: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=0,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=_("download"),
            file=sys.stderr,
        )
        self.failed: list[str] = []

    def expect(self, nbytes: int) -> None:
        self.bar.total = (self.bar.total or 0) + nbytes
        self.bar.refresh()

    def advance(self, nbytes: int) -> None:
        self.bar.update(nbytes)

    def file_done(self, job: d.FileJob, outcome: str, error: str | None) -> None:
        from hhbatch.download import FAILED

        if outcome == FAILED:
            self.bar.write(
                _("row {row}: {error}").format(row=job.sheet_row, error=error), file=sys.stderr
            )

    def close(self) -> None:
        self.bar.close()


def handle(args: argparse.Namespace) -> int:
    from hhbatch import download as d
    from hhbatch.workflow import RunOptions, prepare

    options = RunOptions(
        manifest=args.manifest,
        out=args.out,
        sheet=args.sheet,
        config_path=args.config,
        encoding=args.encoding,
    )
    with prepare(options, require_credentials=False) as batch:
        progress = TqdmDownload(len(batch.plan.rows))
        try:
            report = d.download_batch(batch, args.to, progress, concurrency=args.concurrency)
        finally:
            progress.close()
    code = exitcodes.ROWS_NOT_OK if report.failed_rows else exitcodes.OK
    if args.json:
        from hhbatch.cli.jsonout import emit

        emit(download_document(report, code))
    for line in summary_lines(report):
        print(line, file=sys.stderr, flush=True)
    return code


def download_document(report: d.DownloadReport, exit_code: int) -> dict[str, Any]:
    """What ``download --json`` prints: files by outcome, and each ready row's files."""
    from hhbatch import download as d
    from hhbatch.cli.jsonout import camel_keys

    counts = {d.DOWNLOADED: 0, d.SKIPPED: 0, d.FAILED: 0, **report.counts}
    return {
        "command": "download",
        "folder": str(report.folder),
        "output": str(report.output_path) if report.output_path else None,
        "counts": camel_keys(counts),
        "rows": [
            {
                "sheetRow": row.sheet_row,
                "video": str(row.video) if row.video else None,
                "thumbnail": str(row.thumbnail) if row.thumbnail else None,
                "error": row.error,
            }
            for _row, row in sorted(report.rows.items())
        ],
        "failedRows": report.failed_rows,
        "exitCode": exit_code,
    }


def summary_lines(report: d.DownloadReport) -> list[str]:
    from hhbatch import download as d

    counts = report.counts
    lines = [
        _(
            "{rows} ready row(s): {downloaded} file(s) downloaded, {skipped} already there, "
            "{failed} failed."
        ).format(
            rows=len(report.rows),
            downloaded=counts.get(d.DOWNLOADED, 0),
            skipped=counts.get(d.SKIPPED, 0),
            failed=counts.get(d.FAILED, 0),
        ),
        _("Files in {folder}").format(folder=report.folder),
    ]
    if report.output_path is not None:
        lines.append(
            _("Results sheet with a localFile column: {path}").format(path=report.output_path)
        )
    if report.failed_rows:
        rows = ", ".join(str(r) for r in report.failed_rows[:20])
        more = " ..." if len(report.failed_rows) > 20 else ""
        lines.append(
            _("Rows with a failed download: {rows}. Run the same command again.").format(
                rows=rows + more
            )
        )
    return lines
