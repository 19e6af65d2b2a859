"""What a manifest amounts to: rows valid/invalid, seconds of video, files to upload.

Why data and not text: ``hhbatch validate`` renders it as lines or JSON, and ``hhbatch run``
shows the same figures in its plan before asking to spend credits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from operator import attrgetter, methodcaller
from typing import Any

from hhbatch import spec
from hhbatch.loader.model import FileRef, Manifest, ManifestRow


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
    valid_rows = [r for r in manifest.rows if r.valid and not r.skip]
    skipped = sum(map(bool, map(attrgetter("skip"), manifest.rows)))
    default_resolution = spec.CREATE_FIELDS["resolution"].default
    videos: dict[str, int] = {r: 0 for r in spec.RESOLUTIONS}
    seconds: dict[str, int] = {r: 0 for r in spec.RESOLUTIONS}
    for (resolution, duration), count in _videos(valid_rows, default_resolution).items():
        videos[resolution] = videos.get(resolution, 0) + count
        seconds[resolution] = seconds.get(resolution, 0) + int(duration) * count
    uploads: dict[str, int] = {}
    upload_kinds: dict[str, int] = {}
    keys: set[str] = set()
    for ref in _file_refs(valid_rows):
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


def _videos(rows: list[ManifestRow], default_resolution: str) -> Counter[tuple[Any, Any]]:
    """How many rows ask for each (resolution, durationSec): read from the loader's columns
    when every row's request still lives there (the rows of one sheet, as loaded), without a
    dict per row."""
    sources = set(map(attrgetter("source"), rows))
    source = sources.pop() if len(sources) == 1 else None
    fields = (("resolution", default_resolution), ("durationSec", 0))
    if source is not None:
        # The loader numbers a sheet's rows 0 … count - 1, each once: all of them, or some.
        every = len(rows) == source.count
        return source.counted(fields, None if every else list(map(attrgetter("at"), rows)))
    requests = list(map(attrgetter("request"), rows))
    return Counter(
        zip(
            map(methodcaller("get", "resolution", default_resolution), requests),
            map(methodcaller("get", "durationSec", 0), requests),
            strict=True,
        )
    )


def _file_refs(rows: list[ManifestRow]) -> list[FileRef]:
    """The rows' files, each distinct one at least once, in row order (see
    :meth:`SheetColumns.file_refs`): from the loader's columns when the rows of one sheet
    keep their files there, without a dict per row."""
    sources = set(map(attrgetter("source"), rows))
    source = sources.pop() if len(sources) == 1 else None
    if source is not None and source.file_columns is not None:
        every = len(rows) == source.count
        return source.file_refs(None if every else list(map(attrgetter("at"), rows)))
    if source is not None:  # the loader gave each row its files (None: none)
        return [ref for refs in map(attrgetter("_files"), rows) if refs for ref in refs.values()]
    return [ref for row in rows for ref in row.files.values()]
