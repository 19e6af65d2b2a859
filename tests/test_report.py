"""hhbatch report: one card per row, every server text escaped, local files preferred."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from hhbatch.cli import main
from hhbatch.i18n import set_language
from hhbatch.report import Card, render_html


@pytest.fixture(autouse=True)
def english_unless_asked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Messages are asserted in English: a Chinese system locale must not change them."""
    monkeypatch.setenv("HHBATCH_LANG", "en")
    yield
    set_language("en")


EVIL = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


class Page(HTMLParser):
    """Cards, their text, media sources and every script/handler found in the page."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, object]] = []
        self.scripts = 0
        self.handlers: list[str] = []
        self.external: list[str] = []
        self.buttons: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            self.scripts += 1
            if values.get("src"):
                self.external.append(str(values["src"]))
        if tag in ("link",) and values.get("href"):
            self.external.append(str(values["href"]))
        if tag == "article":
            self.cards.append({"status": values.get("data-status"), "text": "", "media": []})
        if tag in ("video", "img") and self.cards:
            self.cards[-1]["media"].append((tag, values.get("src"), values.get("poster")))  # type: ignore[union-attr]
        if tag == "button":
            self.buttons.append(str(values.get("data-filter")))
        self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if self.cards and "script" not in self._stack:
            self.cards[-1]["text"] = str(self.cards[-1]["text"]) + data


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def test_server_text_is_escaped_and_links_must_be_web_links() -> None:
    card = Card(
        sheet_row=2,
        status='fail"ed<b>',
        prompt=EVIL,
        settings=[("style", EVIL)],
        error=EVIL,
        video_src=None,
        video_url=None,
        thumbnail_url=None,
        video_id=EVIL,
    )
    text = render_html(EVIL, [card])
    page = parse(text)
    assert page.scripts == 1 and page.external == []  # only our inline script
    assert page.handlers == []  # no onerror= made it into a tag
    assert len(page.cards) == 1
    assert page.cards[0]["status"] == 'fail"ed<b>'
    assert str(page.cards[0]["text"]).count(EVIL) == 4  # prompt, setting, error, video id: as text
    assert "<script>alert" not in text
    assert page.buttons == ["all", 'fail"ed<b>']


def write_csv(folder: Path) -> Path:
    path = folder / "spring.csv"
    rows = [
        ["prompt", "durationSec", "resolution"],
        ["A chestnut horse gallops along a beach", 3, "720p"],
        ["Product shot [fail] of a <b>shoe</b>", 3, "720p"],
        ["A cat", 99, "720p"],  # invalid
        ["一匹马在海滩上奔跑", 4, "1080p"],
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_report_has_one_card_per_row_and_prefers_downloaded_files(
    tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAPPYHORSE_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("HAPPYHORSE_API_KEY", sandbox.api_key)
    manifest = write_csv(tmp_path)
    assert main(["run", str(manifest), "--yes", "--poll-interval", "0.05"]) == 1
    assert main(["report", str(manifest)]) == 0
    page = parse((tmp_path / "spring.report.html").read_text(encoding="utf-8"))
    assert [c["status"] for c in page.cards] == ["ready", "failed", "invalid", "ready"]
    assert page.buttons == ["all", "ready", "failed", "invalid"]
    assert page.external == [] and page.handlers == []
    ready = page.cards[0]
    ((tag, src, poster),) = ready["media"]  # type: ignore[misc]
    assert tag == "video" and src.startswith(sandbox.storage_url) and poster.endswith(".png")
    assert "<b>shoe</b>" in str(page.cards[1]["text"])  # shown as text, not markup
    assert "durationSec" in str(page.cards[2]["text"])  # the validation message
    assert page.cards[1]["media"] == []

    assert main(["download", str(manifest)]) == 0
    out = tmp_path / "review" / "page.html"
    assert main(["report", str(manifest), "--out", str(out)]) == 0
    page = parse(out.read_text(encoding="utf-8"))
    ((tag, src, poster),) = page.cards[3]["media"]  # type: ignore[misc]
    assert tag == "video"
    assert poster == "../spring_videos/r5_" + quote("一匹马在海滩上奔跑") + ".png"  # downloaded
    assert src == "../spring_videos/r5_" + quote("一匹马在海滩上奔跑") + ".mp4"
    # moved videos folder: --videos says where
    shutil.move(tmp_path / "spring_videos", tmp_path / "clips")
    assert main(["report", str(manifest), "--videos", str(tmp_path / "clips")]) == 0
    page = parse((tmp_path / "spring.report.html").read_text(encoding="utf-8"))
    assert page.cards[0]["media"][0][1] == "clips/r2_a-chestnut-horse-gallops-along-a-beach.mp4"  # type: ignore[index]


def test_report_and_download_fall_back_on_the_results_sheet_when_the_journal_is_gone(
    tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --sandbox run keeps no journal, and a journal can be lost: the sheet still knows."""
    monkeypatch.setenv("HAPPYHORSE_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("HAPPYHORSE_API_KEY", sandbox.api_key)
    manifest = write_csv(tmp_path)
    assert main(["run", str(manifest), "--yes", "--poll-interval", "0.05"]) == 1
    shutil.rmtree(tmp_path / ".hhbatch")
    assert main(["report", str(manifest)]) == 0
    page = parse((tmp_path / "spring.report.html").read_text(encoding="utf-8"))
    assert [c["status"] for c in page.cards] == ["ready", "failed", "invalid", "ready"]
    assert main(["download", str(manifest)]) == 0
    assert len(list((tmp_path / "spring_videos").glob("*.mp4"))) == 2


def test_open_shows_the_page_in_the_browser(
    tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAPPYHORSE_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("HAPPYHORSE_API_KEY", sandbox.api_key)
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    manifest = write_csv(tmp_path)
    assert main(["report", str(manifest), "--open"]) == 0  # before any run: all not submitted
    assert opened == [(tmp_path / "spring.report.html").resolve().as_uri()]
    page = parse((tmp_path / "spring.report.html").read_text(encoding="utf-8"))
    assert [c["status"] for c in page.cards] == [
        "not submitted",
        "not submitted",
        "invalid",
        "not submitted",
    ]
