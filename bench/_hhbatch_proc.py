"""``python -m hhbatch`` with a stopwatch on the results-sheet writer, for the bench.

Runs the real CLI (same argv) in this process, and when it ends writes JSON to the path in
``HHBATCH_BENCH_STATS``: exit code, seconds spent writing the sheet and how often, peak RSS.
The wrapper adds nothing to the run but two ``perf_counter`` calls per sheet write.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from hhbatch import workflow


def main() -> int:
    stats = {"write_sec": 0.0, "writes": 0}
    lock = threading.Lock()
    original = workflow.Batch.write_sheet

    def timed_write(self: workflow.Batch):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return original(self)
        finally:
            with lock:
                stats["write_sec"] += time.perf_counter() - started
                stats["writes"] += 1

    workflow.Batch.write_sheet = timed_write  # type: ignore[method-assign]
    from hhbatch.cli import main as cli_main

    sys.argv = ["hhbatch", *sys.argv[1:]]
    try:
        code = cli_main(sys.argv[1:])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    stats["rc"] = code
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stats["peak_mb"] = peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
    except ImportError:  # Windows: no resource module; the bench reports no memory figure
        stats["peak_mb"] = None
    path = os.environ.get("HHBATCH_BENCH_STATS")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(stats, handle)
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
