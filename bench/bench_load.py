"""Time ``load_manifest`` + ``summarize`` on a 100,000-row, 12-column XLSX.

Target (issue #2): at most 5 s and 1 GB peak memory on a 2-core machine. The workbook is written
once with XlsxWriter (constant memory) into a temporary folder; each measurement runs in a fresh
subprocess so the peak RSS is the loader's own, not the generator's.

    python bench/bench_load.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADERS = (
    "Prompt",
    "Style",
    "Duration (s)",
    "Aspect ratio",
    "Resolution",
    "Camera motion",
    "Motion intensity",
    "CFG scale",
    "Source image",
    "Reference audio",
    "Notes",
    "Campaign",
)
ASSET = "logo.png"
_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def generate(path: Path, rows: int) -> None:
    """Realistic cells: numbers as numbers and as text, an Excel time for 16:9, a shared file."""
    import datetime as dt

    import xlsxwriter

    (path.parent / ASSET).write_bytes(_PNG)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("Campaign")
    time_format = workbook.add_format({"num_format": "hh:mm:ss"})
    sheet.write_row(0, 0, HEADERS)
    ratios = ("9:16", "1:1", "16:9")
    motions = ("none", "pan-left", "zoom-in", "Orbit")
    for i in range(1, rows + 1):
        sheet.write_string(i, 0, f"Product shot number {i}, a horse runs across a meadow at dawn")
        sheet.write_string(i, 1, "cinematic")
        if i % 2:
            sheet.write_number(i, 2, 3 + i % 10)
        else:
            sheet.write_string(i, 2, str(3 + i % 10))
        if i % 3 == 2:
            sheet.write_datetime(i, 3, dt.time(16, 9), time_format)
        else:
            sheet.write_string(i, 3, ratios[i % 3])
        sheet.write_string(i, 4, "1080P" if i % 4 == 0 else "720p")
        sheet.write_string(i, 5, motions[i % 4])
        sheet.write_number(i, 6, 1 + i % 5)
        sheet.write_number(i, 7, (i % 11) / 10)
        if i % 5 == 0:
            sheet.write_string(i, 8, ASSET)
        elif i % 5 == 1:
            sheet.write_string(i, 8, f"videos/inputs/user/{i}.png")
        if i % 7 == 0:
            sheet.write_string(i, 9, f"videos/reference-audio/user/{i}.mp3")
        sheet.write_string(i, 10, f"note {i}")
        sheet.write_string(i, 11, "spring")
    workbook.close()


_CHILD = r"""
import json, sys, time
try:
    import resource  # POSIX: the real peak resident set size
except ImportError:  # Windows: Python's own allocations (tracemalloc) are the best we have
    resource = None
    import tracemalloc
    tracemalloc.start()
t0 = time.perf_counter()
from hhbatch.loader import load_manifest, summarize
t1 = time.perf_counter()
manifest = load_manifest(sys.argv[1])
summary = summarize(manifest)
t2 = time.perf_counter()
if resource is not None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":
        peak //= 1024  # bytes there, KiB elsewhere
else:
    peak = tracemalloc.get_traced_memory()[1] // 1024
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "peak_kib": peak,
                  "rows": summary.rows_total, "valid": summary.rows_valid}))
"""


def measure(path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from common import compile_hhbatch, dependency_versions, load_average

    print(f"{dependency_versions()}; load average {load_average()}")
    print(f"hhbatch from {compile_hhbatch()}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.xlsx"
        started = time.perf_counter()
        generate(path, args.rows)
        generated = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
        print(
            f"workbook: {args.rows:,} rows x {len(HEADERS)} columns, {size_mb:.1f} MB, "
            f"generated in {generated:.1f} s"
        )
        print(
            f"{'run':>3} | {'rows':>7} | {'valid':>7} | {'load+validate (s)':>17} | "
            f"{'import (s)':>10} | {'peak RSS (MB)':>13}"
        )
        results = []
        for run in range(1, args.repeat + 1):
            result = measure(path)
            results.append(result)
            print(
                f"{run:>3} | {result['rows']:>7,} | {result['valid']:>7,} | "
                f"{result['load']:>17.2f} | {result['import']:>10.2f} | "
                f"{result['peak_kib'] / 1024:>13.0f}"
            )
        best = min(r["load"] for r in results)
        peak = max(r["peak_kib"] for r in results) / 1024
        ok = best <= 5.0 and peak <= 1024
        print(
            f"best {best:.2f} s, peak {peak:.0f} MB: "
            f"{'within' if ok else 'OVER'} the 5 s / 1 GB target"
        )
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
