"""``hhbatch run`` killed with SIGKILL (TerminateProcess on Windows) at any instant, then rerun.

The issue's promise: after a kill -9 at any instant, a rerun submits every remaining row and none
twice; a create that was in flight becomes ``unknown`` (never silently resubmitted); the batch
lock dies with the process. Everything here runs ``python -m hhbatch`` as a real process against
a sandbox started in the test, and checks the sandbox's own record of what was created.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from runhelpers import (
    CreateWatch,
    creates_by_prompt,
    describe,
    env_for,
    job_ids_by_prompt,
    journal_integrity,
    journal_jobs,
    prompt_for,
    read_results,
    run_command,
    run_to_end,
    start_run,
    wait_for_creates_to_settle,
    wait_until,
    write_manifest,
)

from hhbatch.sandbox import Sandbox
from hhbatch.workflow import default_output_path

ROWS = 50
UNKNOWN_EXPLANATION = "their outcome is unknown and they were not resubmitted"


def _kill(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    proc.kill()
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _creates_refused(sb: Sandbox) -> int:
    """Creates the sandbox answered 429 (rate limited)."""
    return sb.counters()["requests"].get("POST /api/v1/videos", {}).get("429", 0)


def _finish(proc: subprocess.Popen, timeout: float = 60) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _sheet_row_of(index: int) -> int:
    return index + 2  # row 1 is the header


# --- 1. the kill loop --------------------------------------------------------------------------
def test_sigkill_at_random_moments_never_creates_a_row_twice(
    sandbox_factory, tmp_path: Path
) -> None:
    """Kill a 50-row batch at random instants until a run ends on its own; every row is created
    at most once, every known outcome exactly once, and every result reaches the sheet."""
    manifest = write_manifest(tmp_path / "batch", ROWS, image_every=10)
    sb: Sandbox = sandbox_factory(
        queue_sec=0.05, processing_sec=(0.05, 0.3), latency_sec=(0.005, 0.03), seed=7
    )
    rng = random.Random(int(os.environ.get("HHBATCH_TEST_SEED", "4")))
    results = default_output_path(manifest)
    flags = ("--rate", "40", "--concurrency", "4")

    # A sample run first, as teams do: it leaves a results sheet that later runs may resume from.
    sample = run_to_end(manifest, sb, *flags, "--limit", "5")
    assert sample.returncode in (0, 1) and results.exists(), describe(sample, sb)

    kills: list[int] = []  # sandbox creates when each kill landed
    targets: list[str] = []
    finished: subprocess.CompletedProcess | None = None
    last: subprocess.CompletedProcess | None = None
    started = time.monotonic()
    for iteration in range(40):
        if time.monotonic() - started > 60:
            break
        before = sb.counters()["requests_total"]
        creates_before = sb.counters()["creates"]
        # Resuming works from the manifest or from the results sheet of an earlier run.
        target = manifest
        if results.exists() and rng.random() < 0.3:
            target = results
        targets.append(target.name)
        proc = start_run(target, sb, *flags)
        if rng.random() < 0.2:
            delay = rng.uniform(0.0, 0.3)  # during start-up, journal recovery, planning
        else:
            # once the run talks to the server, so kills land among uploads, creates and polls
            # however slowly Python starts on this machine
            if creates_before < ROWS and rng.random() < 0.5:
                # among the creates themselves, however slowly a loaded machine gets there
                wait_until(lambda n=creates_before: sb.counters()["creates"] > n, 15, proc)
            else:
                wait_until(lambda n=before: sb.counters()["requests_total"] > n, 15, proc)
            # After ten kills the window widens a little with each one: a resumed run first
            # polls every job the kills left unchecked (0.8 s for 30 of them at this rate), so
            # with a fixed 0.8 s window the last dozen kills all landed in those polls of the
            # same state. Now later kills also reach the final writes, and a run can finish.
            window = 0.4 if iteration < 3 else 0.8 + 0.15 * max(0, len(kills) - 10)
            delay = rng.uniform(0.0, window)  # 3 kills at least
        try:
            finished = _finish(proc, timeout=delay)
            break
        except subprocess.TimeoutExpired:
            last = _kill(proc)
            kills.append(sb.counters()["creates"])
    if finished is None:  # the loop's bound ran out: one last run, left alone
        finished = run_to_end(manifest, sb, *flags)
    diag = describe(finished, sb) + f"\ncreates at each kill: {kills}\nruns on: {targets}"
    assert finished.returncode in (0, 1), diag
    assert len(kills) >= 3, diag
    assert any(5 < n < ROWS for n in kills), "no kill landed while rows were being created\n" + diag
    if last is not None:
        assert "Another hhbatch run" not in finished.stderr, diag

    counters = sb.counters()
    assert counters["duplicate_creates"] == 0, diag
    created = creates_by_prompt(sb)
    ids = job_ids_by_prompt(sb)
    assert all(n == 1 for n in created.values()), f"created twice: {created}\n{diag}"

    jobs = journal_jobs(manifest)
    sheet = read_results(manifest)
    server = {job["id"]: job for job in sb.jobs()}
    unknown_rows = set()
    for i in range(ROWS):
        prompt = prompt_for(i)
        job = jobs.get(_sheet_row_of(i))
        row = sheet[prompt]
        assert job is not None, f"row {i} never reached the journal\n{diag}"
        if job["state"] == "unknown":
            unknown_rows.add(i)
            assert row["status"] == "unknown", (i, row, diag)
            assert "--resubmit-unknown" in row["error"], (i, row)
            assert created[prompt] <= 1, (i, diag)
            continue
        assert row["status"] != "unknown", (i, row, diag)
        # Outcome known: created exactly once, and the sheet names that very job.
        assert job["state"] == "ready", (i, job, diag)
        assert created[prompt] == 1, (i, diag)
        assert row["videoId"] == ids[prompt][0] == job["video_id"], (i, row, ids[prompt])
        assert row["status"] == "ready", (i, row, diag)
        assert row["videoUrl"] == server[row["videoId"]]["video_url"], (i, row)
        assert row["videoUrl"], (i, row)
    assert journal_integrity(manifest) == "ok", diag
    expected_code = 1 if unknown_rows else 0
    assert finished.returncode == expected_code, diag

    # The user checks the dashboard and resubmits the unknown rows: every row ends ready, and
    # only rows whose outcome was unknown may exist twice on the server.
    resubmit = run_to_end(manifest, sb, *flags, "--resubmit-unknown")
    diag = describe(resubmit, sb) + f"\nunknown rows: {sorted(unknown_rows)}"
    assert resubmit.returncode == 0, diag
    created = creates_by_prompt(sb)
    ids = job_ids_by_prompt(sb)
    sheet = read_results(manifest)
    for i in range(ROWS):
        prompt = prompt_for(i)
        expected = {1, 2} if i in unknown_rows else {1}
        assert created[prompt] in expected, (i, created[prompt], diag)
        assert sheet[prompt]["status"] == "ready", (i, sheet[prompt], diag)
        assert sheet[prompt]["videoId"] == ids[prompt][-1], (i, sheet[prompt], ids[prompt])
    twice = sum(1 for i in unknown_rows if created[prompt_for(i)] == 2)
    assert sb.counters()["duplicate_creates"] == twice, diag


# --- 2. kill -9 between intent and answer ------------------------------------------------------
def test_kill_while_create_in_flight_leaves_row_unknown(
    sandbox_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_manifest(tmp_path / "batch", 3)
    watch = CreateWatch().install(monkeypatch)
    # Only creates are slow: the kill lands after the request reached the server, before the
    # answer (the server still creates, and charges, the job after the client is gone).
    sb: Sandbox = sandbox_factory(fault_routes=("create",), latency_sec=1.0)
    proc = start_run(manifest, sb, "--rate", "100", "--concurrency", "1")
    assert watch.wait_for(1, 30, proc), describe(_finish(proc), sb)
    killed = _kill(proc)

    sb.update_config(latency_sec=0.0)
    rerun = run_to_end(manifest, sb, "--rate", "100")
    diag = describe(rerun, sb) + "\n--- killed run ---\n" + describe(killed)
    assert rerun.returncode == 1, diag
    assert UNKNOWN_EXPLANATION in rerun.stderr, diag
    assert "--resubmit-unknown" in rerun.stderr, diag
    sheet = read_results(manifest)
    first, others = prompt_for(0), [prompt_for(1), prompt_for(2)]
    assert sheet[first]["status"] == "unknown", diag
    assert "may or may not have been created" in sheet[first]["error"], sheet[first]
    assert "--resubmit-unknown" in sheet[first]["error"], sheet[first]
    assert sheet[first]["videoId"] == ""
    assert [sheet[p]["status"] for p in others] == ["ready", "ready"], diag
    assert journal_integrity(manifest) == "ok"

    # The slow create lands on the server after the kill: exactly once, never resubmitted.
    assert wait_until(lambda: sb.counters()["creates"] == 3, 10), diag
    assert creates_by_prompt(sb) == Counter({first: 1, **{p: 1 for p in others}}), diag
    again = run_to_end(manifest, sb, "--rate", "100")
    assert again.returncode == 1, describe(again, sb)
    assert creates_by_prompt(sb)[first] == 1, describe(again, sb)

    # Asking to resubmit but then not going ahead (a dry run; no terminal to confirm on) must
    # leave the row unknown: the next plain run still does not resubmit it.
    dry = run_to_end(manifest, sb, "--resubmit-unknown", "--dry-run")
    assert dry.returncode in (0, 1), describe(dry, sb)
    refused = subprocess.run(
        [a for a in run_command(manifest, "--resubmit-unknown") if a != "--yes"],
        env=env_for(sb),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
    )
    assert refused.returncode == 2, describe(refused, sb)
    plain = run_to_end(manifest, sb, "--rate", "100")
    assert plain.returncode == 1, describe(plain, sb)
    assert read_results(manifest)[first]["status"] == "unknown", describe(plain, sb)
    assert creates_by_prompt(sb)[first] == 1, describe(plain, sb)

    final = run_to_end(manifest, sb, "--rate", "100", "--resubmit-unknown")
    assert final.returncode == 0, describe(final, sb)
    ids = job_ids_by_prompt(sb)
    assert len(ids[first]) == 2 and all(len(ids[p]) == 1 for p in others), ids
    sheet = read_results(manifest)
    assert sheet[first]["status"] == "ready"
    assert sheet[first]["videoId"] == ids[first][-1]


def test_kill_while_rows_wait_for_the_rate_limit_leaves_them_submittable(
    sandbox_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows queued behind the client's rate limiter never left the machine: after a kill they
    are submitted by the rerun, not reported unknown. Only the create in flight is unknown."""
    manifest = write_manifest(tmp_path / "batch", 4)
    watch = CreateWatch().install(monkeypatch)
    sb: Sandbox = sandbox_factory(fault_routes=("create",), latency_sec=1.0)
    # One request per 5 s: the first create goes at once, the others wait their turn.
    proc = start_run(manifest, sb, "--rate", "0.2", "--concurrency", "4")
    assert watch.wait_for(1, 30, proc), describe(_finish(proc), sb)
    killed = _kill(proc)

    sb.update_config(latency_sec=0.0)
    rerun = run_to_end(manifest, sb, "--rate", "100")
    diag = describe(rerun, sb) + "\n--- killed run ---\n" + describe(killed)
    sheet = read_results(manifest)
    statuses = {p: sheet[p]["status"] for p in sheet}
    assert statuses[prompt_for(0)] == "unknown", diag
    assert [statuses[prompt_for(i)] for i in (1, 2, 3)] == ["ready"] * 3, f"{statuses}\n{diag}"
    assert wait_until(lambda: sb.counters()["creates"] == 4, 10), diag
    assert sb.counters()["duplicate_creates"] == 0, diag


# --- 4. the batch lock after a crash -----------------------------------------------------------
def test_lock_refuses_a_second_run_and_dies_with_a_killed_run(
    sandbox_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_manifest(tmp_path / "batch", 2)
    watch = CreateWatch().install(monkeypatch)
    sb: Sandbox = sandbox_factory(fault_routes=("create",), latency_sec=10.0)
    proc = start_run(manifest, sb, "--rate", "100", "--concurrency", "1")
    assert watch.wait_for(1, 30, proc), describe(_finish(proc), sb)

    # While the first run lives, a second one on the same batch is refused before sending.
    second = run_to_end(manifest, sb, "--rate", "100")
    assert second.returncode == 2, describe(second, sb)
    assert "Another hhbatch run is working on this batch" in second.stderr, describe(second)
    assert watch.arrived == 1, "the refused run must not create anything"

    killed = _kill(proc)
    sb.update_config(latency_sec=0.0)
    rerun = run_to_end(manifest, sb, "--rate", "100")
    diag = describe(rerun, sb) + "\n--- killed run ---\n" + describe(killed)
    assert "Another hhbatch run" not in rerun.stderr, diag
    assert rerun.returncode == 1, diag  # the row in flight is unknown, the other one ready
    sheet = read_results(manifest)
    assert [sheet[prompt_for(i)]["status"] for i in (0, 1)] == ["unknown", "ready"], diag


def test_kill_during_a_rate_limit_pause_leaves_rows_submittable(
    sandbox_factory, tmp_path: Path
) -> None:
    """A create answered 429 provably made nothing: killed while it waits to retry (here a 20 s
    Retry-After), its row is submitted by the rerun, not reported unknown."""
    rows = 6
    manifest = write_manifest(tmp_path / "batch", rows)
    sb: Sandbox = sandbox_factory(rate=0.05, burst=3, retry_after=True)
    proc = start_run(manifest, sb, "--rate", "100", "--concurrency", "4")
    assert wait_until(lambda: _creates_refused(sb) >= 1, 30, proc), describe(_finish(proc), sb)
    wait_for_creates_to_settle(sb)  # answers to creates already sent are recorded; then the pause
    killed = _kill(proc)

    sb.update_config(rate=None)
    rerun = run_to_end(manifest, sb, "--rate", "100")
    diag = describe(rerun, sb) + "\n--- killed run ---\n" + describe(killed)
    assert rerun.returncode == 0, diag
    sheet = read_results(manifest)
    assert [sheet[prompt_for(i)]["status"] for i in range(rows)] == ["ready"] * rows, diag
    assert creates_by_prompt(sb) == Counter({prompt_for(i): 1 for i in range(rows)}), diag
