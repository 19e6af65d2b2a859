"""Fast start (issue #12.4): what ``hhbatch --help`` and ``hhbatch validate`` import.

A timing would pass or fail with the machine's load; which modules a fresh interpreter has
loaded does not. Each check runs in its own interpreter, since this one has imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hhbatch.cli import COMMAND_MODULES

# Libraries that cost tens to hundreds of milliseconds to import (openpyxl pulls in numpy).
HEAVY = (
    "pandas",
    "numpy",
    "openpyxl",
    "httpx",
    "httpcore",
    "python_calamine",
    "yaml",
    "tqdm",
    "PIL",
    "asyncio",  # the standard library's, but 50 ms: the run's event loop, not --help's
    "ssl",
)
SAMPLES = Path(__file__).resolve().parent.parent / "samples"

_PROBE = """
import contextlib, io, json, sys
import hhbatch.cli
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = hhbatch.cli.main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(HEAVY)))
print(json.dumps({"code": code, "heavy": heavy, "out": out.getvalue()}))
"""


def probe(*args: str) -> dict[str, object]:
    """Run ``hhbatch ARGS`` in a fresh interpreter; its exit code, output and heavy imports."""
    code = _PROBE.replace("HEAVY", repr(json.dumps(HEAVY)))
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("args", [["--version"], ["--help"], []])
def test_version_and_help_import_no_heavy_library(args: list[str]) -> None:
    result = probe(*args)
    assert result["heavy"] == []
    assert result["code"] in (0, 2)


def test_help_still_lists_every_command() -> None:
    result = probe("--help")
    assert result["code"] == 0
    listed = str(result["out"])
    for name in COMMAND_MODULES:
        assert f"\n    {name} " in listed, name
    assert "manifest format:" in listed  # the column table stays in the top-level help


@pytest.mark.parametrize("command", COMMAND_MODULES)
def test_each_commands_help_imports_no_heavy_library(command: str) -> None:
    result = probe(command, "--help")
    assert result["code"] == 0
    assert result["heavy"] == []


def test_validate_reads_the_sheet_without_the_writer_or_the_network(tmp_path: Path) -> None:
    """``hhbatch validate`` needs calamine (and yaml for a config), not openpyxl or httpx."""
    result = probe("validate", str(SAMPLES / "campaign.xlsx"), "--json")
    assert result["code"] == 0
    assert json.loads(str(result["out"]))["summary"]["valid"] is True
    assert set(result["heavy"]) <= {"python_calamine", "yaml"}


def test_the_download_default_shown_in_help_is_the_one_used() -> None:
    from hhbatch import download
    from hhbatch.cli import download as cli_download

    assert cli_download.DEFAULT_CONCURRENCY == download.DEFAULT_CONCURRENCY


@pytest.mark.parametrize("args", [["--version"], ["--lang", "zh", "--version"]])
def test_version_is_printed(args: list[str]) -> None:
    from hhbatch import __version__

    result = probe(*args)
    assert result["code"] == 0
    assert result["out"] == f"hhbatch {__version__}\n"
