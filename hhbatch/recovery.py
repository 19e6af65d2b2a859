"""The results sheet is a record: what the batch journal does not know, the sheet may.

Why: the journal is hidden (``.hhbatch/``) and users lose it — a campaign folder copied to a
colleague's machine without hidden files, cleaned, synced, or a journal truncated to 0 bytes.
The results sheet beside the manifest is what they keep, and it holds every video id. So before
planning, every row the journal does not know is looked up in the results sheet (the default
results path, or ``--out``; for a workbook, the same sheet), and what it shows is adopted into the
journal: an id is a created video (polled, never created again), ``unknown`` / ``submitting``
stays unknown. Rows are paired by content (their fingerprint, as :mod:`hhbatch.identity` computes
it; identical rows as :mod:`hhbatch.twins` pairs them), so it does not matter whether the user
inserted or moved rows since.

A results row showing ``edited`` carries the *old* video of a row whose inputs changed; it is
adopted under a key no row has, so that the planner pairs it with its row as an edit (the same
path as a journal's own jobs), never as the new version's video.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hhbatch import errors, spec
from hhbatch import journal as j
from hhbatch.batchid import SINGLE_SHEET_FORMATS
from hhbatch.i18n import _
from hhbatch.identity import fingerprint

# Results-sheet statuses that mean a create may have reached the server without an id.
SHEET_MAYBE_CREATED = frozenset({"unknown", "submitting"})
SHEET_EDITED = "edited"
_SERVER_STATUSES = frozenset(spec.DOCUMENTED_STATUSES)


@dataclass
class SheetRecord:
    """What the results sheet told. ``found``: a results sheet was there and read."""

    found: bool
    adopted: int = 0


class RecordUnreadable(errors.JournalError):
    """The results sheet may hold ids the journal lost, but cannot be read."""


def adopt_results_sheet(
    journal: j.Journal,
    manifest: Any,
    results_path: Path,
    *,
    loader: Callable[..., Any],
    config: Any,
) -> SheetRecord:
    """Adopt into ``journal`` the creates the results sheet shows and the journal does not."""
    if not results_path.is_file():
        return SheetRecord(found=False)
    if _same_file(results_path, Path(manifest.path)):
        # Running on the results sheet itself: its rows carry their ids (``row.previous``).
        return SheetRecord(found=True)
    jobs = journal.jobs()
    wanted = Counter(fingerprint(row) for row in manifest.rows if row.valid)
    recorded = Counter(job.fingerprint for job in jobs.values())
    if jobs and all(recorded[fp] >= n for fp, n in wanted.items()):
        return SheetRecord(found=True)  # a record for every row: nothing to learn
    try:
        results = loader(
            results_path,
            sheet=None if manifest.format in SINGLE_SHEET_FORMATS else manifest.sheet_name,
            config=config,
            base_dir=Path(manifest.path).resolve().parent,
        )
    except errors.ManifestError as err:
        if getattr(err, "sheet", None):
            return SheetRecord(found=False)  # no such sheet in the results workbook (yet)
        if jobs:
            return SheetRecord(found=False)  # the journal is the record; the sheet adds nothing
        raise RecordUnreadable(
            _(
                "The results sheet {path} could not be read ({error}). It may hold the ids of "
                "videos already created, and the batch journal does not know them, so nothing "
                "was sent. Close it if another program has it open, or repair it, then run "
                "again."
            ).format(path=results_path, error=err)
        ) from err
    return SheetRecord(found=True, adopted=_adopt_rows(journal, results.rows, jobs))


def _adopt_rows(journal: j.Journal, rows: list[Any], jobs: dict[str, j.JobRecord]) -> int:
    """Identical rows (twins) are matched to records by :mod:`hhbatch.twins` whatever their key
    says, so an adopted record only needs a key of its fingerprint that no record uses yet."""
    known_ids = {job.video_id for job in jobs.values() if job.video_id}
    recorded = Counter(job.fingerprint for job in jobs.values())
    adopted = 0
    for row in rows:
        previous = row.previous or {}
        video_id = (previous.get("videoId") or "").strip() or None
        status = (previous.get("status") or "").strip()
        if video_id is None and status not in SHEET_MAYBE_CREATED:
            continue  # nothing was created from this row (or nothing the sheet knows)
        if video_id is not None and video_id in known_ids:
            continue
        fp = fingerprint(row) if row.valid else ""
        if video_id is None and (not fp or recorded[fp]):
            # No id to tell one create from another: the sheet's "unknown" is news only when
            # the journal has nothing at all of this request (it was lost).
            continue
        if video_id is not None and (not fp or status == SHEET_EDITED):
            # The video of an earlier version of the row (or of a row invalid now): the planner
            # pairs it with its row as an edit, never as the video of what the row says now.
            key, fp = f"sheet:{video_id}", ""
            if key in jobs:
                continue
        else:
            key = _free_key(fp, jobs)
        known: dict[str, Any] = {"request": dict(row.request) or None}
        if video_id is None:
            known["error"] = _(
                "The results sheet says this row's create got no answer ({status}), and the batch "
                "journal is not here to say more, so it was not submitted again. Check your "
                "HappyHorse dashboard, then rerun with --resubmit-unknown if it is not there."
            ).format(status=status)
            journal.adopt(key, fp, row.sheet_row, None, state=j.UNKNOWN, known=known)
        else:
            video_url = previous.get("videoUrl") or None
            known.update(
                status=status if status in _SERVER_STATUSES else None,
                video_url=video_url,
                thumbnail_url=previous.get("thumbnailUrl") or None,
                ready_at=previous.get("readyAt") or None,
            )
            # A video the sheet shows ready, with its link, is finished: ready is final, so
            # the plan counts it ready (not "still generating") and it is not polled, exactly
            # like a ready row the journal kept. Any other status is asked again.
            state = j.READY if status == spec.STATUS_READY and video_url else j.SUBMITTED
            journal.adopt(key, fp, row.sheet_row, video_id, state=state, known=known)
            known_ids.add(video_id)
        jobs[key] = j.JobRecord(
            key, fp, row.sheet_row, None, j.SUBMITTED, video_id, None, None, None, None, None, 1,
            None, None,
        )  # fmt: skip
        adopted += 1
    return adopted


def _free_key(fp: str, jobs: dict[str, j.JobRecord]) -> str:
    n = 1
    while f"{fp}#{n}" in jobs:
        n += 1
    return f"{fp}#{n}"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or a.samefile(b)
    except OSError:
        return False
