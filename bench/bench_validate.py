"""``hhbatch validate`` of a 100,000-row, 12-column XLSX: CPU ÷ a bare calamine read (issue #12.3).

Why a ratio and not seconds: reading the workbook (calamine parsing the XML in Rust, then making
1.2 million Python objects) is work hhbatch cannot avoid; everything else (start-up, header
matching, judging every cell, the summary) is hhbatch's own. Dividing by a bare read of the same
file in the same minute cancels most of the machine's speed and load. Both sides are whole
processes (interpreter start-up included) and the figure is their own CPU time (user + system,
from ``wait4``), so another process on the machine costs them wall time, not CPU time.

Runs alternate (read, validate, read, validate …) and each pair gives a ratio; the figure is the
median ratio. Goal: ≤ 1.5 (it was 2.55).

    python bench/bench_validate.py [--rows 100000] [--repeat 5] [--hhbatch PATH]

``--hhbatch`` runs another checkout's code (``PYTHONPATH``), which is how "before" was measured.
POSIX only (``os.wait4``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_load
from common import compile_hhbatch, dependency_versions, load_average, median, table, verdict

GOAL = 1.5

_BARE_READ = r"""
import sys
import python_calamine
workbook = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
grid = workbook.get_sheet_by_name(workbook.sheet_names[0]).to_python(skip_empty_area=False)
assert len(grid) > 1
"""


def measure(
    command: list[str], env: dict[str, str] | None = None, cwd: str | None = None
) -> dict[str, float]:
    """CPU seconds (user + system), wall seconds and peak RSS (MB) of one child process.

    ``cwd`` matters for ``--hhbatch``: ``python -m``/``-c`` put the working folder first on
    ``sys.path``, so a child started in a checkout would import that checkout's hhbatch."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{command[:3]} exited {proc.returncode}: {err[-2000:]}")
    return {
        "cpu": usage.ru_utime + usage.ru_stime,
        "wall": wall,
        "peak_mb": usage.ru_maxrss / 1024,
    }


def run(rows: int = 100_000, repeat: int = 5, hhbatch_path: Path | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    if hhbatch_path is not None:
        env["PYTHONPATH"] = str(hhbatch_path)
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="hhbench-validate-") as tmp:
        path = Path(tmp) / "bench.xlsx"
        bench_load.generate(path, rows)
        print(f"hhbatch from {compile_hhbatch(env, tmp)}")
        bare = [sys.executable, "-c", _BARE_READ, str(path)]
        validate = [sys.executable, "-m", "hhbatch", "validate", str(path)]
        measure(bare, env, tmp)  # warm the page cache and the interpreter's files once
        measure(validate, env, tmp)
        pairs = []
        for _ in range(repeat):
            read = measure(bare, env, tmp)
            checked = measure(validate, env, tmp)
            pairs.append((read, checked, checked["cpu"] / read["cpu"]))
    ratio = median(p[2] for p in pairs)
    print(
        table(
            ["run", "bare read CPU (s)", "validate CPU (s)", "ratio", "validate wall (s)", "MB"],
            [
                (str(i + 1), r["cpu"], c["cpu"], ratio_, c["wall"], c["peak_mb"])
                for i, (r, c, ratio_) in enumerate(pairs)
            ],
        )
    )
    load_after = load_average()
    ok = ratio <= GOAL
    print(
        f"median ratio {ratio:.2f} (goal ≤ {GOAL}): {verdict(ok)}; "
        f"load average {load_before} before, {load_after} after"
    )
    return {
        "ratio": ratio,
        "read_cpu": median(p[0]["cpu"] for p in pairs),
        "validate_cpu": median(p[1]["cpu"] for p in pairs),
        "ok": ok,
        "load": [load_before, load_after],
        "versions": dependency_versions(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--hhbatch", type=Path, help="run this checkout's hhbatch (PYTHONPATH)")
    args = parser.parse_args()
    print(dependency_versions())
    result = run(args.rows, args.repeat, args.hhbatch)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
