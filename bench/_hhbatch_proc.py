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


def apply_overrides(text: str) -> None:
    """``HHBATCH_BENCH_SET="hhbatch.ratelimit.MAX_LATE_CREDIT=0"``: set module constants for a
    before/after comparison without editing the code (comma-separated, values parsed as JSON)."""
    import importlib

    for item in filter(None, (part.strip() for part in text.split(","))):
        target, _, value = item.partition("=")
        module_name, _, attribute = target.rpartition(".")
        setattr(importlib.import_module(module_name), attribute, json.loads(value))


def main() -> int:
    apply_overrides(os.environ.get("HHBATCH_BENCH_SET", ""))
    stats = {"write_sec": 0.0, "writes": 0}
    lock = threading.Lock()

    def add(seconds: float, write: bool) -> None:
        with lock:
            stats["write_sec"] += seconds
            stats["writes"] += int(write)

    if hasattr(workflow.Batch, "_sheet_writer"):
        # Reading the journal and building cells (on the event loop), then the file write (in a
        # worker thread for refreshes): both count as time spent writing the sheet.
        prepare = workflow.Batch._sheet_writer

        def timed_prepare(self: workflow.Batch):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            write = prepare(self)
            add(time.perf_counter() - started, False)

            def timed_write():  # type: ignore[no-untyped-def]
                began = time.perf_counter()
                try:
                    return write()
                finally:
                    add(time.perf_counter() - began, True)

            return timed_write

        workflow.Batch._sheet_writer = timed_prepare  # type: ignore[method-assign]
    else:
        original = workflow.Batch.write_sheet

        def timed_write_sheet(self: workflow.Batch):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return original(self)
            finally:
                add(time.perf_counter() - started, True)

        workflow.Batch.write_sheet = timed_write_sheet  # type: ignore[method-assign]
    from hhbatch.cli import main as cli_main

    sys.argv = ["hhbatch", *sys.argv[1:]]
    profile_path = os.environ.get("HHBATCH_BENCH_PROFILE")  # pyinstrument report, when asked
    profiler = None
    if profile_path:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005, async_mode="disabled")
        profiler.start()
    try:
        code = cli_main(sys.argv[1:])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    if profiler is not None:
        profiler.stop()
        with open(profile_path, "w", encoding="utf-8") as handle:
            handle.write(profiler.output_text(unicode=True, show_all=False))
    stats["rc"] = code
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stats["peak_mb"] = peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        stats["cpu_sec"] = usage.ru_utime + usage.ru_stime
    except ImportError:  # Windows: no resource module; the bench reports no memory figure
        stats["peak_mb"] = None
    path = os.environ.get("HHBATCH_BENCH_STATS")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(stats, handle)
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
