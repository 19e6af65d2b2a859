"""``hhbatch download``: fetch the finished videos of a batch into a folder."""

from __future__ import annotations

import argparse
import sys
import time
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
    """A byte progress bar whose total grows as each file's size becomes known; without a
    terminal (a pipe, CI, a log file) no bar at all but one plain status line every
    :func:`~hhbatch.cli.render.status_interval` seconds, like ``run``: a log gets one line per
    interval, not a redraw per chunk, and a long download is never silent."""

    def __init__(
        self, files: int, *, enabled: bool | None = None, interval: float | None = None
    ) -> None:
        from tqdm import tqdm

        from hhbatch.cli.render import StatusTicker, status_interval

        enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bar = tqdm(
            total=0,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=_("download"),
            file=sys.stderr,
            disable=not enabled,
        )
        self.failed: list[str] = []
        self._started = time.monotonic()
        self._expected = 0
        self._received = 0
        self._files = 0
        self._ticker = None if enabled else StatusTicker(interval or status_interval(), self.line)

    def expect(self, nbytes: int) -> None:
        self._expected += nbytes
        self.bar.total = (self.bar.total or 0) + nbytes
        self.bar.refresh()

    def advance(self, nbytes: int) -> None:
        self._received += nbytes
        self.bar.update(nbytes)

    def file_done(self, job: d.FileJob, outcome: str, error: str | None) -> None:
        from hhbatch.download import FAILED

        self._files += 1
        if outcome == FAILED:
            text = _("row {row}: {error}").format(row=job.sheet_row, error=error)
            self.failed.append(text)
            if self.bar.disable:
                print(text, file=sys.stderr, flush=True)
            else:
                self.bar.write(text, file=sys.stderr)

    def line(self) -> str:
        """``hhbatch: 0:45 elapsed: downloaded 120.5 MB of 300.2 MB, 7 file(s) done``."""
        from hhbatch.cli.render import elapsed_text, human_bytes

        return _(
            "hhbatch: {elapsed} elapsed: downloaded {done} of {total}, {files} file(s) done"
        ).format(
            elapsed=elapsed_text(time.monotonic() - self._started),
            done=human_bytes(self._received),
            total=human_bytes(self._expected),
            files=self._files,
        )

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        self.bar.close()


def handle(args: argparse.Namespace) -> int:
    from hhbatch import download as d
    from hhbatch.workflow import RunOptions, is_sandbox_results, prepare, rehearsal_manifest

    options = RunOptions(
        manifest=args.manifest,
        out=args.out,
        sheet=args.sheet,
        config_path=args.config,
        encoding=args.encoding,
    )
    # A rehearsal's links point into its sandbox, gone since the rehearsal ended: one attempt
    # each is enough to tell, and the advice is to rehearse again, not to retry.
    rehearsal = (
        str(rehearsal_manifest(args.manifest)) if is_sandbox_results(args.manifest) else None
    )
    with prepare(options, require_credentials=False) as batch:
        progress = TqdmDownload(len(batch.plan.rows))
        try:
            report = d.download_batch(
                batch,
                args.to,
                progress,
                concurrency=args.concurrency,
                **({"attempts": 1} if rehearsal else {}),
            )
        finally:
            progress.close()
    code = exitcodes.ROWS_NOT_OK if report.failed_rows else exitcodes.OK
    if args.json:
        from hhbatch.cli.jsonout import emit

        emit(download_document(report, code))
    for line in summary_lines(report, rehearsal=rehearsal):
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


def summary_lines(report: d.DownloadReport, *, rehearsal: str | None = None) -> list[str]:
    """What the download did; ``rehearsal``: the manifest of a ``--sandbox`` rehearsal whose
    results sheet this was (its links died with the sandbox)."""
    from hhbatch import download as d
    from hhbatch.cli.render import command_line

    counts = report.counts
    if not report.rows:
        return [_("No video of this batch is ready yet: nothing was downloaded.")]
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
    ]
    on_disk = any(row.video or row.thumbnail for row in report.rows.values())
    if on_disk:
        lines.append(_("Files in {folder}").format(folder=report.folder))
    if report.output_path is not None:
        if on_disk:
            lines.append(
                _("Results sheet with a localFile column: {path}").format(path=report.output_path)
            )
        else:
            lines.append(_("Results: {path}").format(path=report.output_path))
    if report.failed_rows:
        rows = ", ".join(str(r) for r in report.failed_rows[:20])
        more = " ..." if len(report.failed_rows) > 20 else ""
        if rehearsal is not None:
            lines.append(
                _(
                    "Rows with a failed download: {rows}. These are videos of a --sandbox "
                    "rehearsal: they lived in its fake server, which stopped when the rehearsal "
                    "ended, so they can never be downloaded. To get a rehearsal's files, "
                    "rehearse again with --download, e.g. {command}"
                ).format(
                    rows=rows + more,
                    command=command_line(["run", rehearsal, "--sandbox", "--yes", "--download"]),
                )
            )
        else:
            lines.append(
                _("Rows with a failed download: {rows}. Run the same command again.").format(
                    rows=rows + more
                )
            )
    return lines
