"""templates/ and samples/: they load and validate, follow spec.py, and match their scripts."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import openpyxl
import pytest

from hhbatch import spec
from hhbatch.columns import is_skip_header
from hhbatch.config import Config, load_config
from hhbatch.loader import filetypes, load_manifest
from hhbatch.loader.headers import HeaderMatcher

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
SAMPLES = ROOT / "samples"


def script(path: Path) -> ModuleType:
    loaded = importlib.util.spec_from_file_location(path.stem, path)
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    sys.modules[loaded.name] = module  # dataclasses look their module up while being defined
    try:
        loaded.loader.exec_module(module)
    finally:
        del sys.modules[loaded.name]
    return module


def validations(path: Path) -> tuple[list[tuple], list[str], dict]:
    """Data validations (as comparable tuples), header texts and layout of a workbook."""
    sheet = openpyxl.load_workbook(path).active
    rules = sorted(
        (str(dv.sqref), dv.type, dv.operator, dv.formula1, dv.formula2, dv.prompt, dv.promptTitle)
        for dv in sheet.data_validations.dataValidation
    )
    headers = [c.value for c in sheet[1]]
    layout = {
        "title": sheet.title,
        "freeze": sheet.freeze_panes,
        "widths": {k: v.width for k, v in sheet.column_dimensions.items()},
        "cells": [[c.value for c in row] for row in sheet.iter_rows()],
    }
    return rules, headers, layout


@pytest.mark.parametrize(
    ("name", "language"),
    [("campaign.xlsx", "en"), ("campaign.zh.xlsx", "zh"), ("campaign.csv", "en")],
)
def test_templates_load_and_validate(name: str, language: str) -> None:
    manifest = load_manifest(TEMPLATES / name)
    assert manifest.valid, [p.message for p in manifest.all_problems()]
    assert manifest.language == language
    assert manifest.columns[0].skip is True  # column A marks the examples
    assert manifest.rows and all(row.skip for row in manifest.rows)  # examples never billable
    fields = [c.field for c in manifest.columns if not c.skip]
    assert set(fields) == set(HeaderMatcher().canonical(f) for f in fields)
    assert None not in fields  # every template column is a known field
    assert len(fields) == len(spec.CREATE_FIELDS)


@pytest.mark.parametrize("name", ["campaign.xlsx", "campaign.zh.xlsx"])
def test_template_dropdowns_and_ranges_follow_spec(name: str) -> None:
    sheet = openpyxl.load_workbook(TEMPLATES / name).active
    matcher = HeaderMatcher()
    field_of = {cell.column_letter: matcher.match(cell.value).field for cell in sheet[1]}
    seen = set()
    for dv in sheet.data_validations.dataValidation:
        letter = re.match(r"[A-Z]+", str(dv.sqref)).group(0)
        name_ = field_of[letter]
        if name_ is None:  # the Skip column: a hint on its header, no rule on its cells
            assert is_skip_header(sheet[f"{letter}1"].value) and str(dv.sqref) == f"{letter}1"
            assert dv.prompt
            continue
        api_field = spec.CREATE_FIELDS[spec.FILE_COLUMNS.get(name_, name_)]
        if str(dv.sqref) == f"{letter}1":
            assert dv.prompt, f"header {letter}1 has no input hint"
            continue
        seen.add(name_)
        if dv.type == "list":
            assert dv.formula1.strip('"').split(",") == list(api_field.choices)
        elif dv.type in ("whole", "decimal"):
            assert (float(dv.formula1), float(dv.formula2)) == (
                api_field.minimum,
                api_field.maximum,
            )
            assert dv.type == ("whole" if api_field.type == "integer" else "decimal")
        elif dv.type == "textLength":
            assert float(dv.formula2 or dv.formula1) == api_field.maximum
    enums = {n for n, f in spec.CREATE_FIELDS.items() if f.type == "enum"}
    numbers = {n for n, f in spec.CREATE_FIELDS.items() if f.type in ("integer", "number")}
    assert enums | numbers <= seen
    hints = {str(dv.sqref) for dv in sheet.data_validations.dataValidation if dv.prompt}
    assert {f"{c.column_letter}1" for c in sheet[1]} <= hints
    assert sheet.freeze_panes == "A2"
    assert all(sheet.column_dimensions[c.column_letter].width >= 10 for c in sheet[1])


def test_templates_match_what_the_script_builds_now(tmp_path: Path) -> None:
    built = script(TEMPLATES / "build_templates.py").build(tmp_path)
    assert {p.name for p in built} == {
        "campaign.xlsx",
        "campaign.zh.xlsx",
        "campaign.csv",
        "hhbatch.yaml",
        "hhbatch.zh.yaml",
    }
    for name in ("campaign.xlsx", "campaign.zh.xlsx"):
        assert validations(tmp_path / name) == validations(TEMPLATES / name), name
    for name in ("campaign.csv", "hhbatch.yaml", "hhbatch.zh.yaml"):
        assert (tmp_path / name).read_bytes() == (TEMPLATES / name).read_bytes(), name


@pytest.mark.parametrize("name", ["hhbatch.yaml", "hhbatch.zh.yaml"])
def test_config_template_names_every_setting_and_loads(name: str) -> None:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    settings = [f.name for f in dataclasses.fields(Config) if f.name != "source"]
    for setting in settings:
        assert re.search(rf"^# {setting}:", text, re.MULTILINE), setting
    assert load_config(TEMPLATES / name).rate == Config().rate  # all commented out
    assert "api_key" not in text


@pytest.mark.parametrize("name", ["hhbatch.yaml", "hhbatch.zh.yaml"])
def test_config_template_uncommented_is_a_valid_config(tmp_path: Path, name: str) -> None:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    active = re.sub(r"^# (\s*[A-Za-z_]+:)", r"\1", text, flags=re.MULTILINE)
    path = tmp_path / "hhbatch.yaml"
    path.write_text(active, encoding="utf-8")
    config = load_config(path)
    assert config.defaults["resolution"] == "1080p"
    assert config.aliases["prompt"] == ["Brief", "文案内容"]
    assert config.megabyte == spec.MEGABYTE


def test_samples_match_their_script(tmp_path: Path) -> None:
    built = script(SAMPLES / "build_samples.py").build(tmp_path)
    for path in built:
        relative = path.relative_to(tmp_path)
        if path.suffix == ".xlsx":
            assert validations(path) == validations(SAMPLES / relative)
        else:
            assert path.read_bytes() == (SAMPLES / relative).read_bytes(), relative


def test_sample_rows_cover_every_kind_of_row() -> None:
    for name in ("campaign.xlsx", "campaign.csv"):
        manifest = load_manifest(SAMPLES / name)
        assert manifest.valid
        assert 5 <= len(manifest.rows) <= 10
        kinds = [set(row.files) for row in manifest.rows]
        assert set() in kinds  # text only
        for key in spec.FILE_COLUMNS.values():
            assert any(key in k for k in kinds), key
        assert any(re.search(r"[\u4e00-\u9fff]", r.request["prompt"]) for r in manifest.rows)


@pytest.mark.parametrize("asset", sorted((SAMPLES / "assets").iterdir()), ids=lambda p: p.name)
def test_sample_assets_are_tiny_and_what_they_claim(asset: Path) -> None:
    assert 0 < asset.stat().st_size <= 4096
    detected = filetypes.sniff(asset.read_bytes()[:64])
    declared = next(
        types[asset.suffix]
        for types in spec.EXTENSION_CONTENT_TYPES.values()
        if asset.suffix in types
    )
    assert detected is not None and filetypes.same_type(declared, detected)
