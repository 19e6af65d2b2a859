"""``hhbatch sandbox``: run a local HappyHorse API until Ctrl-C; say how to point hhbatch at it."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

from hhbatch import spec
from hhbatch.cli import exitcodes
from hhbatch.i18n import _

DESCRIPTION = """\
Run a local fake HappyHorse API on this computer (127.0.0.1 only) that follows every documented
rule and error code. Nothing is generated and no credits are real: use it to try a spreadsheet,
rehearse a batch, or test failures (rate limits, lost answers, failed videos) before spending
real credits. Runs until you press Ctrl-C.
"""

EPILOG = """\
examples:
  hhbatch sandbox                              start on a free port; prints what to export
  hhbatch sandbox --port 8787                  a fixed port
  hhbatch sandbox --config sandbox.yaml        plans, prices, rate limit, timings, faults
                                               (see templates/sandbox.yaml)

prompts containing [fail] fail on purpose ([fail:N] picks failure message N).
"""


# Without --config: timings a person can watch (the dataclass defaults are tuned for tests).
DEMO_TIMINGS: dict[str, Any] = {"queue_sec": (0.5, 1.5), "processing_sec": (1.0, 3.0)}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help=_("run a local fake HappyHorse API to try hhbatch safely"),
        description=_(DESCRIPTION),
        epilog=_(EPILOG),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=None, help=_("API port (default: a free one)"))
    parser.add_argument(
        "--storage-port", type=int, default=None, help=_("storage host port (default: a free one)")
    )
    parser.add_argument("--config", type=Path, default=None, help=_("sandbox settings (YAML)"))
    parser.add_argument("--verbose", "-v", action="store_true", help=_("log every request"))
    parser.set_defaults(func=handle)


def export_lines(base_url: str, api_key: str) -> list[str]:
    """Copy-paste lines for bash/zsh, Windows cmd and PowerShell."""
    url, key = spec.ENV_BASE_URL, spec.ENV_API_KEY
    return [
        f"  bash/zsh:    export {url}={base_url} {key}={api_key}",
        f"  cmd.exe:     set {url}={base_url}& set {key}={api_key}",
        f'  PowerShell:  $env:{url}="{base_url}"; $env:{key}="{api_key}"',
    ]


def handle(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until Ctrl-C (or until ``stop`` is set, which tests use)."""
    from hhbatch.sandbox import Sandbox, SandboxConfig

    config = SandboxConfig.from_yaml(args.config) if args.config else SandboxConfig(**DEMO_TIMINGS)
    overrides: dict[str, Any] = {}
    if args.port is not None:
        overrides["port"] = args.port
    if args.storage_port is not None:
        overrides["storage_port"] = args.storage_port
    if overrides:
        config = config.with_overrides(**overrides)
    if args.verbose:
        import logging

        logging.basicConfig(format="%(asctime)s %(message)s")
        logging.getLogger("hhbatch.sandbox").setLevel(logging.DEBUG)
    stop = stop or threading.Event()
    try:
        sandbox = Sandbox(config).start()
    except OSError as err:
        print(_("hhbatch: could not start the sandbox: {error}").format(error=err), file=sys.stderr)
        return exitcodes.USAGE
    try:
        print(_("HappyHorse sandbox running at {url}").format(url=sandbox.base_url))
        print(_("storage host: {url}").format(url=sandbox.storage_url))
        print(_("API key: {key}").format(key=sandbox.api_key))
        print(_("Point hhbatch at it:"))
        for line in export_lines(sandbox.base_url, sandbox.api_key):
            print(line)
        print("Counters: GET /_sandbox/counters   Jobs: GET /_sandbox/jobs")
        print(_("Press Ctrl-C to stop."), flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    print(_("Sandbox stopped."), file=sys.stderr)
    return exitcodes.OK
