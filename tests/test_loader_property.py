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
from hypothesis import example, given, seed, settings
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


def boundary_rows() -> list[tuple[str, tuple[dict[str, Any], dict[str, Any], bool]]]:
    """Fixed examples at and beyond every limit ``spec.py`` sets, whatever the draw: the limits
    themselves, one past each (min−1, max+1), and what people type near them (6.5 for a whole
    number, "13s" with a unit). The verdict comes from the server's own rules.

    Returns (field, (body the API would get, cells as typed, valid?)) pairs.
    """
    base = {"prompt": "a horse gallops on a beach", "durationSec": 5}
    cases: list[tuple[str, Any, Any]] = []  # (field, cell as typed, what the API would get)
    for name in COLUMNS:
        field = F[name]
        if field.minimum is None and field.maximum is None:
            continue
        if field.type == "string":
            lengths = [int(field.maximum or 0), int(field.maximum or 0) + 1]
            if field.minimum:
                lengths += [int(field.minimum) - 1, int(field.minimum)]
            cases += [(name, "x" * n, "x" * n) for n in lengths if n > 0]
            cases += [(name, 6.5, "6.5"), (name, "13s", "13s")]
            continue
        lo, hi = field.minimum or 0, field.maximum or 0
        cases += [(name, v, v) for v in (lo - 1, lo, hi, hi + 1, 6.5)]
        cases.append((name, "13s", 13 if name == "durationSec" else "13s"))
    examples = []
    for name, cell, meant in cases:
        body = {**base, name: meant}
        examples.append((name, (body, {**base, name: cell}, spec.check_create_body(body) == [])))
    return examples


BOUNDARIES = [row for _, row in boundary_rows()]


def test_the_boundary_table_covers_every_limited_field() -> None:
    limited = {n for n in COLUMNS if F[n].minimum is not None or F[n].maximum is not None}
    refused = {name for name, (_, _, valid) in boundary_rows() if not valid}
    accepted = {name for name, (_, _, valid) in boundary_rows() if valid}
    assert refused == limited == accepted
    assert {"prompt", "durationSec", "cfgScale"} <= limited


@seed(20261201)  # the same draws on every run and machine: a failure can be replayed
@settings(max_examples=150, deadline=None)
@example(BOUNDARIES, True)
@example(BOUNDARIES, False)
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
