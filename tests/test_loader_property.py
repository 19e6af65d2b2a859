"""Property: a row the API would accept is never rejected, and one it would refuse never passes.

The oracle is :func:`hhbatch.spec.check_create_body`, the sandbox server's own rule set: the
loader and the server must reach the same verdict on every generated row, however the valid
values are spelt in the sheet (``1080P``, ``" 6 "``, ``6.0``, 16:9 stored as an Excel time…).
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from hhbatch import spec
from hhbatch.loader import load_manifest

F = spec.CREATE_FIELDS
STEPS = 1000  # decimals are drawn on a 1/1000 grid, which a spreadsheet stores exactly
COLUMNS = (
    "prompt",
    "style",
    "durationSec",
    "aspectRatio",
    "resolution",
    "cameraMotion",
    "motionIntensity",
    "cfgScale",
)
# Printable text without whitespace or control characters (the loader trims the ends).
WORD = st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cn"))


def bound(name: str) -> tuple[float, float]:
    return F[name].minimum or 0, F[name].maximum or 0


def text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(WORD, min_size=min_size, max_size=max_size)


def whole(name: str) -> st.SearchStrategy[int]:
    lo, hi = bound(name)
    return st.integers(int(lo), int(hi))


def decimal(name: str) -> st.SearchStrategy[float]:
    lo, hi = bound(name)
    return st.integers(0, STEPS).map(lambda n: lo + n * (hi - lo) / STEPS)


def outside(name: str) -> st.SearchStrategy[Any]:
    """Beyond the range, or (for whole numbers) halfway between two of them."""
    lo, hi = bound(name)
    beyond = st.integers(1, 10**6).map(lambda n: n / STEPS)
    if F[name].type == "integer":
        return (
            st.integers(max_value=int(lo) - 1)
            | st.integers(min_value=int(hi) + 1)
            | st.integers(int(lo), int(hi) - 1).map(lambda n: n + 0.5)
        )
    return beyond.map(lambda d: lo - d) | beyond.map(lambda d: hi + d)


PROMPT_MIN, PROMPT_MAX = (int(v) for v in bound("prompt"))
STYLE_MAX = int(bound("style")[1])
VALID: dict[str, st.SearchStrategy[Any]] = {
    "prompt": text(PROMPT_MIN, 60) | st.just("马" * PROMPT_MAX),
    "style": text(1, STYLE_MAX),
    "durationSec": whole("durationSec"),
    "aspectRatio": st.sampled_from(F["aspectRatio"].choices),
    "resolution": st.sampled_from(F["resolution"].choices),
    "cameraMotion": st.sampled_from(F["cameraMotion"].choices),
    "motionIntensity": whole("motionIntensity"),
    "cfgScale": decimal("cfgScale"),
}
NONSENSE = st.text("qwxyz", min_size=1, max_size=8)  # no choice is spelt with these letters only
INVALID: dict[str, st.SearchStrategy[Any]] = {
    "prompt": text(1, PROMPT_MIN - 1) | st.just("x" * (PROMPT_MAX + 1)),
    "style": text(STYLE_MAX + 1, STYLE_MAX + 5),
    "durationSec": outside("durationSec"),
    "aspectRatio": NONSENSE,
    "resolution": NONSENSE,
    "cameraMotion": NONSENSE,
    "motionIntensity": outside("motionIntensity"),
    "cfgScale": outside("cfgScale"),
}


def spreadsheet_spellings(name: str, value: Any) -> list[Any]:
    """How a person (or Excel) may write a valid value: the loader must still accept it."""
    kind = F[name].type
    if kind == "enum":
        spellings = [value, value.upper(), f" {value}\u00a0"]
        if name == "aspectRatio":
            hours, minutes = (int(p) for p in value.split(":"))
            spellings += [dt.time(hours, minutes), f"{hours:02d}:{minutes:02d}:00"]
        return spellings
    if kind == "integer":
        return [value, float(value), str(value), f" {value} ", f"{value}.0"]
    if kind == "number":
        return [value, str(value)]
    return [value, f" {value}\u00a0"]


@st.composite
def rows(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(body the API would get, cells as typed, valid?); maybe one field made invalid."""
    body = {name: draw(VALID[name]) for name in COLUMNS if F[name].required or draw(st.booleans())}
    cells = {
        name: draw(st.sampled_from(spreadsheet_spellings(name, v))) for name, v in body.items()
    }
    broken = draw(st.none() | st.sampled_from(COLUMNS))
    if broken is not None:
        body[broken] = cells[broken] = draw(INVALID[broken])
    return body, cells, broken is None


def _csv_text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")  # what a CSV saved by Excel holds for such a cell
    return str(value)


def write(path: Path, typed: list[dict[str, Any]], as_xlsx: bool) -> Path:
    cells = [[row.get(name, "") for name in COLUMNS] for row in typed]
    if as_xlsx:
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(list(COLUMNS))
        for row in cells:
            sheet.append([None if c == "" else c for c in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, even "=00": openpyxl would write a formula
        target = path.with_suffix(".xlsx")
        workbook.save(target)
        return target
    target = path.with_suffix(".csv")
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows([[_csv_text(c) for c in row] for row in cells])
    return target


@settings(max_examples=150, deadline=None)
@given(st.lists(rows(), min_size=1, max_size=6), st.booleans())
def test_loader_agrees_with_the_server(
    generated: list[tuple[dict[str, Any], dict[str, Any], bool]], as_xlsx: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = load_manifest(write(Path(tmp) / "m", [c for _, c, _ in generated], as_xlsx))
    assert len(manifest.rows) == len(generated)
    for row, (body, _, expect_valid) in zip(manifest.rows, generated, strict=True):
        server_ok = spec.check_create_body(body) == []
        assert server_ok == expect_valid  # the generator itself is right
        assert row.valid == server_ok, (body, [p.message for p in row.problems])
        if server_ok:
            assert row.request == body
            assert spec.check_create_body(row.request) == []
