"""Issue #12 point 1: the rate limit found when the user does not know it (no ``--rate``).

Sandbox limit R = 20 requests/s (burst 20, a strict token bucket per key); 400 text-only rows;
generation 10 minutes and ``--no-wait``, so every request is a create (as in ``bench_submit.py``);
**no** ``--rate``. Each case gets one sandbox and a fresh, empty per-user data folder
(``HHBATCH_HOME``) and runs twice: the *first run* knows nothing (starts at the modest 5/s and
climbs), the *next run* (400 other rows, same sandbox, same folder) starts from what the first
remembered. Figures from the sandbox's own counters and job stamps, per run: creates/s
(first to last create) ÷ R and 429 answers ÷ all requests. Bar, on the first run: ≥ 0.80 and
≤ 5 %. Cases: Retry-After on (whole seconds, rounded up, like most servers) and off (the limiter
backs off by itself). Also shown: the limit level the run remembered (``ratelimits.json``).

    python bench/bench_discover.py [--rows 400] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from common import (
    PROMPT,
    SandboxProc,
    create_span,
    dependency_versions,
    load_average,
    machine,
    median,
    new_workdir,
    run_hhbatch,
    sandbox_settings,
    table,
    text_rows,
    verdict,
    write_csv,
)

R = 20.0
BAR_RATIO = 0.80
BAR_429 = 0.05
CASES = (("Retry-After on", True), ("Retry-After off", False))


def _remembered(home: Path) -> float | None:
    """The level the run left in the per-user folder (None: nothing, or never refused)."""
    try:
        accounts = json.loads((home / "ratelimits.json").read_text(encoding="utf-8"))["accounts"]
    except (OSError, ValueError, KeyError):
        return None
    levels = [entry.get("level") for entry in accounts.values() if isinstance(entry, dict)]
    return next((level for level in levels if level), None)


def _figures(jobs: list[dict[str, Any]], before: dict[str, Any], after: dict[str, Any]) -> dict:
    span = create_span(jobs)
    requests = after["requests_total"] - before.get("requests_total", 0)
    limited = after["rate_limited"] - before.get("rate_limited", 0)
    return {
        "created": len(jobs),
        "ratio": (len(jobs) - 1) / span / R if span else 0.0,
        "share429": limited / requests if requests else 0.0,
        "rate_limited": limited,
    }


def one_pair(rows: int, retry_after: bool) -> dict[str, Any]:
    settings = sandbox_settings(
        rate=R, burst=int(R), retry_after=retry_after, queue_sec=0.0, processing_sec=600.0
    )
    with new_workdir("hhbench-discover-") as tmp, SandboxProc(settings) as sb:
        home = Path(tmp) / "home"
        first_manifest = write_csv(Path(tmp) / "first.csv", text_rows(rows))
        first = run_hhbatch(first_manifest, sb, ["--no-wait"], jobs=True, home=home)
        level_first = _remembered(home)
        next_manifest = write_csv(Path(tmp) / "next.csv", text_rows(rows, start=rows))
        second = run_hhbatch(next_manifest, sb, ["--no-wait"], jobs=True, home=home)
        level_next = _remembered(home)
    first_prompts = {PROMPT.format(i=i) for i in range(rows)}
    first_jobs = [job for job in first.jobs if job["body"]["prompt"] in first_prompts]
    next_jobs = [job for job in second.jobs if job["body"]["prompt"] not in first_prompts]
    return {
        "first": {
            **_figures(first_jobs, {}, first.counters),
            "level": level_first,
            "wall": first.wall,
        },
        "next": {
            **_figures(next_jobs, first.counters, second.counters),
            "level": level_next,
            "wall": second.wall,
        },
    }


def run(rows: int = 400, repeat: int = 3) -> list[dict[str, Any]]:
    print(
        f"Finding the limit (no --rate): {rows} rows per run, sandbox R = {R:g}/s burst {R:g}; "
        f"{machine()}; loadavg {load_average()}; {dependency_versions()}"
    )
    results = []
    for name, retry_after in CASES:
        pairs = [one_pair(rows, retry_after) for _ in range(repeat)]
        entry: dict[str, Any] = {"case": name, "pairs": pairs}
        for which in ("first", "next"):
            runs = [pair[which] for pair in pairs]
            levels = [r["level"] for r in runs if r["level"]]
            entry[which] = {
                "ratio": median(r["ratio"] for r in runs),
                "ratios": [r["ratio"] for r in runs],
                "share429": median(r["share429"] for r in runs),
                "rate_limited": median(r["rate_limited"] for r in runs),
                "created": min(r["created"] for r in runs),
                "level": median(levels) if levels else None,
            }
        first = entry["first"]
        entry["ok"] = (
            first["ratio"] >= BAR_RATIO
            and first["share429"] <= BAR_429
            and first["created"] == rows
        )
        results.append(entry)
    lines = []
    for entry in results:
        for which, label in (("first", "first run"), ("next", "next run (remembered)")):
            fig = entry[which]
            lines.append(
                (
                    f"{entry['case']}, {label}",
                    fig["created"],
                    fig["ratio"],
                    " / ".join(f"{x:.2f}" for x in fig["ratios"]),
                    f"{fig['share429']:.1%}",
                    fig["level"],
                    verdict(entry["ok"]) if which == "first" else "(info)",
                )
            )
    print(
        table(
            [
                "case",
                "created",
                "creates/s ÷ R",
                "runs",
                "429 share",
                "level kept (req/s)",
                f"bar >= {BAR_RATIO:.2f}, <= {BAR_429:.0%}",
            ],
            lines,
        )
    )
    print(f"(medians of {repeat} runs; loadavg after: {load_average()})")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = run(args.rows, args.repeat)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
