"""What a manifest amounts to: rows valid/invalid, seconds of video, files to upload.

Why data and not text: ``hhbatch validate`` renders it as lines or JSON, and ``hhbatch run``
shows the same figures in its plan before asking to spend credits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import compress
from operator import attrgetter, methodcaller
from typing import Any

from hhbatch import spec
from hhbatch.loader.model import Manifest, ManifestRow


@dataclass
class Summary:
    rows_total: int
    rows_valid: int
    rows_invalid: int
    errors: int
    warnings: int
    # Seconds of video the valid rows ask for, per resolution (API default applied).
    seconds_by_resolution: dict[str, int] = field(default_factory=dict)
    videos_by_resolution: dict[str, int] = field(default_factory=dict)
    # Distinct local files the valid rows need uploaded (deduplicated by content).
    files_to_upload: int = 0
    upload_bytes: int = 0
    uploads_by_kind: dict[str, int] = field(default_factory=dict)
    storage_keys_reused: int = 0
    # Rows marked in the Skip / 跳过 column (the template's examples): not checked, never sent.
    rows_skipped: int = 0

    @property
    def valid(self) -> bool:
        return self.rows_invalid == 0 and self.errors == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rowsTotal": self.rows_total,
            "rowsValid": self.rows_valid,
            "rowsInvalid": self.rows_invalid,
            "errors": self.errors,
            "warnings": self.warnings,
            "secondsByResolution": dict(self.seconds_by_resolution),
            "videosByResolution": dict(self.videos_by_resolution),
            "filesToUpload": self.files_to_upload,
            "uploadBytes": self.upload_bytes,
            "uploadsByKind": dict(self.uploads_by_kind),
            "storageKeysReused": self.storage_keys_reused,
            "rowsSkipped": self.rows_skipped,
            "valid": self.valid,
        }


def summarize(manifest: Manifest) -> Summary:
    """Figures for the valid rows (what a run would submit) and counts of everything else.

    Counted a column at a time (``Counter``, ``compress``: loops in C), since ``hhbatch
    validate`` of a 100,000-row sheet pays for every per-row step here too.
    """
    problems = manifest.all_problems()
    # A row without problems is valid without asking; skipped rows are never submitted.
    valid_rows = [r for r in manifest.rows if (not r.problems or r.valid) and not r.skip]
    skipped = sum(map(bool, map(attrgetter("skip"), manifest.rows)))
    default_resolution = spec.CREATE_FIELDS["resolution"].default
    resolutions, durations = _resolutions_and_durations(valid_rows, default_resolution)
    videos: dict[str, int] = {r: 0 for r in spec.RESOLUTIONS}
    videos.update(Counter(resolutions))
    seconds: dict[str, int] = {r: 0 for r in spec.RESOLUTIONS}
    for resolution in videos:
        seconds[resolution] = sum(compress(durations, map(resolution.__eq__, resolutions)))
    uploads: dict[str, int] = {}
    upload_kinds: dict[str, int] = {}
    keys: set[str] = set()
    for ref in [ref for r in valid_rows if r.files for ref in r.files.values()]:
        if ref.key is not None:
            keys.add(ref.key)
        elif ref.sha256 is not None and ref.sha256 not in uploads:
            uploads[ref.sha256] = ref.size or 0
            upload_kinds[ref.kind] = upload_kinds.get(ref.kind, 0) + 1
    return Summary(
        rows_total=len(manifest.rows),
        rows_valid=len(valid_rows),
        rows_invalid=len(manifest.rows) - len(valid_rows) - skipped,
        errors=sum(1 for p in problems if p.is_error),
        warnings=sum(1 for p in problems if not p.is_error),
        seconds_by_resolution=seconds,
        videos_by_resolution=videos,
        files_to_upload=len(uploads),
        upload_bytes=sum(uploads.values()),
        uploads_by_kind=upload_kinds,
        storage_keys_reused=len(keys),
        rows_skipped=skipped,
    )


def _resolutions_and_durations(
    rows: list[ManifestRow], default_resolution: str
) -> tuple[list[str], list[int]]:
    """Each row's resolution and seconds, read from the loader's columns when every row's
    request still lives there (the rows of one sheet, as loaded): no dict is made."""
    sources = set(map(attrgetter("source"), rows))
    source = sources.pop() if len(sources) == 1 else None
    if source is not None:
        ats = list(map(attrgetter("at"), rows))
        every = ats if len(ats) == source.count and ats == list(range(source.count)) else None
        which = None if every is not None else ats
        resolutions = source.values("resolution", which, default_resolution)
        durations = list(map(int, source.values("durationSec", which, 0)))
        return resolutions, durations
    requests = list(map(attrgetter("request"), rows))
    resolutions = list(map(methodcaller("get", "resolution", default_resolution), requests))
    return resolutions, list(map(int, map(methodcaller("get", "durationSec", 0), requests)))
