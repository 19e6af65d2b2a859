"""The sandbox and :mod:`hhbatch.spec` reach the same verdict on every edge value.

Edge values are derived from spec (limit - 1, limit, limit + 1) so no limit is written twice; the
expected verdicts are stated independently (what API.md says), so a wrong limit in spec also fails.
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from hhbatch import spec

F = spec.CREATE_FIELDS
PROMPT_MIN = int(F["prompt"].minimum or 0)
PROMPT_MAX = int(F["prompt"].maximum or 0)
STYLE_MAX = int(F["style"].maximum or 0)
DUR_MIN = int(F["durationSec"].minimum or 0)
DUR_MAX = int(F["durationSec"].maximum or 0)
MI_MIN = int(F["motionIntensity"].minimum or 0)
MI_MAX = int(F["motionIntensity"].maximum or 0)
CFG_MIN = float(F["cfgScale"].minimum or 0)
CFG_MAX = float(F["cfgScale"].maximum or 0)

BASE = {"prompt": "A chestnut horse", "durationSec": DUR_MIN}

# (field, value, accepted?)
EDGES: list[tuple[str, Any, bool]] = [
    ("prompt", "a" * (PROMPT_MIN - 1), False),
    ("prompt", "a" * PROMPT_MIN, True),
    ("prompt", "马" * PROMPT_MIN, True),
    ("prompt", "马" * (PROMPT_MIN - 1), False),
    ("prompt", "a" * PROMPT_MAX, True),
    ("prompt", "a" * (PROMPT_MAX + 1), False),
    ("prompt", "马" * PROMPT_MAX, True),  # characters, not UTF-8 bytes
    ("prompt", "马" * (PROMPT_MAX + 1), False),
    ("prompt", "🐎" * PROMPT_MAX, True),  # code points outside the BMP count once
    ("prompt", "", False),
    ("prompt", 123, False),
    ("style", "s" * STYLE_MAX, True),
    ("style", "s" * (STYLE_MAX + 1), False),
    ("style", "风" * STYLE_MAX, True),
    ("style", "", True),
    ("durationSec", DUR_MIN - 1, False),
    ("durationSec", DUR_MIN, True),
    ("durationSec", DUR_MAX, True),
    ("durationSec", DUR_MAX + 1, False),
    ("durationSec", 6.5, False),
    ("durationSec", 6.0, True),
    ("durationSec", "6", False),
    ("durationSec", True, False),
    ("durationSec", None, False),
    ("motionIntensity", MI_MIN - 1, False),
    ("motionIntensity", MI_MIN, True),
    ("motionIntensity", MI_MAX, True),
    ("motionIntensity", MI_MAX + 1, False),
    ("motionIntensity", 2.5, False),
    ("cfgScale", CFG_MIN - 0.01, False),
    ("cfgScale", CFG_MIN, True),
    ("cfgScale", 0.5, True),
    ("cfgScale", CFG_MAX, True),
    ("cfgScale", CFG_MAX + 0.01, False),
    ("cfgScale", "0.5", False),
    ("cfgScale", math.inf, False),
    ("cfgScale", math.nan, False),
    *[("aspectRatio", v, True) for v in spec.ASPECT_RATIOS],
    ("aspectRatio", "4:3", False),
    ("aspectRatio", "16：9", False),  # full-width colon: the loader may fix it, the API does not
    *[("resolution", v, True) for v in spec.RESOLUTIONS],
    ("resolution", "1080P", False),
    ("resolution", "4k", False),
    *[("cameraMotion", v, True) for v in spec.CAMERA_MOTIONS],
    ("cameraMotion", "Pan-Left", False),
    ("cameraMotion", "", False),
]


def test_the_table_matches_the_documented_numbers() -> None:
    """API.md: prompt 3-2000, style <= 50, duration 3-12, motion 1-5, cfg 0-1."""
    assert (PROMPT_MIN, PROMPT_MAX, STYLE_MAX) == (3, 2000, 50)
    assert (DUR_MIN, DUR_MAX, MI_MIN, MI_MAX, CFG_MIN, CFG_MAX) == (3, 12, 1, 5, 0.0, 1.0)


@pytest.mark.parametrize(("name", "value", "accepted"), EDGES)
def test_sandbox_agrees_with_spec(api: httpx.Client, name: str, value: Any, accepted: bool) -> None:
    body = {**BASE, name: value}
    if value is None:
        del body[name]
    spec_verdict = spec.check_field(name, value) is None
    assert spec_verdict is accepted
    assert (spec.check_create_body(body) == []) is accepted
    # allow_nan: json.dumps writes NaN/Infinity, which a JSON parser may take as numbers.
    response = api.post(
        spec.VIDEOS_PATH,
        content=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_input"
        assert name in response.json()["error"]["message"]
