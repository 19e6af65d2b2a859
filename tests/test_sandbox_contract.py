"""Contract tests: every documented rule and error code of the sandbox, over real HTTP."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from hhbatch import spec
from hhbatch.sandbox import BASIC_KEY, OTHER_KEY, Sandbox

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def assert_error(response: httpx.Response, code: str, status: int | None = None) -> dict[str, Any]:
    assert response.status_code == (status or spec.ERROR_CODES[code]), response.text
    envelope = response.json()
    assert set(envelope) == {"error"}
    error = envelope["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


def presign(api: httpx.Client, kind: str | None, content_type: str, size: int) -> httpx.Response:
    body: dict[str, Any] = {"contentType": content_type, "sizeBytes": size}
    if kind is not None:
        body["kind"] = kind
    return api.post(spec.PRESIGN_PATH, json=body)


def upload(
    http: httpx.Client, api: httpx.Client, kind: str, content_type: str, data: bytes
) -> dict[str, Any]:
    """Presign and PUT; return the presign answer."""
    answer = presign(api, kind, content_type, len(data))
    assert answer.status_code == 200, answer.text
    put = http.put(answer.json()["uploadUrl"], content=data, headers={"Content-Type": content_type})
    assert put.status_code == 200, put.text
    return answer.json()


VALID = {"prompt": "A chestnut horse in a meadow", "durationSec": 6}


# --- auth -------------------------------------------------------------------------------------
ROUTES = [
    ("POST", spec.PRESIGN_PATH, {"contentType": "image/png", "sizeBytes": 1}),
    ("POST", spec.VIDEOS_PATH, VALID),
    ("GET", f"{spec.VIDEOS_PATH}/018f3f1d-8c2e-7b4d-9db1-8e8f3a0c8f21", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_api_key"),
        ("", "missing_api_key"),
        ("Bearer", "missing_api_key"),
        ("Basic dXNlcjpwYXNz", "missing_api_key"),
        ("Bearer hh_live_nope", "invalid_api_key"),
        ("Bearer sk-not-a-happyhorse-key", "invalid_api_key"),
    ],
)
def test_auth_is_required_on_every_route(
    sandbox: Sandbox,
    method: str,
    path: str,
    body: Any,
    header: str | None,
    code: str,
    http: httpx.Client,
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = http.request(method, sandbox.base_url + path, json=body, headers=headers)
    assert_error(response, code)
    assert sandbox.counters()["creates"] == 0


def test_bearer_scheme_is_case_insensitive(sandbox: Sandbox, http: httpx.Client) -> None:
    response = http.post(
        sandbox.base_url + spec.VIDEOS_PATH,
        json=VALID,
        headers={"Authorization": f"bearer {sandbox.api_key}"},
    )
    assert response.status_code == 200


def test_unknown_routes_answer_not_found_envelope(api: httpx.Client) -> None:
    assert_error(api.get("/api/v1/nothing"), "not_found")
    assert_error(
        api.delete(f"{spec.VIDEOS_PATH}/018f3f1d-8c2e-7b4d-9db1-8e8f3a0c8f21"), "not_found"
    )
    assert_error(api.get("/"), "not_found")
    assert_error(api.get(spec.VIDEOS_PATH), "not_found")  # there is no list endpoint


# --- presign ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "spec_kind"), [(k, k) for k in spec.UPLOAD_KINDS] + [(None, "image")]
)
def test_presign_accepts_every_documented_type(
    api: httpx.Client, kind: str | None, spec_kind: str
) -> None:
    for content_type in spec.UPLOAD_KINDS[spec_kind].content_types:
        response = presign(api, kind, content_type, 1234)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"uploadUrl", "key", "publicUrl", "kind"}
        assert body["kind"] == spec_kind
        assert body["key"].startswith(spec.STORAGE_KEY_PREFIX)
        assert not body["uploadUrl"].startswith(str(api.base_url).rstrip("/") + "/")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"kind": "image", "contentType": "image/gif", "sizeBytes": 10},
            "upload_type_not_supported",
        ),
        (
            {"kind": "audio", "contentType": "audio/mp4", "sizeBytes": 10},
            "upload_type_not_supported",
        ),
        (
            {"kind": "video", "contentType": "image/png", "sizeBytes": 10},
            "upload_type_not_supported",
        ),
        ({"contentType": "video/mp4", "sizeBytes": 10}, "upload_type_not_supported"),  # kind=image
        ({"kind": "document", "contentType": "application/pdf", "sizeBytes": 10}, "invalid_input"),
        ({"kind": "image", "sizeBytes": 10}, "invalid_input"),
        ({"kind": "image", "contentType": "image/png"}, "invalid_input"),
        ({"kind": "image", "contentType": "image/png", "sizeBytes": 0}, "invalid_input"),
        ({"kind": "image", "contentType": "image/png", "sizeBytes": -5}, "invalid_input"),
        ({"kind": "image", "contentType": "image/png", "sizeBytes": "10"}, "invalid_input"),
        ({"kind": "image", "contentType": "image/png", "sizeBytes": 1.5}, "invalid_input"),
        ([], "invalid_input"),
    ],
)
def test_presign_refusals(api: httpx.Client, body: Any, code: str) -> None:
    assert_error(api.post(spec.PRESIGN_PATH, json=body), code)


@pytest.mark.parametrize("kind", list(spec.UPLOAD_KINDS))
def test_presign_size_limit_is_inclusive(api: httpx.Client, kind: str) -> None:
    upload_kind = spec.UPLOAD_KINDS[kind]
    content_type = upload_kind.content_types[0]
    limit = upload_kind.max_bytes(spec.MEGABYTE)
    assert presign(api, kind, content_type, limit).status_code == 200
    assert_error(presign(api, kind, content_type, limit + 1), "upload_file_too_large")


def test_megabyte_is_configurable(sandbox_factory: Any, client_for: Any) -> None:
    sandbox = sandbox_factory(megabyte=1_048_576)
    with client_for(sandbox, sandbox.api_key) as api:
        assert presign(api, "image", "image/png", 10 * 1_048_576).status_code == 200
        assert_error(
            presign(api, "image", "image/png", 10 * 1_048_576 + 1), "upload_file_too_large"
        )


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"\xff\xfe", b'{"kind": "image",}'])
def test_malformed_json_is_invalid_input(api: httpx.Client, raw: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    assert_error(api.post(spec.PRESIGN_PATH, content=raw, headers=headers), "invalid_input")
    assert_error(api.post(spec.VIDEOS_PATH, content=raw, headers=headers), "invalid_input")


# --- storage PUT ------------------------------------------------------------------------------
def test_upload_lives_on_the_storage_host(
    sandbox: Sandbox, api: httpx.Client, http: httpx.Client
) -> None:
    answer = upload(http, api, "image", "image/png", PNG)
    assert answer["uploadUrl"].startswith(sandbox.storage_url + "/")
    assert sandbox.storage_url != sandbox.base_url
    assert http.get(answer["publicUrl"]).content == PNG
    assert sandbox.counters()["uploads_completed"] == 1


def test_upload_with_authorization_header_is_refused_and_counted(
    sandbox: Sandbox, api: httpx.Client, http: httpx.Client
) -> None:
    answer = presign(api, "image", "image/png", len(PNG)).json()
    put = http.put(
        answer["uploadUrl"],
        content=PNG,
        headers={"Content-Type": "image/png", "Authorization": f"Bearer {sandbox.api_key}"},
    )
    assert put.status_code == 400
    assert b"<Code>InvalidArgument</Code>" in put.content
    counters = sandbox.counters()
    assert counters["storage_authorization_headers"] == 1
    assert counters["uploads_completed"] == 0
    # The key of a refused upload cannot be used.
    error = assert_error(
        api.post(spec.VIDEOS_PATH, json={**VALID, "sourceImageKey": answer["key"]}), "invalid_input"
    )
    assert "sourceImageKey" in error["message"]


@pytest.mark.parametrize(
    ("content_type", "data", "status", "s3_code"),
    [
        ("image/jpeg", PNG, 400, "InvalidRequest"),
        (None, PNG, 400, "InvalidRequest"),
        ("image/png", PNG + b"x", 400, "EntityTooLarge"),
        ("image/png", PNG[:-1], 400, "EntityTooSmall"),
    ],
)
def test_upload_must_match_presigned_type_and_size(
    sandbox: Sandbox,
    api: httpx.Client,
    content_type: str | None,
    data: bytes,
    status: int,
    s3_code: str,
    http: httpx.Client,
) -> None:
    answer = presign(api, "image", "image/png", len(PNG)).json()
    headers = {} if content_type is None else {"Content-Type": content_type}
    put = http.put(answer["uploadUrl"], content=data, headers=headers)
    assert put.status_code == status
    assert f"<Code>{s3_code}</Code>".encode() in put.content
    assert sandbox.counters()["uploads_completed"] == 0


def test_chunked_upload_without_length_is_refused(api: httpx.Client, http: httpx.Client) -> None:
    answer = presign(api, "image", "image/png", len(PNG)).json()

    def stream() -> Any:
        yield PNG

    put = http.put(answer["uploadUrl"], content=stream(), headers={"Content-Type": "image/png"})
    assert put.status_code == 411


def test_tampered_upload_url_is_refused(api: httpx.Client, http: httpx.Client) -> None:
    answer = presign(api, "image", "image/png", len(PNG)).json()
    url = answer["uploadUrl"]
    asset, expires, signature = url.rsplit("/", 1)[1].split(".")
    later = url.rsplit("/", 1)[0] + f"/{asset}.{int(expires) + 10_000_000}.{signature}"
    put = http.put(later, content=PNG, headers={"Content-Type": "image/png"})
    assert put.status_code == 403
    assert b"SignatureDoesNotMatch" in put.content


def test_expired_upload_url_is_refused(
    sandbox_factory: Any, fake_clock: Any, http: httpx.Client, client_for: Any
) -> None:
    sandbox = sandbox_factory(clock=fake_clock, upload_url_ttl_sec=300)
    with client_for(sandbox, sandbox.api_key) as api:
        answer = presign(api, "image", "image/png", len(PNG)).json()
        fake_clock.advance(299)
        fresh = presign(api, "image", "image/png", len(PNG)).json()
        assert (
            http.put(
                fresh["uploadUrl"], content=PNG, headers={"Content-Type": "image/png"}
            ).status_code
            == 200
        )
        fake_clock.advance(1)
        put = http.put(answer["uploadUrl"], content=PNG, headers={"Content-Type": "image/png"})
        assert put.status_code == 403
        assert b"<Code>AccessDenied</Code>" in put.content
        assert b"expired" in put.content
        assert sandbox.counters()["uploads_completed"] == 1


# --- create: fields ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({**VALID, "model": "horse-2"}, "model"),
        ({**VALID, "inputImageUrl": "https://x.example/a.png"}, "inputImageUrl"),
        ({**VALID, "referenceVideoUrl": "https://x.example/a.mp4"}, "referenceVideoUrl"),
        ({**VALID, "audioUrl": "https://x.example/a.mp3"}, "audioUrl"),
        ({**VALID, "seed": 3}, "seed"),
        ({"durationSec": 6}, "prompt"),
        ({"prompt": "A horse"}, "durationSec"),
        ({**VALID, "durationSec": "6"}, "durationSec"),
        ({**VALID, "durationSec": True}, "durationSec"),
        ({**VALID, "aspectRatio": "4:3"}, "aspectRatio"),
        ({**VALID, "resolution": "1080P"}, "resolution"),
        ({**VALID, "cameraMotion": "spin"}, "cameraMotion"),
        ({**VALID, "style": "x" * 51}, "style"),
        ({**VALID, "prompt": None}, "prompt"),
        ("just a string", "JSON object"),
    ],
)
def test_create_field_rules(sandbox: Sandbox, api: httpx.Client, body: Any, needle: str) -> None:
    error = assert_error(api.post(spec.VIDEOS_PATH, json=body), "invalid_input")
    assert needle in error["message"]
    assert sandbox.counters()["creates"] == 0
    assert sandbox.jobs() == []


def test_source_image_and_last_frame_together_is_invalid(
    api: httpx.Client, http: httpx.Client
) -> None:
    first = upload(http, api, "image", "image/png", PNG)["key"]
    last = upload(http, api, "image", "image/png", PNG)["key"]
    error = assert_error(
        api.post(spec.VIDEOS_PATH, json={**VALID, "sourceImageKey": first, "lastFrameKey": last}),
        "invalid_input",
    )
    assert "sourceImageKey" in error["message"] and "lastFrameKey" in error["message"]


def test_every_key_field_accepts_a_completed_upload_of_its_kind(
    api: httpx.Client, http: httpx.Client
) -> None:
    image = upload(http, api, "image", "image/png", PNG)["key"]
    video = upload(http, api, "video", "video/mp4", b"\x00" * 40)["key"]
    audio = upload(http, api, "audio", "audio/mpeg", b"ID3" + b"\x00" * 20)["key"]
    body = {
        **VALID,
        "sourceImageKey": image,
        "referenceVideoKey": video,
        "referenceAudioKey": audio,
    }
    assert api.post(spec.VIDEOS_PATH, json=body).status_code == 200
    assert api.post(spec.VIDEOS_PATH, json={**VALID, "lastFrameKey": image}).status_code == 200


def test_key_never_uploaded_is_invalid(api: httpx.Client) -> None:
    presigned = presign(api, "image", "image/png", len(PNG)).json()["key"]
    for key in (presigned, "videos/inputs/demo/never-presigned.png"):
        error = assert_error(
            api.post(spec.VIDEOS_PATH, json={**VALID, "sourceImageKey": key}), "invalid_input"
        )
        assert "sourceImageKey" in error["message"]


def test_key_of_another_user_is_invalid(
    sandbox: Sandbox, api: httpx.Client, http: httpx.Client, client_for: Any
) -> None:
    with client_for(sandbox, OTHER_KEY) as other:
        theirs = upload(http, other, "image", "image/png", PNG)["key"]
    assert_error(
        api.post(spec.VIDEOS_PATH, json={**VALID, "sourceImageKey": theirs}), "invalid_input"
    )


@pytest.mark.parametrize(
    ("kind", "content_type", "field"),
    [
        ("image", "image/png", "referenceVideoKey"),
        ("image", "image/png", "referenceAudioKey"),
        ("video", "video/mp4", "sourceImageKey"),
        ("audio", "audio/wav", "lastFrameKey"),
        ("audio", "audio/webm", "referenceVideoKey"),
    ],
)
def test_key_of_the_wrong_kind_is_invalid(
    api: httpx.Client, kind: str, content_type: str, field: str, http: httpx.Client
) -> None:
    key = upload(http, api, kind, content_type, b"\x00" * 10)["key"]
    error = assert_error(api.post(spec.VIDEOS_PATH, json={**VALID, field: key}), "invalid_input")
    assert field in error["message"]


# --- create: plans and credits ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"durationSec": 7}, "durationSec"),
        ({"resolution": "1080p"}, "resolution"),
        ({"referenceAudioKey": "audio"}, "referenceAudio"),
        ({"lastFrameKey": "image"}, "lastFrame"),
    ],
)
def test_plan_gates_carry_field_and_plans(
    sandbox: Sandbox, extra: dict[str, Any], field: str, http: httpx.Client, client_for: Any
) -> None:
    with client_for(sandbox, BASIC_KEY) as basic:
        keys = {
            "image": upload(http, basic, "image", "image/png", PNG)["key"],
            "audio": upload(http, basic, "audio", "audio/mpeg", b"ID3")["key"],
        }
        body = {
            **VALID,
            **{k: keys.get(v, v) if isinstance(v, str) else v for k, v in extra.items()},
        }
        error = assert_error(basic.post(spec.VIDEOS_PATH, json=body), "plan_gate_exceeded")
        assert error["field"] == field
        assert error["requiredPlan"] == "pro"
        assert error["currentPlan"] == "basic"
        # 6 s at 720p, no restricted inputs: the basic plan is fine.
        assert basic.post(spec.VIDEOS_PATH, json=VALID).status_code == 200
    assert sandbox.counters()["creates"] == 1


def test_plan_gate_is_checked_after_validation(sandbox: Sandbox, client_for: Any) -> None:
    with client_for(sandbox, BASIC_KEY) as basic:
        body = {**VALID, "durationSec": 13, "resolution": "1080p"}
        assert_error(basic.post(spec.VIDEOS_PATH, json=body), "invalid_input")


def test_plan_gate_with_no_plan_allowing_it(sandbox_factory: Any, client_for: Any) -> None:
    sandbox = sandbox_factory(
        plans={"basic": {"max_duration_sec": 6}, "pro": {"max_duration_sec": 8}}
    )
    with client_for(sandbox, sandbox.api_key) as api:
        error = assert_error(
            api.post(spec.VIDEOS_PATH, json={**VALID, "durationSec": 12}), "plan_gate_exceeded"
        )
    assert error["field"] == "durationSec"
    assert error["requiredPlan"] is None
    assert error["currentPlan"] == "pro"


def test_credits_are_deducted_at_create(sandbox: Sandbox, api: httpx.Client) -> None:
    before = sandbox.credits(sandbox.api_key)
    assert api.post(spec.VIDEOS_PATH, json={**VALID, "durationSec": 5}).status_code == 200
    assert (
        api.post(
            spec.VIDEOS_PATH, json={**VALID, "durationSec": 4, "resolution": "1080p"}
        ).status_code
        == 200
    )
    pricing = sandbox.config.pricing
    assert sandbox.credits(sandbox.api_key) == before - 5 * pricing["720p"] - 4 * pricing["1080p"]
    assert sandbox.counters()["credits"][sandbox.api_key] == sandbox.credits(sandbox.api_key)


def test_insufficient_credits(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.set_credits(sandbox.api_key, 11)
    assert_error(
        api.post(spec.VIDEOS_PATH, json={**VALID, "resolution": "1080p"}), "insufficient_credits"
    )
    assert sandbox.credits(sandbox.api_key) == 11
    assert api.post(spec.VIDEOS_PATH, json=VALID).status_code == 200  # 6 credits
    assert_error(api.post(spec.VIDEOS_PATH, json=VALID), "insufficient_credits")
    assert sandbox.credits(sandbox.api_key) == 5
    assert sandbox.counters()["creates"] == 1
    sandbox.set_credits(sandbox.api_key, 100)
    assert api.post(spec.VIDEOS_PATH, json=VALID).status_code == 200


def test_plan_gate_wins_over_credits(sandbox: Sandbox, client_for: Any) -> None:
    sandbox.set_credits(BASIC_KEY, 0)
    with client_for(sandbox, BASIC_KEY) as basic:
        assert_error(
            basic.post(spec.VIDEOS_PATH, json={**VALID, "resolution": "1080p"}),
            "plan_gate_exceeded",
        )
        assert_error(basic.post(spec.VIDEOS_PATH, json=VALID), "insufficient_credits")


# --- get: ownership ---------------------------------------------------------------------------
def test_get_is_limited_to_the_owner(sandbox: Sandbox, api: httpx.Client, client_for: Any) -> None:
    video_id = api.post(spec.VIDEOS_PATH, json=VALID).json()["id"]
    assert api.get(f"{spec.VIDEOS_PATH}/{video_id}").status_code == 200
    with client_for(sandbox, OTHER_KEY) as other:
        assert_error(other.get(f"{spec.VIDEOS_PATH}/{video_id}"), "not_found")
    assert_error(api.get(f"{spec.VIDEOS_PATH}/018f3f1d-8c2e-7b4d-9db1-8e8f3a0c8f21"), "not_found")


def test_get_with_a_malformed_id_is_invalid_input(api: httpx.Client) -> None:
    assert_error(api.get(f"{spec.VIDEOS_PATH}/example-id"), "invalid_input")


def test_create_answer_and_job_record(sandbox: Sandbox, api: httpx.Client) -> None:
    response = api.post(spec.VIDEOS_PATH, json=VALID)
    assert response.status_code == 200
    created = response.json()
    assert created["status"] == spec.STATUS_QUEUED
    assert str(uuid.UUID(created["id"])) == created["id"]
    (job,) = sandbox.jobs()
    assert job["id"] == created["id"]
    assert job["user"] == "demo"
    assert job["body"] == VALID
    assert job["created_at"].endswith("Z")


def test_credits_are_charged_atomically_under_concurrency(sandbox: Sandbox) -> None:
    sandbox.set_credits(sandbox.api_key, 10 * VALID["durationSec"] * sandbox.config.pricing["720p"])

    async def burst() -> list[int]:
        headers = {"Authorization": f"Bearer {sandbox.api_key}"}
        async with httpx.AsyncClient(
            base_url=sandbox.base_url, headers=headers, timeout=20.0, verify=False
        ) as client:
            bodies = [{**VALID, "prompt": f"Horse {i}"} for i in range(30)]
            responses = await asyncio.gather(
                *(client.post(spec.VIDEOS_PATH, json=body) for body in bodies)
            )
            return sorted(r.status_code for r in responses)

    assert asyncio.run(burst()) == [200] * 10 + [402] * 20
    assert sandbox.credits(sandbox.api_key) == 0
    assert len(sandbox.jobs()) == 10


def test_storage_counts_authorization_on_downloads_too(
    sandbox: Sandbox, api: httpx.Client, http: httpx.Client
) -> None:
    answer = upload(http, api, "image", "image/png", PNG)
    leaked = http.get(answer["publicUrl"], headers={"Authorization": f"Bearer {sandbox.api_key}"})
    assert leaked.status_code == 200  # a CDN serves it, but the key has left the building
    assert sandbox.counters()["storage_authorization_headers"] == 1


def test_upload_may_be_repeated_until_expiry(
    sandbox: Sandbox, api: httpx.Client, http: httpx.Client
) -> None:
    answer = presign(api, "image", "image/png", len(PNG)).json()
    for _ in range(2):
        put = http.put(answer["uploadUrl"], content=PNG, headers={"Content-Type": "image/png"})
        assert put.status_code == 200
    assert sandbox.counters()["uploads_completed"] == 1
    assert sandbox.counters()["requests"]["PUT /upload/{token}"] == {"200": 2}
