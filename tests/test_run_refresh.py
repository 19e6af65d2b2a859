"""The results sheet is refreshed while the run goes on, not only at the end."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hhbatch import workflow
from hhbatch.output import SheetWriter


def _manifest(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "campaign.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["prompt", "durationSec"])
        for i in range(rows):
            out.writerow([f"A lighthouse at dusk, take {i}", 5])
    return path


def test_sheet_is_refreshed_during_the_run(
    tmp_path: Path, sandbox_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = sandbox_factory(queue_sec=0.3, processing_sec=0.6)
    monkeypatch.setenv("HAPPYHORSE_BASE_URL", sb.base_url)
    monkeypatch.setenv("HAPPYHORSE_API_KEY", sb.api_key)
    monkeypatch.setattr(workflow, "MIN_REFRESH_SECONDS", 0.1)
    monkeypatch.setattr(workflow, "REFRESH_COST_FACTOR", 1.0)
    seen: list[set[str]] = []
    real_write = SheetWriter.write

    def spy(self, dest, columns, rows, notes=()):
        seen.append({cells["status"].value for cells in rows.values()})
        return real_write(self, dest, columns, rows, notes)

    monkeypatch.setattr(SheetWriter, "write", spy)
    options = workflow.RunOptions(manifest=_manifest(tmp_path, 4), poll_interval=0.1, rate=50)
    with workflow.prepare(options) as batch:
        report = batch.execute(workflow.NullProgress())

    assert report.counts == {"ready": 4}
    assert len(seen) >= 2, "only the final write happened"
    assert any(statuses != {"ready"} for statuses in seen[:-1]), seen
    assert seen[-1] == {"ready"}
