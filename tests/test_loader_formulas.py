"""Formulas saved without their result are found wherever they sit, however the part is stored.

The scan (``hhbatch.loader.formulas``) reads the sheet part's raw deflate stream and looks for
the letter ``f`` (issue #12.3); these tests pin what it must still see: a formula in an optional
or a required column, one below the last value (outside the grid calamine reads), a tag cut by a
chunk boundary, a prefixed ``<x:f>``, a text-heavy part (the ``<f`` search takes over), a stored
(uncompressed) part, and no false alarm for formulas that kept their results.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from hhbatch.errors import ManifestError
from hhbatch.loader import formulas, load_manifest
from hhbatch.loader.formulas import uncached_formulas

HEADERS = ["Prompt", "Style", "Duration (s)", "Resolution"]
SHEET = "xl/worksheets/sheet1.xml"


def workbook(tmp_path: Path, rows: list[list[object]], name: str = "m.xlsx") -> Path:
    """Written by openpyxl: a formula is saved as ``<f>`` with an empty ``<v>`` (as generators
    write it)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Videos"
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


def rewrite_part(path: Path, edit: object, compression: int = zipfile.ZIP_DEFLATED) -> None:
    """Replace the sheet part with ``edit(xml)``, every other part kept as it was."""
    with zipfile.ZipFile(path) as archive:
        parts = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in parts:
            if info.filename == SHEET:
                data = edit(data)  # type: ignore[operator]
                archive.writestr(info.filename, data, compress_type=compression)
            else:
                archive.writestr(info, data)


def test_uncached_formulas_in_an_optional_and_a_required_column_are_named(
    tmp_path: Path,
) -> None:
    path = workbook(
        tmp_path,
        [
            ["A horse runs", '="cine"&"matic"', 6, "720p"],  # optional column: Style
            ['="A cat "&"sleeps"', "anime", 6, "720p"],  # required column: Prompt
            ["A dog waits", "anime", 6, "720p"],
        ],
    )
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert str(caught.value).startswith("Videos!B2, A3: these cells hold formulas")


def test_a_formula_below_the_last_value_is_found(tmp_path: Path) -> None:
    """calamine's grid ends at the last value: a row of uncached formulas is not in it at all,
    so only the part itself can tell (the scan never decides from the grid)."""
    path = workbook(tmp_path, [["A horse runs", "anime", 6, "720p"]])
    wb = openpyxl.load_workbook(path)
    wb["Videos"]["A9"] = "=A2"
    wb.save(path)
    assert uncached_formulas(path, "Videos") == ["A9"]


def test_formulas_that_kept_their_results_are_not_reported(tmp_path: Path) -> None:
    path = workbook(tmp_path, [['="A cat "&"sleeps"', "anime", "=3+3", "720p"]])
    rewrite_part(
        path, lambda xml: xml.replace(b"<v></v>", b"<v>6</v>").replace(b"<v />", b"<v>6</v>")
    )
    assert b"<f>" in zipfile.ZipFile(path).read(SHEET)
    assert uncached_formulas(path, "Videos") == []


@pytest.mark.parametrize("chunk", [5, 6, 7, 8, 13, 700, 4099])
def test_a_tag_cut_by_a_chunk_boundary_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Tiny chunks put a boundary at every offset of ``<f>`` somewhere in the part."""
    monkeypatch.setattr(formulas, "_CHUNK", chunk)
    monkeypatch.setattr(formulas, "_READ", 3)
    rows: list[list[object]] = [[f"Prompt {i}", 6, 6, "720p"] for i in range(120)]
    rows.append(["=A2", "anime", 6, "720p"])
    path = workbook(tmp_path, rows)
    assert uncached_formulas(path, "Videos") == ["A122"]


def test_a_prefixed_formula_tag_is_found(tmp_path: Path) -> None:
    """Some writers give the main namespace a prefix: ``<x:c><x:f>…</x:f></x:c>``. (Rows
    without an f around it, so the letter search, not the ``<f`` one, meets it.)"""
    plain = [["A horse runs", 6, 6, "720p"] for _ in range(300)]
    path = workbook(tmp_path, [["A horse runs", "anime", 6, "720p"], *plain])

    def prefixed(xml: bytes) -> bytes:
        cell = b'<x:c r="B2" xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        return xml.replace(
            b'<c r="B2" t="inlineStr"><is><t>anime</t></is></c>',
            cell + b"<x:f>A2</x:f></x:c>",
        ).replace(b'<c r="B2" t="s"><v>1</v></c>', cell + b"<x:f>A2</x:f></x:c>")

    rewrite_part(path, prefixed)
    assert b"<x:f>" in zipfile.ZipFile(path).read(SHEET)
    assert uncached_formulas(path, "Videos") == ["B2"]


def test_a_text_heavy_part_is_searched_by_its_tags(tmp_path: Path) -> None:
    """Inline strings full of f's (more than one in 256 bytes) hand the chunk to the ``<f``
    search; an escaped ``&lt;f>`` in a text is no formula, the real one is."""
    text = "fluffy fifty-five fine foxes offer feedback <f> " * 20
    rows: list[list[object]] = [[text, "anime", 6, "720p"] for _ in range(30)]
    clean = workbook(tmp_path, rows, "clean.xlsx")
    assert uncached_formulas(clean, "Videos") == []
    rows.append(["=A2", "anime", 6, "720p"])
    with_formula = workbook(tmp_path, rows, "formula.xlsx")
    assert uncached_formulas(with_formula, "Videos") == ["A32"]


def test_a_stored_part_is_read_as_stored(tmp_path: Path) -> None:
    path = workbook(tmp_path, [["A horse runs", "=A2", 6, "720p"]])
    rewrite_part(path, lambda xml: xml, compression=zipfile.ZIP_STORED)
    assert zipfile.ZipFile(path).getinfo(SHEET).compress_type == zipfile.ZIP_STORED
    assert uncached_formulas(path, "Videos") == ["B2"]
