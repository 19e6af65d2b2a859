"""Issue #5 item 5: 10,000 rows at 500 requests/s.

Sandbox limit 500 requests/s (burst 500), no queue, generation 1–2 s; an XLSX manifest (what users
send; the heavier sheet to write); ``--rate 500 --poll-interval 1``. The floor is
(creates + one poll per row) ÷ 500. Bars: every row finishes, peak RSS ≤ 500 MB, wall ÷ floor
≤ 1.5, and writing the results sheet (periodic refreshes and the final write) takes ≤ 10 % of the
wall time. On 2 cores one run takes a few minutes, so ``bench/run_all.py`` runs it once.

    python bench/bench_scale.py [--rows 10000] [--repeat 1] [--csv]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from common import (
    SandboxProc,
    machine,
    median,
    new_workdir,
    run_hhbatch,
    sandbox_settings,
    table,
    text_rows,
    verdict,
    write_csv,
    write_xlsx,
)

R = 500.0
SETTINGS = sandbox_settings(rate=R, burst=int(R), queue_sec=0.0, processing_sec=[1.0, 2.0])
BARS = {"ratio": 1.5, "peak_mb": 500.0, "write_share": 0.10}


def one_run(rows: int, as_csv: bool, extra: list[str]) -> dict[str, Any]:
    with new_workdir("hhbench-scale-") as tmp:
        data = text_rows(rows)
        if as_csv:
            manifest = write_csv(Path(tmp) / "scale.csv", data)
        else:
            manifest = write_xlsx(Path(tmp) / "scale.xlsx", data)
        with SandboxProc(SETTINGS) as sb:
            result = run_hhbatch(
                manifest, sb, ["--rate", str(R), "--poll-interval", "1", *extra], timeout=3600
            )
        server_cpu = sb.cpu_sec or 0.0
    requests = result.counters["requests_total"]
    return {
        "wall": result.wall,
        "elapsed": float(result.report.get("elapsedSec", 0.0)),
        "ready": result.ready,
        "polls_per_job": result.polls / max(1, result.ready),
        "share429": result.counters["rate_limited"] / requests if requests else 0.0,
        "peak_mb": float(result.peak_mb or 0.0),
        "write_sec": float(result.stats.get("write_sec", 0.0)),
        "writes": int(result.stats.get("writes", 0)),
        "cpu_sec": float(result.stats.get("cpu_sec", 0.0)),
        "server_cpu_sec": server_cpu,
    }


def run(
    rows: int = 10_000, repeat: int = 1, as_csv: bool = False, extra: list[str] | None = None
) -> dict[str, Any]:
    floor = 2 * rows / R
    kind = "CSV" if as_csv else "XLSX"
    print(
        f"Scale: {rows:,} rows ({kind}), R = {R:g}/s, generation 1-2 s; floor {floor:.1f} s; "
        f"{machine()}"
    )
    runs = [one_run(rows, as_csv, extra or []) for _ in range(repeat)]
    wall = median(r["wall"] for r in runs)
    summary = {
        "floor": floor,
        "wall": wall,
        "ratio": wall / floor,
        "peak_mb": max(r["peak_mb"] for r in runs),
        "write_share": median(r["write_sec"] / r["wall"] for r in runs),
        "writes": median(r["writes"] for r in runs),
        "cpu_share": median(r["cpu_sec"] / r["wall"] for r in runs),
        "server_cpu_share": median(r["server_cpu_sec"] / r["wall"] for r in runs),
        "polls_per_job": median(r["polls_per_job"] for r in runs),
        "share429": median(r["share429"] for r in runs),
        "ready": min(r["ready"] for r in runs),
        "runs": runs,
    }
    checks = {
        "finished": summary["ready"] == rows,
        "ratio": summary["ratio"] <= BARS["ratio"],
        "peak_mb": summary["peak_mb"] <= BARS["peak_mb"],
        "write_share": summary["write_share"] <= BARS["write_share"],
    }
    summary["ok"] = all(checks.values())
    print(
        table(
            ["measure", "figure", "bar", "verdict"],
            [
                ("rows ready", f"{summary['ready']:,}", f"{rows:,}", verdict(checks["finished"])),
                ("wall ÷ floor", summary["ratio"], "<= 1.5", verdict(checks["ratio"])),
                ("peak RSS (MB)", summary["peak_mb"], "<= 500", verdict(checks["peak_mb"])),
                (
                    "sheet writing ÷ wall",
                    f"{summary['write_share']:.1%} ({summary['writes']:g} writes)",
                    "<= 10%",
                    verdict(checks["write_share"]),
                ),
                ("polls per finished job", summary["polls_per_job"], "", ""),
                ("hhbatch CPU time ÷ wall", f"{summary['cpu_share']:.0%}", "", ""),
                ("sandbox CPU time ÷ wall", f"{summary['server_cpu_share']:.0%}", "", ""),
                ("429 share of requests", f"{summary['share429']:.1%}", "", ""),
            ],
        )
    )
    print(f"({f'median of {repeat} runs' if repeat > 1 else 'one run'})")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--csv", action="store_true", help="a CSV manifest instead of XLSX")
    args, extra = parser.parse_known_args()
    return 0 if run(args.rows, args.repeat, args.csv, extra)["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
