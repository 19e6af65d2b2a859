"""``hhbatch report``: one HTML file a reviewer opens instead of reading the results sheet.

Why one self-contained file: it is mailed, put on a shared drive, opened offline; so the CSS and
the few lines of JavaScript are inline and nothing is fetched from the network except the videos
and thumbnails themselves (local files next to it, or the links the API returned).

Every text that reaches the page (prompts, error messages from the server, URLs) is escaped: the
server's words are data, never markup.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hhbatch import __version__, spec
from hhbatch.download import (
    _IMAGE_EXTENSIONS,
    _VIDEO_EXTENSIONS,
    default_folder,
    file_stems,
    filename_cells,
    row_files,
)
from hhbatch.i18n import _, current_language

REPORT_SUFFIX = ".report.html"
ALL = "all"


@dataclass
class Card:
    """One row of the sheet as the report shows it."""

    sheet_row: int
    status: str
    prompt: str
    settings: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    video_src: str | None = None  # local file (relative to the report) or the videoUrl
    video_url: str | None = None
    thumbnail_url: str | None = None
    thumbnail_src: str | None = None  # downloaded thumbnail (relative), else thumbnailUrl
    video_id: str | None = None


def default_report_path(manifest: Path) -> Path:
    from hhbatch.workflow import batch_name

    return manifest.with_name(batch_name(manifest) + REPORT_SUFFIX)


def _web_link(url: str | None) -> str | None:
    """Only http(s) links become src/href: a server-sent ``javascript:`` must stay text."""
    if url and str(url).strip().lower().startswith(("http://", "https://")):
        return str(url).strip()
    return None


def _relative_src(path: Path, report_folder: Path) -> str:
    try:
        relative = os.path.relpath(path, report_folder)
    except ValueError:  # another drive on Windows: an absolute file URL still works locally
        return path.resolve().as_uri()
    return quote(Path(relative).as_posix())


def _settings(row: Any) -> list[tuple[str, str]]:
    items = []
    for name, value in row.request.items():
        if name == "prompt" or value is None:
            continue
        items.append((name, str(value)))
    columns = {api: column for column, api in spec.FILE_COLUMNS.items()}
    for ref in row.files.values():
        if ref.path is not None:
            items.append((columns.get(ref.field, ref.field), ref.path.name))
    return items


def build_cards(batch: Any, videos_folder: Path | None, report_path: Path) -> list[Card]:
    """A card per row of the manifest, in sheet order, with the journal's latest word."""
    manifest = batch.manifest
    results = row_files(batch)
    folder = videos_folder or default_folder(Path(batch.options.manifest))
    chosen = filename_cells(manifest)
    stems = file_stems(
        (row.sheet_row, row.request.get("prompt"), chosen.get(row.sheet_row))
        for row in manifest.rows
    )
    cards = []
    for row in manifest.rows:
        result = results.get(row.sheet_row)
        card = Card(
            sheet_row=row.sheet_row,
            status=result.status if result else "not submitted",
            prompt=str(row.request.get("prompt") or ""),
            settings=_settings(row),
            error=result.error if result else None,
            video_url=_web_link(result.video_url) if result else None,
            thumbnail_url=_web_link(result.thumbnail_url) if result else None,
            video_id=result.video_id if result else None,
        )
        if not row.valid:
            card.error = card.error or " ".join(p.message for p in row.errors)
        here = report_path.resolve().parent
        if card.status == spec.STATUS_READY:
            stem = stems.get(row.sheet_row)
            video = _local_file(folder, stem, _VIDEO_EXTENSIONS)
            card.video_src = _relative_src(video, here) if video else card.video_url
            thumbnail = _local_file(folder, stem, _IMAGE_EXTENSIONS)
            card.thumbnail_src = _relative_src(thumbnail, here) if thumbnail else None
        card.thumbnail_src = card.thumbnail_src or card.thumbnail_url
        cards.append(card)
    return cards


def _local_file(folder: Path, stem: str | None, extensions: tuple[str, ...]) -> Path | None:
    if not stem:
        return None
    for ext in extensions:
        candidate = folder / (stem + ext)
        if candidate.is_file():
            return candidate
    return None


# --- HTML ------------------------------------------------------------------------------------
def e(text: object) -> str:
    return html.escape(str(text), quote=True)


def status_label(status: str) -> str:
    """A status as the reader's language says it (the page filters on the raw word)."""
    labels = {
        "ready": _("ready"),
        "failed": _("failed"),
        "invalid": _("invalid"),
        "unknown": _("unknown"),
        "not submitted": _("not submitted"),
        "submitting": _("submitting"),
        "queued": _("queued"),
        "processing": _("processing"),
        "edited": _("edited"),
        "submitted": _("submitted"),
        "not_found": _("not found"),
    }
    return labels.get(status, status)


def field_label(name: str) -> str:
    """A column's header in Chinese when the page is in Chinese; its API name otherwise."""
    if current_language() != "zh":
        return name
    from hhbatch.loader.headers import chinese_header

    try:
        return chinese_header(name)
    except (KeyError, StopIteration):
        return name


def _status_class(status: str) -> str:
    known = {spec.STATUS_READY: "ready", "failed": "failed", "invalid": "failed"}
    return known.get(status, "other")


def render_card(card: Card) -> str:
    parts = [
        f'<article class="card" data-status="{e(card.status)}" data-row="{card.sheet_row}">',
        '<div class="media">',
    ]
    poster = f' poster="{e(card.thumbnail_src)}"' if card.thumbnail_src else ""
    if card.video_src:
        preload = "none" if card.thumbnail_src else "metadata"
        parts.append(
            f'<video controls preload="{preload}"{poster} src="{e(card.video_src)}"></video>'
        )
    elif card.thumbnail_src:
        parts.append(f'<img loading="lazy" alt="" src="{e(card.thumbnail_src)}">')
    else:
        parts.append(f'<div class="none">{e(_("no video"))}</div>')
    parts.append("</div>")
    parts.append('<div class="body">')
    rownum = _("Row {row}").format(row=card.sheet_row)
    parts.append(
        f'<div class="head"><span class="rownum">{e(rownum)}</span>'
        f'<span class="status {_status_class(card.status)}">{e(status_label(card.status))}'
        "</span></div>"
    )
    parts.append(f'<p class="prompt">{e(card.prompt)}</p>')
    if card.settings:
        parts.append('<dl class="settings">')
        parts.extend(f"<dt>{e(field_label(k))}</dt><dd>{e(v)}</dd>" for k, v in card.settings)
        parts.append("</dl>")
    if card.error:
        parts.append(f'<p class="error">{e(card.error)}</p>')
    links = []
    if card.video_url:
        links.append(f'<a href="{e(card.video_url)}" rel="noreferrer">videoUrl</a>')
    if card.thumbnail_url:
        links.append(f'<a href="{e(card.thumbnail_url)}" rel="noreferrer">thumbnailUrl</a>')
    if card.video_id:
        links.append(f'<span class="vid">{e(card.video_id)}</span>')
    if links:
        parts.append(f'<p class="links">{" · ".join(links)}</p>')
    parts.append("</div></article>")
    return "".join(parts)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Microsoft YaHei","PingFang SC",sans-serif;
margin:0;background:#f4f4f2;color:#222}
header{padding:16px 24px;background:#fff;border-bottom:1px solid #ddd;position:sticky;top:0;
z-index:1}
h1{font-size:20px;margin:0 0 8px}
.meta{color:#666;font-size:13px;margin-bottom:8px}
.filters button{border:1px solid #bbb;background:#fff;border-radius:14px;padding:4px 12px;
margin:2px;cursor:pointer;font-size:13px}
.filters button.active{background:#222;color:#fff;border-color:#222}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:16px;padding:24px}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;overflow:hidden;display:flex;
flex-direction:column}
.card.hidden{display:none}
.media{background:#111;aspect-ratio:16/9;display:flex;align-items:center;justify-content:center}
.media video,.media img{width:100%;height:100%;object-fit:contain}
.none{color:#999;font-size:13px}
.body{padding:10px 12px;font-size:14px}
.head{display:flex;justify-content:space-between;align-items:center;margin-bottom:6px}
.rownum{font-weight:600}
.status{border-radius:10px;padding:1px 8px;font-size:12px;background:#ffeb9c}
.status.ready{background:#c6efce}.status.failed{background:#ffc7ce}
.prompt{margin:4px 0 8px;white-space:pre-wrap;word-break:break-word}
.settings{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:0 0 8px;font-size:12px;
color:#444}
.settings dt{color:#888}.settings dd{margin:0;word-break:break-all}
.error{color:#9c0006;background:#fff0f0;padding:6px;border-radius:4px;font-size:13px;
white-space:pre-wrap;word-break:break-word}
.links{font-size:12px;color:#666;word-break:break-all}
"""

JS = """
(function(){
  var buttons=Array.prototype.slice.call(document.querySelectorAll('.filters button'));
  var known=buttons.map(function(b){return b.getAttribute('data-filter');});
  function show(status){
    document.querySelectorAll('.card').forEach(function(card){
      var on=status==='all'||card.getAttribute('data-status')===status;
      card.classList.toggle('hidden',!on);
    });
    buttons.forEach(function(b){b.classList.toggle('active',b.getAttribute('data-filter')===status);});
  }
  function fromHash(){
    var wanted=decodeURIComponent(location.hash.slice(1));
    show(known.indexOf(wanted)>=0?wanted:'all');
  }
  buttons.forEach(function(b){b.addEventListener('click',function(){
    location.hash=encodeURIComponent(b.getAttribute('data-filter'));
  });});
  window.addEventListener('hashchange',fromHash);
  fromHash();
})();
"""


def render_html(title: str, cards: list[Card], generated: datetime | None = None) -> str:
    counts: dict[str, int] = {}
    for card in cards:
        counts[card.status] = counts.get(card.status, 0) + 1
    order = sorted(counts, key=lambda s: (s != spec.STATUS_READY, s))
    everything = _("all ({count})").format(count=len(cards))
    buttons = [f'<button type="button" data-filter="{ALL}">{e(everything)}</button>']
    buttons += [
        f'<button type="button" data-filter="{e(s)}">{e(status_label(s))} ({counts[s]})</button>'
        for s in order
    ]
    when = (generated or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    meta = _("{rows} row(s) · generated {when} by hhbatch {version}").format(
        rows=len(cards), when=when, version=__version__
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{"zh-CN" if current_language() == "zh" else "en"}"><head>'
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            # No network: nothing but media may load, and no script but ours.
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "img-src * data: file:; media-src * data: file:; style-src 'unsafe-inline'; "
            "script-src 'unsafe-inline'\">",
            f"<title>{e(_('{name} · hhbatch report').format(name=title))}</title>",
            f"<style>{CSS}</style></head><body>",
            f"<header><h1>{e(title)}</h1>",
            f'<div class="meta">{e(meta)}</div>',
            f'<div class="filters">{"".join(buttons)}</div></header>',
            "<main>",
            *(render_card(card) for card in cards),
            "</main>",
            f"<script>{JS}</script>",
            "</body></html>",
            "",
        ]
    )


def campaign_title(batch: Any) -> str:
    """The campaign's name: ``spring`` for spring.xlsx or spring.results.xlsx, and the sheet
    when the workbook has several to choose from (``spring · May``)."""
    from hhbatch.workflow import batch_name

    name = batch_name(Path(batch.options.manifest))
    sheet = getattr(batch.manifest, "sheet_name", None)
    if sheet and (batch.options.sheet or getattr(batch.config, "sheet", None)):
        return f"{name} · {sheet}"
    return name


def write_report(
    batch: Any, dest: Path | None = None, videos_folder: Path | None = None
) -> tuple[Path, list[Card]]:
    """Write the report for a prepared batch; returns where it went and its cards."""
    from hhbatch.output.atomic import write_atomically

    manifest_path = Path(batch.options.manifest)
    dest = Path(dest) if dest is not None else default_report_path(manifest_path)
    cards = build_cards(batch, videos_folder, dest)
    text = render_html(campaign_title(batch), cards)

    def save(target: Path) -> None:
        target.write_text(text, encoding="utf-8", newline="\n")

    written = write_atomically(dest, save)
    return written, cards
