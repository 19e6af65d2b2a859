"""Sandbox job lifecycle, failure messages, downloads, counters and inspection routes."""

from __future__ import annotations

import re
import time
import unicodedata
from typing import Any

import httpx
import pytest

from hhbatch import spec
from hhbatch.sandbox import DEFAULT_FAILURE_MESSAGES, OTHER_KEY, Sandbox, SandboxConfig
from hhbatch.sandbox.state import iso_z

VALID = {"prompt": "A chestnut horse in a meadow", "durationSec": 6}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def video(api: httpx.Client, video_id: str) -> dict[str, Any]:
    response = api.get(f"{spec.VIDEOS_PATH}/{video_id}")
    assert response.status_code == 200, response.text
    return response.json()


def create(api: httpx.Client, body: dict[str, Any]) -> str:
    response = api.post(spec.VIDEOS_PATH, json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


@pytest.fixture
def timed(sandbox_factory: Any, fake_clock: Any) -> Sandbox:
    return sandbox_factory(clock=fake_clock, queue_sec=1.0, processing_sec=2.0)


def test_queued_processing_ready(
    timed: Sandbox, fake_clock: Any, client_for: Any, http: httpx.Client
) -> None:
    start = fake_clock.now
    with client_for(timed) as api:
        video_id = create(api, {**VALID, "style": "cinematic", "resolution": "1080p"})
        queued = video(api, video_id)
        assert queued == {
            "id": video_id,
            "status": "queued",
            "prompt": VALID["prompt"],
            "style": "cinematic",
            "durationSec": 6,
            "aspectRatio": "16:9",
            "resolution": "1080p",
            "videoUrl": None,
            "thumbnailUrl": None,
            "errorMessage": None,
            "readyAt": None,
        }
        outputs = f"{timed.storage_url}/videos/outputs/{video_id}"
        assert http.get(f"{outputs}.mp4").status_code == 404  # no asset before ready
        fake_clock.advance(1.0)
        assert video(api, video_id)["status"] == "processing"
        fake_clock.advance(1.999)
        assert video(api, video_id)["status"] == "processing"
        fake_clock.advance(0.001)
        ready = video(api, video_id)
    assert ready["status"] == "ready"
    assert ready["readyAt"] == iso_z(start + 3.0)
    assert ISO_Z.match(ready["readyAt"])
    assert ready["errorMessage"] is None
    assert ready["videoUrl"] == f"{outputs}.mp4"
    assert ready["thumbnailUrl"] == f"{outputs}.png"
    mp4 = http.get(ready["videoUrl"])
    assert mp4.status_code == 200 and mp4.headers["Content-Type"] == "video/mp4"
    assert mp4.content[4:8] == b"ftyp"
    png = http.get(ready["thumbnailUrl"])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert timed.jobs()[0]["status"] == "ready"


def test_lifecycle_on_the_real_clock(api: httpx.Client) -> None:
    """The fixture's jobs really finish, quickly (no fake clock)."""
    video_id = create(api, VALID)
    seen = set()
    for _ in range(2000):
        status = video(api, video_id)["status"]
        seen.add(status)
        if status in spec.TERMINAL_STATUSES:
            break
        time.sleep(0.005)
    assert status == "ready"
    assert seen <= {"queued", "processing", "ready"}


def test_marker_fails_deterministically(timed: Sandbox, fake_clock: Any, client_for: Any) -> None:
    with client_for(timed) as api:
        first = create(api, {**VALID, "prompt": "A horse [fail]"})
        second = create(api, {**VALID, "prompt": "[fail] another horse"})
        chosen = create(api, {**VALID, "prompt": "A horse [fail:5]"})
        fine = create(api, {**VALID, "prompt": "A horse [failing is not the marker]"})
        assert video(api, first)["status"] == "queued"
        fake_clock.advance(10)
        views = {vid: video(api, vid) for vid in (first, second, chosen, fine)}
    for vid in (first, second, chosen):
        assert views[vid]["status"] == "failed"
        assert views[vid]["videoUrl"] is None and views[vid]["thumbnailUrl"] is None
        assert views[vid]["readyAt"] is None
    assert views[first]["errorMessage"] == DEFAULT_FAILURE_MESSAGES[0]
    assert views[second]["errorMessage"] == DEFAULT_FAILURE_MESSAGES[1]
    assert views[chosen]["errorMessage"] == DEFAULT_FAILURE_MESSAGES[5]
    assert views[fine]["status"] == "ready"


def test_every_failure_message_survives_the_wire(
    timed: Sandbox, fake_clock: Any, client_for: Any
) -> None:
    with client_for(timed) as api:
        ids = [
            create(api, {**VALID, "prompt": f"Horse [fail:{i}]"})
            for i in range(len(DEFAULT_FAILURE_MESSAGES))
        ]
        fake_clock.advance(10)
        messages = [video(api, vid)["errorMessage"] for vid in ids]
    assert messages == list(DEFAULT_FAILURE_MESSAGES)


def test_default_failure_messages_are_hostile_enough() -> None:
    firsts = {m[0] for m in DEFAULT_FAILURE_MESSAGES}
    assert {"=", "+", "-", "@"} <= firsts
    assert any(
        any(unicodedata.name(ch, "").startswith("CJK") for ch in m)
        for m in DEFAULT_FAILURE_MESSAGES
    )
    assert max(len(m) for m in DEFAULT_FAILURE_MESSAGES) > spec.CREATE_FIELDS["prompt"].maximum
    assert any("\n" in m for m in DEFAULT_FAILURE_MESSAGES)


def test_failure_probability_and_custom_messages(
    sandbox_factory: Any, fake_clock: Any, client_for: Any
) -> None:
    sandbox = sandbox_factory(
        clock=fake_clock, failure_probability=1.0, failure_messages=("only this",), fail_marker=None
    )
    with client_for(sandbox) as api:
        vid = create(api, {**VALID, "prompt": "A horse [fail:3]"})
        fake_clock.advance(10)
        assert video(api, vid)["errorMessage"] == "only this"


def test_no_failure_without_marker_or_probability(
    timed: Sandbox, fake_clock: Any, client_for: Any
) -> None:
    with client_for(timed) as api:
        ids = [create(api, {**VALID, "prompt": f"Horse {i}"}) for i in range(20)]
        fake_clock.advance(10)
        assert {video(api, vid)["status"] for vid in ids} == {"ready"}


def test_thumbnail_can_be_missing_and_extra_status_appears(
    sandbox_factory: Any, fake_clock: Any, client_for: Any, http: httpx.Client
) -> None:
    sandbox = sandbox_factory(
        clock=fake_clock,
        queue_sec=1.0,
        processing_sec=2.0,
        thumbnail_probability=0.0,
        extra_status="upscaling",
    )
    with client_for(sandbox) as api:
        vid = create(api, VALID)
        fake_clock.advance(1.5)
        assert video(api, vid)["status"] == "processing"
        fake_clock.advance(1.0)
        assert video(api, vid)["status"] == "upscaling"
        fake_clock.advance(1.0)
        ready = video(api, vid)
    assert ready["status"] == "ready"
    assert ready["thumbnailUrl"] is None
    assert http.get(f"{sandbox.storage_url}/videos/outputs/{vid}.png").status_code == 404


def test_timing_ranges_are_sampled_per_job(sandbox_factory: Any, fake_clock: Any) -> None:
    sandbox = sandbox_factory(
        clock=fake_clock, queue_sec=(1.0, 2.0), processing_sec=(3.0, 4.0), seed=1
    )
    with httpx.Client(
        base_url=sandbox.base_url,
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        verify=False,
    ) as api:
        for i in range(10):
            create(api, {**VALID, "prompt": f"Horse {i}"})
    finishes = {job["finishes_at"] for job in sandbox.jobs()}
    assert len(finishes) > 1
    assert all(iso_z(fake_clock.now + 4.0) <= f <= iso_z(fake_clock.now + 6.0) for f in finishes)


# --- counters and inspection ------------------------------------------------------------------
def test_duplicate_bodies_are_counted_per_user(
    sandbox: Sandbox, api: httpx.Client, client_for: Any
) -> None:
    create(api, {"prompt": "Same horse", "durationSec": 4, "style": "cinematic"})
    create(api, {"style": "cinematic", "durationSec": 4, "prompt": "Same horse"})  # key order
    create(api, {"prompt": "Same horse", "durationSec": 5, "style": "cinematic"})
    with client_for(sandbox, OTHER_KEY) as other:
        create(other, {"prompt": "Same horse", "durationSec": 4, "style": "cinematic"})
    create(api, {"prompt": "Same horse", "durationSec": 4, "style": "cinematic"})
    counters = sandbox.counters()
    assert counters["creates"] == 5
    assert counters["duplicate_creates"] == 2
    assert counters["duplicate_creates_by_user"] == {"demo": 2}


def test_refused_creates_are_not_duplicates(sandbox: Sandbox, api: httpx.Client) -> None:
    bad = {"prompt": "ab", "durationSec": 4}
    for _ in range(3):
        assert api.post(spec.VIDEOS_PATH, json=bad).status_code == 400
    assert sandbox.counters()["duplicate_creates"] == 0


def test_counters_and_jobs_over_http_match_the_python_api(
    sandbox_factory: Any, fake_clock: Any, client_for: Any, http: httpx.Client
) -> None:
    sandbox = sandbox_factory(clock=fake_clock)
    with client_for(sandbox) as api:
        create(api, VALID)
        api.get(f"{spec.VIDEOS_PATH}/018f3f1d-8c2e-7b4d-9db1-8e8f3a0c8f21")
        api.post(spec.VIDEOS_PATH, json={"prompt": "x"})
    over_http = http.get(f"{sandbox.base_url}/_sandbox/counters").json()
    direct = sandbox.counters()
    assert over_http["requests"]["POST /api/v1/videos"] == {"200": 1, "400": 1}
    assert over_http["requests"]["GET /api/v1/videos/{id}"] == {"404": 1}
    for name in ("creates", "credits", "duplicate_creates", "rate_limited", "faults", "jobs"):
        assert over_http[name] == direct[name]
    assert over_http["credits"][sandbox.api_key] == sandbox.config.keys[sandbox.api_key].credits - 6
    assert http.get(f"{sandbox.base_url}/_sandbox/jobs").json() == sandbox.jobs()
    assert http.get(f"{sandbox.base_url}/_sandbox/nothing").status_code == 404


def test_update_config_refuses_fixed_settings(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="port"):
        sandbox.update_config(port=1)
    assert sandbox.update_config(error_probability=0.5).error_probability == 0.5


def test_start_stop_without_with(http: httpx.Client) -> None:
    sandbox = Sandbox(SandboxConfig(rate=None))
    sandbox.start()
    try:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        assert sandbox.storage_url != sandbox.base_url
        assert http.get(f"{sandbox.base_url}/_sandbox/counters").status_code == 200
    finally:
        sandbox.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sandbox.base_url}/_sandbox/counters", timeout=2.0)
