"""When something goes wrong (issue #11): say so at once, distinctly, and say what to do.

Unreachable API → exit 5 and a sentence naming the URL and HAPPYHORSE_BASE_URL, nothing sent
and every row still submittable; a fixed URL then proceeds (the base-URL lock applies only once
a create was sent). A refused key → exit 3, named and explained before any progress bar.
SIGTERM → the run stops like Ctrl-C (exit 143) and a rerun completes without a duplicate.
A closed pipe → no Python error output at all.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from runhelpers import (
    CreateWatch,
    describe,
    env_for,
    journal_jobs,
    read_results,
    run_command,
    start_run,
    write_manifest,
)
from runkit import SIMPLE_HEADER, Cli, read_rows, results_path, simple_rows, write_csv

from hhbatch import client as client_module
from hhbatch import journal as j
from hhbatch import spec
from hhbatch.cli import exitcodes
from hhbatch.errors import ApiConnectionError
from hhbatch.sandbox import Sandbox


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released): connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_api_exits_5_and_a_fixed_url_then_proceeds(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    manifest = write_manifest(tmp_path / "typo", 3)
    wrong = f"http://127.0.0.1:{_closed_port()}"
    env = {**env_for(sandbox), "HAPPYHORSE_BASE_URL": wrong}
    # the real budget: the process must give up by itself, well inside the 60 s allowed here
    proc = subprocess.run(
        [*run_command(manifest), "--json"],
        env=env,
        cwd=manifest.parent,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert proc.returncode == exitcodes.UNREACHABLE, describe(proc, sandbox)
    assert wrong in proc.stderr and "HAPPYHORSE_BASE_URL" in proc.stderr, describe(proc)
    assert "Traceback" not in proc.stderr
    assert "submitted" not in proc.stderr  # no bar, no status line pretends anything was sent
    document = json.loads(proc.stdout)
    assert document["error"]["code"] == "api_unreachable"
    assert wrong in document["error"]["message"]
    assert journal_jobs(manifest) == {}  # nothing sent: every row is still simply to submit

    # The URL is fixed: nothing was ever created against the wrong one, so no lock refuses it.
    fixed = Cli(sandbox, monkeypatch, capsys).run(manifest)
    assert fixed.code == exitcodes.OK, fixed
    assert sandbox.counters()["creates"] == 3
    assert {row["status"] for row in read_results(manifest).values()} == {"ready"}


def test_creates_that_cannot_connect_stop_the_run_with_exit_5_and_rows_held(
    cli_for_sandbox: Cli, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before the bars passed, then the first create cannot connect: exit 5 at once,
    every row 'not submitted' (held, never unknown: nothing reached the server)."""
    monkeypatch.setattr(client_module, "UNREACHABLE_BUDGET", 0.5)  # give up without waiting
    original = client_module.ApiClient._send_once

    async def creates_refused(self, method, path, json):  # type: ignore[no-untyped-def]
        if method == "POST" and path == spec.VIDEOS_PATH:
            refused = httpx.ConnectError("[Errno 111] Connection refused")
            raise ApiConnectionError("refused", request_sent=False) from refused
        return await original(self, method, path, json)

    monkeypatch.setattr(client_module.ApiClient, "_send_once", creates_refused)
    manifest = write_csv(tmp_path / "held.csv", SIMPLE_HEADER, simple_rows(3))
    result = cli_for_sandbox.run(manifest)
    assert result.code == exitcodes.UNREACHABLE, result
    assert "HAPPYHORSE_BASE_URL" in result.err and sandbox.base_url in result.err
    rows = read_rows(results_path(manifest))
    assert [r["status"] for r in rows] == ["not submitted"] * 3
    assert all("could not be reached" in r["error"] for r in rows)
    assert {job["state"] for job in journal_jobs(manifest).values()} <= {j.HELD}

    monkeypatch.setattr(client_module.ApiClient, "_send_once", original)
    again = cli_for_sandbox.run(manifest)
    assert again.code == exitcodes.OK, again
    assert sandbox.counters()["creates"] == 3 and sandbox.counters()["duplicate_creates"] == 0


@pytest.fixture
def cli_for_sandbox(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> Cli:
    return Cli(sandbox, monkeypatch, capsys)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_refused_key_is_named_and_explained_before_any_bar(
    cli_for_sandbox: Cli, sandbox: Sandbox, tmp_path: Path, lang: str
) -> None:
    manifest = write_csv(tmp_path / "key.csv", SIMPLE_HEADER, simple_rows(2))
    cli_for_sandbox.use_key("hh_live_thisKeyWasDeletedLongAgo0000")
    result = cli_for_sandbox.run(manifest, "--json", "--lang", lang)
    assert result.code == exitcodes.AUTH, result
    assert "HAPPYHORSE_API_KEY" in result.err
    if lang == "zh":
        assert "控制台 / 设置 / API 密钥" in result.err, result
    else:
        assert "Dashboard / Settings / API Keys" in result.err, result
    document = json.loads(result.out)
    assert document["error"]["code"] == "invalid_api_key"
    assert "HAPPYHORSE_API_KEY" in document["error"]["message"]
    counters = sandbox.counters()
    assert counters["creates"] == 0 and "POST /api/v1/uploads/presign" not in counters["requests"]
    assert counters["requests"]["GET /api/v1/videos/{id}"] == {"401": 1}  # the one check


@pytest.mark.skipif(os.name == "nt", reason="Windows has no SIGTERM to send to a process")
def test_sigterm_stops_like_ctrl_c_and_a_rerun_completes_without_duplicates(
    sandbox_factory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    sb = sandbox_factory(latency_sec=0.2, queue_sec=0.2, processing_sec=0.3)
    watch = CreateWatch().install(monkeypatch)
    manifest = write_manifest(tmp_path / "term", 6)
    proc = start_run(manifest, sb, "--concurrency", "1", "--rate", "3")
    assert watch.wait_for(2, timeout=60, proc=proc), describe(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    stopped = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert proc.returncode == exitcodes.TERMINATED, describe(stopped, sb)
    assert "SIGTERM" in err and "To continue: hhbatch run" in err, describe(stopped)
    assert "Traceback" not in err
    states = {job["state"] for job in journal_jobs(manifest).values()}
    assert j.UNKNOWN not in states and j.SUBMITTING not in states, states
    created_before = sb.counters()["creates"]
    assert 0 < created_before < 6

    rerun = Cli(sb, monkeypatch, capsys).run(manifest)
    assert rerun.code == exitcodes.OK, rerun
    counters = sb.counters()
    assert counters["creates"] == 6 and counters["duplicate_creates"] == 0, counters


def test_a_closed_pipe_prints_no_python_error(tmp_path: Path) -> None:
    """``hhbatch validate big.csv | head -1``: the reader leaves after one line."""
    manifest = write_csv(
        tmp_path / "big.csv",
        ("prompt", "durationSec"),
        ([f"Horse {i} runs", 15] for i in range(3000)),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hhbatch", "validate", str(manifest)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    err = proc.stderr.read()
    proc.stderr.close()
    proc.wait(timeout=60)
    assert b"durationSec must be a whole number" in first
    assert err == b"", err.decode("utf-8", "replace")
