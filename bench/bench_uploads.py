"""Issue #5 item 4: uploads stream from disk, and each distinct file goes up once.

(a) Peak memory: the same 20 text rows with and without one more row naming a 45 MB reference
video. Bar: the run with the video peaks at most 30 MB above the run without it (the file is
hashed and uploaded in chunks, never held whole). Peak RSS of the hhbatch process itself.
(b) 200 rows naming 5 distinct image files (each named by 40 rows). Bar: exactly 5 presigns and
5 uploads reach the sandbox.

    python bench/bench_uploads.py [--repeat 3]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from common import (
    SandboxProc,
    machine,
    make_images,
    make_video,
    median,
    new_workdir,
    run_hhbatch,
    sandbox_settings,
    table,
    text_rows,
    verdict,
    write_csv,
)

VIDEO_BYTES = 45_000_000
MEMORY_BAR_MB = 30.0
SETTINGS = sandbox_settings(rate=100.0, burst=100)
ARGS = ["--rate", "100", "--poll-interval", "0.2"]


def peak_with_and_without(tmp: Path) -> tuple[float, float]:
    video = make_video(tmp, VIDEO_BYTES)
    plain = write_csv(tmp / "plain.csv", text_rows(20))
    rows = text_rows(20, start=100)
    rows.append(
        {
            "Prompt": "Bench: follow the motion of the reference clip",
            "Duration (s)": 5,
            "Reference video": video,
        }
    )
    with_video = write_csv(tmp / "video.csv", rows)
    peaks = []
    for manifest in (plain, with_video):
        with SandboxProc(SETTINGS) as sb:
            result = run_hhbatch(manifest, sb, ARGS)
        if result.ready != (20 if manifest is plain else 21):
            raise RuntimeError(f"{manifest.name}: only {result.ready} rows ready")
        peaks.append(float(result.peak_mb or 0.0))
    return peaks[0], peaks[1]


def distinct_uploads(tmp: Path) -> dict[str, Any]:
    images = make_images(tmp, 5)
    rows = text_rows(200, start=1000)
    for i, row in enumerate(rows):
        row["Source image"] = images[i % len(images)]
    manifest = write_csv(tmp / "shared.csv", rows)
    with SandboxProc(SETTINGS) as sb:
        result = run_hhbatch(manifest, sb, ARGS)
    return {
        "presigns": result.counters["presigns"],
        "uploads": result.counters["uploads_completed"],
        "ready": result.ready,
    }


def run(repeat: int = 3) -> dict[str, Any]:
    print(f"Uploads; {machine()}")
    runs = []
    for _ in range(repeat):
        with new_workdir("hhbench-up-") as tmp:
            runs.append(peak_with_and_without(Path(tmp)))
    growth = median(b - a for a, b in runs)
    mem_ok = growth <= MEMORY_BAR_MB
    with new_workdir("hhbench-up-") as tmp:
        shared = distinct_uploads(Path(tmp))
    dist_ok = shared["presigns"] == 5 and shared["uploads"] == 5 and shared["ready"] == 200
    print(
        table(
            ["measure", "figure", "bar", "verdict"],
            [
                (
                    "peak RSS without the video (MB)",
                    median(a for a, _ in runs),
                    "",
                    "",
                ),
                ("peak RSS with a 45 MB video (MB)", median(b for _, b in runs), "", ""),
                (
                    "growth (MB, median of differences)",
                    growth,
                    f"<= {MEMORY_BAR_MB:g}",
                    verdict(mem_ok),
                ),
                ("growth ÷ file size", growth / (VIDEO_BYTES / 1e6 / 1.048576), "", ""),
                (
                    "200 rows, 5 files: presigns / uploads",
                    f"{shared['presigns']} / {shared['uploads']}",
                    "5 / 5",
                    verdict(dist_ok),
                ),
            ],
        )
    )
    print(f"(memory: median of {repeat} pairs of runs)")
    return {"runs": runs, "growth": growth, "mem_ok": mem_ok, "shared": shared, "dist_ok": dist_ok}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    result = run(args.repeat)
    return 0 if result["mem_ok"] and result["dist_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
