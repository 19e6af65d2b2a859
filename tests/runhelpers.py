"""Helpers for tests that run ``hhbatch run`` as a real process against an in-test sandbox.

Why real processes: the crash-safety promises (kill -9 at any instant, Ctrl-C, the batch lock)
are about what survives the death of a process, which no in-process test can show.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hhbatch.sandbox import Sandbox
from hhbatch.workflow import default_output_path, journal_path

REPO = Path(__file__).resolve().parent.parent
SAMPLE_IMAGES = ("shoe.png", "storefront.jpg")
HEADERS = ["Prompt", "Duration (s)", "Resolution", "Source image", "Notes"]


def prompt_for(index: int) -> str:
    """Distinct, valid prompts: each row asks for a different video."""
    return f"Crash-safety test video number {index:03d}: a horse runs along the beach"


def write_manifest(folder: Path, rows: int, *, image_every: int = 0, name: str = "batch") -> Path:
    """A CSV manifest of ``rows`` rows with distinct prompts.

    Every ``image_every``-th row names one of the sample images (so a few rows share a file and
    uploads happen); the rest are text only. Images are copied beside the manifest.
    """
    folder.mkdir(parents=True, exist_ok=True)
    assets = folder / "assets"
    assets.mkdir(exist_ok=True)
    for image in SAMPLE_IMAGES:
        shutil.copyfile(REPO / "samples" / "assets" / image, assets / image)
    path = folder / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i in range(rows):
            image = ""
            if image_every and i % image_every == image_every - 1:
                image = f"assets/{SAMPLE_IMAGES[(i // image_every) % len(SAMPLE_IMAGES)]}"
            writer.writerow([prompt_for(i), 3, "720p", image, f"row {i}"])
    return path


def env_for(sandbox: Sandbox) -> dict[str, str]:
    env = {**os.environ, "HAPPYHORSE_BASE_URL": sandbox.base_url}
    env["HAPPYHORSE_API_KEY"] = sandbox.api_key
    env["PYTHONIOENCODING"] = "utf-8"
    env["HHBATCH_LANG"] = "en"  # the tests read English messages, whatever this machine's locale
    env.pop("COLUMNS", None)
    return env


def run_command(manifest: Path, *extra: str, poll_interval: float = 0.05) -> list[str]:
    return [
        sys.executable,
        "-m",
        "hhbatch",
        "run",
        str(manifest),
        "--yes",
        "--poll-interval",
        str(poll_interval),
        *extra,
    ]


def start_run(manifest: Path, sandbox: Sandbox, *extra: str, **kwargs: Any) -> subprocess.Popen:
    """``hhbatch run`` in the background; stdout and stderr are captured as text."""
    return subprocess.Popen(
        run_command(manifest, *extra),
        env=env_for(sandbox),
        cwd=manifest.parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        **kwargs,
    )


def run_to_end(
    manifest: Path, sandbox: Sandbox, *extra: str, timeout: float = 60.0
) -> subprocess.CompletedProcess:
    return subprocess.run(
        run_command(manifest, *extra),
        env=env_for(sandbox),
        cwd=manifest.parent,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
    )


def read_results(manifest: Path, out: Path | None = None) -> dict[str, dict[str, str]]:
    """The results CSV (default path, or ``out``), by prompt."""
    path = out or default_output_path(manifest)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row["Prompt"]: row for row in csv.DictReader(handle)}


def journal_jobs(manifest: Path) -> dict[int, dict[str, Any]]:
    """The journal's job records by sheet row (call only when no run holds the lock)."""
    path = journal_path(manifest)
    db = sqlite3.connect(path)
    try:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM jobs").fetchall()
    finally:
        db.close()
    return {row["sheet_row"]: dict(row) for row in rows}


def journal_integrity(manifest: Path) -> str:
    db = sqlite3.connect(journal_path(manifest))
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def creates_by_prompt(sandbox: Sandbox) -> Counter[str]:
    return Counter(job["body"]["prompt"] for job in sandbox.jobs())


def job_ids_by_prompt(sandbox: Sandbox) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for job in sandbox.jobs():
        ids.setdefault(job["body"]["prompt"], []).append(job["id"])
    return ids


def describe(proc_result: Any, sandbox: Sandbox | None = None) -> str:
    """Diagnostics for an assertion message: exit code, output tails, sandbox counters."""
    parts = [f"exit code: {getattr(proc_result, 'returncode', None)}"]
    for name in ("stdout", "stderr"):
        text = getattr(proc_result, name, None) or ""
        parts.append(f"--- {name} (tail) ---\n{text[-3000:]}")
    if sandbox is not None:
        counters = sandbox.counters()
        parts.append(f"--- sandbox counters ---\n{counters}")
    return "\n".join(parts)


class CreateWatch:
    """Tells a test when a create request has reached the sandbox (before it is answered).

    Installed by wrapping the sandbox's latency step, which every API request passes through
    right after it arrives: with latency on creates, "arrived" means "in flight", the instant a
    kill makes its outcome unknown.
    """

    def __init__(self) -> None:
        self._arrived = 0
        self._cond = threading.Condition()

    def install(self, monkeypatch: Any) -> CreateWatch:
        from hhbatch.sandbox.context import Context

        original = Context.sleep_latency
        watch = self

        def sleep_latency(ctx: Context, route: str) -> None:
            if route == "create":
                with watch._cond:
                    watch._arrived += 1
                    watch._cond.notify_all()
            original(ctx, route)

        monkeypatch.setattr(Context, "sleep_latency", sleep_latency)
        return self

    @property
    def arrived(self) -> int:
        with self._cond:
            return self._arrived

    def wait_for(self, count: int, timeout: float, proc: subprocess.Popen | None = None) -> bool:
        """Wait until ``count`` creates arrived; False on timeout or when ``proc`` exited."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._arrived < count:
                left = deadline - time.monotonic()
                if left <= 0 or (proc is not None and proc.poll() is not None):
                    return False
                self._cond.wait(min(left, 0.05))
        return True


class ShiftableClock:
    """Real time plus an offset the test can move forward: finish slow sandbox jobs at once."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def wait_until(predicate: Any, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    """Poll ``predicate`` until true; False on timeout or when ``proc`` exited first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc is not None and proc.poll() is not None:
            return bool(predicate())
        time.sleep(0.01)
    return False


def wait_for_creates_to_settle(sandbox: Sandbox, quiet: float = 1.0, timeout: float = 30) -> int:
    """Wait until the sandbox has seen no new create for ``quiet`` seconds; return the count.

    For tests that stop a run inside a long 429 pause: creates let through before the pause
    arrive (later on a loaded machine), their answers are recorded, then nothing moves until
    the pause ends. A fixed short sleep raced with that on a busy machine."""
    route = "POST /api/v1/videos"
    sent = sandbox.counters()["requests"].get(route, 0)
    steady_since = started = time.monotonic()
    while time.monotonic() - steady_since < quiet and time.monotonic() - started < timeout:
        time.sleep(0.05)
        now_sent = sandbox.counters()["requests"].get(route, 0)
        if now_sent != sent:
            sent, steady_since = now_sent, time.monotonic()
    return sent
