"""Sandbox rate limiting, fault injection and concurrency, over real HTTP."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest

from hhbatch import spec
from hhbatch.sandbox import OTHER_KEY, Sandbox

VALID = {"prompt": "A chestnut horse in a meadow", "durationSec": 6}
PRESIGN = {"kind": "image", "contentType": "image/png", "sizeBytes": 4}
MISSING_ID = "018f3f1d-8c2e-7b4d-9db1-8e8f3a0c8f21"


def code_of(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


# --- rate limit -------------------------------------------------------------------------------
def test_token_bucket_per_key_with_retry_after(
    sandbox_factory: Any, fake_clock: Any, client_for: Any
) -> None:
    sandbox: Sandbox = sandbox_factory(clock=fake_clock, rate=2.0, burst=3)
    with client_for(sandbox) as api, client_for(sandbox, OTHER_KEY) as other:
        # Every /api/v1 route draws from the same bucket.
        assert api.post(spec.PRESIGN_PATH, json=PRESIGN).status_code == 200
        assert api.post(spec.VIDEOS_PATH, json=VALID).status_code == 200
        assert api.get(f"{spec.VIDEOS_PATH}/{MISSING_ID}").status_code == 404
        limited = api.get(f"{spec.VIDEOS_PATH}/{MISSING_ID}")
        assert limited.status_code == 429
        assert code_of(limited) == "rate_limited"
        assert limited.headers["Retry-After"] == "1"  # 0.5 s, rounded up to whole seconds
        assert code_of(api.post(spec.VIDEOS_PATH, json=VALID)) == "rate_limited"
        # Another key has its own bucket.
        assert other.get(f"{spec.VIDEOS_PATH}/{MISSING_ID}").status_code == 404
        fake_clock.advance(0.5)
        assert api.post(spec.VIDEOS_PATH, json=VALID).status_code == 200
        assert api.post(spec.VIDEOS_PATH, json=VALID).status_code == 429
    counters = sandbox.counters()
    assert counters["rate_limited"] == 3
    assert counters["creates"] == 2  # a 429 never creates
    assert counters["requests"]["POST /api/v1/videos"]["429"] == 2


def test_retry_after_can_be_decimal_or_absent(
    sandbox_factory: Any, fake_clock: Any, client_for: Any
) -> None:
    decimal = sandbox_factory(clock=fake_clock, rate=4.0, burst=1, retry_after_decimal=True)
    absent = sandbox_factory(clock=fake_clock, rate=4.0, burst=1, retry_after=False)
    with client_for(decimal) as api:
        api.post(spec.PRESIGN_PATH, json=PRESIGN)
        limited = api.post(spec.PRESIGN_PATH, json=PRESIGN)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "0.250"
    with client_for(absent) as api:
        api.post(spec.PRESIGN_PATH, json=PRESIGN)
        limited = api.post(spec.PRESIGN_PATH, json=PRESIGN)
        assert limited.status_code == 429
        assert code_of(limited) == "rate_limited"
        assert "Retry-After" not in limited.headers


def test_rate_limit_does_not_cover_storage_or_bad_keys(
    sandbox_factory: Any, fake_clock: Any, client_for: Any, http: httpx.Client
) -> None:
    sandbox = sandbox_factory(clock=fake_clock, rate=1.0, burst=1)
    with client_for(sandbox) as api:
        answer = api.post(spec.PRESIGN_PATH, json=PRESIGN).json()
        for _ in range(3):
            put = http.put(
                answer["uploadUrl"], content=b"abcd", headers={"Content-Type": "image/png"}
            )
            assert put.status_code == 200
    with client_for(sandbox, "hh_live_wrong") as wrong:
        for _ in range(3):
            assert code_of(wrong.get(f"{spec.VIDEOS_PATH}/{MISSING_ID}")) == "invalid_api_key"


# --- faults -----------------------------------------------------------------------------------
def test_internal_error_before_anything_happens(sandbox_factory: Any, client_for: Any) -> None:
    sandbox = sandbox_factory(error_probability=1.0, fault_routes=("create",))
    with client_for(sandbox) as api:
        assert api.post(spec.PRESIGN_PATH, json=PRESIGN).status_code == 200
        response = api.post(spec.VIDEOS_PATH, json=VALID)
    assert response.status_code == 500
    assert code_of(response) == "internal_error"
    assert sandbox.jobs() == []
    assert sandbox.credits(sandbox.api_key) == sandbox.config.keys[sandbox.api_key].credits
    assert sandbox.counters()["faults"]["error"] == 1


def test_dropped_connection_gives_the_client_no_answer(
    sandbox_factory: Any, client_for: Any
) -> None:
    sandbox = sandbox_factory(drop_probability=1.0)
    with client_for(sandbox) as api, pytest.raises(httpx.RemoteProtocolError):
        api.post(spec.VIDEOS_PATH, json=VALID)
    assert sandbox.jobs() == []
    counters = sandbox.counters()
    assert counters["faults"]["drop"] == 1
    assert counters["requests"]["POST /api/v1/videos"] == {"dropped": 1}


def test_create_then_fail_creates_and_charges_but_answers_500(
    sandbox_factory: Any, client_for: Any
) -> None:
    sandbox = sandbox_factory(create_then_fail=1.0)
    with client_for(sandbox) as api:
        response = api.post(spec.VIDEOS_PATH, json=VALID)
        assert response.status_code == 500
        assert code_of(response) == "internal_error"
        (job,) = sandbox.jobs()
        assert job["body"] == VALID
        assert sandbox.credits(sandbox.api_key) < sandbox.config.keys[sandbox.api_key].credits
        # The job is real: its owner can read it (if it ever learns the id).
        assert api.get(f"{spec.VIDEOS_PATH}/{job['id']}").status_code == 200
        # A retry of the same body creates a second job: the duplicate is counted.
        assert api.post(spec.VIDEOS_PATH, json=VALID).status_code == 500
    counters = sandbox.counters()
    assert counters["faults"]["create_then_fail"] == 2
    assert counters["duplicate_creates"] == 1
    assert len(sandbox.jobs()) == 2


def test_create_then_drop(sandbox_factory: Any, client_for: Any) -> None:
    sandbox = sandbox_factory(create_then_drop=1.0)
    with client_for(sandbox) as api, pytest.raises(httpx.RemoteProtocolError):
        api.post(spec.VIDEOS_PATH, json=VALID)
    assert len(sandbox.jobs()) == 1
    assert sandbox.counters()["faults"]["create_then_drop"] == 1


def test_client_can_reconnect_after_a_drop(sandbox_factory: Any, client_for: Any) -> None:
    sandbox = sandbox_factory()
    with client_for(sandbox) as api:
        assert api.post(spec.PRESIGN_PATH, json=PRESIGN).status_code == 200
        sandbox.update_config(drop_probability=1.0)
        with pytest.raises(httpx.RemoteProtocolError):
            api.post(spec.PRESIGN_PATH, json=PRESIGN)
        sandbox.update_config(drop_probability=0.0)
        assert api.post(spec.PRESIGN_PATH, json=PRESIGN).status_code == 200


def test_storage_faults(sandbox_factory: Any, client_for: Any, http: httpx.Client) -> None:
    sandbox = sandbox_factory(error_probability=1.0, fault_routes=("upload",))
    with client_for(sandbox) as api:
        answer = api.post(spec.PRESIGN_PATH, json=PRESIGN).json()
    put = http.put(answer["uploadUrl"], content=b"abcd", headers={"Content-Type": "image/png"})
    assert put.status_code == 500
    assert b"<Code>InternalError</Code>" in put.content
    assert sandbox.counters()["uploads_completed"] == 0


def test_added_latency_can_exceed_a_client_timeout(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(latency_sec=(1.0, 1.0), fault_routes=("get",))
    with httpx.Client(
        base_url=sandbox.base_url,
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        timeout=0.1,
        verify=False,
    ) as api:
        assert api.post(spec.PRESIGN_PATH, json=PRESIGN).status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            api.get(f"{spec.VIDEOS_PATH}/{MISSING_ID}")


def test_faults_are_reproducible_with_a_seed(sandbox_factory: Any, client_for: Any) -> None:
    outcomes = []
    for _ in range(2):
        sandbox = sandbox_factory(error_probability=0.5, seed=7)
        with client_for(sandbox) as api:
            outcomes.append(
                [api.post(spec.PRESIGN_PATH, json=PRESIGN).status_code for _ in range(24)]
            )
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {200, 500}


# --- concurrency ------------------------------------------------------------------------------
def test_holds_200_concurrent_open_connections(sandbox: Sandbox) -> None:
    """All 200 sockets are connected before any sends a request; every one gets its answer."""
    sockets = [
        socket.create_connection(("127.0.0.1", sandbox_port(sandbox)), timeout=10)
        for _ in range(200)
    ]
    try:
        request = f"GET {spec.VIDEOS_PATH}/{MISSING_ID} HTTP/1.1\r\nHost: sandbox\r\n\r\n".encode()
        for sock in sockets:
            sock.sendall(request)
        for sock in sockets:
            assert sock.recv(64).startswith(b"HTTP/1.1 401 ")  # no key: answered, not hung
    finally:
        for sock in sockets:
            sock.close()
    assert sandbox.counters()["requests"]["GET /api/v1/videos/{id}"] == {"401": 200}


def sandbox_port(sandbox: Sandbox) -> int:
    return int(sandbox.base_url.rsplit(":", 1)[1])


def test_200_concurrent_api_requests_all_answered(sandbox_factory: Any) -> None:
    # Latency keeps every request in flight at once; a serial server would time the client out.
    sandbox = sandbox_factory(latency_sec=0.3, fault_routes=("create",))

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        headers = {"Authorization": f"Bearer {sandbox.api_key}"}
        async with httpx.AsyncClient(
            base_url=sandbox.base_url, headers=headers, limits=limits, timeout=20.0, verify=False
        ) as client:
            bodies = [{**VALID, "prompt": f"Horse number {i}"} for i in range(200)]
            responses = await asyncio.gather(
                *(client.post(spec.VIDEOS_PATH, json=body) for body in bodies)
            )
            return [r.status_code for r in responses]

    statuses = asyncio.run(burst())
    assert statuses == [200] * 200
    counters = sandbox.counters()
    assert counters["creates"] == 200
    assert counters["duplicate_creates"] == 0
    assert counters["peak_in_flight"] > 1
