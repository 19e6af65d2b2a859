"""Console output must survive a GBK Windows console (characters it cannot show are replaced)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_gbk_console_does_not_crash_on_characters_outside_gbk(tmp_path: Path) -> None:
    manifest = tmp_path / "活动😀.csv"
    manifest.write_text("prompt,durationSec\nA horse on the beach,15\n", encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "gbk", "PYTHONUTF8": "0"}
    for command in (["validate"], ["run", "--dry-run"]):
        result = subprocess.run(
            [sys.executable, "-m", "hhbatch", *command, str(manifest)],
            capture_output=True,
            env=env,
            cwd=tmp_path,
        )
        out = (result.stdout + result.stderr).decode("gbk")
        assert "Traceback" not in out, out
        assert result.returncode == 1, out
        assert "活动?" in out  # the emoji became '?', the Chinese survived
        assert "durationSec must be a whole number from 3 to 12, got 15" in out
