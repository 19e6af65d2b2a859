"""Row identity that survives the user's edits between runs.

Why content, not row numbers: users insert, delete and reorder rows between runs, and add columns.
A row is identified by a fingerprint of what would be sent (normalised fields plus the *contents*
of referenced files, by hash) and, for identical rows, by which of them it is (the 2nd row that
asks for exactly the same video is a different video; :mod:`hhbatch.twins` decides which record
each twin is, from sheet ids and the records' states). Extra columns do not take part.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol


class _FileLike(Protocol):
    path: Any
    key: str | None
    sha256: str | None


class _RowLike(Protocol):
    request: Mapping[str, Any]
    files: Mapping[str, _FileLike]


def fingerprint(row: _RowLike) -> str:
    """Stable hash of the request a row describes; any edit to a field or file changes it."""
    files = {}
    for field, ref in sorted(row.files.items()):
        files[field] = f"sha256:{ref.sha256}" if ref.sha256 else f"key:{ref.key}"
    canonical = json.dumps(
        {"request": dict(sorted(row.request.items())), "files": files},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def row_keys(fingerprints: Iterable[str]) -> list[str]:
    """``fingerprint#n``: the n-th row (in sheet order) asking for exactly this video, as numbered
    when no record exists yet (:func:`hhbatch.twins.assign_row_keys` decides against a journal)."""
    seen: dict[str, int] = {}
    keys = []
    for fp in fingerprints:
        seen[fp] = seen.get(fp, 0) + 1
        keys.append(f"{fp}#{seen[fp]}")
    return keys
