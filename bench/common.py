"""What every bench script shares: a sandbox in its own process, manifests, a measured hhbatch run.

Why separate processes: the sandbox is Python too. Inside the hhbatch process it would compete for
the same GIL and every figure would measure the two together. So the sandbox runs in
``bench/sandbox_proc.py`` and hhbatch runs as the real CLI (``bench/_hhbatch_proc.py`` adds a
stopwatch on the sheet writer and reports the process's own peak RSS).
"""

from __future__ import annotations

import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.request import urlopen

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PROMPT = "Bench row {i}: a chestnut horse gallops along a sunlit beach at golden hour"

# A 1x1 PNG; extra bytes after IEND make each copy a distinct file (another hash) that still
# sniffs as PNG.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


# ----------------------------------------------------------------------------- the sandbox
class SandboxProc:
    """``with SandboxProc({"rate": 20}) as sb:`` – a sandbox server in a child process."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.api_key = ""
        self.cpu_sec: float | None = None  # the server's CPU time, known once it stopped

    def __enter__(self) -> SandboxProc:
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "sandbox_proc.py"), json.dumps(self.settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox process did not start")
        info = json.loads(line)
        self.base_url, self.api_key = info["base_url"], info["api_key"]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # the server stops when its stdin closes
        try:
            assert self.proc.stdout is not None
            tail = self.proc.stdout.read()
            self.proc.wait(timeout=30)
            self.cpu_sec = json.loads(tail.strip().splitlines()[-1]).get("cpu_sec")
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            self.proc.kill()
            self.proc.wait()

    def _get(self, path: str) -> Any:
        with urlopen(self.base_url + path, timeout=60) as response:
            return json.loads(response.read())

    def counters(self) -> dict[str, Any]:
        return self._get("/_sandbox/counters")

    def jobs(self) -> list[dict[str, Any]]:
        return self._get("/_sandbox/jobs")

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HAPPYHORSE_BASE_URL": self.base_url,
            "HAPPYHORSE_API_KEY": self.api_key,
        }


def parse_iso(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def create_span(jobs: Sequence[dict[str, Any]]) -> float:
    """Seconds from the first create to the last, as the server saw them."""
    stamps = sorted(parse_iso(job["created_at"]) for job in jobs)
    return stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0


# ----------------------------------------------------------------------------- manifests
HEADERS = ["Prompt", "Duration (s)", "Source image", "Reference video"]


def text_rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"Prompt": PROMPT.format(i=start + i), "Duration (s)": 5} for i in range(n)]


def make_images(folder: Path, count: int) -> list[str]:
    """``count`` distinct small PNGs in ``folder/assets``; returns their relative paths."""
    (folder / "assets").mkdir(parents=True, exist_ok=True)
    names = []
    for k in range(count):
        name = f"assets/img{k:02d}.png"
        (folder / name).write_bytes(PNG + f"bench image {k}".encode())
        names.append(name)
    return names


def make_video(folder: Path, size: int, name: str = "assets/big.mp4") -> str:
    """A file that sniffs as MP4, ``size`` bytes long (written in chunks, never held whole)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(MP4_HEAD)
        left = size - len(MP4_HEAD)
        chunk = os.urandom(1 << 20)
        while left > 0:
            piece = chunk[: min(left, len(chunk))]
            handle.write(piece)
            left -= len(piece)
    return name


def write_csv(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADERS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def write_xlsx(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("Campaign")
    sheet.write_row(0, 0, HEADERS)
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, [row.get(h, "") for h in HEADERS])
    workbook.close()
    return path


# ----------------------------------------------------------------------------- a run
@dataclass
class RunResult:
    rc: int
    wall: float  # whole process: start-up, load, plan, run, final write
    started: float  # wall-clock time (time.time) the process was started
    report: dict[str, Any]  # hhbatch run --json
    stats: dict[str, Any]  # from _hhbatch_proc.py: write_sec, writes, peak_mb
    counters: dict[str, Any] = field(default_factory=dict)  # the sandbox's, after the run
    jobs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def peak_mb(self) -> float | None:
        return self.stats.get("peak_mb")

    @property
    def polls(self) -> int:
        return int(self.report.get("polls", 0))

    @property
    def ready(self) -> int:
        return int(self.report.get("counts", {}).get("ready", 0))


def run_hhbatch(
    manifest: Path,
    sandbox: SandboxProc,
    args: Sequence[str] = (),
    *,
    jobs: bool = False,
    timeout: float = 1800,
    home: Path | None = None,
) -> RunResult:
    """``hhbatch run MANIFEST --yes --json ARGS`` against ``sandbox``, measured.

    ``home``: the per-user data folder (``HHBATCH_HOME``: the rate limit learned per account
    lives there). Default: a fresh, empty one for this run, so no run learns from another and
    the bench never writes to the real one; pass the same folder twice to measure a second run.
    """
    with tempfile.TemporaryDirectory(prefix="hhbench-") as tmp:
        stats_path = Path(tmp) / "stats.json"
        out_path = Path(tmp) / "stdout.json"
        err_path = Path(tmp) / "stderr.txt"
        env = {
            **sandbox.env,
            "HHBATCH_BENCH_STATS": str(stats_path),
            "HHBATCH_HOME": str(home if home is not None else Path(tmp) / "home"),
        }
        command = [
            sys.executable,
            str(BENCH_DIR / "_hhbatch_proc.py"),
            "run",
            str(manifest),
            "--yes",
            "--json",
            *args,
        ]
        with out_path.open("w") as out, err_path.open("w") as err:
            started_at = time.time()
            started = time.perf_counter()
            completed = subprocess.run(
                command, stdout=out, stderr=err, env=env, timeout=timeout, check=False
            )
            wall = time.perf_counter() - started
        text = out_path.read_text(encoding="utf-8")
        try:
            report = json.loads(text)
        except ValueError:
            sys.stderr.write(err_path.read_text(encoding="utf-8")[-3000:])
            raise RuntimeError(
                f"hhbatch run exited {completed.returncode} without a report"
            ) from None
        stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    result = RunResult(completed.returncode, wall, started_at, report, stats, sandbox.counters())
    if jobs:
        result.jobs = sandbox.jobs()
    return result


# ----------------------------------------------------------------------------- reporting
def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (readable on a terminal, pasteable into BENCHMARKS.md)."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    for row in cells:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("| " + " | ".join(padded) + " |")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if value is None:
        return "n/a"
    return str(value)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def machine() -> str:
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()} {platform.machine()}{load}"
    )


def new_workdir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix=prefix)


def sandbox_settings(**overrides: Any) -> dict[str, Any]:
    """Bench defaults: no latency, no faults, a seed for repeatable timings."""
    settings: dict[str, Any] = {"seed": 1}
    settings.update(overrides)
    return settings


def load_average() -> str:
    """The machine's load (``/proc/loadavg``'s 1, 5 and 15 minute figures) where there is one."""
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def dependency_versions() -> str:
    """The versions a figure was taken with: the same code measures differently on other ones."""
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"Python {platform.python_version()}"]
    for name in ("pandas", "python-calamine", "openpyxl", "httpx", "numpy"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


def compile_hhbatch(env: dict[str, str] | None = None, cwd: str | None = None) -> str:
    """Byte-compile the hhbatch the children will import, and say where it is.

    Why: an install from a wheel is compiled by pip, but a checkout run with
    PYTHONDONTWRITEBYTECODE=1 (set on some machines) compiles every module on every start,
    which would be measured as start-up time.
    """
    where = subprocess.run(
        [sys.executable, "-c", "import hhbatch, os; print(os.path.dirname(hhbatch.__file__))"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run([sys.executable, "-m", "compileall", "-q", where], check=True, env=env)
    return where
