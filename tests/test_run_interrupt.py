"""Ctrl-C on a running ``hhbatch run`` (SIGINT to a real process).

First Ctrl-C: stop submitting, let requests in flight get their answers, write the results sheet,
print the command that resumes, exit 130. Second Ctrl-C: leave at once, the journal still
consistent. Either way the rerun finishes the batch and creates nothing twice.

The sandbox's clock is real time plus an offset, and its jobs take 10 minutes: the first run can
never finish by itself, and the test finishes those jobs by moving the sandbox's clock forward.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from runhelpers import (
    CreateWatch,
    ShiftableClock,
    creates_by_prompt,
    describe,
    env_for,
    journal_integrity,
    journal_jobs,
    prompt_for,
    read_results,
    run_to_end,
    start_run,
    wait_for_creates_to_settle,
    wait_until,
    write_manifest,
)

from hhbatch.sandbox import Sandbox
from hhbatch.workflow import default_output_path

pytestmark = pytest.mark.skipif(
    sys.platform == "win32",
    reason="Windows has no SIGINT to send to one child process (Ctrl-C goes to a whole console "
    "group); the handler is the same code on every platform.",
)

SLOW_JOB_SEC = 600.0
INTERRUPTED = 130


def _creates_refused(sb: Sandbox) -> int:
    """Creates the sandbox answered 429 (rate limited)."""
    return sb.counters()["requests"].get("POST /api/v1/videos", {}).get("429", 0)


def _finish(proc: subprocess.Popen, timeout: float = 60) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _finish_old_jobs(sb: Sandbox, clock: ShiftableClock) -> None:
    """Jobs already created finish now; jobs created from here on take a moment."""
    clock.advance(2 * SLOW_JOB_SEC)
    sb.update_config(processing_sec=0.05, latency_sec=0.0)


def test_ctrl_c_stops_submitting_saves_the_sheet_and_resumes(
    sandbox_factory, tmp_path: Path
) -> None:
    rows = 20
    manifest = write_manifest(tmp_path / "batch", rows)
    clock = ShiftableClock()
    sb: Sandbox = sandbox_factory(clock=clock, queue_sec=0.05, processing_sec=SLOW_JOB_SEC)
    out = tmp_path / "elsewhere" / "results.csv"
    # 5 requests/s shared with polls: submitting 20 rows would take several seconds.
    proc = start_run(manifest, sb, "--rate", "5", "--concurrency", "2", "--out", str(out))
    assert wait_until(lambda: sb.counters()["creates"] >= 3, 30, proc), describe(_finish(proc), sb)
    proc.send_signal(signal.SIGINT)
    stopped = _finish(proc)
    diag = describe(stopped, sb)

    assert stopped.returncode == INTERRUPTED, diag
    assert "Stopping: no new videos will be created" in stopped.stderr, diag
    match = re.search(r"Interrupted\. To continue: (.+)", stopped.stderr)
    assert match, diag
    resume = shlex.split(match.group(1))
    assert resume[:2] == ["hhbatch", "run"], resume
    assert Path(resume[2]).resolve() == manifest.resolve(), resume
    assert "--out" in resume and Path(resume[resume.index("--out") + 1]) == out, resume

    # It stopped submitting: some rows were never sent, and nothing was sent after the exit.
    created = creates_by_prompt(sb)
    assert 3 <= len(created) < rows, diag
    assert all(n == 1 for n in created.values()), created
    time.sleep(0.2)
    assert creates_by_prompt(sb) == created, "a create arrived after the run exited"

    # The sheet was written before exiting: created rows carry their ids, the rest say why not.
    assert not default_output_path(manifest).exists(), "the sheet belongs at --out"
    sheet = read_results(manifest, out)
    ids = {job["body"]["prompt"]: job["id"] for job in sb.jobs()}
    for i in range(rows):
        row = sheet[prompt_for(i)]
        if prompt_for(i) in created:
            assert row["videoId"] == ids[prompt_for(i)], row
            assert row["status"] in ("queued", "processing"), row
        else:
            assert row["status"] == "not submitted", row
            assert "stopped" in row["error"], row
    # Every create that left got its answer before the exit: nothing is left in doubt.
    states = Counter(job["state"] for job in journal_jobs(manifest).values())
    assert "submitting" not in states and "unknown" not in states, states
    assert journal_integrity(manifest) == "ok"

    # The printed command, as printed (only faster), finishes the batch.
    _finish_old_jobs(sb, clock)
    rerun = subprocess.run(
        [sys.executable, "-m", "hhbatch", *resume[1:], "--rate", "100"],
        env=env_for(sb),
        cwd=manifest.parent,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
    )
    diag = describe(rerun, sb)
    assert rerun.returncode == 0, diag
    assert sb.counters()["duplicate_creates"] == 0, diag
    assert creates_by_prompt(sb) == Counter({prompt_for(i): 1 for i in range(rows)}), diag
    sheet = read_results(manifest, out)
    assert all(sheet[prompt_for(i)]["status"] == "ready" for i in range(rows)), diag
    assert all(sheet[p]["videoId"] == ids[p] for p in created), "ids changed on resume"


def test_second_ctrl_c_exits_at_once_and_the_journal_stays_consistent(
    sandbox_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = 6
    manifest = write_manifest(tmp_path / "batch", rows)
    watch = CreateWatch().install(monkeypatch)
    clock = ShiftableClock()
    sb: Sandbox = sandbox_factory(
        clock=clock, queue_sec=0.05, processing_sec=SLOW_JOB_SEC, fault_routes=("create",)
    )
    proc = start_run(manifest, sb, "--rate", "100", "--concurrency", "1")
    assert wait_until(lambda: sb.counters()["creates"] >= 2, 30, proc), describe(_finish(proc), sb)
    # From now on a create takes 5 s to answer: the first Ctrl-C waits for the one in flight,
    # so only the second Ctrl-C can end the run before that answer comes.
    sb.update_config(latency_sec=5.0)
    arrived = watch.arrived
    assert watch.wait_for(arrived + 1, 30, proc), describe(_finish(proc), sb)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    stopped = _finish(proc)
    diag = describe(stopped, sb)
    assert stopped.returncode == INTERRUPTED, diag
    assert "Stopping:" in stopped.stderr, diag
    assert "Interrupted. To continue" not in stopped.stderr, "the first Ctrl-C finished\n" + diag
    assert journal_integrity(manifest) == "ok"

    _finish_old_jobs(sb, clock)
    rerun = run_to_end(manifest, sb, "--rate", "100")
    diag = describe(rerun, sb)
    assert rerun.returncode == 1, diag  # the create in flight at the exit is unknown
    assert "their outcome is unknown" in rerun.stderr, diag
    assert sb.counters()["duplicate_creates"] == 0, diag
    sheet = read_results(manifest)
    statuses = Counter(sheet[prompt_for(i)]["status"] for i in range(rows))
    assert statuses == Counter({"ready": rows - 1, "unknown": 1}), f"{statuses}\n{diag}"
    created = creates_by_prompt(sb)
    assert all(created[prompt_for(i)] <= 1 for i in range(rows)), created
    for i in range(rows):
        row = sheet[prompt_for(i)]
        if row["status"] == "ready":
            assert created[prompt_for(i)] == 1, (i, created)


def test_ctrl_c_during_a_rate_limit_pause_sends_nothing_more(
    sandbox_factory, tmp_path: Path
) -> None:
    """Creates queued behind a 429 pause (here 20 s) are withdrawn at once, never sent later."""
    rows = 10
    manifest = write_manifest(tmp_path / "batch", rows)
    sb: Sandbox = sandbox_factory(rate=0.05, burst=3, retry_after=True)
    proc = start_run(manifest, sb, "--rate", "100", "--concurrency", "4")
    assert wait_until(lambda: _creates_refused(sb) >= 1, 30, proc), describe(_finish(proc), sb)
    sent = wait_for_creates_to_settle(sb)  # those let through arrive; then the 20 s pause
    proc.send_signal(signal.SIGINT)
    stopped = _finish(proc)
    diag = describe(stopped, sb)
    assert stopped.returncode == INTERRUPTED, diag
    assert sb.counters()["requests"]["POST /api/v1/videos"] == sent, diag

    created = creates_by_prompt(sb)
    sheet = read_results(manifest)
    for i in range(rows):
        row = sheet[prompt_for(i)]
        if prompt_for(i) in created:
            assert row["videoId"], row
        else:  # including a row whose create was answered 429 and then withdrawn
            assert row["status"] == "not submitted" and "stopped" in row["error"], row

    sb.update_config(rate=None)
    rerun = run_to_end(manifest, sb, "--rate", "100")
    diag = describe(rerun, sb)
    assert rerun.returncode == 0, diag
    assert creates_by_prompt(sb) == Counter({prompt_for(i): 1 for i in range(rows)}), diag
