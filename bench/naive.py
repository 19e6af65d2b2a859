"""The script a user would write by hand: one row after another, presign, PUT, create, poll.

Issue #5 item 3 compares hhbatch with this. It is deliberately plain (and correct): every row
uploads its own file, then waits for its own video, polling every ``--poll-interval`` seconds.

    python bench/naive.py rows.csv [--poll-interval 1]   # HAPPYHORSE_BASE_URL / _API_KEY set

Reads the bench CSV (columns Prompt, Duration (s), Source image); prints one JSON line with the
elapsed seconds and the number of requests.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

import httpx


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    args = parser.parse_args()
    base = os.environ["HAPPYHORSE_BASE_URL"].rstrip("/")
    headers = {"Authorization": f"Bearer {os.environ['HAPPYHORSE_API_KEY']}"}
    requests = 0
    started = time.perf_counter()
    with args.manifest.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with httpx.Client(base_url=base, headers=headers, timeout=60) as api, httpx.Client() as store:

        def call(method: str, path: str, **kw: object) -> dict:
            nonlocal requests
            while True:
                requests += 1
                response = api.request(method, path, **kw)
                if response.status_code == 429:  # what a careful user adds after the first 429
                    time.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                response.raise_for_status()
                return response.json()

        for row in rows:
            body = {"prompt": row["Prompt"], "durationSec": int(row["Duration (s)"])}
            image = (row.get("Source image") or "").strip()
            if image:
                data = (args.manifest.parent / image).read_bytes()
                presign = call(
                    "POST",
                    "/api/v1/uploads/presign",
                    json={"kind": "image", "contentType": "image/png", "sizeBytes": len(data)},
                )
                store.put(
                    presign["uploadUrl"], content=data, headers={"Content-Type": "image/png"}
                ).raise_for_status()
                body["sourceImageKey"] = presign["key"]
            video_id = call("POST", "/api/v1/videos", json=body)["id"]
            while True:
                time.sleep(args.poll_interval)
                status = call("GET", f"/api/v1/videos/{video_id}")["status"]
                if status in ("ready", "failed"):
                    break
    elapsed = time.perf_counter() - started
    print(json.dumps({"rows": len(rows), "elapsed": elapsed, "requests": requests}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
