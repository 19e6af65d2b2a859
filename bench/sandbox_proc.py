"""Run a sandbox in its own process, so it never shares a GIL with the hhbatch being measured.

    python bench/sandbox_proc.py '{"rate": 20, "burst": 20}'

Prints one JSON line ``{"base_url": ..., "api_key": ...}``, then serves until its stdin closes
(the bench closes it to stop the server: portable, no signals needed).
"""

from __future__ import annotations

import json
import sys

from hhbatch.sandbox import Sandbox, SandboxConfig


def main() -> int:
    settings = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    with Sandbox(SandboxConfig.from_dict(settings, source="bench")) as sandbox:
        print(json.dumps({"base_url": sandbox.base_url, "api_key": sandbox.api_key}), flush=True)
        sys.stdin.read()  # blocks until the parent closes the pipe
    try:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(json.dumps({"cpu_sec": usage.ru_utime + usage.ru_stime}), flush=True)
    except ImportError:  # Windows
        print(json.dumps({"cpu_sec": None}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
