"""The report in a real headless browser: it loads without errors, one card per row, filters work.

Chromium is driven directly (``--headless --dump-dom``: the DOM after the page's script ran, and
the console on stderr), so no Playwright or Selenium download is needed. Skipped where no
Chromium is installed (``apt-get install chromium`` on Debian/Ubuntu), except under CI=true,
where ``.ci/run`` installs it and a missing one fails (``require_tool`` in conftest.py).
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import require_tool

from hhbatch.cli import main
from hhbatch.i18n import set_language

CONSOLE_PROBLEM = re.compile(r"CONSOLE.*(Uncaught|Refused|Error)", re.IGNORECASE)


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HHBATCH_LANG", "en")
    yield
    set_language("en")


class Cards(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cards: list[tuple[str, bool]] = []  # (status, visible)
        self.active: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if tag == "article" and "card" in classes:
            self.cards.append((str(values.get("data-status")), "hidden" not in classes))
        if tag == "button" and "active" in classes:
            self.active.append(str(values.get("data-filter")))


def render(page: Path, tmp_path: Path, fragment: str = "") -> tuple[Cards, list[str]]:
    """Load the page in headless Chromium; the DOM after scripts ran, and console problems."""
    proc = subprocess.run(
        [
            require_tool("chromium"),
            "--headless=new",
            "--no-sandbox",  # running as root in CI containers
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
            "--dump-dom",
            page.resolve().as_uri() + fragment,
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    parser = Cards()
    parser.feed(proc.stdout)
    problems = [line for line in proc.stderr.splitlines() if CONSOLE_PROBLEM.search(line)]
    return parser, problems


def test_report_loads_in_chromium_with_a_card_per_row_and_status_filters(
    tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAPPYHORSE_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("HAPPYHORSE_API_KEY", sandbox.api_key)
    manifest = tmp_path / "spring.csv"
    rows = [
        ["prompt", "durationSec"],
        ["A chestnut horse gallops along a beach", 3],
        ['Product shot [fail] of a <script>alert("x")</script> shoe', 3],
        ["A cat", 99],  # invalid
        ["一匹马在海滩上奔跑", 4],
    ]
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    assert main(["run", str(manifest), "--yes", "--poll-interval", "0.05", "--download"]) == 1
    assert main(["report", str(manifest)]) == 0
    page = tmp_path / "spring.report.html"

    cards, problems = render(page, tmp_path)
    assert problems == []
    assert cards.cards == [
        ("ready", True),
        ("failed", True),
        ("invalid", True),
        ("ready", True),
    ]
    assert cards.active == ["all"]  # the script ran

    failed, problems = render(page, tmp_path, "#failed")
    assert problems == []
    assert failed.cards == [
        ("ready", False),
        ("failed", True),
        ("invalid", False),
        ("ready", False),
    ]
    assert failed.active == ["failed"]


def test_the_check_sees_script_errors(tmp_path: Path) -> None:
    """The console check can fail: a page with a broken script is caught."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>nosuch();</script></body></html>", encoding="utf-8")
    _, problems = render(page, tmp_path)
    assert problems and "nosuch" in problems[0]
