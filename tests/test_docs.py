"""The README, ``--help`` and the code must tell the same story (sqlite-utils' test_docs idea)."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hhbatch
from hhbatch.cli import COMMAND_MODULES, build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_readme_opens_with_exactly_two_commands() -> None:
    first_block = README.split("```")[1].strip().splitlines()
    assert len(first_block) == 2
    assert "hhbatch run samples/campaign.xlsx --sandbox --yes" in first_block[0]
    assert "pytest" in first_block[1] and "[test]" in first_block[1]


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run reads both README commands: it runs line 2 (the tests) and line 1's job (the
    sample on the sandbox, with the installed wheel), so README and CI cannot drift apart."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "README.md" in ci
    assert "test_command=$(readme_line 2)" in ci and 'eval "$test_run"' in ci
    assert "run_command=$(readme_line 1)" in ci


@pytest.mark.parametrize("command", COMMAND_MODULES)
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"hhbatch {command}" in README


def test_every_run_option_is_in_the_readme_and_help() -> None:
    run = _subparsers()["run"]
    help_text = run.format_help()
    options = [o for a in run._actions for o in a.option_strings if o.startswith("--")]
    assert "--resubmit-unknown" in options
    for option in options:
        if option == "--help":
            continue
        assert f"`{option}" in README, f"{option} is missing from the README's table"
        assert option in help_text


def test_exit_codes_agree_between_readme_and_help() -> None:
    from hhbatch.cli import exitcodes

    help_text = build_parser().format_help()
    for code in (
        exitcodes.OK,
        exitcodes.ROWS_NOT_OK,
        exitcodes.USAGE,
        exitcodes.AUTH,
        exitcodes.NO_CREDITS,
        exitcodes.UNREACHABLE,
        exitcodes.INTERRUPTED,
        exitcodes.TERMINATED,
    ):
        assert re.search(rf"^\| {code} \|", README, re.MULTILINE), code
        assert f"{code} " in help_text


# Imports each module named on the command line as the first hhbatch module: every hhbatch module
# loaded by the one before is forgotten first (what a fresh interpreter would have), while the
# third-party libraries stay loaded, as they cannot take part in a circle of ours.
FIRST_IMPORT = """
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "hhbatch" or m.startswith("hhbatch.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except BaseException:
        failed.append(name + ": " + traceback.format_exc())
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_on_its_own() -> None:
    """No import cycles: each module can be the first one imported (pip-tools' test).

    One interpreter for all of them (one each took ~0.2 s of CPU apiece, most of it loading
    pandas, httpx and openpyxl again)."""
    names = [m.name for m in pkgutil.walk_packages(hhbatch.__path__, "hhbatch.")]
    assert "hhbatch.workflow" in names
    names = [name for name in names if not name.endswith("__main__")]
    proc = subprocess.run(
        [sys.executable, "-c", FIRST_IMPORT, *names], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_core_never_imports_the_cli() -> None:
    for path in (ROOT / "hhbatch").rglob("*.py"):
        relative = path.relative_to(ROOT / "hhbatch")
        if "cli" in relative.parts or relative.name == "__main__.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"hhbatch\.cli\b", text), path


@pytest.mark.skipif(
    shutil.which("ruff") is None and importlib.util.find_spec("ruff") is None,
    reason="ruff is installed by the test extras",
)
def test_ruff_is_clean() -> None:
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_every_json_example_in_the_readme_parses_and_is_camel_case() -> None:
    blocks = re.findall(r"```json\n(.*?)```", README, re.DOTALL)
    commands = set()
    for block in blocks:
        document = json.loads(block)
        keys = list(_json_keys(document))
        assert all(re.match(r"^[a-z0-9][A-Za-z0-9]*$|^…$", k) for k in keys), keys
        commands.add(document.get("command"))
        if "error" in document:  # an error document: command and exitCode like every other
            assert {"command", "exitCode"} <= set(document), document
            commands.add("error")
    assert {"run", "download", "report", "validate", "error"} <= commands


def _json_keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(k for v in value.values() for k in _json_keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _json_keys(v)]
    return []
