"""Property: a row the API would accept is never rejected, and one it would refuse never passes.

The oracle is :func:`hhbatch.spec.check_create_body`, the sandbox server's own rule set: the
loader and the server must reach the same verdict on every generated row.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from hhbatch import spec
from hhbatch.loader import load_manifest

F = spec.CREATE_FIELDS
STEPS = 1000  # decimals are drawn on a 1/1000 grid
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
# Printable text without whitespace or control characters at all (the loader trims the ends).
WORD = st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cn"))


def text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(WORD, min_size=min_size, max_size=max_size)


def whole(name: str) -> st.SearchStrategy[int]:
    return st.integers(int(F[name].minimum or 0), int(F[name].maximum or 0))


VALID: dict[str, st.SearchStrategy[Any]] = {
    "prompt": text(int(F["prompt"].minimum or 0), 60)
    | st.just("马" * int(F["prompt"].maximum or 0)),
    "style": text(1, int(F["style"].maximum or 0)),
    "durationSec": whole("durationSec"),
    "aspectRatio": st.sampled_from(F["aspectRatio"].choices),
    "resolution": st.sampled_from(F["resolution"].choices),
    "cameraMotion": st.sampled_from(F["cameraMotion"].choices),
    "motionIntensity": whole("motionIntensity"),
    "cfgScale": st.integers(0, STEPS).map(
        lambda n: (
            (F["cfgScale"].minimum or 0)
            + n * ((F["cfgScale"].maximum or 0) - (F["cfgScale"].minimum or 0)) / STEPS
        )
    ),
}


def outside(name: str) -> st.SearchStrategy[Any]:
    lo, hi = F[name].minimum or 0, F[name].maximum or 0
    if F[name].type == "integer":
        return (
            st.integers(max_value=int(lo) - 1)
            | st.integers(min_value=int(hi) + 1)
            | st.floats(lo, hi).filter(lambda v: not v.is_integer())
        )
    return st.floats(max_value=lo, exclude_max=True, allow_nan=False, allow_infinity=False) | (
        st.floats(min_value=hi, exclude_min=True, allow_nan=False, allow_infinity=False)
    )


NONSENSE = st.text("qwxyz", min_size=1, max_size=8)  # no choice is spelt with these letters only
INVALID: dict[str, st.SearchStrategy[Any]] = {
    "prompt": text(1, int(F["prompt"].minimum or 0) - 1)
    | st.just("x" * (int(F["prompt"].maximum or 0) + 1)),
    "style": text(int(F["style"].maximum or 0) + 1, int(F["style"].maximum or 0) + 5),
    "durationSec": outside("durationSec"),
    "aspectRatio": NONSENSE,
    "resolution": NONSENSE,
    "cameraMotion": NONSENSE,
    "motionIntensity": outside("motionIntensity"),
    "cfgScale": outside("cfgScale"),
}


@st.composite
def rows(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """A body with its required fields and any optional ones; maybe one field made invalid."""
    body = {name: draw(VALID[name]) for name in COLUMNS if F[name].required or draw(st.booleans())}
    broken = draw(st.none() | st.sampled_from(COLUMNS))
    if broken is not None:
        body[broken] = draw(INVALID[broken])
    return body, broken is None


def write(path: Path, bodies: list[dict[str, Any]], as_xlsx: bool) -> Path:
    cells = [[body.get(name, "") for name in COLUMNS] for body in bodies]
    if as_xlsx:
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(list(COLUMNS))
        for row in cells:
            sheet.append([None if c == "" else c for c in row])
        target = path.with_suffix(".xlsx")
        workbook.save(target)
        return target
    target = path.with_suffix(".csv")
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows([[repr(c) if isinstance(c, float) else c for c in row] for row in cells])
    return target


@settings(max_examples=150, deadline=None)
@given(st.lists(rows(), min_size=1, max_size=6), st.booleans())
def test_loader_agrees_with_the_server(
    generated: list[tuple[dict[str, Any], bool]], as_xlsx: bool
) -> None:
    bodies = [body for body, _ in generated]
    with tempfile.TemporaryDirectory() as tmp:
        manifest = load_manifest(write(Path(tmp) / "m", bodies, as_xlsx))
    assert len(manifest.rows) == len(bodies)
    for row, (body, expect_valid) in zip(manifest.rows, generated, strict=True):
        server_ok = spec.check_create_body(body) == []
        assert server_ok == expect_valid  # the generator itself is right
        assert row.valid == server_ok, (body, [p.message for p in row.problems])
        if server_ok:
            assert row.request == body
            assert spec.check_create_body(row.request) == []
