"""What a run would do, computed as data before anything is sent (pip-tools' diff-then-sync).

``build_plan`` matches the manifest's rows to the journal and decides, for every row, one action.
``--dry-run`` prints the plan; ``run`` executes exactly the rows the plan says to submit.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from hhbatch import journal as j
from hhbatch import spec
from hhbatch.caps import Spend, SpendCaps, apply_caps
from hhbatch.i18n import _
from hhbatch.identity import fingerprint
from hhbatch.twins import assign_row_keys, twin_spans

# Row actions.
SUBMIT = "submit"  # will be created this run
WAIT = "wait"  # created earlier, still generating: poll it
DONE = "done"  # ready
FAILED = "failed"  # generation failed or the create was refused (see --retry-failed)
UNKNOWN = "unknown"  # a create whose outcome is unknown (see --resubmit-unknown)
INVALID = "invalid"  # the loader found problems: never sent
EDITED = "edited"  # inputs changed after the row was created: reported, not resubmitted
LATER = "later"  # eligible, but beyond --limit: the next run takes it
SKIPPED = "skipped"  # marked in the Skip / 跳过 column (template examples): never sent
ACTIONS = (SUBMIT, WAIT, DONE, FAILED, UNKNOWN, INVALID, EDITED, LATER, SKIPPED)

# Journal states that may have cost credits: an edit to such a row must not silently resubmit.
_CHARGED_STATES = frozenset({j.SUBMITTING, j.SUBMITTED, j.READY, j.FAILED, j.UNKNOWN})


@dataclass
class RowPlan:
    row: Any  # hhbatch.loader.ManifestRow
    action: str
    row_key: str | None = None
    fingerprint: str | None = None
    job: j.JobRecord | None = None  # the journal record this row matched, if any
    note: str | None = None  # why, for rows that are not submitted
    adopt_video_id: str | None = None  # a results-sheet id unknown to the journal
    adopted: Any = None  # a ledger create this row shows (hhbatch.adoption), not created again
    again_of: Any = None  # a ledger create this row repeats on purpose (--again)
    # A row new to this batch: when its create is admitted, another run (a copy of the sheet)
    # may have created the same request since this plan was made (hhbatch.ledger.Ledger.admit).
    check_elsewhere: bool = False
    racing: Any = None  # a ledger create of this request that another live run is sending now
    # The earlier job of an edited row that this create replaces (--resubmit-edited): marked
    # superseded with the create's intent, so it is never paired with another row again.
    supersedes: j.JobRecord | None = None


@dataclass
class UploadNeed:
    """One distinct file to upload (by content hash), and how many rows use it."""

    sha256: str
    kind: str
    content_type: str
    size: int
    path: Path
    rows: int = 0


@dataclass
class Plan:
    rows: list[RowPlan]
    uploads: list[UploadNeed] = field(default_factory=list)
    uploads_reused: int = 0  # distinct files needed but already uploaded by an earlier run
    recovered_unknown: int = 0  # rows found mid-create from a crashed run
    spend: Spend | None = None  # what the submitted rows spend; rows a cap held back

    def by_action(self, action: str) -> list[RowPlan]:
        return [r for r in self.rows if r.action == action]

    @property
    def to_submit(self) -> list[RowPlan]:
        return self.by_action(SUBMIT)

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.action for r in self.rows))

    def seconds_by_resolution(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for rp in self.to_submit:
            totals[str(rp.row.request.get("resolution", "720p"))] += int(
                rp.row.request.get("durationSec", 0)
            )
        return dict(totals)

    @property
    def upload_bytes(self) -> int:
        return sum(u.size for u in self.uploads)


@dataclass
class PlanOptions:
    retry_failed: bool = False
    resubmit_unknown: bool = False
    resubmit_edited: bool = False
    limit: int | None = None
    caps: SpendCaps = field(default_factory=SpendCaps)  # hhbatch.caps: --max-videos/seconds/credits
    prices: dict[str, float] | None = None  # credits per second by resolution (hhbatch.yaml)
    # Video ids already in a results sheet are trusted (polled, never recreated) unless the run
    # is against a fresh sandbox, whose ids die with it.
    trust_sheet_ids: bool = True
    # ``--resubmit-unknown ROWS``: only these sheet rows (None: every unknown row).
    resubmit_unknown_rows: frozenset[int] | None = None

    def resubmits_unknown(self, row: Any) -> bool:
        """Whether an unknown row is to be created again (``--resubmit-unknown [ROWS]``)."""
        if not self.resubmit_unknown:
            return False
        rows = self.resubmit_unknown_rows
        return rows is None or row.sheet_row in rows


def build_plan(
    manifest: Any,
    journal: j.Journal,
    options: PlanOptions,
    *,
    recovered: int = 0,
    adopt: Callable[[list[RowPlan], dict[str, j.JobRecord]], None] | None = None,
) -> Plan:
    """Decide one action per row. Reads the journal; changes nothing. ``adopt`` may turn rows
    to submit into rows already created elsewhere (the ledger, :mod:`hhbatch.adoption`)."""
    jobs = journal.jobs()
    by_video_id = {job.video_id: job for job in jobs.values() if job.video_id}
    valid_rows = [row for row in manifest.rows if row.valid and not row.skip]
    fps = [fingerprint(row) for row in valid_rows]
    # Identical rows are told apart by their sheet ids and their records' states (hhbatch.twins).
    row_keys = assign_row_keys(valid_rows, fps, jobs, trust_sheet_ids=options.trust_sheet_ids)
    keys = dict(zip((id(r) for r in valid_rows), zip(row_keys, fps, strict=True), strict=True))
    edited_of = _pair_edited_rows(
        manifest.rows, keys, jobs, options.trust_sheet_ids, journal.superseded_keys()
    )

    plans: list[RowPlan] = []
    for row in manifest.rows:
        if row.skip:
            plans.append(_skipped(row, by_video_id, options))
            continue
        if not row.valid:
            # A row made earlier that is invalid now (e.g. its file was moved) keeps showing
            # the video it has: the results sheet must not lose finished work.
            sheet_id = (row.previous or {}).get("videoId") if options.trust_sheet_ids else None
            earlier = by_video_id.get(sheet_id) if sheet_id else edited_of.get(id(row))
            plans.append(RowPlan(row, INVALID, job=earlier, note=_first_error(row)))
            continue
        key, fp = keys[id(row)]
        job = jobs.get(key)
        previous_id = (row.previous or {}).get("videoId") or None
        if not options.trust_sheet_ids:
            previous_id = None
        if job is None:
            plans.append(
                _unmatched(row, key, fp, previous_id, by_video_id, edited_of.get(id(row)), options)
            )
            continue
        plans.append(_matched(row, key, fp, job, options))

    if adopt is not None:
        adopt(plans, jobs)
    _apply_limit(plans, options.limit)
    spend = apply_caps(plans, options.caps, options.prices)
    plan = Plan(plans, recovered_unknown=recovered, spend=spend)
    _plan_uploads(plan, journal)
    return plan


def _matched(row: Any, key: str, fp: str, job: j.JobRecord, options: PlanOptions) -> RowPlan:
    rp = RowPlan(row, SUBMIT, key, fp, job)
    if job.state == j.SUBMITTED:
        rp.action = WAIT
    elif job.state == j.READY:
        rp.action = DONE
    elif job.state in (j.FAILED, j.REJECTED):
        rp.action = SUBMIT if options.retry_failed else FAILED
        rp.note = job.error
    elif job.state in (j.UNKNOWN, j.SUBMITTING):
        rp.action = SUBMIT if options.resubmits_unknown(row) else UNKNOWN
        rp.note = job.error
    return rp


def _unmatched(
    row: Any,
    key: str,
    fp: str,
    previous_id: str | None,
    by_video_id: dict[str, j.JobRecord],
    orphan: j.JobRecord | None,
    options: PlanOptions,
) -> RowPlan:
    """A row the journal has never seen with these inputs: new, edited, or from a lost journal.

    ``orphan``: the earlier job this row took the place of (see :func:`_pair_edited_rows`)."""
    old = by_video_id.get(previous_id) if previous_id else None
    if old is None and previous_id is None:
        old = orphan
    # Fixing a failed row is the usual reason to edit it: --retry-failed covers the edit too.
    retry = old is not None and old.state == j.FAILED and options.retry_failed
    if old is not None and not (options.resubmit_edited or retry):
        flags = (
            _("--retry-failed or --resubmit-edited")
            if old.state == j.FAILED
            else ("--resubmit-edited")
        )
        if old.video_id:
            note = _(
                "This row was changed after it was submitted as video {video_id}; it was not "
                "submitted again. Run with {flags} to create the edited version."
            ).format(video_id=old.video_id, flags=flags)
        else:
            note = _(
                "This row was changed after it was submitted as a video; it was not submitted "
                "again. Run with {flags} to create the edited version."
            ).format(flags=flags)
        return RowPlan(
            row,
            EDITED,
            key,
            fp,
            old,
            note=note,
        )
    if previous_id and old is None:
        # The results sheet says this row was created, but the journal does not know it (lost
        # or moved journal). Trust the sheet: poll the id, never create the video a second time.
        # A video the sheet shows ready, with its link, is finished (ready is final): counted
        # ready, not polled, like a ready row the journal kept (hhbatch.recovery does the same).
        previous = row.previous or {}
        if previous.get("status") == spec.STATUS_READY and previous.get("videoUrl"):
            return RowPlan(row, DONE, key, fp, adopt_video_id=previous_id)
        return RowPlan(row, WAIT, key, fp, adopt_video_id=previous_id)
    sheet_status = (row.previous or {}).get("status", "") if options.trust_sheet_ids else ""
    if old is None and sheet_status in _SHEET_MAYBE_CREATED and not options.resubmits_unknown(row):
        # The journal is lost, and the results sheet says a create got no answer: it may exist
        # (and be paid for). Same rule as with the journal: only --resubmit-unknown sends it.
        return RowPlan(
            row,
            UNKNOWN,
            key,
            fp,
            note=(
                f"The results sheet says this row's create got no answer ({sheet_status}) and "
                "the batch journal is not here to say more, so it was not submitted again. Check "
                "your HappyHorse dashboard, then rerun with --resubmit-unknown if it is not there."
            ),
        )
    return RowPlan(row, SUBMIT, key, fp, supersedes=old)


def _skipped(row: Any, by_video_id: dict[str, j.JobRecord], options: PlanOptions) -> RowPlan:
    """A row marked in the Skip column: never sent. One that was created before keeps showing
    its video (the sheet must not lose finished work)."""
    sheet_id = (row.previous or {}).get("videoId") if options.trust_sheet_ids else None
    note = _(
        "Skipped: marked {mark} in the Skip column, so it is never submitted. Clear that cell "
        "to create this video."
    ).format(mark=repr(row.skip))
    return RowPlan(row, SKIPPED, job=by_video_id.get(sheet_id) if sheet_id else None, note=note)


# Statuses the results sheet shows for a create that may have reached the server.
_SHEET_MAYBE_CREATED = frozenset({"unknown", "submitting"})


def _pair_edited_rows(
    rows: list[Any],
    keys: dict[int, tuple[str, str]],
    jobs: dict[str, j.JobRecord],
    trust_sheet_ids: bool,
    superseded: frozenset[str] = frozenset(),
) -> dict[int, j.JobRecord]:
    """Which new-looking rows are edits of rows created before (by ``id(row)``).

    Why by position between anchors, not by row number: a row edited in the manifest has a new
    fingerprint, and the user may also have inserted or deleted rows above it, so its row number
    says nothing. The rows that still match the journal are anchors; a run of unmatched rows
    between two anchors replaced the charged jobs that sat between the same two anchors last
    time (the journal keeps each job's last sheet row). Equal counts pair in order; otherwise
    each earlier job pairs with the row whose prompt is most like its own, if any is close.
    Rows carrying a video id (a results sheet) are matched by that id instead. An anchor that is
    one of several identical rows stands for the whole stretch where its twins sat, so an edit of
    any twin pairs with the twin's record, whichever twin kept which record. A job an edit
    already replaced (``superseded``) is no row's earlier version any more: it is left out.
    """
    matched = {key for key, _ in keys.values() if key in jobs}
    spans = twin_spans(jobs.values())
    orphans = sorted(
        (
            job
            for key, job in jobs.items()
            if key not in matched
            and key not in superseded
            and job.state in _CHARGED_STATES
            and job.sheet_row is not None
        ),
        key=lambda job: job.sheet_row or 0,
    )
    if not orphans:
        return {}
    positions = [job.sheet_row or 0 for job in orphans]
    pairs: dict[int, j.JobRecord] = {}
    used: set[str] = set()
    gap: list[Any] = []
    low: float = 0

    def close_gap(high: float) -> None:
        if not gap:
            return
        lo, hi = min(low, high), max(low, high)
        window = orphans[bisect_right(positions, lo) : bisect_left(positions, hi)]
        candidates = [o for o in window if o.row_key not in used]
        if not candidates:
            return
        if len(candidates) == len(gap) or len(candidates) * len(gap) > _MAX_PROMPT_COMPARISONS:
            # equal counts; or a huge mismatched gap (every row changed, e.g. a new default):
            # in order, which errs towards "edited, not resubmitted", never towards paying twice
            chosen = list(zip(gap, candidates, strict=False))
        else:
            chosen = _pair_by_prompt(gap, candidates)
        for row, orphan in chosen:
            if not row.valid and _prompt_likeness(row, orphan) < _SIMILAR_PROMPT:
                continue  # an invalid row shows an earlier video only if it is recognisably it
            pairs[id(row)] = orphan
            used.add(orphan.row_key)

    for row in rows:
        if row.skip:
            continue
        if not row.valid:
            if not (trust_sheet_ids and (row.previous or {}).get("videoId")):
                gap.append(row)  # may be a finished row whose file went missing since
            continue
        key, _fp = keys[id(row)]
        job = jobs.get(key)
        if job is None:
            has_id = trust_sheet_ids and (row.previous or {}).get("videoId")
            if not has_id:
                gap.append(row)
            continue
        if job.sheet_row is None:
            continue
        first, last = spans.get(job.fingerprint, (job.sheet_row, job.sheet_row))
        close_gap(last + 0.5 if job.fingerprint in spans else job.sheet_row)
        gap, low = [], first - 0.5 if job.fingerprint in spans else job.sheet_row
    close_gap(float("inf"))
    return pairs


_SIMILAR_PROMPT = 0.6  # difflib ratio above which an unmatched row counts as an edit
_MAX_PROMPT_COMPARISONS = 10_000  # beyond this, a gap is paired in order (difflib is slow)


def _pair_by_prompt(rows: list[Any], orphans: list[j.JobRecord]) -> list[tuple[Any, j.JobRecord]]:
    scored = []
    for orphan in orphans:
        for index, row in enumerate(rows):
            ratio = _prompt_likeness(row, orphan)
            if ratio >= _SIMILAR_PROMPT:
                scored.append((ratio, index, orphan))
    chosen: list[tuple[Any, j.JobRecord]] = []
    taken_rows: set[int] = set()
    taken_jobs: set[str] = set()
    for _score, index, orphan in sorted(scored, key=lambda item: (-item[0], item[1])):
        if index in taken_rows or orphan.row_key in taken_jobs:
            continue
        taken_rows.add(index)
        taken_jobs.add(orphan.row_key)
        chosen.append((rows[index], orphan))
    return chosen


def _prompt_likeness(row: Any, orphan: j.JobRecord) -> float:
    old = str((orphan.request or {}).get("prompt", ""))
    new = str(row.request.get("prompt", ""))
    return SequenceMatcher(None, old, new).ratio() if old and new else 0.0


def _apply_limit(plans: list[RowPlan], limit: int | None) -> None:
    if limit is None:
        return
    submitting = 0
    for rp in plans:
        if rp.action == SUBMIT:
            submitting += 1
            if submitting > limit:
                rp.action = LATER
                rp.note = _(
                    "Not submitted this run (--limit {limit}); the next run takes it."
                ).format(limit=limit)


def _plan_uploads(plan: Plan, journal: j.Journal) -> None:
    needs: dict[tuple[str, str, str], UploadNeed] = {}
    reused: set[tuple[str, str, str]] = set()
    for rp in plan.to_submit:
        for ref in rp.row.files.values():
            if ref.path is None:
                continue  # an existing storage key, passed through
            ident = (ref.sha256, ref.kind, ref.content_type)
            if ident in needs or ident in reused:
                if ident in needs:
                    needs[ident].rows += 1
                continue
            if journal.get_upload(*ident) is not None:
                reused.add(ident)
                continue
            needs[ident] = UploadNeed(
                ref.sha256, ref.kind, ref.content_type, ref.size, Path(ref.path), rows=1
            )
    plan.uploads = list(needs.values())
    plan.uploads_reused = len(reused)


def _first_error(row: Any) -> str:
    errors = [p.message for p in row.problems if p.severity == "error"]
    if not errors:
        return _("invalid row")
    if len(errors) == 1:
        return errors[0]
    return _("{error} (+{count} more)").format(error=errors[0], count=len(errors) - 1)
