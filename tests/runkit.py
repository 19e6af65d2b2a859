"""Helpers for the in-process ``hhbatch run`` tests (``tests/test_run_*.py``).

Why in-process: ``hhbatch.cli.main([...])`` is the real entry point (argument parsing, exit codes,
messages) and runs against a real sandbox over HTTP, yet costs a few milliseconds instead of a
Python start-up; the subprocess path is covered once in ``test_run_happy.py``.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from hhbatch import retry
from hhbatch.cli import main
from hhbatch.sandbox import Sandbox
from hhbatch.workflow import default_output_path, journal_path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
RESULT_HEADERS = ("status", "videoId", "videoUrl", "thumbnailUrl", "readyAt", "error")
FAST = ("--yes", "--poll-interval", "0.02", "--rate", "500")
# The backoff hhbatch chooses itself between retries (0.5 s, 1 s, 2 s ... after a failed upload,
# poll or connection; 1 s, 2 s ... after a 429 without Retry-After) runs this much faster in
# these runs: the sandbox fails on purpose, and waiting it out for real was most of those
# tests' time. A server's Retry-After is still waited out in full. The delays themselves are
# asserted in tests/test_client.py and tests/test_ratelimit.py, which do not use this.
BACKOFF_SCALE = 0.05


_backoff_delay = retry.backoff_delay


def _fast_backoff(*args: Any, **kwargs: Any) -> float:
    return _backoff_delay(*args, **kwargs) * BACKOFF_SCALE


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def __str__(self) -> str:  # shown by pytest when an assertion on it fails
        return f"exit {self.code}\n--- stdout ---\n{self.out}\n--- stderr ---\n{self.err}"


class Cli:
    """Runs ``hhbatch`` in this process against one sandbox, capturing its output."""

    def __init__(
        self, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
    ) -> None:
        self.sandbox = sandbox
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.use_key(sandbox.api_key)
        monkeypatch.setenv("HAPPYHORSE_BASE_URL", sandbox.base_url)
        monkeypatch.setattr(retry, "backoff_delay", _fast_backoff)  # called as retry.<name>

    def use_key(self, key: str | None) -> None:
        if key is None:
            self.monkeypatch.delenv("HAPPYHORSE_API_KEY", raising=False)
        else:
            self.monkeypatch.setenv("HAPPYHORSE_API_KEY", key)

    def __call__(self, *argv: str | Path) -> Outcome:
        self.capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = self.capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    def run(self, manifest: Path, *extra: str | Path) -> Outcome:
        return self("run", manifest, *FAST, *extra)

    def status(self, manifest: Path, *extra: str | Path) -> Outcome:
        return self("status", manifest, *extra)


def copy_samples(tmp_path: Path) -> Path:
    """A private copy of ``samples/`` (manifests and assets); returns the folder."""
    folder = tmp_path / "campaign"
    # only what the repository ships: another run may have left results or a journal beside it
    shutil.copytree(
        SAMPLES, folder, ignore=shutil.ignore_patterns("*.results.*", ".hhbatch", "~$*")
    )
    return folder


def copy_assets(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SAMPLES / "assets", folder / "assets", dirs_exist_ok=True)
    return folder


def prompt(i: int, extra: str = "") -> str:
    return f"Test video {i:03d}: a chestnut horse runs along the beach{extra}"


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Videos"
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def simple_rows(n: int, *, start: int = 0, duration: int = 3) -> list[list[Any]]:
    return [[prompt(i), duration, "720p"] for i in range(start, start + n)]


SIMPLE_HEADER = ("Prompt", "Duration (s)", "Resolution")


def results_path(manifest: Path) -> Path:
    return default_output_path(manifest)


def read_rows(path: Path, sheet: str | None = None) -> list[dict[str, Any]]:
    """Every data row of a results sheet (xlsx or csv) as {header: value}, in sheet order."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [dict(row) for row in csv.DictReader(handle)]
    wb = openpyxl.load_workbook(path)
    try:
        ws = wb[sheet] if sheet else wb.worksheets[0]
        values = list(ws.iter_rows(values_only=True))
    finally:
        wb.close()
    header = [str(h) if h is not None else "" for h in values[0]]
    return [dict(zip(header, row, strict=False)) for row in values[1:] if any(row)]


def by_prompt(rows: list[dict[str, Any]], column: str = "Prompt") -> dict[str, dict[str, Any]]:
    return {str(row[column]): row for row in rows}


def statuses(path: Path) -> list[str]:
    return [str(row.get("status")) for row in read_rows(path)]


def journal_file(manifest: Path) -> Path:
    return journal_path(manifest)


def creates(sandbox: Sandbox) -> int:
    return int(sandbox.counters()["creates"])


def prompts_created(sandbox: Sandbox) -> list[str]:
    return [job["body"]["prompt"] for job in sandbox.jobs()]
