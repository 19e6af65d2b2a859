"""``require_tool`` (tests/conftest.py): a missing program skips a test here, fails it in CI."""

from __future__ import annotations

import pytest
from conftest import TOOLS, require_tool


@pytest.fixture
def missing(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(TOOLS, "nothing", (("hhbatch-no-such-program",), "apt-get install x"))
    return "nothing"


def test_a_missing_program_skips_with_how_to_install_it(
    missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install x"):
        require_tool(missing)


@pytest.mark.parametrize("value", ["true", "TRUE", "1"])
def test_a_missing_program_fails_under_ci(
    missing: str, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="must run, not skip"):
        require_tool(missing)


def test_a_present_program_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(TOOLS, "python", (("no-such-name", "python3"), "apt-get install python3"))
    assert require_tool("python").endswith("python3")
