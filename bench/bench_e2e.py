"""Issue #5 items 2 and 3: a whole batch against the rate-limit floor, and against a naive script.

300 rows, every third with a first-frame image drawn from 10 distinct files; sandbox limit
R = 20 requests/s (burst 20); queue 0.5 s, generation 2–4 s; ``--rate 20 --poll-interval 1``.
The floor is (presigns of distinct files + creates + one poll per row) ÷ R: no client can finish
sooner. Bar: wall time ÷ floor ≤ 1.3. Wall time is the whole ``hhbatch run`` process (start-up,
validation, plan, run, final sheet write).

Item 3 runs ``bench/naive.py`` (presign, PUT, create, poll every interval, row after row) on the
same limits. It is sequential, so its time is linear in rows: by default it runs the first
``--naive-rows`` rows (same mix) and scales up; ``--naive-rows 300`` runs it in full (~20 min).

    python bench/bench_e2e.py [--rows 300] [--repeat 3] [--naive-rows 30]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    BENCH_DIR,
    SandboxProc,
    create_span,
    machine,
    make_images,
    median,
    new_workdir,
    parse_iso,
    run_hhbatch,
    sandbox_settings,
    table,
    text_rows,
    verdict,
    write_csv,
)

R = 20.0
DISTINCT_IMAGES = 10
BAR = 1.3
SETTINGS = sandbox_settings(rate=R, burst=int(R), queue_sec=0.5, processing_sec=[2.0, 4.0])
POLL_INTERVAL = "1"


def build(folder: Path, rows: int) -> Path:
    images = make_images(folder, DISTINCT_IMAGES)
    data = text_rows(rows)
    for i, row in enumerate(data):
        if i % 3 == 0:
            row["Source image"] = images[(i // 3) % len(images)]
    return write_csv(folder / "e2e.csv", data)


def floor_seconds(rows: int) -> float:
    distinct = min(DISTINCT_IMAGES, (rows + 2) // 3)
    return (distinct + rows + rows) / R


def one_run(rows: int, rate: float | None = R) -> dict[str, float]:
    """One run; ``rate=None`` runs without ``--rate`` (the limiter finds the limit itself)."""
    args = ["--poll-interval", POLL_INTERVAL]
    if rate is not None:
        args = ["--rate", str(rate), *args]
    with new_workdir("hhbench-e2e-") as tmp, SandboxProc(SETTINGS) as sb:
        manifest = build(Path(tmp), rows)
        result = run_hhbatch(manifest, sb, args, jobs=True)
    requests = result.counters["requests_total"]
    last_create = max(parse_iso(job["created_at"]) for job in result.jobs)
    return {
        "create_span": create_span(result.jobs),
        "after_last_create": result.started + result.wall - last_create,
        "wall": result.wall,
        "elapsed": float(result.report.get("elapsedSec", 0.0)),
        "ready": result.ready,
        "polls_per_job": result.polls / max(1, result.ready),
        "requests": requests,
        "share429": result.counters["rate_limited"] / requests if requests else 0.0,
        "presigns": result.counters["presigns"],
        "peak_mb": result.peak_mb or 0.0,
    }


def naive_run(rows: int) -> dict[str, float]:
    with new_workdir("hhbench-naive-") as tmp, SandboxProc(SETTINGS) as sb:
        manifest = build(Path(tmp), rows)
        started = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                str(BENCH_DIR / "naive.py"),
                str(manifest),
                "--poll-interval",
                POLL_INTERVAL,
            ],
            env=sb.env,
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - started
    data = json.loads(out.stdout)
    return {"wall": wall, "requests": data["requests"], "rows": rows}


def run(rows: int = 300, repeat: int = 3, naive_rows: int = 30) -> dict[str, Any]:
    floor = floor_seconds(rows)
    print(
        f"End to end: {rows} rows, 1/3 with an image from {DISTINCT_IMAGES} files, "
        f"R = {R:g}/s, queue 0.5 s, generation 2-4 s, --poll-interval {POLL_INTERVAL}; "
        f"floor {floor:.1f} s; {machine()}"
    )
    runs = [one_run(rows) for _ in range(repeat)]
    wall = median(r["wall"] for r in runs)
    ratio = wall / floor
    item2 = {
        "wall": wall,
        "elapsed": median(r["elapsed"] for r in runs),
        "ratio": ratio,
        "polls_per_job": median(r["polls_per_job"] for r in runs),
        "share429": median(r["share429"] for r in runs),
        "ready": min(r["ready"] for r in runs),
        "presigns": max(r["presigns"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
        "ok": ratio <= BAR and min(r["ready"] for r in runs) == rows,
        "runs": runs,
    }
    print(
        table(
            [
                "run",
                "wall ÷ floor",
                "polls/finished job",
                "429 share",
                "ready",
                "presigns",
                "peak RSS MB",
            ],
            [
                (
                    str(i + 1),
                    r["wall"] / floor,
                    r["polls_per_job"],
                    f"{r['share429']:.1%}",
                    r["ready"],
                    r["presigns"],
                    r["peak_mb"],
                )
                for i, r in enumerate(runs)
            ]
            + [
                (
                    "median",
                    ratio,
                    item2["polls_per_job"],
                    f"{item2['share429']:.1%}",
                    item2["ready"],
                    item2["presigns"],
                    item2["peak_mb"],
                )
            ],
        )
    )
    print(f"item 2 bar wall ÷ floor <= {BAR}: {verdict(item2['ok'])}")
    result: dict[str, Any] = {"floor": floor, "item2": item2}
    if naive_rows > 0:
        naive = naive_run(min(naive_rows, rows))
        naive_full = naive["wall"] * rows / naive["rows"]
        speedup = naive_full / wall
        scaled = (
            ""
            if naive["rows"] == rows
            else f" (ran {naive['rows']} rows, scaled x{rows / naive['rows']:g})"
        )
        print(
            table(
                ["script", f"time for {rows} rows ÷ floor", "speed-up of hhbatch"],
                [
                    ("bench/naive.py" + scaled, naive_full / floor, 1.0),
                    ("hhbatch run", ratio, speedup),
                ],
            )
        )
        result["naive"] = {**naive, "full": naive_full, "speedup": speedup}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=30)
    args = parser.parse_args()
    result = run(args.rows, args.repeat, args.naive_rows)
    return 0 if result["item2"]["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
