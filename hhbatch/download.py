"""``hhbatch download``: fetch every ready video (and thumbnail) of a batch into a folder.

Why the names look like ``r12_chestnut-horse-gallops.mp4``: a person with 200 clips must match
file and row without opening either; the row number sorts them and the slug says which is which.
A ``filename`` column wins when the sheet has one.

Why resumable this way: every file is written to ``<name>.part`` and renamed into place only
once its size equals the Content-Length, so a file under the final name is always complete; one
whose size differs from what the server reports now (HEAD) is fetched again. The file host is a
third party: no Authorization header ever goes there (a fresh client without the API key).
"""

from __future__ import annotations

import asyncio
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from hhbatch import spec
from hhbatch.columns import LOCAL_FILE_COLUMN, RESULT_COLUMNS, header_for
from hhbatch.i18n import _
from hhbatch.reconciler import SHEET_NOT_SUBMITTED, RowResult

VIDEO = "video"
THUMBNAIL = "thumbnail"
DOWNLOADED = "downloaded"
SKIPPED = "skipped"  # complete on disk already
FAILED = "failed"

FOLDER_SUFFIX = "_videos"
PART_SUFFIX = ".part"
# Header of the optional column naming each row's file (compared without case and spaces).
FILENAME_HEADERS = ("filename", "file name", "文件名")
SLUG_MAX_CHARS = 40
# Windows paths are limited to 260 characters in total by default; keep names well short.
NAME_MAX_CHARS = 100
NAME_MAX_BYTES = 200  # Linux/macOS: 255 bytes per name; CJK takes 3 bytes a character
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{n}" for p in ("com", "lpt") for n in range(10)}
_VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".m4v")
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif")
CHUNK_BYTES = 256 * 1024
DEFAULT_CONCURRENCY = 4
DEFAULT_ATTEMPTS = 3
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class DownloadEvents(Protocol):
    """What the core reports while it works; the CLI renders a byte progress bar."""

    def expect(self, nbytes: int) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def file_done(self, job: FileJob, outcome: str, error: str | None) -> None: ...


class NullEvents:
    def expect(self, nbytes: int) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def file_done(self, job: FileJob, outcome: str, error: str | None) -> None: ...


@dataclass(frozen=True)
class FileJob:
    sheet_row: int
    kind: str  # VIDEO or THUMBNAIL
    url: str
    path: Path


@dataclass
class RowDownload:
    """One ready row: where its files are, or why they are not."""

    sheet_row: int
    video: Path | None = None
    thumbnail: Path | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        return " ".join(self.errors) or None


@dataclass
class DownloadReport:
    folder: Path
    rows: dict[int, RowDownload]
    counts: dict[str, int]  # outcome → number of files
    output_path: Path | None = None

    @property
    def failed_rows(self) -> list[int]:
        return sorted(r for r, d in self.rows.items() if d.errors)


# --- names -----------------------------------------------------------------------------------
def slugify(text: str, max_chars: int = SLUG_MAX_CHARS) -> str:
    """A short lowercase slug of a prompt; letters of any script are kept (中文 too)."""
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    slug = re.sub(r"[\W_]+", "-", text).strip("-")
    return slug[:max_chars].rstrip("-")


def safe_filename(name: str, fallback: str = "video") -> str:
    """``name`` made legal on Windows, macOS and Linux: no forbidden or control characters, no
    trailing dot or space, not a reserved device name (CON, NUL, COM1, ...), not too long."""
    name = unicodedata.normalize("NFC", str(name))
    name = _FORBIDDEN.sub("_", name).strip().rstrip(". ")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 5 or not ext.isalnum():
        stem, ext = name, ""
    stem = stem.rstrip(". ") or fallback
    if stem.split(".")[0].strip().casefold() in _RESERVED:
        stem = "_" + stem
    suffix = f".{ext}" if ext else ""
    while stem and (
        len(stem) + len(suffix) > NAME_MAX_CHARS
        or len((stem + suffix).encode("utf-8")) > NAME_MAX_BYTES
    ):
        stem = stem[:-1]
    stem = stem.rstrip(". ") or fallback
    return stem + suffix


def _extension(url: str, allowed: tuple[str, ...], default: str) -> str:
    suffix = Path(urlsplit(url).path).suffix.lower()
    return suffix if suffix in allowed else default


def file_stem(sheet_row: int, prompt: str | None, chosen: str | None) -> str:
    """The name (without extension) of a row's files: the ``filename`` cell, else r<row>_slug."""
    if chosen and chosen.strip():
        base = chosen.strip()
        for ext in _VIDEO_EXTENSIONS:
            if base.lower().endswith(ext):
                base = base[: -len(ext)]
        return safe_filename(base, fallback=f"r{sheet_row}")
    slug = slugify(prompt or "")
    return safe_filename(f"r{sheet_row}_{slug}" if slug else f"r{sheet_row}")


def file_stems(
    rows: Iterable[tuple[int, str | None, str | None]],
) -> dict[int, str]:
    """Stems for (sheet_row, prompt, filename cell) triples, unique even ignoring case (two rows
    with the same ``filename`` value would overwrite each other on Windows and macOS)."""
    stems: dict[int, str] = {}
    taken: set[str] = set()
    for sheet_row, prompt, chosen in rows:
        stem = file_stem(sheet_row, prompt, chosen)
        if stem.casefold() in taken:
            stem = safe_filename(f"{stem}_r{sheet_row}")
        taken.add(stem.casefold())
        stems[sheet_row] = stem
    return stems


def default_folder(manifest: Path) -> Path:
    from hhbatch.workflow import batch_name

    return manifest.with_name(batch_name(manifest) + FOLDER_SUFFIX)


def plan_files(
    results: Mapping[int, RowResult], stems: Mapping[int, str], folder: Path
) -> list[FileJob]:
    """One job per file of every ready row with a link."""
    jobs = []
    for sheet_row, result in sorted(results.items()):
        if result.status != spec.STATUS_READY or not result.video_url:
            continue
        stem = stems.get(sheet_row) or f"r{sheet_row}"
        ext = _extension(result.video_url, _VIDEO_EXTENSIONS, ".mp4")
        jobs.append(FileJob(sheet_row, VIDEO, result.video_url, folder / (stem + ext)))
        if result.thumbnail_url:
            ext = _extension(result.thumbnail_url, _IMAGE_EXTENSIONS, ".jpg")
            jobs.append(FileJob(sheet_row, THUMBNAIL, result.thumbnail_url, folder / (stem + ext)))
    return jobs


# --- fetching --------------------------------------------------------------------------------
def _kind(kind: str) -> str:
    return _("thumbnail") if kind == THUMBNAIL else _("video")


class _FileProblem(Exception):
    """This file (only) could not be fetched; the message is for the sheet."""


async def fetch_files(
    jobs: list[FileJob],
    events: DownloadEvents | None = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    attempts: int = DEFAULT_ATTEMPTS,
    retry_delay: float = 1.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[FileJob, tuple[str, str | None]]:
    """Fetch every job (at most ``concurrency`` at once); outcome and error message per job."""
    events = events or NullEvents()
    slots = asyncio.Semaphore(max(1, concurrency))
    outcomes: dict[FileJob, tuple[str, str | None]] = {}
    # A client of its own: no API key, no base URL; the file host is someone else.
    async with httpx.AsyncClient(
        transport=transport, timeout=TIMEOUT, follow_redirects=True, trust_env=True
    ) as client:

        async def one(job: FileJob) -> None:
            async with slots:
                outcome, error = await _fetch_with_retries(
                    client, job, events, attempts, retry_delay
                )
            outcomes[job] = (outcome, error)
            events.file_done(job, outcome, error)

        await asyncio.gather(*(one(job) for job in jobs))
    return outcomes


async def _fetch_with_retries(
    client: httpx.AsyncClient,
    job: FileJob,
    events: DownloadEvents,
    attempts: int,
    retry_delay: float,
) -> tuple[str, str | None]:
    last = ""
    for attempt in range(max(1, attempts)):
        if attempt:
            await asyncio.sleep(retry_delay * attempt)
        try:
            if await _complete_on_disk(client, job):
                return SKIPPED, None
            await _fetch(client, job, events)
            return DOWNLOADED, None
        except _FileProblem as err:
            last = str(err)
        except httpx.HTTPError as err:
            last = _("the download of the {kind} failed ({error})").format(
                kind=_kind(job.kind), error=f"{type(err).__name__}: {err}"
            )
        except OSError as err:
            return FAILED, _("cannot write {path}: {reason}").format(
                path=job.path, reason=err.strerror or err
            )
    return FAILED, last


async def _complete_on_disk(client: httpx.AsyncClient, job: FileJob) -> bool:
    """A file under the final name was renamed there complete; it still counts only if its size
    is what the server says now (when the server says)."""
    try:
        size = job.path.stat().st_size
    except FileNotFoundError:
        return False
    try:
        head = await client.head(job.url)
    except httpx.HTTPError:
        return size > 0  # cannot ask (offline, link expired): the file was complete when written
    length = head.headers.get("content-length")
    if head.status_code == 200 and length is not None and length.isdigit():
        return int(length) == size
    return size > 0


async def _fetch(client: httpx.AsyncClient, job: FileJob, events: DownloadEvents) -> None:
    job.path.parent.mkdir(parents=True, exist_ok=True)
    part = job.path.with_name(job.path.name + PART_SUFFIX)
    received = 0
    try:
        async with client.stream("GET", job.url) as response:
            if response.status_code != 200:
                expired = response.status_code in (403, 404)
                raise _FileProblem(
                    (
                        _(
                            "the file host answered HTTP {status} for the {kind} "
                            "(the link may have expired)"
                        )
                        if expired
                        else _("the file host answered HTTP {status} for the {kind}")
                    ).format(status=response.status_code, kind=_kind(job.kind))
                )
            length = response.headers.get("content-length")
            expected = int(length) if length is not None and length.isdigit() else None
            if expected is not None:
                events.expect(expected)
            with part.open("wb") as handle:
                async for chunk in response.aiter_bytes(CHUNK_BYTES):
                    handle.write(chunk)
                    received += len(chunk)
                    events.advance(len(chunk))
                handle.flush()
                os.fsync(handle.fileno())
            # Content-Length counts the bytes on the wire (compressed, if the host compresses).
            encoded = response.headers.get("content-encoding", "identity") != "identity"
            raw = response.num_bytes_downloaded if encoded else received
        if expected is not None and raw != expected:
            raise _FileProblem(
                _(
                    "the {kind} arrived with {received} bytes but the file host announced "
                    "{expected}"
                ).format(kind=_kind(job.kind), received=raw, expected=expected)
            )
        if received == 0:
            raise _FileProblem(_("the file host sent an empty {kind}").format(kind=_kind(job.kind)))
        os.replace(part, job.path)
    except BaseException:
        events.advance(-received)  # the bar shows what is on disk, not what was thrown away
        part.unlink(missing_ok=True)
        raise


# --- the whole command -------------------------------------------------------------------------
def collect(
    jobs: list[FileJob],
    outcomes: Mapping[FileJob, tuple[str, str | None]],
    results: Mapping[int, RowResult],
) -> tuple[dict[int, RowDownload], dict[str, int]]:
    rows = {
        r: RowDownload(r)
        for r, res in results.items()
        if res.status == spec.STATUS_READY and res.video_url
    }
    counts: dict[str, int] = {DOWNLOADED: 0, SKIPPED: 0, FAILED: 0}
    for job in jobs:
        outcome, error = outcomes.get(job, (FAILED, "not attempted"))
        counts[outcome] = counts.get(outcome, 0) + 1
        row = rows.setdefault(job.sheet_row, RowDownload(job.sheet_row))
        if outcome == FAILED:
            row.errors.append(_("Download failed: {error}.").format(error=error))
        elif job.kind == VIDEO:
            row.video = job.path
        else:
            row.thumbnail = job.path
    return rows, counts


def local_file_text(path: Path, relative_to: Path) -> str:
    """What the localFile cell says: the path from the results sheet's folder when possible."""
    try:
        return os.path.relpath(path, relative_to)
    except ValueError:  # another drive on Windows
        return str(path)


def local_file_cells(
    rows: Mapping[int, RowDownload], language: str, sheet_folder: Path
) -> tuple[str, dict[int, Any]]:
    """The localFile header (in the sheet's language) and its cell per row."""
    from hhbatch.output import OutputCell

    header = header_for(LOCAL_FILE_COLUMN, language)
    cells = {}
    for sheet_row, row in rows.items():
        if row.video is not None:
            cells[sheet_row] = OutputCell(local_file_text(row.video, sheet_folder))
        else:
            cells[sheet_row] = OutputCell(None)
    return header, cells


def _results_sheet_rows(batch: Any) -> dict[int, tuple[str | None, dict[str, str]]]:
    """(prompt, result cells) per sheet row of the results sheet beside the manifest, if any."""
    from hhbatch.errors import HhbatchError
    from hhbatch.loader import load_manifest

    manifest_path = Path(batch.manifest.path)
    results_path = Path(batch.output_path)
    try:
        if not results_path.is_file() or results_path.resolve() == manifest_path.resolve():
            return {}
        sheet = load_manifest(
            results_path, sheet=batch.manifest.sheet_name, config=getattr(batch, "config", None)
        )
    except (HhbatchError, OSError):
        return {}  # no usable results sheet: the journal is all we know
    return {row.sheet_row: (row.request.get("prompt"), row.previous) for row in sheet.rows}


def row_files(batch: Any) -> dict[int, RowResult]:
    """Every row's result from the journal; a results sheet's own word where the journal has
    none (journal moved or lost, or a ``--sandbox`` run whose journal was temporary: the sheet
    still knows what was ready and where)."""
    results = batch.results()
    from_results_sheet: dict[int, tuple[str | None, dict[str, str]]] | None = None
    for row in batch.manifest.rows:
        prev = row.previous or {}
        current = results.get(row.sheet_row)
        if not prev and (current is None or current.status != spec.STATUS_READY):
            if from_results_sheet is None:
                from_results_sheet = _results_sheet_rows(batch)
            prompt, cells = from_results_sheet.get(row.sheet_row, (None, {}))
            if prompt == row.request.get("prompt"):  # the same row, not one moved by an edit
                prev = cells
        status = prev.get("status")
        journal_silent = current is None or current.status == SHEET_NOT_SUBMITTED
        sheet_ready = status == spec.STATUS_READY and bool(prev.get("videoUrl"))
        if status and (journal_silent or (sheet_ready and current.status != spec.STATUS_READY)):
            results[row.sheet_row] = RowResult(
                status=status,
                video_id=prev.get("videoId") or None,
                video_url=prev.get("videoUrl") or None,
                thumbnail_url=prev.get("thumbnailUrl") or None,
                ready_at=prev.get("readyAt") or None,
                error=prev.get("error") or None,
            )
    return results


def filename_cells(manifest: Any) -> dict[int, str]:
    """The ``filename`` column's text per sheet row, when the sheet has such a column."""
    from hhbatch.loader.normalize import cell_text, is_blank
    from hhbatch.loader.readers import read_sheet

    wanted = {"".join(h.split()).casefold() for h in FILENAME_HEADERS}
    column = next(
        (c for c in manifest.columns if "".join(str(c.header).split()).casefold() in wanted),
        None,
    )
    if column is None:
        return {}
    raw = read_sheet(Path(manifest.path), manifest.sheet_name)
    names = {}
    for row in manifest.rows:
        cells = raw.rows[row.sheet_row - 1] if row.sheet_row - 1 < len(raw.rows) else []
        value = cells[column.index - 1] if column.index - 1 < len(cells) else None
        if not is_blank(value):
            names[row.sheet_row] = cell_text(value)
    return names


def download_batch(
    batch: Any,
    folder: Path | None = None,
    events: DownloadEvents | None = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    attempts: int = DEFAULT_ATTEMPTS,
    retry_delay: float = 1.0,
    transport: httpx.AsyncBaseTransport | None = None,
    write_sheet: bool = True,
) -> DownloadReport:
    """Download every ready row of a prepared batch and write localFile into the results sheet."""
    manifest = batch.manifest
    folder = Path(folder) if folder is not None else default_folder(Path(batch.options.manifest))
    results = row_files(batch)
    chosen = filename_cells(manifest)
    stems = file_stems(
        (row.sheet_row, row.request.get("prompt"), chosen.get(row.sheet_row))
        for row in manifest.rows
    )
    jobs = plan_files(results, stems, folder)
    existed = folder.exists()
    outcomes = asyncio.run(
        fetch_files(
            jobs,
            events,
            concurrency=concurrency,
            attempts=attempts,
            retry_delay=retry_delay,
            transport=transport,
        )
    )
    rows, counts = collect(jobs, outcomes, results)
    if not existed and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()  # every file failed (a rehearsal's dead links): leave no empty folder
    report = DownloadReport(folder, rows, counts)
    if write_sheet and rows:  # no ready row: no localFile to record, the sheet stays as it is
        report.output_path = write_results(batch, results, rows)
    return report


def write_results(
    batch: Any, results: Mapping[int, RowResult], rows: Mapping[int, RowDownload]
) -> Path:
    """The results sheet as ``run`` writes it, plus the localFile column (and download errors
    in the error column of ready rows, which have none of their own)."""
    from hhbatch.output import STATUS_FILLS, OutputCell, SheetWriter
    from hhbatch.reconciler import output_cells

    language = batch.manifest.language
    columns, cells = output_cells(dict(results), language, STATUS_FILLS)
    dest = Path(batch.output_path)
    header, local = local_file_cells(rows, language, dest.resolve().parent)
    error_header = header_for(next(c for c in RESULT_COLUMNS if c.name == "error"), language)
    for sheet_row in cells:
        cells[sheet_row][header] = local.get(sheet_row, OutputCell(None))
    for sheet_row, row in rows.items():
        cells.setdefault(sheet_row, {})[header] = local[sheet_row]
        if row.error:
            cells[sheet_row][error_header] = OutputCell(row.error)
    writer = SheetWriter.for_manifest(batch.manifest)
    return writer.write(dest, [*columns, header], cells)


# --- while a run goes on (``hhbatch run --download``) ------------------------------------------
class BackgroundDownloads:
    """Fetch each row's files as soon as it is ready, while the run keeps polling.

    Why a thread with its own event loop: the run's loop ends when the run does, and a slow file
    host must never hold up submitting or polling. The journal is read only on the run's side
    (:class:`DownloadOnReady`); this side sees nothing but URLs and paths.
    """

    def __init__(
        self,
        batch: Any,
        folder: Path | None = None,
        events: DownloadEvents | None = None,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        attempts: int = DEFAULT_ATTEMPTS,
        retry_delay: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        import queue
        import threading

        manifest = batch.manifest
        self.folder = (
            Path(folder) if folder is not None else default_folder(Path(batch.options.manifest))
        )
        chosen = filename_cells(manifest)
        self.stems = file_stems(
            (row.sheet_row, row.request.get("prompt"), chosen.get(row.sheet_row))
            for row in manifest.rows
        )
        self.outcomes: dict[FileJob, tuple[str, str | None]] = {}
        self._events = events or NullEvents()
        self._options = (concurrency, attempts, retry_delay, transport)
        self._queue: queue.Queue[FileJob | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="hhbatch-download", daemon=True)
        self._thread.start()

    def row_ready(self, sheet_row: int, result: RowResult) -> None:
        for job in plan_files({sheet_row: result}, self.stems, self.folder):
            self._queue.put(job)

    def close(self) -> dict[FileJob, tuple[str, str | None]]:
        """Wait for every file asked for so far; returns each one's outcome."""
        self._queue.put(None)
        self._thread.join()
        return self.outcomes

    def _work(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        concurrency, attempts, retry_delay, transport = self._options
        slots = asyncio.Semaphore(max(1, concurrency))
        tasks: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(
            transport=transport, timeout=TIMEOUT, follow_redirects=True
        ) as client:

            async def one(job: FileJob) -> None:
                async with slots:
                    outcome = await _fetch_with_retries(
                        client, job, self._events, attempts, retry_delay
                    )
                self.outcomes[job] = outcome
                self._events.file_done(job, *outcome)

            seen: set[Path] = set()
            while True:
                job = await asyncio.to_thread(self._queue.get)
                if job is None:
                    break
                if job.path in seen:
                    continue  # the same row reported ready twice
                seen.add(job.path)
                task = asyncio.ensure_future(one(job))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)


class DownloadOnReady:
    """Wraps the run's progress reporter: passes every event on, and hands each row that turns
    ``ready`` to a :class:`BackgroundDownloads`. Called on the run's event loop thread, where the
    journal may be read."""

    def __init__(self, inner: Any, batch: Any, downloads: BackgroundDownloads) -> None:
        self._inner = inner
        self._batch = batch
        self._downloads = downloads

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def finished(self, row_key: str, status: str) -> None:
        self._inner.finished(row_key, status)
        if status != spec.STATUS_READY:
            return
        job = self._batch.journal.job(row_key)
        if job is not None and job.video_url and job.sheet_row is not None:
            self._downloads.row_ready(
                job.sheet_row,
                RowResult(
                    status=spec.STATUS_READY,
                    video_url=job.video_url,
                    thumbnail_url=job.thumbnail_url,
                ),
            )


def finish_background(
    batch: Any, downloads: BackgroundDownloads, events: DownloadEvents | None = None
) -> DownloadReport:
    """After the run: wait for the background files, fetch those of rows that were ready before
    (or whose event was missed), and write localFile into the results sheet."""
    during = downloads.close()
    report = download_batch(batch, downloads.folder, events)
    fetched = sum(1 for outcome, _ in during.values() if outcome == DOWNLOADED)
    # Files fetched during the run were found complete by the sweep: count them as downloaded.
    moved = min(fetched, report.counts.get(SKIPPED, 0))
    report.counts[DOWNLOADED] = report.counts.get(DOWNLOADED, 0) + moved
    report.counts[SKIPPED] = report.counts.get(SKIPPED, 0) - moved
    return report
