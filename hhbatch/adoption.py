"""Rows the ledger shows were already created — from a copy of the sheet, a renamed file, another
folder, or this very batch before its journal was lost — are adopted, not created again.

Why at planning time: the plan must say what will be spent before anything is. For every row the
planner would create, :class:`LedgerAdoption` looks for creates of exactly the same request
(:func:`hhbatch.identity.fingerprint`: the same fields and the same file contents) by this account
in the ledger. Identical rows (twins): the n-th occurrence here adopts the n-th such create not
already shown by another row of this batch. A create whose answer was lost stays ``unknown`` here
too, with the same advice. ``--again`` creates new videos for rows whose request another batch
already created, on purpose.

The adoption is written to the journal only when the run goes ahead (:func:`record_adoptions`), and
a row showing another batch's video is *claimed* in the ledger, so that later runs keep telling
where it came from and ``--again`` still works on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from hhbatch import journal as j
from hhbatch import plan as p
from hhbatch.i18n import _
from hhbatch.ledger import BatchRef, Ledger, LedgerEntry, origin


@dataclass
class LedgerAdoption:
    """The planner's hook (``build_plan(..., adopt=...)``): runs before ``--limit`` is applied."""

    ledger: Ledger
    account: str
    batch: BatchRef
    again: bool = False
    resubmit_unknown: bool = False
    retry_failed: bool = False
    # --resubmit-unknown ROWS: only these sheet rows (None: every unknown row)
    resubmit_unknown_rows: frozenset[int] | None = None
    _live: dict[str, bool] = field(default_factory=dict)  # batch key -> a run holds it now

    def __call__(self, plans: list[p.RowPlan], jobs: dict[str, j.JobRecord]) -> None:
        claims = self.ledger.claims(self.batch.key)
        for rp in plans:
            entry = claims.get(rp.row_key or "")
            if entry is None or rp.job is None or rp.job.video_id != entry.video_id:
                continue
            if self.again and rp.action in (p.WAIT, p.DONE, p.FAILED, p.UNKNOWN):
                rp.action, rp.note, rp.again_of = p.SUBMIT, None, entry
            else:
                rp.adopted = entry
        needing = [
            rp
            for rp in plans
            if rp.action == p.SUBMIT
            and (rp.job is None or rp.job.state == j.HELD)  # held: never sent, nothing shown
            and not rp.adopt_video_id
            and rp.again_of is None
            and rp.fingerprint
        ]
        try:
            self._adopt_all(needing, jobs, claims)
        finally:
            # Whatever is still to be created may be created by a copy of the sheet running
            # right now: the claim is made again, atomically, when its create is admitted.
            for rp in needing:
                rp.check_elsewhere = (
                    rp.action == p.SUBMIT and rp.again_of is None and not self.again
                )

    def _adopt_all(
        self,
        needing: list[p.RowPlan],
        jobs: dict[str, j.JobRecord],
        claims: dict[str, LedgerEntry],
    ) -> None:
        if not needing:
            return
        known_ids = {job.video_id for job in jobs.values() if job.video_id}
        claimed = {entry.id for entry in claims.values()}

        def free(entry: LedgerEntry) -> bool:
            if entry.video_id in known_ids or entry.id in claimed:
                return False
            # this batch's own rows the journal knows are the journal's to show
            return not (entry.batch_key == self.batch.key and entry.row_key in jobs)

        found = self.ledger.candidates(self.account, {rp.fingerprint or "" for rp in needing})
        pools = {fp: [e for e in entries if free(e)] for fp, entries in found.items()}
        for rp in needing:
            pool = pools.get(rp.fingerprint or "")
            if not pool:
                continue
            entry = next(
                (e for e in pool if e.batch_key == self.batch.key and e.row_key == rp.row_key),
                pool[0],
            )
            pool.remove(entry)
            self._adopt(rp, entry)

    def _adopt(self, rp: p.RowPlan, entry: LedgerEntry) -> None:
        elsewhere = entry.batch_key != self.batch.key
        if elsewhere and self.again:
            rp.again_of = entry  # created anew, on purpose
            return
        if elsewhere and entry.state == j.SUBMITTING and self._running(entry.batch_key):
            # Another run is sending this create right now: its outcome is not unknown, only
            # not in yet. The row stays to submit; the claim at admission decides (its video,
            # or the row waits for the next run), so it is never sent twice.
            rp.racing = entry
            return
        if rp.job is not None:  # a held record (never sent): the adopted video replaces it
            rp.job = None
        if entry.outcome_unknown:
            rows = self.resubmit_unknown_rows
            if self.resubmit_unknown and (rows is None or rp.row.sheet_row in rows):
                return
            rp.action, rp.adopted = p.UNKNOWN, entry
            rp.note = _(
                "This exact request was sent on {when} from {where} and got no answer, so it may "
                "exist (and be charged). It was not submitted again; check your HappyHorse "
                "dashboard, then rerun with --resubmit-unknown if it is not there."
            ).format(when=when(entry), where=origin(entry))
            return
        if entry.state == j.FAILED:
            if self.retry_failed:
                return
            rp.action, rp.adopted = p.FAILED, entry
            rp.note = _(
                "This exact request was already created on {when} from {where} as video "
                "{video_id}, which failed; --retry-failed creates it again."
            ).format(when=when(entry), where=origin(entry), video_id=entry.video_id)
            return
        rp.adopted = entry
        rp.action = p.DONE if entry.state == j.READY else p.WAIT

    def _running(self, batch_key: str) -> bool:
        if batch_key not in self._live:
            self._live[batch_key] = j.in_use(Path(batch_key))
        return self._live[batch_key]


def record_adoptions(plan: p.Plan, journal: j.Journal, ledger: Ledger, batch: BatchRef) -> None:
    """The run goes ahead: the adopted videos become this batch's rows (polled like any created
    row); a video of another batch is claimed, so later runs still say where it came from."""
    for rp in plan.rows:
        entry = rp.adopted
        if entry is None or rp.job is not None or not entry.video_id or rp.row_key is None:
            continue
        state = entry.state if entry.state in (j.READY, j.FAILED) else j.SUBMITTED
        journal.adopt(
            rp.row_key,
            rp.fingerprint or "",
            rp.row.sheet_row,
            entry.video_id,
            state=state,
            known={
                "status": entry.status,
                "video_url": entry.video_url,
                "thumbnail_url": entry.thumbnail_url,
                "ready_at": entry.ready_at,
                "error": rp.note,
                "request": dict(rp.row.request),
            },
        )
        if rp.supersedes is not None:  # an edited row shows that video now, not its old one
            journal.record_superseded(rp.supersedes.row_key, rp.row_key)
        if entry.batch_key != batch.key:
            ledger.claim(batch.key, rp.row_key, entry.id)


def when(entry: LedgerEntry) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.when))


def adopted_lines(plan: p.Plan, batch_key: str | None, limit: int = 10) -> list[str]:
    """What the plan says about adopted rows: how many, and where and when each was made."""
    lines: list[str] = []
    adopted = [rp for rp in plan.rows if rp.adopted is not None]
    elsewhere = [rp for rp in adopted if rp.adopted.batch_key != batch_key]
    again = [rp for rp in plan.rows if rp.again_of is not None and rp.action == p.SUBMIT]
    racing = [rp for rp in plan.rows if rp.racing is not None and rp.action == p.SUBMIT]
    if racing:
        lines.append(
            "  "
            + _(
                "{count} row(s) are being created right now by another run ({where}): each "
                "video is created once; this run shows that run's video, or leaves the row for "
                "the next run."
            ).format(count=len(racing), where=origin(racing[0].racing))
        )
    if elsewhere:
        lines.append(
            "  "
            + _(
                "{count} row(s) were already created from another file or folder (a copy of "
                "this sheet?): their videos are shown, not created again; --again creates new "
                "ones."
            ).format(count=len(elsewhere))
        )
    recovered = len(adopted) - len(elsewhere)
    if recovered:
        lines.append(
            "  "
            + _(
                "{count} row(s) of this batch were found in this machine's record of created "
                "videos (the batch journal did not know them): they are not created again."
            ).format(count=recovered)
        )
    for rp in adopted[:limit]:
        entry = rp.adopted
        if entry.video_id:
            line = _("row {row}: video {video_id}, created {when} from {where}").format(
                row=rp.row.sheet_row, video_id=entry.video_id, when=when(entry), where=origin(entry)
            )
        else:
            line = _("row {row}: outcome unknown, sent {when} from {where}").format(
                row=rp.row.sheet_row, when=when(entry), where=origin(entry)
            )
        lines.append("    " + line)
    if len(adopted) > limit:
        lines.append("    " + _("... and {count} more").format(count=len(adopted) - limit))
    if again:
        lines.append(
            "  "
            + _("{count} row(s) already created elsewhere will be created again (--again).").format(
                count=len(again)
            )
        )
    return lines
