"""Turning plans, progress and reports into what a person reads on a terminal."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

from tqdm import tqdm

from hhbatch import caps
from hhbatch import plan as p
from hhbatch.i18n import _
from hhbatch.plan import Plan, RowPlan, UploadNeed
from hhbatch.workflow import RunReport


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


def plan_lines(plan: Plan, manifest_path: Path, sheet_name: str) -> list[str]:
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
    ]
    capped = plan.spend.capped if plan.spend else 0
    counts[p.LATER] = counts.get(p.LATER, 0) - capped  # rows a spend cap held back: below
    for action, label, hint in skipped:
        if counts.get(action):
            lines.append(_plan_line(label, counts[action], _("({hint})").format(hint=hint)))
    lines.extend(caps.plan_lines(plan.spend, _plan_line))
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


def resume_command(argv: list[str], *, windows: bool | None = None) -> str:
    """The command that continues this batch, without flags that only made sense once, quoted
    for the shell the user has (cmd/PowerShell quoting differs from POSIX quoting)."""
    drop = {"--dry-run", "--retry-failed", "--resubmit-unknown", "--resubmit-edited", "--again"}
    kept = [a for a in argv if a not in drop]
    if windows if windows is not None else os.name == "nt":
        return subprocess.list2cmdline(["hhbatch", *kept])
    return "hhbatch " + " ".join(shlex.quote(a) for a in kept)


def summary_lines(report: RunReport) -> list[str]:
    from hhbatch.report import status_label

    lines = ["", _("Summary:")]
    for status, count in sorted(report.counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {pad(status_label(status), 18)} {count:>6}")
    if report.output_path is not None:
        lines.append(_("Results: {path}").format(path=report.output_path))
    lines.extend(loss_lines(report.losses))
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


def report_json(report: RunReport, plan: Plan) -> str:
    data: dict[str, Any] = {
        "counts": report.counts,
        "output": str(report.output_path) if report.output_path else None,
        "interrupted": report.interrupted,
        "timedOut": report.timed_out,
        "polls": report.polls,
        "elapsedSec": round(report.elapsed, 3),
        "plan": plan.counts(),
        "uploads": len(plan.uploads),
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
    }
    if plan.spend is not None:
        data["spend"] = caps.to_json(plan.spend)
    if report.submit is not None:
        data["outOfCredits"] = report.submit.out_of_credits
    if report.losses:
        data["losses"] = report.losses
    if report.write_error:
        data["error"] = {"code": "results_not_written", "message": report.write_error}
    return json.dumps(data, ensure_ascii=False, indent=2)


class TqdmProgress:
    """Progress bars on a terminal, silence elsewhere (a pipe, CI, a log file)."""

    def __init__(self, plan: Plan, *, enabled: bool | None = None, submitting: bool = True) -> None:
        """``submitting=False`` (``hhbatch status``): only the videos already generating can
        finish, so the bars count those and not rows that would be submitted by a run."""
        enabled = sys.stderr.isatty() if enabled is None else enabled
        common = {"file": sys.stderr, "disable": not enabled, "leave": True, "dynamic_ncols": True}
        self._upload_bar = tqdm(
            total=plan.upload_bytes, desc=_("upload"), unit="B", unit_scale=True, **common
        )
        to_submit = len(plan.to_submit) if submitting else 0
        self._submit_bar = tqdm(total=to_submit, desc=_("submitted"), unit="row", **common)
        in_flight = to_submit + len(plan.by_action(p.WAIT))
        self._finish_bar = tqdm(total=in_flight, desc=_("finished"), unit="row", **common)
        self._ready = 0
        self._failed = 0
        # The latest status of each video still generating: shown, including ones the API page
        # does not list (they count as in progress).
        self._generating: dict[str, str] = {}

    def upload_progress(self, nbytes: int) -> None:
        self._upload_bar.update(nbytes)

    def upload_done(self, need: UploadNeed) -> None:
        pass

    def submitted(self, rp: RowPlan, outcome: str) -> None:
        self._submit_bar.update(1)
        if outcome != "created":
            self._finish_bar.total = max(0, (self._finish_bar.total or 0) - 1)
            self._finish_bar.refresh()

    def finished(self, row_key: str, status: str) -> None:
        if status == "ready":
            self._ready += 1
        else:
            self._failed += 1
        self._generating.pop(row_key, None)
        self._show_statuses()
        self._finish_bar.update(1)

    def status_seen(self, row_key: str, status: str) -> None:
        self._generating[row_key] = status or "?"
        self._show_statuses()
        self._finish_bar.refresh()

    def _show_statuses(self) -> None:
        from hhbatch.report import status_label

        shown: dict[str, int] = {
            status_label("ready"): self._ready,
            status_label("failed"): self._failed,
        }
        for status in sorted(set(self._generating.values())):
            shown[status_label(status)] = sum(1 for s in self._generating.values() if s == status)
        self._finish_bar.set_postfix(ordered_dict=shown, refresh=False)

    def message(self, text: str) -> None:
        tqdm.write(text, file=sys.stderr)

    def close(self) -> None:
        for bar in (self._upload_bar, self._submit_bar, self._finish_bar):
            bar.close()


_PROMPT_SHOWN = 80  # characters of the sample prompt in the plan


def source_lines(manifest: Any, losses: list[str] | tuple[str, ...] = ()) -> list[str]:
    """How the manifest was read, before anything is spent: a text file's encoding and one
    prompt exactly as it will be sent (mojibake shows here, not on the invoice), then what the
    results copy cannot keep."""
    from hhbatch.loader.encoding import BOM, CERTAIN, DETECTED, GIVEN, label

    lines = []
    if manifest.format == "csv" and manifest.csv_encoding:
        how = {
            GIVEN: _("as given by --encoding or hhbatch.yaml"),
            BOM: _("marked in the file"),
            CERTAIN: _("certain"),
            DETECTED: _("detected"),
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
            if manifest.csv_encoding_how == DETECTED:
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
