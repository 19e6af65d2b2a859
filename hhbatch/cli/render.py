"""Turning plans, progress and reports into what a person reads on a terminal."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hhbatch.i18n import _

if TYPE_CHECKING:  # the run's machinery loads with the run, not with `hhbatch validate`
    from hhbatch.plan import Plan, RowPlan, UploadNeed
    from hhbatch.workflow import RunReport

ROWS_SHOWN = 8  # sheet rows listed by number before "(+N more)"
STATUS_INTERVAL_ENV = "HHBATCH_STATUS_INTERVAL"
DEFAULT_STATUS_INTERVAL = 15.0  # within the 10-30 s a CI log's "no output" watchdog tolerates


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover


def display_width(text: str) -> int:
    """Columns a terminal gives ``text``: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns (``str.ljust`` for English)."""
    return text + " " * max(0, width - display_width(text))


def _plan_line(label: str, count: int | str, extra: str = "") -> str:
    line = f"  {pad(label, 25)} {count:>6}"
    return f"{line}   {extra}" if extra else line


def rows_text(rows: list[int], limit: int = ROWS_SHOWN) -> str:
    """``4, 9, 12`` or ``4, 9, 12, … (+3 more)``: sheet row numbers a person can find."""
    shown = ", ".join(str(r) for r in rows[:limit])
    if len(rows) > limit:
        shown = _("{rows} … (+{count} more)").format(rows=shown, count=len(rows) - limit)
    return shown


def rows_spec(rows: list[int]) -> str:
    """``5,7-9``: the rows as ``--resubmit-unknown`` takes them (ranges folded)."""
    parts: list[str] = []
    ordered = sorted(set(rows))
    index = 0
    while index < len(ordered):
        first = last = ordered[index]
        while index + 1 < len(ordered) and ordered[index + 1] == last + 1:
            index += 1
            last = ordered[index]
        parts.append(str(first) if first == last else f"{first}-{last}")
        index += 1
    return ",".join(parts)


def plan_lines(plan: Plan, manifest_path: Path, sheet_name: str) -> list[str]:
    # (not at import: a plan brings the journal, sqlite3 … which `hhbatch validate` never needs)
    from hhbatch import caps
    from hhbatch import plan as p

    counts = plan.counts()
    seconds = plan.seconds_by_resolution()
    secs = _(", ").join(
        _("{resolution} {seconds} s").format(resolution=res, seconds=sec)
        for res, sec in sorted(seconds.items())
    ) or _("none")
    uploads = _("{size}; {reused} already uploaded and reused").format(
        size=human_bytes(plan.upload_bytes), reused=plan.uploads_reused
    )
    lines = [
        _("Plan for {file} (sheet {sheet}):").format(
            file=manifest_path.name, sheet=repr(sheet_name)
        ),
        _plan_line(
            _("videos to create now"),
            counts.get(p.SUBMIT, 0),
            _("seconds of video: {seconds}").format(seconds=secs),
        ),
        _plan_line(_("files to upload"), len(plan.uploads), uploads),
        _plan_line(_("already ready"), counts.get(p.DONE, 0)),
        _plan_line(_("still generating"), counts.get(p.WAIT, 0), _("(will be checked)")),
    ]
    skipped = [
        (p.INVALID, _("skipped, invalid"), _("fix the cells listed above")),
        (p.FAILED, _("skipped, failed before"), _("--retry-failed submits them again")),
        (p.UNKNOWN, _("skipped, outcome unknown"), _("--resubmit-unknown submits them again")),
        (p.EDITED, _("skipped, edited after"), _("--resubmit-edited submits the edited rows")),
        (p.LATER, _("left for a later run"), _("because of --limit")),
        (
            p.SKIPPED,
            _("skipped, marked to skip"),
            _("examples or rows marked in the Skip column; never submitted"),
        ),
    ]
    capped = plan.spend.capped if plan.spend else 0
    counts[p.LATER] = counts.get(p.LATER, 0) - capped  # rows a spend cap held back: below
    for action, label, hint in skipped:
        if counts.get(action):
            lines.append(_plan_line(label, counts[action], _("({hint})").format(hint=hint)))
    lines.extend(caps.plan_lines(plan.spend, _plan_line))
    unknown = [rp.row.sheet_row for rp in plan.by_action(p.UNKNOWN)]
    if unknown:
        lines.append("  " + _("outcome unknown: rows {rows}").format(rows=rows_text(unknown)))
    if plan.recovered_unknown:
        lines.append(
            "  "
            + _(
                "{count} row(s) were being created when a previous run stopped; their outcome "
                "is unknown and they were not resubmitted."
            ).format(count=plan.recovered_unknown)
        )
    return lines


def invalid_lines(plan: Plan, limit: int = 50) -> list[str]:
    from hhbatch import plan as p

    messages = []
    for rp in plan.by_action(p.INVALID):
        messages.extend(problem.message for problem in rp.row.problems if problem.is_error)
    shown = messages[:limit]
    if len(messages) > limit:
        shown.append(
            _("... and {count} more (see the error column of the sheet)").format(
                count=len(messages) - limit
            )
        )
    return shown


# ``--resubmit-unknown ROWS``: sheet rows and ranges, e.g. 5,7-9
ROWS_PATTERN = re.compile(r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$")


def resume_command(argv: list[str], *, windows: bool | None = None) -> str:
    """The command that continues this batch, without flags that only made sense once, quoted
    for the shell the user has (cmd/PowerShell quoting differs from POSIX quoting)."""
    return command_line(_without_one_shot_flags(argv), windows=windows)


def command_line(argv: list[str], *, windows: bool | None = None) -> str:
    """``hhbatch`` followed by ``argv``, quoted for the user's shell."""
    if windows if windows is not None else os.name == "nt":
        return subprocess.list2cmdline(["hhbatch", *argv])
    return "hhbatch " + " ".join(shlex.quote(a) for a in argv)


def _without_one_shot_flags(argv: list[str]) -> list[str]:
    drop = {"--dry-run", "--retry-failed", "--resubmit-unknown", "--resubmit-edited", "--again"}
    kept: list[str] = []
    skip_rows = False
    for arg in argv:
        if skip_rows:
            skip_rows = False
            if ROWS_PATTERN.match(arg) or arg == "all":
                continue
        if arg.startswith("--resubmit-unknown="):
            continue
        if arg in drop:
            skip_rows = arg == "--resubmit-unknown"
            continue
        kept.append(arg)
    return kept


@dataclass
class NextContext:
    """What the "next" commands need to know about how this batch was run."""

    manifest: str  # as the user typed it
    options: list[str] = field(default_factory=list)  # --sheet/--out/--config as given
    sandbox: bool = False
    results: Path | None = None  # the results sheet written


def next_steps(report: RunReport, ctx: NextContext) -> list[tuple[str, str]]:
    """(command, what it does) for what a person would do next after this run or status."""
    # the reconciler (asyncio) loads with a run, not with `hhbatch --help` or `validate`
    from hhbatch.reconciler import (
        SETTLED_STATUSES,
        SHEET_FAILED,
        SHEET_INVALID,
        SHEET_NOT_SUBMITTED,
        SHEET_UNKNOWN,
    )

    counts = report.counts
    steps: list[tuple[str, str]] = []
    generating = sum(n for status, n in counts.items() if status not in SETTLED_STATUSES)
    if ctx.sandbox:
        if ctx.results is not None:
            steps.append(
                (
                    command_line(["report", str(ctx.results)]),
                    _("review the rehearsal's rows in a browser page"),
                )
            )
        steps.append(
            (
                command_line(["run", ctx.manifest, *ctx.options]),
                _("create the videos for real (needs HAPPYHORSE_API_KEY)"),
            )
        )
        return steps
    run = ["run", ctx.manifest, *ctx.options]
    if generating:
        # first: after --no-wait (or a wait cut short) the videos are not done yet
        steps.append(
            (
                command_line(["status", ctx.manifest, *ctx.options]),
                _("check the {count} video(s) still generating and update the results").format(
                    count=generating
                ),
            )
        )
    if counts.get(SHEET_FAILED):
        steps.append(
            (
                command_line([*run, "--retry-failed"]),
                _("submit the {count} failed row(s) again").format(count=counts[SHEET_FAILED]),
            )
        )
    unknown = rows_with(report, SHEET_UNKNOWN)
    if unknown:
        steps.append(
            (
                command_line([*run, "--resubmit-unknown", rows_spec(unknown)]),
                _("only for videos your HappyHorse dashboard does not show (may charge twice)"),
            )
        )
    if counts.get(SHEET_INVALID):
        steps.append((command_line(run), _("after fixing the invalid rows in the sheet")))
    elif counts.get(SHEET_NOT_SUBMITTED):
        steps.append((command_line(run), _("submit the rows not submitted yet")))
    if counts.get("ready"):
        download = ["download", ctx.manifest, *ctx.options]
        steps.append(
            (
                command_line(download),
                _("fetch the {count} ready video(s) into a folder").format(count=counts["ready"]),
            )
        )
    if report.results:
        report_options = [o for o in _pairs(ctx.options) if o[0] != "--out"]
        steps.append(
            (
                command_line(["report", ctx.manifest, *[x for o in report_options for x in o]]),
                _("review every row and its video in a browser page"),
            )
        )
    return steps


def _pairs(options: list[str]) -> list[tuple[str, str]]:
    return [(options[i], options[i + 1]) for i in range(0, len(options) - 1, 2)]


def rows_with(report: RunReport, status: str) -> list[int]:
    return sorted(row for row, result in report.results.items() if result.status == status)


# Statuses whose rows are listed by number in the summary: those a person must look at.


def elsewhere_lines(report: RunReport) -> list[str]:
    """Rows another run (a copy of the sheet) created at the same moment: not sent here."""
    submit = report.submit
    if submit is None:
        return []
    lines = []
    if submit.held_elsewhere:
        lines.append(
            _(
                "Rows {rows}: another run (a copy of this sheet?) was creating the same videos at "
                "the same moment, so they were not sent twice and nothing was charged for them "
                "here. Run again later to pick up its videos."
            ).format(rows=rows_text(sorted(submit.held_elsewhere)))
        )
    if submit.adopted_elsewhere:
        lines.append(
            _(
                "Rows {rows}: another run had just created the same videos; they are shown here, "
                "not created again (--again creates new ones)."
            ).format(rows=rows_text(sorted(submit.adopted_elsewhere)))
        )
    return lines


def summary_lines(report: RunReport, ctx: NextContext | None = None) -> list[str]:
    """Counts by status, the rows that need a look (by sheet row), and what to do next."""
    # the reconciler (asyncio) loads with a run, not with `hhbatch --help` or `validate`
    from hhbatch.reconciler import (
        SHEET_EDITED,
        SHEET_FAILED,
        SHEET_INVALID,
        SHEET_NOT_SUBMITTED,
        SHEET_UNKNOWN,
    )

    listed = (SHEET_FAILED, SHEET_INVALID, SHEET_UNKNOWN, SHEET_NOT_SUBMITTED, SHEET_EDITED)
    from hhbatch.report import status_label

    lines = ["", _("Summary:")]
    for status, count in sorted(report.counts.items(), key=lambda kv: (-kv[1], kv[0])):
        line = f"  {pad(status_label(status), 18)} {count:>6}"
        if status in listed:
            rows = rows_with(report, status)
            label = _("row {rows}") if len(rows) == 1 else _("rows {rows}")
            line += "   " + label.format(rows=rows_text(rows))
        lines.append(line)
    if report.output_path is not None:
        lines.append(_("Results: {path}").format(path=report.output_path))
    lines.extend(loss_lines(report.losses))
    unknown = rows_with(report, SHEET_UNKNOWN)
    if len(unknown) == 1:
        lines.append(
            _(
                "Row {row}: the create request got no answer, so this video may or may not "
                "exist (and be charged). Look for it in your HappyHorse dashboard first; "
                "resubmit it with --resubmit-unknown {row} only if it is not there."
            ).format(row=unknown[0])
        )
    elif unknown:
        lines.append(
            _(
                "Rows {rows}: the create request got no answer, so each of these videos may or "
                "may not exist (and be charged). Look for them in your HappyHorse dashboard "
                "first; then resubmit only the missing ones with --resubmit-unknown ROWS."
            ).format(rows=rows_text(unknown))
        )
    lines.extend(elsewhere_lines(report))
    if ctx is not None:
        steps = next_steps(report, ctx)
        if steps:
            lines.append(_("Next:"))
            width = max(display_width(command) for command, _text in steps) + 3
            lines += [f"  {pad(command, width)}{text}" for command, text in steps]
    return lines


def loss_lines(losses: list[str]) -> list[str]:
    """What the results workbook cannot keep: in the plan (before spending) and the summary."""
    if not losses:
        return []
    return [_("The results workbook will not keep everything:"), *(f"  - {x}" for x in losses)]


def write_error_line(report: RunReport, manifest: Path) -> str:
    """A failed final write is never a success: where the results are, how to write them."""
    return _(
        "The results sheet could not be written: {reason} The results are safe in the journal; "
        "write the sheet again with: {command}"
    ).format(reason=report.write_error, command=resume_command(["status", str(manifest)]))


def plan_document(plan: Plan, batch_key: str | None = None) -> dict[str, Any]:
    """The plan as JSON: a count for every action (``submit``: videos to create), uploads, and
    the rows shown with a video this machine's record says was already created (``adopted``)."""
    from hhbatch import plan as p
    from hhbatch.cli.jsonout import camel_keys

    counts = {action: 0 for action in p.ACTIONS}
    counts.update(plan.counts())
    adopted = adopted_document(plan, batch_key)
    return {
        **camel_keys(counts),
        "uploads": len(plan.uploads),
        "uploadBytes": plan.upload_bytes,
        "uploadsReused": plan.uploads_reused,
        "secondsByResolution": plan.seconds_by_resolution(),
        "adopted": len(adopted),
        "adoptedRows": adopted,
    }


def adopted_document(plan: Plan, batch_key: str | None) -> list[dict[str, Any]]:
    """Each adopted row as the plan lines tell it: the row here, the video, and where and when
    it was created (``elsewhere``: from another file or folder, not this batch before its
    journal was lost)."""
    from datetime import datetime, timezone

    from hhbatch.ledger import history_status

    adopted = []
    for rp in plan.rows:
        entry = rp.adopted
        if entry is None:
            continue
        adopted.append(
            {
                "sheetRow": rp.row.sheet_row,
                "videoId": entry.video_id,
                "status": history_status(entry),
                "elsewhere": entry.batch_key != batch_key,
                "batch": entry.manifest,
                "sheet": entry.sheet,
                "row": entry.sheet_row,
                "createdAt": datetime.fromtimestamp(entry.when, tz=timezone.utc).isoformat(
                    timespec="seconds"
                ),
            }
        )
    return adopted


def dry_run_document(
    plan: Plan, manifest: Path, sheet: str, batch_key: str | None = None
) -> dict[str, Any]:
    return {
        "command": "run",
        "dryRun": True,
        "manifest": str(manifest),
        "sheet": sheet,
        "plan": plan_document(plan, batch_key),
        "rows": [
            {"sheetRow": rp.row.sheet_row, "action": rp.action, "note": rp.note} for rp in plan.rows
        ],
    }


def run_document(
    report: RunReport,
    plan: Plan,
    *,
    command: str = "run",
    ctx: NextContext | None = None,
    error: dict[str, str] | None = None,
    exit_code: int | None = None,
    batch_key: str | None = None,
) -> dict[str, Any]:
    """What ``run --json`` and ``status --json`` print: counts, rows, plan, what next."""
    from hhbatch import caps
    from hhbatch.cli.jsonout import camel_keys

    data: dict[str, Any] = {
        "command": command,
        "dryRun": False,
        "counts": camel_keys(report.counts),
        "output": str(report.output_path) if report.output_path else None,
        "interrupted": report.interrupted,
        "timedOut": report.timed_out,
        "outOfCredits": bool(report.submit is not None and report.submit.out_of_credits),
        "unreachable": report.unreachable is not None,
        # Sheet rows another run (a copy of the sheet) was creating, or had just created, at the
        # same moment: not sent by this run (hhbatch.ledger.Ledger.admit).
        "heldForAnotherRun": sorted(report.submit.held_elsewhere) if report.submit else [],
        "adoptedFromAnotherRun": sorted(report.submit.adopted_elsewhere) if report.submit else [],
        "polls": report.polls,
        "elapsedSec": round(report.elapsed, 3),
        "plan": plan_document(plan, batch_key),
        "rows": [
            {
                "sheetRow": row,
                "status": r.status,
                "videoId": r.video_id,
                "videoUrl": r.video_url,
                "error": r.error,
            }
            for row, r in sorted(report.results.items())
        ],
        "next": [command for command, _text in next_steps(report, ctx)] if ctx else [],
    }
    if plan.spend is not None:
        data["spend"] = caps.to_json(plan.spend)
    if report.losses:
        data["losses"] = report.losses
    if exit_code is not None:
        data["exitCode"] = exit_code
    if error is None and report.write_error:
        error = {"code": "results_not_written", "message": report.write_error}
    if error is not None:
        data["error"] = error
    return data


def status_interval() -> float:
    """Seconds between two status lines when output is not a terminal (CI logs, cron mail):
    ``HHBATCH_STATUS_INTERVAL`` when set to a positive number (tests), else 15."""
    try:
        value = float(os.environ.get(STATUS_INTERVAL_ENV, ""))
    except ValueError:
        return DEFAULT_STATUS_INTERVAL
    return value if value > 0 else DEFAULT_STATUS_INTERVAL


def elapsed_text(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TqdmProgress:
    """Progress bars on a terminal; elsewhere (a pipe, CI, a log file) one plain status line
    every :func:`status_interval` seconds while work goes on, so a long wait is never silent
    and a log gets one line per interval, not a redraw per video."""

    def __init__(
        self,
        plan: Plan,
        *,
        enabled: bool | None = None,
        submitting: bool = True,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``submitting=False`` (``hhbatch status``): only the videos already generating can
        finish, so there is one bar, counting those, and no upload or submit bar."""
        from tqdm import tqdm

        from hhbatch.plan import WAIT

        enabled = sys.stderr.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._clock = clock
        self._started = clock()
        self._upload_total = plan.upload_bytes if submitting else 0
        self._uploaded = 0
        self._to_submit = len(plan.to_submit) if submitting else 0
        self._sent = 0
        self._ready = 0
        self._failed = 0
        # The latest status of each video still generating: shown, including ones the API page
        # does not list (they count as in progress).
        self._generating: dict[str, str] = {}
        in_flight = self._to_submit + len(plan.by_action(WAIT))
        common = {"file": sys.stderr, "disable": not enabled, "leave": True, "dynamic_ncols": True}
        self._upload_bar = None
        self._submit_bar = None
        if submitting and self._upload_total:
            self._upload_bar = tqdm(
                total=self._upload_total, desc=_("upload"), unit="B", unit_scale=True, **common
            )
        if self._to_submit:
            self._submit_bar = tqdm(
                total=self._to_submit, desc=_("submitted"), unit="row", **common
            )
        self._finish_bar = None  # nothing to wait for: no bar at all, not an empty one
        if in_flight:
            self._finish_bar = tqdm(total=in_flight, desc=_("finished"), unit="row", **common)
        self._ticker: StatusTicker | None = None
        if not enabled:
            self._ticker = StatusTicker(interval or status_interval(), self.status_line)

    def upload_progress(self, nbytes: int) -> None:
        self._uploaded += nbytes
        if self._upload_bar is not None:
            self._upload_bar.update(nbytes)

    def upload_done(self, need: UploadNeed) -> None:
        pass

    def submitted(self, rp: RowPlan, outcome: str) -> None:
        """``created``, ``rejected`` and ``unknown`` reached the server; ``held`` did not (no
        connection, out of credits): it leaves both totals instead of counting as submitted.
        ``adopted`` was not sent either (another run had created the same request): it leaves
        the submitted total but stays in the finished one, as its video is polled."""
        if outcome in ("held", "adopted"):  # adopted: another run's video, polled here
            self._to_submit = max(0, self._to_submit - 1)
            if self._submit_bar is not None:
                self._submit_bar.total = max(0, (self._submit_bar.total or 0) - 1)
                self._submit_bar.refresh()
        else:
            self._sent += 1
            if self._submit_bar is not None:
                self._submit_bar.update(1)
        if outcome not in ("created", "adopted") and self._finish_bar is not None:
            self._finish_bar.total = max(0, (self._finish_bar.total or 0) - 1)
            self._finish_bar.refresh()

    def finished(self, row_key: str, status: str) -> None:
        with self._lock:
            if status == "ready":
                self._ready += 1
            else:
                self._failed += 1
            self._generating.pop(row_key, None)
        self._show_statuses()
        if self._finish_bar is not None:
            self._finish_bar.update(1)

    def status_seen(self, row_key: str, status: str) -> None:
        with self._lock:
            self._generating[row_key] = status or "?"
        self._show_statuses()
        if self._finish_bar is not None:
            self._finish_bar.refresh()

    def _counts(self) -> dict[str, int]:
        from hhbatch.report import status_label

        with self._lock:
            generating = list(self._generating.values())
            shown: dict[str, int] = {
                status_label("ready"): self._ready,
                status_label("failed"): self._failed,
            }
        for status in sorted(set(generating)):
            shown[status_label(status)] = generating.count(status)
        return shown

    def _show_statuses(self) -> None:
        if self._finish_bar is not None and not self._finish_bar.disable:
            self._finish_bar.set_postfix(ordered_dict=self._counts(), refresh=False)

    def status_line(self) -> str:
        """``hhbatch: 1:05 elapsed: submitted 12 of 50, ready 3, failed 0, processing 9``."""
        parts = []
        if self._upload_total:
            parts.append(
                _("uploaded {done} of {total}").format(
                    done=human_bytes(self._uploaded), total=human_bytes(self._upload_total)
                )
            )
        if self._to_submit:
            parts.append(
                _("submitted {done} of {total}").format(done=self._sent, total=self._to_submit)
            )
        parts += [f"{label} {count}" for label, count in self._counts().items()]
        return _("hhbatch: {elapsed} elapsed: {counts}").format(
            elapsed=elapsed_text(self._clock() - self._started), counts=_(", ").join(parts)
        )

    def message(self, text: str) -> None:
        from tqdm import tqdm

        tqdm.write(text, file=sys.stderr)

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        for bar in (self._upload_bar, self._submit_bar, self._finish_bar):
            if bar is not None:
                bar.close()


class StatusTicker:
    """A daemon thread printing ``line()`` on stderr every ``interval`` seconds until stopped.

    Why a thread: while every job is generating nothing happens on the event loop for minutes,
    and that is exactly when a CI log must still see a line. Flushed at once: a pipe is
    block-buffered and cron or CI do not set PYTHONUNBUFFERED."""

    def __init__(self, interval: float, line: Callable[[], str]) -> None:
        self._interval = interval
        self._line = line
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hhbatch-status", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                sys.stderr.write(self._line() + "\n")
                sys.stderr.flush()
            except (OSError, ValueError):  # the reader went away: the main thread will see it
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


_PROMPT_SHOWN = 80  # characters of the sample prompt in the plan


def source_lines(
    manifest: Any, losses: list[str] | tuple[str, ...] = (), *, unasked: bool = False
) -> list[str]:
    """How the manifest was read, before anything is spent: a text file's encoding and one
    prompt exactly as it will be sent (mojibake shows here, not on the invoice), then what the
    results copy cannot keep.

    ``unasked``: the run sends without a question (``--yes``), so "send nothing if it looks
    wrong" cannot be followed; the plan says instead that the encoding was a detection and how
    to pin it for the next unattended run."""
    from hhbatch.loader.encoding import BOM, CERTAIN, DETECTED, GIVEN, REMEMBERED, label

    lines = []
    if manifest.format == "csv" and manifest.csv_encoding:
        how = {
            GIVEN: _("as given by --encoding or hhbatch.yaml"),
            BOM: _("marked in the file"),
            CERTAIN: _("certain"),
            DETECTED: _("detected"),
            REMEMBERED: _("as an earlier run of this batch read this unchanged file"),
        }.get(manifest.csv_encoding_how or "", "")
        lines.append(
            "  "
            + _("text encoding: {encoding}, {how}").format(
                encoding=label(manifest.csv_encoding), how=how
            )
        )
        sample = _sample_prompt(manifest.rows)
        if sample is not None:
            row, text = sample
            if len(text) > _PROMPT_SHOWN:
                text = text[: _PROMPT_SHOWN - 1] + "…"
            lines.append(
                "  " + _("prompt of row {row} as read: {prompt}").format(row=row, prompt=text)
            )
            if manifest.csv_encoding_how == DETECTED and unasked:
                lines.append(
                    "  "
                    + _(
                        "--yes: sent without asking. This encoding was detected, not given; "
                        "to pin it for unattended runs, add --encoding {name} or put "
                        "'encoding: {name}' in hhbatch.yaml."
                    ).format(name=manifest.csv_encoding)
                )
            elif manifest.csv_encoding_how == DETECTED:
                lines.append(
                    "  "
                    + _(
                        "If its letters look wrong, send nothing: run again with the file's "
                        "encoding, e.g. --encoding cp1252 or --encoding gbk."
                    )
                )
    lines.extend("  " + loss for loss in losses)
    return lines


def _sample_prompt(rows: list[Any]) -> tuple[int, str] | None:
    """The first prompt with non-ASCII letters (where a wrong encoding shows), else the first."""
    first = None
    for row in rows:
        text = row.request.get("prompt")
        if not isinstance(text, str) or not text:
            continue
        if not text.isascii():
            return row.sheet_row, text
        if first is None:
            first = (row.sheet_row, text)
    return first
