"""Copies of one sheet run at the same time pay for each row once (issue #9 follow-up).

Two or three ``hhbatch run`` processes on copies of one sheet (another folder, a renamed file)
plan at the same moment, so planning cannot see each other's creates: the claim is made where
each create is admitted, in one ledger transaction. These tests start real processes and hold
every process at its API probe (the request right after planning) until all have planned, so
the race is certain, not likely.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from runhelpers import read_results, start_run
from runkit import Cli

from hhbatch.cli import exitcodes
from hhbatch.sandbox import Sandbox

HEADER = "Prompt,Duration (s)\n"


def sheet(folder: Path, name: str, prompts: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(HEADER + "".join(f"{p},3\n" for p in prompts), encoding="utf-8")
    return path


class PlannedBarrier:
    """Holds the first ``parties`` API probes (each process's first request, sent right after it
    planned) until every process has planned."""

    def __init__(self, parties: int) -> None:
        self._barrier = threading.Barrier(parties, timeout=60)
        self._left = parties
        self._lock = threading.Lock()

    def install(self, monkeypatch: Any) -> PlannedBarrier:
        from hhbatch.sandbox.context import Context

        original = Context.sleep_latency
        barrier = self

        def sleep_latency(ctx: Context, route: str) -> None:
            if route == "get":
                with barrier._lock:
                    mine = barrier._left > 0
                    barrier._left -= 1
                if mine:
                    barrier._barrier.wait()
            original(ctx, route)

        monkeypatch.setattr(Context, "sleep_latency", sleep_latency)
        return self


def test_copies_run_at_the_same_time_create_each_row_once(
    sandbox_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """The reviewer's case: the same sheet in two folders, and a renamed copy beside one of
    them, run at once: every row is created once. Rows not sent say why, and running again
    picks up the other run's videos; nothing is ever created twice."""
    prompts = [f"Concurrent copy clip {i}" for i in range(8)]
    first = sheet(tmp_path / "N1", "c.csv", prompts)
    second = sheet(tmp_path / "N2", "c.csv", prompts)
    renamed = tmp_path / "N1" / "d.csv"
    shutil.copyfile(first, renamed)
    manifests = (first, second, renamed)
    PlannedBarrier(len(manifests)).install(monkeypatch)
    sb: Sandbox = sandbox_factory(fault_routes=("create",), latency_sec=0.02)
    # The renamed copy reports as JSON: rows not sent for another run are listed there.
    procs = [
        start_run(m, sb, "--rate", "500", *(["--json"] if m == renamed else [])) for m in manifests
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    diag = "\n".join(
        f"--- {m} exit {p.returncode}\n{out}\n{err}"
        for m, p, (out, err) in zip(manifests, procs, outputs, strict=True)
    )
    assert Counter(job["body"]["prompt"] for job in sb.jobs()) == Counter(prompts), diag
    assert all(p.returncode in (0, 1) for p in procs), diag
    assert not any("locked" in err for _out, err in outputs), diag

    for manifest, (out, err) in zip(manifests, outputs, strict=True):
        rows = read_results(manifest)
        for p in prompts:
            if rows[p]["status"] == "ready":
                continue
            assert rows[p]["status"] == "not submitted", (p, rows[p], diag)
            assert "being created by another run" in rows[p]["error"], (p, rows[p], diag)
            assert "Nothing was charged here; run again later" in rows[p]["error"], diag
        held = [i + 2 for i, p in enumerate(prompts) if rows[p]["status"] != "ready"]
        if manifest == renamed:
            assert json.loads(out)["heldForAnotherRun"] == held, diag
        elif held:
            assert "were not sent twice" in out + err, diag  # and the summary says so

    # Run each again: the held rows pick up the other run's videos; nothing new is created.
    cli = Cli(sb, monkeypatch, capsys)
    for manifest in manifests:
        again = cli.run(manifest)
        assert again.code == exitcodes.OK, again
    assert Counter(job["body"]["prompt"] for job in sb.jobs()) == Counter(prompts)
    ids = [{p: r["videoId"] for p, r in read_results(m).items()} for m in manifests]
    assert ids[0] == ids[1] == ids[2]
    assert sorted(ids[0].values()) == sorted(job["id"] for job in sb.jobs())
