"""Out of credits stops: after the first 402 no further create is sent in that run.

Only creates already on the wire when the 402 came back may still be refused. "Sent" and
"received" are observed at the HTTP transport, the last step before the bytes leave and the first
after the answer's head arrives, so the order of the two is exact, not a matter of timing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from runkit import SIMPLE_HEADER, Cli, read_rows, results_path, simple_rows, write_csv

from hhbatch import spec
from hhbatch.cli import exitcodes
from hhbatch.sandbox import Sandbox


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


def refusals(sandbox: Sandbox) -> int:
    """402 answers the sandbox gave to create requests."""
    creates = sandbox.counters()["requests"].get(f"POST {spec.VIDEOS_PATH}", {})
    return int(creates.get("402", 0))


def test_exactly_one_402_at_concurrency_1(cli: Cli, sandbox: Sandbox, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "credits.csv", SIMPLE_HEADER, simple_rows(8, duration=3))
    sandbox.set_credits(sandbox.api_key, 7)  # two 3-second videos
    result = cli.run(manifest, "--concurrency", "1")
    assert result.code == exitcodes.NO_CREDITS, result
    assert sandbox.counters()["creates"] == 2
    assert refusals(sandbox) == 1
    statuses = [r["status"] for r in read_rows(results_path(manifest))]
    assert statuses == ["ready"] * 2 + ["not submitted"] * 6


class TransportLog:
    """Every create request as it enters the transport, and every answer as it leaves it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[str, int]] = []
        original = httpx.AsyncHTTPTransport.handle_async_request
        log = self

        async def handle(self: Any, request: httpx.Request) -> httpx.Response:
            create = request.method == "POST" and request.url.path == spec.VIDEOS_PATH
            if create:
                log.events.append(("sent", 0))
            response = await original(self, request)
            if create:
                log.events.append(("answered", response.status_code))
            return response

        monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle)

    def sent_after_first_402(self) -> int:
        first = next(i for i, e in enumerate(self.events) if e == ("answered", 402))
        return sum(1 for kind, _status in self.events[first:] if kind == "sent")


def test_no_create_is_sent_after_a_402_was_received(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = TransportLog(monkeypatch)
    manifest = write_csv(tmp_path / "credits.csv", SIMPLE_HEADER, simple_rows(40, duration=3))
    sandbox.set_credits(sandbox.api_key, 30)  # ten videos
    result = cli.run(manifest, "--concurrency", "8")
    assert result.code == exitcodes.NO_CREDITS, result
    made = sandbox.counters()["creates"]
    assert made == 10
    assert log.sent_after_first_402() == 0, log.events
    assert refusals(sandbox) <= 8  # at most the creates in flight when the first 402 came back
    statuses = [r["status"] for r in read_rows(results_path(manifest))]
    assert statuses.count("ready") == made
    assert statuses.count("not submitted") == 40 - made
    assert "Out of credits" in result.err


def test_a_402_without_the_error_envelope_still_means_out_of_credits(
    cli: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gateway's bare 402 (no JSON envelope) is out of credits too, not a refused row after
    which the next row is sent."""
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def handle(self: Any, request: httpx.Request) -> httpx.Response:
        response = await original(self, request)
        if response.status_code == 402:
            await response.aread()
            return httpx.Response(402, text="Payment Required", request=request)
        return response

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle)
    manifest = write_csv(tmp_path / "bare.csv", SIMPLE_HEADER, simple_rows(5, duration=3))
    sandbox.set_credits(sandbox.api_key, 4)
    result = cli.run(manifest, "--concurrency", "1")
    assert result.code == exitcodes.NO_CREDITS, result
    assert refusals(sandbox) == 1
    statuses = [r["status"] for r in read_rows(results_path(manifest))]
    assert statuses == ["ready"] + ["not submitted"] * 4
