"""How long ``hhbatch --version`` and ``hhbatch --help`` take (issue #12.4). Goal: ≤ 0.25 s.

Why it matters: every command a user types pays the start-up first, and ``--help`` is what people
type when they are already unsure. The figure is the wall time of the whole process as the user
starts it (the console script in this interpreter's ``bin/``, else ``python -m hhbatch``), median
of ``--repeat`` runs after one warm-up; a bare ``python -c pass`` is shown for scale, and the
process's own CPU time (``wait4``) beside it, which load on the machine does not inflate.

    python bench/bench_startup.py [--repeat 15] [--hhbatch PATH]

``--hhbatch`` runs another checkout's code (``PYTHONPATH``, through ``python -m hhbatch``), which
is how "before" was measured. POSIX only (``os.wait4``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_validate import measure
from common import compile_hhbatch, dependency_versions, load_average, median, table, verdict

GOAL = 0.25


def hhbatch_command(hhbatch_path: Path | None) -> list[str]:
    script = Path(sys.executable).parent / "hhbatch"
    if hhbatch_path is None and script.exists():
        return [str(script)]
    found = shutil.which("hhbatch") if hhbatch_path is None else None
    return [found] if found else [sys.executable, "-m", "hhbatch"]


def run(repeat: int = 15, hhbatch_path: Path | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    if hhbatch_path is not None:
        env["PYTHONPATH"] = str(hhbatch_path)
    hhbatch = hhbatch_command(hhbatch_path)
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "hhbatch --version": [*hhbatch, "--version"],
        "hhbatch --help": [*hhbatch, "--help"],
        "hhbatch run --help": [*hhbatch, "run", "--help"],
    }
    load_before = load_average()
    results: dict[str, dict[str, float]] = {}
    cwd = tempfile.mkdtemp(prefix="hhbench-startup-")  # not a checkout: see measure()
    print(f"hhbatch from {compile_hhbatch(env, cwd)}")
    for name, command in cases.items():
        measure(command, env, cwd)  # warm-up: the files are in the page cache, .pyc written
        runs = [measure(command, env, cwd) for _ in range(repeat)]
        results[name] = {
            "wall": median(r["wall"] for r in runs),
            "cpu": median(r["cpu"] for r in runs),
        }
    load_after = load_average()
    print(
        table(
            ["command", "wall (s, median)", "CPU (s, median)"],
            [(name, f"{r['wall']:.3f}", f"{r['cpu']:.3f}") for name, r in results.items()],
        )
    )
    worst = max(results["hhbatch --version"]["wall"], results["hhbatch --help"]["wall"])
    ok = worst <= GOAL
    print(
        f"--version/--help: {worst:.3f} s (goal ≤ {GOAL} s): {verdict(ok)}; "
        f"load average {load_before} before, {load_after} after"
    )
    return {
        "cases": results,
        "worst": worst,
        "ok": ok,
        "load": [load_before, load_after],
        "versions": dependency_versions(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--hhbatch", type=Path, help="run this checkout's hhbatch (PYTHONPATH)")
    args = parser.parse_args()
    print(dependency_versions())
    result = run(args.repeat, args.hhbatch)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
