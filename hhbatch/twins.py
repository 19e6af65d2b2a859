"""Which journal record each of several identical rows ("twins") is, so no paid video moves.

Why not by position alone: two rows asking for exactly the same video (a team wanting two takes)
have the same fingerprint, and used to be told apart only as the 1st and 2nd such row. Delete the
first twin and the second became "the 1st": it inherited the first one's state (say ``unknown``),
its own ready video vanished from the sheet, and ``--resubmit-unknown`` would have paid again.

The rules, per group of identical rows and the journal records of that fingerprint:

1. A ``videoId`` in the sheet (a results sheet rerun) pins its row to the record with that id.
2. When fewer rows than records remain, the rows keep the most advanced records: ready, then in
   progress, then failed, refused, unknown, not sent; among equals, the record last seen nearest
   to the row. A paid video never vanishes behind an ``unknown``.
3. The records kept are paired with the rows in sheet order (when more rows than records, each
   record goes to the row nearest to where it was, in order); a row left over is a new video.

Records left over are the deleted or edited twins: :func:`twin_spans` tells the edit pairing in
:mod:`hhbatch.plan` where such a group sat, so an edit of either twin is recognised as an edit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from hhbatch import journal as j

# How far a record's state got: a surviving twin takes the highest.
_RANK = {
    j.READY: 6,
    j.SUBMITTED: 5,
    j.FAILED: 4,
    j.REJECTED: 3,
    j.UNKNOWN: 2,
    j.SUBMITTING: 2,
    j.HELD: 1,
}
# Beyond this many rows x records in one group, pair in order instead of by distance.
_MAX_PAIRING_CELLS = 40_000


def assign_row_keys(
    rows: list[Any],
    fingerprints: list[str],
    jobs: Mapping[str, j.JobRecord],
    *,
    trust_sheet_ids: bool,
) -> list[str]:
    """The journal row key for each row (same order as ``rows``; fingerprints likewise).

    A row gets the key of the record it is, or a fresh ``fingerprint#n`` no record uses.
    """
    by_fp: dict[str, list[j.JobRecord]] = defaultdict(list)
    for job in jobs.values():
        by_fp[job.fingerprint].append(job)
    by_video_id = {job.video_id: job for job in jobs.values() if job.video_id}
    groups: dict[str, list[int]] = defaultdict(list)
    for index, fp in enumerate(fingerprints):
        groups[fp].append(index)
    was_at = _former_rows(rows, fingerprints, groups, by_fp)

    keys: list[str | None] = [None] * len(rows)
    for fp, indices in groups.items():
        records = by_fp.get(fp, [])
        free_rows: list[int] = []
        taken: set[str] = set()
        for index in indices:
            video_id = _sheet_id(rows[index]) if trust_sheet_ids else None
            job = by_video_id.get(video_id) if video_id else None
            if job is not None and job.row_key not in taken and job.fingerprint == fp:
                keys[index] = job.row_key  # rule 1: the sheet's id pins the row
                taken.add(job.row_key)
            elif job is not None and job.fingerprint != fp:
                keys[index] = ""  # the id of another request: an edited row, never a twin's
            else:
                free_rows.append(index)
        left = [job for job in records if job.row_key not in taken]
        for index, job in _pair(was_at, free_rows, left).items():
            keys[index] = job.row_key
        used = {job.row_key for job in records}
        counter = 0
        for index in indices:
            if not keys[index]:
                counter += 1
                while f"{fp}#{counter}" in used:
                    counter += 1
                keys[index] = f"{fp}#{counter}"
                used.add(keys[index])
    return [key or "" for key in keys]


def twin_spans(jobs: Iterable[j.JobRecord]) -> dict[str, tuple[int, int]]:
    """Fingerprint → (first, last) sheet row where its records sat, for groups of two or more."""
    rows: dict[str, list[int]] = defaultdict(list)
    for job in jobs:
        if job.sheet_row is not None:
            rows[job.fingerprint].append(job.sheet_row)
    return {fp: (min(found), max(found)) for fp, found in rows.items() if len(found) > 1}


def _former_rows(
    rows: list[Any],
    fingerprints: list[str],
    groups: Mapping[str, list[int]],
    by_fp: Mapping[str, list[j.JobRecord]],
) -> list[int]:
    """Where each row probably sat when the journal last saw the sheet: its row number minus
    the shift of the nearest unambiguous row above it (one row, one record), so rows inserted or
    deleted above a group of twins do not make a twin look nearer to another's record."""
    shift = 0
    former = []
    for index, fp in enumerate(fingerprints):
        records = by_fp.get(fp, [])
        if len(groups[fp]) == 1 and len(records) == 1 and records[0].sheet_row is not None:
            shift = rows[index].sheet_row - records[0].sheet_row
        former.append(rows[index].sheet_row - shift)
    return former


def _sheet_id(row: Any) -> str | None:
    return (getattr(row, "previous", None) or {}).get("videoId") or None


def _position(job: j.JobRecord) -> int:
    return job.sheet_row if job.sheet_row is not None else 0


def _pair(was_at: list[int], free: list[int], records: list[j.JobRecord]) -> dict[int, j.JobRecord]:
    """Rules 2 and 3: which of ``records`` the ``free`` rows (indices, sheet order) are."""
    if not free or not records:
        return {}
    where = [was_at[index] for index in free]
    if len(records) > len(free):
        records = sorted(
            records,
            key=lambda job: (
                -_RANK.get(job.state, 0),
                min(abs(_position(job) - row) for row in where),
                _position(job),
            ),
        )[: len(free)]
    records = sorted(records, key=_position)
    if len(records) == len(free) or len(records) * len(free) > _MAX_PAIRING_CELLS:
        return dict(zip(free, records, strict=False))
    return _nearest_in_order(free, where, records)


def _nearest_in_order(
    free: list[int], where: list[int], records: list[j.JobRecord]
) -> dict[int, j.JobRecord]:
    """More rows than records: give each record (in order) a row (in order) so that the rows
    chosen are as near as possible to where the records were (a twin added above or below the
    others does not shift every video by one row). Dynamic programming, rows x records."""
    n, m = len(free), len(records)
    inf = float("inf")
    # cost[i][k]: the first k records placed among the first i rows
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = 0.0
    for i in range(1, n + 1):
        for k in range(1, min(i, m) + 1):
            skip = cost[i - 1][k]
            place = cost[i - 1][k - 1] + abs(where[i - 1] - _position(records[k - 1]))
            cost[i][k] = min(skip, place)
    pairs: dict[int, j.JobRecord] = {}
    i, k = n, m
    while k > 0:
        place = cost[i - 1][k - 1] + abs(where[i - 1] - _position(records[k - 1]))
        if cost[i][k] == place:
            pairs[free[i - 1]] = records[k - 1]
            k -= 1
        i -= 1
    return pairs
