"""Issue #5 item 1: submitting at the rate limit.

Sandbox limit R = 20 requests/s (burst 20); 400 text-only rows; generation slow (10 minutes), and
the run submits only (``--no-wait``), so every request is a create. Figures: creates per second
(first to last create, as the server saw them) divided by R, and 429 answers as a share of all
requests. Bars: ``--rate 20`` ≥ 0.90 and ≤ 2 %; ``--rate 40`` ≥ 0.80 and ≤ 5 %; with Retry-After
off and on (the sandbox rounds it up to whole seconds, like most servers).

    python bench/bench_submit.py [--rows 400] [--repeat 3]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from common import (
    SandboxProc,
    create_span,
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
CASES = (  # (client --rate, Retry-After, min creates/s ÷ R, max 429 share)
    (20, False, 0.90, 0.02),
    (40, False, 0.80, 0.05),
    (20, True, 0.90, 0.02),
    (40, True, 0.80, 0.05),
)


def one_run(
    rows: int, rate: float, retry_after: bool, waiting: float | None = None
) -> dict[str, float]:
    """``waiting``: instead of ``--no-wait``, wait (default 5 s polls) for that many seconds
    while generation takes a minute: how much of the budget do polls of unfinished jobs take?"""
    generation = 600.0 if waiting is None else 60.0
    settings = sandbox_settings(
        rate=R, burst=int(R), retry_after=retry_after, queue_sec=0.0, processing_sec=generation
    )
    if waiting is None:
        args = ["--rate", str(rate), "--no-wait"]
    else:
        args = ["--rate", str(rate), "--wait-timeout", str(waiting)]
    with new_workdir("hhbench-submit-") as tmp, SandboxProc(settings) as sb:
        manifest = write_csv(Path(tmp) / "submit.csv", text_rows(rows))
        result = run_hhbatch(manifest, sb, args, jobs=True)
    created = len(result.jobs)
    span = create_span(result.jobs)
    total = result.counters["requests_total"]
    return {
        "created": created,
        "ratio": (created - 1) / span / R if span else 0.0,
        "share429": result.counters["rate_limited"] / total if total else 0.0,
        "wall": result.wall,
        "polls": result.polls,
    }


def run(rows: int = 400, repeat: int = 3, with_polling: bool = False) -> list[dict[str, Any]]:
    print(f"Submitting at the limit: {rows} rows, sandbox R = {R:g}/s burst {R:g}; {machine()}")
    results = []
    for rate, retry_after, bar_ratio, bar_429 in CASES:
        runs = [one_run(rows, rate, retry_after) for _ in range(repeat)]
        ratio = median(r["ratio"] for r in runs)
        share = median(r["share429"] for r in runs)
        results.append(
            {
                "case": f"--rate {rate:g}, Retry-After {'on' if retry_after else 'off'}",
                "created": min(r["created"] for r in runs),
                "ratio": ratio,
                "share429": share,
                "bar": f">= {bar_ratio:.2f}, <= {bar_429:.0%}",
                "ok": ratio >= bar_ratio and share <= bar_429 and runs[0]["created"] == rows,
                "runs": runs,
            }
        )
    print(
        table(
            ["case", "created", "creates/s ÷ R", "429 share", "bar", "verdict"],
            [
                (
                    r["case"],
                    r["created"],
                    r["ratio"],
                    f"{r['share429']:.1%}",
                    r["bar"],
                    verdict(r["ok"]),
                )
                for r in results
            ],
        )
    )
    print(f"(medians of {repeat} runs)")
    if with_polling:
        runs = [one_run(rows, R, False, waiting=2 * rows / R) for _ in range(repeat)]
        waiting = {
            "case": "--rate 20 while waiting (60 s generation, 5 s polls)",
            "created": min(r["created"] for r in runs),
            "ratio": median(r["ratio"] for r in runs),
            "share429": median(r["share429"] for r in runs),
            "polls": median(r["polls"] for r in runs),
            "bar": "(no bar)",
            "ok": True,
            "informative": True,
            "runs": runs,
        }
        print(
            f"While waiting (generation 60 s, default 5 s polls, --rate 20): creates/s ÷ R = "
            f"{waiting['ratio']:.2f}, 429 share {waiting['share429']:.1%}, "
            f"{waiting['polls']:g} polls in {2 * rows / R:g} s (informative, no bar)"
        )
        results.append(waiting)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--with-polling", action="store_true", help="also submit while waiting for the videos"
    )
    args = parser.parse_args()
    results = run(args.rows, args.repeat, args.with_polling)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
