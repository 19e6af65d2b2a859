"""ApiClient over real HTTP against the local sandbox: the same code paths as production."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hhbatch.client import ApiClient, Video
from hhbatch.errors import (
    ApiConnectionError,
    InternalError,
    InvalidApiKey,
    PlanGateExceeded,
    UploadError,
)
from hhbatch.ratelimit import RateLimiter
from hhbatch.sandbox import BASIC_KEY
from hhbatch.sandbox.api import ROUTE_CREATE, ROUTE_GET

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b3a0"
    "5f0000000049454e44ae426082"
)


async def wait_ready(client: ApiClient, video_id: str) -> Video:
    """Poll like the reconciler would (the sandbox finishes jobs in ~0.1 s)."""
    for _ in range(200):
        video = await client.get_video(video_id)
        if video.terminal:
            return video
        await asyncio.sleep(0.02)
    raise AssertionError(f"{video_id} never finished: {video}")


def fast_limiter(**kw) -> RateLimiter:
    return RateLimiter(rate=kw.pop("rate", 200.0), burst=kw.pop("burst", 20), **kw)


def test_presign_upload_create_get_round_trip(sandbox, tmp_path: Path):
    image = tmp_path / "frame.png"
    image.write_bytes(PNG)
    progress: list[int] = []

    async def main():
        async with ApiClient(sandbox.base_url, sandbox.api_key, limiter=fast_limiter()) as c:
            presign = await c.presign("image", "image/png", len(PNG))
            assert presign.upload_url.startswith(sandbox.storage_url)
            await c.upload(presign, image, "image/png", len(PNG), progress=progress.append)
            created = await c.create_video(
                {"prompt": "a horse on a beach", "durationSec": 4, "sourceImageKey": presign.key}
            )
            assert created.status == "queued"
            return created, await wait_ready(c, created.id)

    created, video = asyncio.run(main())
    assert video.id == created.id
    assert video.status == "ready"
    assert video.video_url and video.ready_at
    assert sum(progress) == len(PNG)
    counters = sandbox.counters()
    assert counters["uploads_completed"] == 1
    assert counters["creates"] == 1
    assert counters["storage_authorization_headers"] == 0  # the key never reached storage
    assert counters["duplicate_creates"] == 0


@pytest.mark.parametrize("decimal", [True, False], ids=["decimal-retry-after", "whole-seconds"])
def test_429_with_retry_after_recovers(sandbox_factory, decimal):
    # whole seconds: the sandbox rounds up to >= 1 s, so keep the overflow small. The server's
    # rate is low enough that the requests would have to be spread over 2 s to all get through
    # (a loaded machine running the suite in parallel can spread them over 100 ms).
    rate = 5.0 if decimal else 1.0
    sb = sandbox_factory(rate=rate, burst=2, retry_after=True, retry_after_decimal=decimal)
    limiter = fast_limiter(rate=1000.0, burst=1000)
    n = 12 if decimal else 3  # each whole-second round costs a real second

    async def main():
        async with ApiClient(sb.base_url, sb.api_key, limiter=limiter) as c:
            created = await c.create_video({"prompt": "probe", "durationSec": 3})
            videos = await asyncio.gather(*(c.get_video(created.id) for _ in range(n)))
            return created, videos

    created, videos = asyncio.run(main())
    assert all(v.id == created.id for v in videos)
    counters = sb.counters()
    assert counters["rate_limited"] >= 1
    assert limiter.stats()["rate_limited"] == counters["rate_limited"]
    assert limiter.rate < 1000.0
    assert counters["creates"] == 1


def test_429_without_retry_after_backs_off_and_recovers(sandbox_factory):
    sb = sandbox_factory(rate=20.0, burst=2, retry_after=False)
    limiter = fast_limiter(rate=1000.0, burst=1000, initial_backoff=0.05, max_backoff=0.5)

    async def main():
        async with ApiClient(sb.base_url, sb.api_key, limiter=limiter) as c:
            bodies = [{"prompt": f"horse number {i}", "durationSec": 3} for i in range(8)]
            return await asyncio.gather(*(c.create_video(b) for b in bodies))

    created = asyncio.run(main())
    assert len({v.id for v in created}) == 8
    counters = sb.counters()
    assert counters["rate_limited"] >= 1
    assert counters["creates"] == 8 and counters["duplicate_creates"] == 0


def test_dropped_create_is_not_retried_but_a_dropped_poll_is(sandbox_factory):
    sb = sandbox_factory(drop_probability=1.0, fault_routes=("create", "get"))

    async def main():
        async with ApiClient(sb.base_url, sb.api_key, limiter=fast_limiter(), max_retries=2) as c:
            c.policy = type(c.policy)(max_retries=2, initial_delay=0.01, max_delay=0.02)
            with pytest.raises(ApiConnectionError) as create_err:
                await c.create_video({"prompt": "lost in transit", "durationSec": 3})
            with pytest.raises(ApiConnectionError) as get_err:
                await c.get_video("00000000-0000-7000-8000-000000000000")
            return create_err.value, get_err.value

    create_err, get_err = asyncio.run(main())
    assert create_err.request_sent is True and get_err.request_sent is True
    requests = sb.counters()["requests"]
    assert sum(requests[ROUTE_CREATE].values()) == 1
    assert sum(requests[ROUTE_GET].values()) == 3


def test_create_charged_then_500_is_raised_not_repeated(sandbox_factory):
    sb = sandbox_factory(create_then_fail=1.0)

    async def main():
        async with ApiClient(sb.base_url, sb.api_key, limiter=fast_limiter()) as c:
            await c.create_video({"prompt": "charged but lost", "durationSec": 3})

    with pytest.raises(InternalError):
        asyncio.run(main())
    assert sb.counters()["creates"] == 1


def test_connection_refused_is_provably_unsent(sandbox_factory):
    sb = sandbox_factory()
    base_url = sb.base_url
    sb.stop()

    async def main():
        async with ApiClient(
            base_url,
            "hh_live_whatever_1234567890abcd",
            limiter=fast_limiter(),
            max_retries=1,
            sleep=_no_sleep,
        ) as c:
            await c.create_video({"prompt": "nobody home", "durationSec": 3})

    with pytest.raises(ApiConnectionError) as info:
        asyncio.run(main())
    assert info.value.request_sent is False


async def _no_sleep(_seconds: float) -> None:
    return None


def test_wrong_key_is_invalid_and_not_shown(sandbox):
    key = "hh_live_not_a_real_key_0000000000wxyz"

    async def main():
        async with ApiClient(sandbox.base_url, key, limiter=fast_limiter()) as c:
            await c.get_video("x")

    with pytest.raises(InvalidApiKey) as info:
        asyncio.run(main())
    assert key not in str(info.value)


def test_plan_gate_over_http(sandbox):
    async def main():
        async with ApiClient(sandbox.base_url, BASIC_KEY, limiter=fast_limiter()) as c:
            await c.create_video({"prompt": "too fancy", "durationSec": 3, "resolution": "1080p"})

    with pytest.raises(PlanGateExceeded) as info:
        asyncio.run(main())
    assert info.value.current_plan == "basic"
    assert info.value.required_plan == "pro"
    assert info.value.field


def test_expired_upload_url_says_presign_again(sandbox_factory, tmp_path: Path):
    sb = sandbox_factory(upload_url_ttl_sec=0.0)
    image = tmp_path / "frame.png"
    image.write_bytes(PNG)

    async def main():
        async with ApiClient(sb.base_url, sb.api_key, limiter=fast_limiter()) as c:
            presign = await c.presign("image", "image/png", len(PNG))
            await c.upload(presign, image, "image/png", len(PNG))

    with pytest.raises(UploadError) as info:
        asyncio.run(main())
    assert info.value.expired is True and info.value.status_code == 403
    assert sb.counters()["storage_authorization_headers"] == 0
