"""Issue #12 point 2: creates first. A short batch end to end against the request floor.

100 rows (every third with a first-frame image from 10 distinct files), sandbox limit R = 20
requests/s (burst 20), queue 0.5 s, generation 2–4 s, ``--rate 20 --poll-interval 1``: the set-up
of ``bench_e2e.py`` at the size where the order of requests matters most. Floor = (presigns of
distinct files + creates + one poll per row) ÷ R; figure = wall time of the whole ``hhbatch run``
process ÷ floor. Bar ≤ 1.20. Also printed: how long the creates took (first to last, as the
sandbox stamped them; at the limit that is (presigns + creates) ÷ R), how long the run went on
after the last create, and polls per finished job. The same batch without ``--rate`` (the limiter
finds the limit) is shown for information.

    python bench/bench_creates_first.py [--rows 100] [--repeat 3] [--no-discover]
"""

from __future__ import annotations

import argparse
from typing import Any

import bench_e2e
from common import dependency_versions, load_average, machine, median, table, verdict

BAR = 1.20


def run(rows: int = 100, repeat: int = 3, discover: bool = True) -> dict[str, Any]:
    floor = bench_e2e.floor_seconds(rows)
    creates_floor = (min(bench_e2e.DISTINCT_IMAGES, (rows + 2) // 3) + rows) / bench_e2e.R
    print(
        f"Creates first: {rows} rows, R = {bench_e2e.R:g}/s, generation 2-4 s, --poll-interval "
        f"{bench_e2e.POLL_INTERVAL}; floor {floor:.2f} s (creates alone {creates_floor:.2f} s)"
        f"; {machine()}; loadavg {load_average()}; {dependency_versions()}"
    )
    cases: list[tuple[str, float | None]] = [(f"--rate {bench_e2e.R:g}", bench_e2e.R)]
    if discover:
        cases.append(("no --rate (found)", None))
    results: dict[str, Any] = {"floor": floor, "creates_floor": creates_floor, "cases": []}
    lines = []
    for name, rate in cases:
        runs = [bench_e2e.one_run(rows, rate) for _ in range(repeat)]
        ratio = median(r["wall"] for r in runs) / floor
        case = {
            "case": name,
            "ratio": ratio,
            "ratios": [r["wall"] / floor for r in runs],
            "create_span": median(r["create_span"] for r in runs),
            "after_last_create": median(r["after_last_create"] for r in runs),
            "polls_per_job": median(r["polls_per_job"] for r in runs),
            "share429": median(r["share429"] for r in runs),
            "ready": min(r["ready"] for r in runs),
            "ok": ratio <= BAR and min(r["ready"] for r in runs) == rows,
            "informative": rate is None,
            "runs": runs,
        }
        results["cases"].append(case)
        lines.append(
            (
                name,
                ratio,
                " / ".join(f"{x:.2f}" for x in case["ratios"]),
                case["create_span"],
                case["after_last_create"],
                case["polls_per_job"],
                f"{case['share429']:.1%}",
                case["ready"],
                "(info)" if case["informative"] else verdict(case["ok"]),
            )
        )
    print(
        table(
            [
                "case",
                "wall ÷ floor",
                "runs",
                "creates span s",
                "after last create s",
                "polls/job",
                "429 share",
                "ready",
                f"bar <= {BAR:.2f}",
            ],
            lines,
        )
    )
    print(f"(medians of {repeat} runs; loadavg after: {load_average()})")
    results["ok"] = results["cases"][0]["ok"]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-discover", action="store_true", help="only the --rate 20 case")
    args = parser.parse_args()
    return 0 if run(args.rows, args.repeat, not args.no_discover)["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
