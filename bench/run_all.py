"""Every benchmark of issues #5 and #12 in one go (about 20 minutes on 2 cores), then one table.

    python bench/run_all.py [--quick] [--json results.json]

``--quick`` runs each measurement once (about 6 minutes). The figures behind BENCHMARKS.md come
from this script; each part can also be run on its own (``bench/bench_*.py --help``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import bench_creates_first
import bench_discover
import bench_e2e
import bench_load
import bench_scale
import bench_startup
import bench_submit
import bench_uploads
import bench_validate
from common import compile_hhbatch, dependency_versions, machine, median, table, verdict


def load_figures(repeat: int) -> dict[str, Any]:
    rows = 100_000
    with tempfile.TemporaryDirectory(prefix="hhbench-load-") as tmp:
        path = Path(tmp) / "bench.xlsx"
        bench_load.generate(path, rows)
        runs = [bench_load.measure(path) for _ in range(repeat)]
    mid = median(r["load"] for r in runs)
    peak = max(r["peak_kib"] for r in runs) / 1024
    print(
        table(
            ["run", "rows", "load + validate (s)", "peak RSS (MB)"],
            [(str(i + 1), r["rows"], r["load"], r["peak_kib"] / 1024) for i, r in enumerate(runs)],
        )
    )
    return {"median": mid, "peak_mb": peak, "ok": mid <= 5.0 and peak <= 1024, "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each measurement")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    started = time.perf_counter()
    print(f"hhbatch benchmarks, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}\n")

    results: dict[str, Any] = {"machine": machine(), "repeat": repeat}
    results["versions"] = dependency_versions()
    print(results["versions"])
    print(f"hhbatch from {compile_hhbatch()}")
    results["submit"] = bench_submit.run(400, repeat, with_polling=True)
    print()
    results["e2e"] = bench_e2e.run(300, repeat, naive_rows=30)
    print()
    results["uploads"] = bench_uploads.run(repeat)
    print()
    results["scale"] = bench_scale.run(10_000, 1)
    print()
    print("Loading 100,000 rows (bench/bench_load.py)")
    results["load"] = load_figures(repeat)
    print()
    print("Validation CPU / a bare calamine read (bench/bench_validate.py)")
    results["validate"] = bench_validate.run(100_000, 2 * repeat - 1)
    print()
    print("Start-up (bench/bench_startup.py)")
    results["startup"] = bench_startup.run(5 * repeat)
    print()
    results["discover"] = bench_discover.run(400, repeat)
    print()
    results["creates_first"] = bench_creates_first.run(100, repeat)
    elapsed = time.perf_counter() - started
    print()

    rows: list[tuple[str, str, str, str]] = []
    for case in results["submit"]:
        rows.append(
            (
                f"1 submit {case['case']}",
                f"{case['ratio']:.2f} of R, {case['share429']:.1%} 429",
                case["bar"],
                "" if case.get("informative") else verdict(case["ok"]),
            )
        )
    e2e = results["e2e"]["item2"]
    rows.append(
        (
            "2 end to end, 300 rows",
            f"{e2e['ratio']:.2f} x floor, {e2e['polls_per_job']:.2f} polls/job",
            "<= 1.3 x floor",
            verdict(e2e["ok"]),
        )
    )
    naive = results["e2e"].get("naive")
    if naive:
        rows.append(("3 speed-up over naive.py", f"{naive['speedup']:.1f} x", "(report)", ""))
    up = results["uploads"]
    rows.append(
        (
            "4 memory growth, 45 MB video",
            f"{up['growth']:.1f} MB",
            "<= 30 MB",
            verdict(up["mem_ok"]),
        )
    )
    rows.append(
        (
            "4 uploads, 200 rows / 5 files",
            f"{up['shared']['uploads']} uploads",
            "exactly 5",
            verdict(up["dist_ok"]),
        )
    )
    sc = results["scale"]
    rows.append(
        (
            "5 scale 10,000 rows, 500/s",
            f"{sc['ratio']:.2f} x floor, {sc['peak_mb']:.0f} MB, write {sc['write_share']:.1%}",
            "<= 1.5 x, <= 500 MB, <= 10%",
            verdict(sc["ok"]),
        )
    )
    ld = results["load"]
    rows.append(
        (
            "6 load 100,000 rows",
            f"{ld['median']:.2f} s, {ld['peak_mb']:.0f} MB",
            "<= 5 s, <= 1 GB",
            verdict(ld["ok"]),
        )
    )
    va = results["validate"]
    rows.append(
        (
            "7 validate 100,000 rows: CPU / bare read",
            f"{va['ratio']:.2f} ({va['validate_cpu']:.2f} s / {va['read_cpu']:.2f} s)",
            "<= 1.5",
            verdict(va["ok"]),
        )
    )
    st = results["startup"]
    rows.append(("8 --version / --help", f"{st['worst']:.3f} s", "<= 0.25 s", verdict(st["ok"])))
    for case in results["discover"]:
        first = case["first"]
        rows.append(
            (
                f"12.1 no --rate, {case['case']}: first run",
                f"{first['ratio']:.2f} of R, {first['share429']:.1%} 429",
                ">= 0.80, <= 5%",
                verdict(case["ok"]),
            )
        )
    cf = results["creates_first"]
    for case in cf["cases"]:
        rows.append(
            (
                f"12.2 creates first, 100 rows, {case['case']}",
                f"{case['ratio']:.2f} x floor",
                "<= 1.20 x floor" if not case["informative"] else "(report)",
                "" if case["informative"] else verdict(case["ok"]),
            )
        )
    print(f"Summary ({elapsed / 60:.1f} min)")
    print(table(["item", "figure", "bar", "verdict"], rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    ok = all(r[3] != "MISS" for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
