"""ApiClient against httpx.MockTransport: mapping, retries, masking, and the storage upload."""

from __future__ import annotations

import asyncio
import json
import logging
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from fakes import FakeTime

from hhbatch import __version__, retry, spec
from hhbatch.client import ApiClient, CreatedVideo, Presign, Video, mask_api_key
from hhbatch.errors import (
    STATUS_ERROR_CLASSES,
    ApiConnectionError,
    ApiStatusError,
    ApiTimeout,
    InternalError,
    InvalidApiKey,
    NotFound,
    PlanGateExceeded,
    RateLimited,
    UploadError,
    UsageError,
)
from hhbatch.ratelimit import RateLimiter

BASE = "https://api.example.test"
STORAGE = "https://storage.example.test"
KEY = "hh_live_S3cr3tT0k3nABCDEFGHIJKLMNOPQRSTUVWXYZ0123abcd"


class SpyLimiter(RateLimiter):
    """The real limiter, recording what the client told it."""

    def __init__(self, t: FakeTime, **kw) -> None:
        super().__init__(rate=1000.0, clock=t.clock, sleep=t.sleep, rng=lambda: 0.0, **kw)
        self.kinds: list[str] = []
        self.rate_limited_calls: list[float | None] = []
        self.successes = 0

    async def acquire(self, kind: str = "api") -> None:
        self.kinds.append(kind)
        await super().acquire(kind)

    def on_success(self) -> None:
        self.successes += 1
        super().on_success()

    def on_rate_limited(
        self, retry_after: float | None = None, *, sent_at: float | None = None
    ) -> None:
        self.rate_limited_calls.append(retry_after)
        super().on_rate_limited(retry_after, sent_at=sent_at)


Handler = Callable[[httpx.Request], httpx.Response]


class StreamingTransport(httpx.AsyncBaseTransport):
    """Like MockTransport, but hands the handler the request *unread* (MockTransport reads the
    whole body first), so a test can see the upload arrive chunk by chunk."""

    def __init__(self, handler) -> None:
        self.handler = handler

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.handler(request)
        if not request.stream or isinstance(request.stream, httpx.ByteStream):
            return response
        try:
            async for _ in request.stream:  # a handler that did not read: drain like a server
                pass
        except httpx.StreamConsumed:
            pass
        return response


class Harness:
    """A client wired to a scripted MockTransport; records every request it sends."""

    def __init__(self, handler: Handler, *, max_retries: int = retry.DEFAULT_MAX_RETRIES) -> None:
        self.t = FakeTime()
        self.limiter = SpyLimiter(self.t)
        self.requests: list[httpx.Request] = []
        self.handler = handler

        async def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            result = self.handler(request)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        self.client = ApiClient(
            BASE,
            KEY,
            limiter=self.limiter,
            transport=httpx.MockTransport(record),
            max_retries=max_retries,
            storage_transport=StreamingTransport(record),
        )

    def run(self, make_coro):
        async def main():
            async with self.client:
                return await make_coro(self.client)

        return asyncio.run(main())


def script(*responses) -> Handler:
    """Answer with each item in turn: an httpx.Response, or an exception class/instance to raise."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, type) and issubclass(item, Exception):
            raise item("scripted failure", request=request)
        if isinstance(item, Exception):
            raise item
        return item

    return handler


def envelope(
    status: int, code: str, message: str = "nope", headers=None, **extra
) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "message": message, **extra}}, headers=headers
    )


CREATED = httpx.Response(200, json={"id": "vid-1", "status": "queued"})
BODY = {"prompt": "a horse on a beach", "durationSec": 5}


# ------------------------------------------------------------------ happy paths
def test_presign_sends_the_documented_body_with_bearer_and_user_agent():
    answer = httpx.Response(
        200,
        json={
            "uploadUrl": f"{STORAGE}/put?sig=1",
            "key": "videos/inputs/u/a.png",
            "publicUrl": "https://cdn.example.test/a.png",
            "kind": "image",
        },
    )
    h = Harness(script(answer))
    result = h.run(lambda c: c.presign("image", "image/png", 1234))
    assert result == Presign(
        f"{STORAGE}/put?sig=1", "videos/inputs/u/a.png", "https://cdn.example.test/a.png", "image"
    )
    (req,) = h.requests
    assert req.method == "POST"
    assert str(req.url) == BASE + spec.PRESIGN_PATH
    assert json.loads(req.content) == {
        "kind": "image",
        "contentType": "image/png",
        "sizeBytes": 1234,
    }
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["user-agent"] == f"hhbatch/{__version__}"
    assert req.headers["content-type"] == "application/json"
    assert h.limiter.kinds == ["presign"]
    assert h.limiter.successes == 1


def test_create_video_posts_the_body_and_returns_the_id():
    h = Harness(script(httpx.Response(201, json={"id": "vid-9", "status": "queued"})))
    assert h.run(lambda c: c.create_video(BODY)) == CreatedVideo("vid-9", "queued")
    (req,) = h.requests
    assert (req.method, req.url.path) == ("POST", spec.VIDEOS_PATH)
    assert json.loads(req.content) == BODY
    assert h.limiter.kinds == ["create"]


def test_get_video_maps_fields_and_accepts_unknown_status_and_missing_fields():
    raw = {"id": "vid-1", "status": "upscaling", "videoUrl": None, "prompt": "x"}
    h = Harness(script(httpx.Response(200, json=raw)))
    video = h.run(lambda c: c.get_video("vid-1"))
    assert video == Video("vid-1", "upscaling", None, None, None, None, raw)
    assert video.raw == raw
    assert not video.terminal
    assert h.requests[0].url.path == f"{spec.VIDEOS_PATH}/vid-1"
    assert h.limiter.kinds == ["poll"]


def test_get_video_ready():
    raw = {
        "id": "v",
        "status": "ready",
        "videoUrl": "https://cdn/v.mp4",
        "thumbnailUrl": "https://cdn/t.jpg",
        "errorMessage": None,
        "readyAt": "2026-04-26T12:30:00.000Z",
    }
    video = Harness(script(httpx.Response(200, json=raw))).run(lambda c: c.get_video("v"))
    assert (video.video_url, video.thumbnail_url, video.ready_at) == (
        "https://cdn/v.mp4",
        "https://cdn/t.jpg",
        "2026-04-26T12:30:00.000Z",
    )
    assert video.terminal


def test_video_id_is_escaped_in_the_path():
    h = Harness(script(httpx.Response(200, json={"id": "a/b", "status": "queued"})))
    h.run(lambda c: c.get_video("../a/b"))
    assert h.requests[0].url.raw_path.decode().endswith("/videos/..%2Fa%2Fb")


def test_base_url_with_api_prefix_or_slash_is_normalised():
    client = ApiClient(f"{BASE}/api/v1/", KEY)
    assert client.base_url == BASE
    asyncio.run(client.aclose())


def test_base_url_must_be_http():
    with pytest.raises(UsageError):
        ApiClient("api.example.test", KEY)


# ------------------------------------------------------------------ error mapping
@pytest.mark.parametrize("code,status", sorted(spec.ERROR_CODES.items()))
def test_every_documented_code_maps_to_its_class(code, status):
    h = Harness(script(envelope(status, code, "Server says no.")), max_retries=0)
    with pytest.raises(ApiStatusError) as info:
        h.run(lambda c: c.create_video(BODY))
    err = info.value
    assert type(err) is STATUS_ERROR_CLASSES[code]
    assert (err.code, err.status_code, str(err)) == (code, status, "Server says no.")
    assert err.body == {"code": code, "message": "Server says no."}


def test_plan_gate_carries_its_extra_fields():
    resp = envelope(
        403,
        "plan_gate_exceeded",
        "Your plan does not allow this video setting.",
        field="referenceAudio",
        requiredPlan="pro",
        currentPlan="basic",
    )
    with pytest.raises(PlanGateExceeded) as info:
        Harness(script(resp)).run(lambda c: c.create_video(BODY))
    err = info.value
    assert (err.field, err.required_plan, err.current_plan) == ("referenceAudio", "pro", "basic")


def test_unknown_code_is_a_plain_status_error_with_that_code():
    resp = envelope(409, "video_locked", "Locked.", extra_field=1)
    with pytest.raises(ApiStatusError) as info:
        Harness(script(resp)).run(lambda c: c.create_video(BODY))
    assert type(info.value) is ApiStatusError
    assert (info.value.code, info.value.status_code) == ("video_locked", 409)
    assert info.value.body["extra_field"] == 1


def test_non_json_error_body_gives_a_short_message():
    html = "<html><body>" + "Bad gateway " * 200 + "</body></html>"
    with pytest.raises(ApiStatusError) as info:
        Harness(script(httpx.Response(502, text=html)), max_retries=0).run(
            lambda c: c.get_video("v")
        )
    err = info.value
    assert type(err) is ApiStatusError
    assert err.status_code == 502 and err.code == "http_502"
    assert str(err).startswith("HappyHorse answered HTTP 502 to GET /api/v1/videos/v: <html>")
    assert len(str(err)) < 300
    assert err.body["raw"].startswith("<html>")


def test_envelope_without_message_still_says_something():
    resp = httpx.Response(404, json={"error": {"code": "not_found"}})
    with pytest.raises(NotFound, match="HTTP 404"):
        Harness(script(resp)).run(lambda c: c.get_video("v"))


def test_a_gateways_429_without_envelope_is_still_rate_limited():
    h = Harness(
        script(httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "600"}))
    )
    with pytest.raises(RateLimited) as info:
        h.run(lambda c: c.get_video("v"))
    assert info.value.retry_after == 600.0
    assert h.limiter.rate_limited_calls == [600.0] * 3  # at 0, 600, 1200 s: then it gives up


def test_success_that_is_not_json_on_create_is_unknown_not_retried():
    h = Harness(script(httpx.Response(200, text="ok")))
    with pytest.raises(ApiConnectionError) as info:
        h.run(lambda c: c.create_video(BODY))
    assert info.value.request_sent is True
    assert len(h.requests) == 1


def test_create_answer_with_a_numeric_id_is_still_an_id():
    h = Harness(script(httpx.Response(200, json={"id": 42, "status": "queued"})))
    assert h.run(lambda c: c.create_video(BODY)).id == "42"


def test_create_answer_without_id_is_unknown():
    h = Harness(script(httpx.Response(200, json={"status": "queued"})))
    with pytest.raises(ApiConnectionError) as info:
        h.run(lambda c: c.create_video(BODY))
    assert info.value.request_sent is True


def test_redirect_is_not_followed_and_points_at_the_base_url():
    resp = httpx.Response(301, headers={"Location": "https://elsewhere/"}, text="")
    h = Harness(script(resp))
    with pytest.raises(ApiStatusError, match="HAPPYHORSE_BASE_URL"):
        h.run(lambda c: c.create_video(BODY))
    assert len(h.requests) == 1


# ------------------------------------------------------------------ 429 and Retry-After
def test_429_with_retry_after_seconds_is_honoured_and_retried_even_for_create():
    h = Harness(script(envelope(429, "rate_limited", headers={"Retry-After": "7"}), CREATED))
    assert h.run(lambda c: c.create_video(BODY)).id == "vid-1"
    assert len(h.requests) == 2
    assert h.limiter.rate_limited_calls == [7.0]
    assert h.t.sleeps == pytest.approx([7.0])  # the limiter's pause, nothing more
    assert h.limiter.kinds == ["create", "create"]


def test_429_with_http_date_retry_after():
    when = datetime.now(timezone.utc) + timedelta(seconds=120)
    h = Harness(
        script(
            envelope(
                429, "rate_limited", headers={"Retry-After": format_datetime(when, usegmt=True)}
            ),
            CREATED,
        )
    )
    h.run(lambda c: c.create_video(BODY))
    (value,) = h.limiter.rate_limited_calls
    assert 100 < value <= 120


def test_429_without_retry_after_backs_off_exponentially():
    h = Harness(
        script(
            envelope(429, "rate_limited"),
            envelope(429, "rate_limited"),
            envelope(429, "rate_limited"),
            CREATED,
        )
    )
    h.run(lambda c: c.create_video(BODY))
    assert h.limiter.rate_limited_calls == [None, None, None]
    assert h.t.sleeps == pytest.approx([1.0, 2.0, 4.0])


def test_429s_do_not_use_up_the_retries_of_a_create():
    limited = envelope(429, "rate_limited", headers={"Retry-After": "1"})
    h = Harness(script(*[limited] * 10, CREATED), max_retries=3)
    assert h.run(lambda c: c.create_video(BODY)) == CreatedVideo("vid-1", "queued")
    assert len(h.requests) == 11  # ten 429s: free, not failures
    assert h.limiter.rate_limited_calls == [1.0] * 10


def test_a_request_refused_for_a_quarter_of_an_hour_gives_up():
    h = Harness(script(envelope(429, "rate_limited", headers={"Retry-After": "300"})))
    with pytest.raises(RateLimited):
        h.run(lambda c: c.presign("image", "image/png", 10))
    assert retry.MAX_RATE_LIMITED_SEC == 900.0
    assert len(h.requests) == 4  # at 0, 300, 600 and 900 s: then it is a quota, not a rate


@pytest.mark.parametrize(
    "value,expected",
    [
        ("5", 5.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("99999", retry.MAX_RETRY_AFTER),
    ],
)
def test_parse_retry_after(value, expected):
    assert retry.parse_retry_after(value) == expected


def test_parse_retry_after_http_date_against_injected_clock():
    assert retry.parse_retry_after(
        "Wed, 21 Oct 2015 07:28:30 GMT", now=lambda: 1445412480.0
    ) == pytest.approx(30.0)


def test_retry_after_ms_wins():
    headers = httpx.Headers({"Retry-After": "9", "retry-after-ms": "250"})
    assert retry.retry_after_from_headers(headers) == pytest.approx(0.25)
    assert retry.retry_after_from_headers(httpx.Headers({"Retry-After": "9"})) == 9.0
    assert retry.retry_after_from_headers(httpx.Headers({})) is None


# ------------------------------------------------------------------ which failures are retried
NEVER_SENT = [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]
AFTER_SEND = [
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.RemoteProtocolError,
    httpx.WriteError,
]


@pytest.mark.parametrize("exc", NEVER_SENT)
def test_create_retries_failures_that_never_reached_the_server(exc):
    h = Harness(script(exc, exc, CREATED))
    assert h.run(lambda c: c.create_video(BODY)).id == "vid-1"
    assert len(h.requests) == 3
    assert h.t.sleeps == pytest.approx([0.5, 1.0])


@pytest.mark.parametrize("exc", AFTER_SEND)
def test_create_never_retries_once_the_request_may_have_arrived(exc):
    h = Harness(script(exc, CREATED))
    with pytest.raises(ApiConnectionError) as info:
        h.run(lambda c: c.create_video(BODY))
    assert info.value.request_sent is True
    assert isinstance(info.value.__cause__, exc)
    assert len(h.requests) == 1
    assert h.t.sleeps == []


def test_read_timeout_is_an_api_timeout():
    with pytest.raises(ApiTimeout):
        Harness(script(httpx.ReadTimeout, CREATED)).run(lambda c: c.create_video(BODY))


@pytest.mark.parametrize("status,code", [(500, "internal_error"), (503, None), (504, None)])
def test_create_never_retries_5xx(status, code):
    resp = envelope(status, code) if code else httpx.Response(status, text="busy")
    h = Harness(script(resp, CREATED))
    with pytest.raises(ApiStatusError) as info:
        h.run(lambda c: c.create_video(BODY))
    assert info.value.status_code == status
    assert len(h.requests) == 1


@pytest.mark.parametrize(
    "failure",
    AFTER_SEND
    + NEVER_SENT
    + [
        envelope(500, "internal_error"),
        httpx.Response(502, text="bad gateway"),
    ],
)
def test_get_video_retries_anything_transient(failure):
    ok = httpx.Response(200, json={"id": "v", "status": "processing"})
    h = Harness(script(failure, failure, ok))
    assert h.run(lambda c: c.get_video("v")).status == "processing"
    assert len(h.requests) == 3
    assert h.t.sleeps == pytest.approx([0.5, 1.0])


def test_presign_retries_timeouts_too():
    ok = httpx.Response(200, json={"uploadUrl": f"{STORAGE}/u", "key": "videos/k"})
    h = Harness(script(httpx.ReadTimeout, ok))
    assert h.run(lambda c: c.presign("image", "image/png", 3)).key == "videos/k"
    assert len(h.requests) == 2


def test_a_5xx_retry_after_is_honoured_for_safe_requests():
    ok = httpx.Response(200, json={"id": "v", "status": "queued"})
    h = Harness(script(httpx.Response(503, text="x", headers={"Retry-After": "4"}), ok))
    h.run(lambda c: c.get_video("v"))
    assert h.t.sleeps == pytest.approx([4.0])


@pytest.mark.parametrize(
    "code,status", [("not_found", 404), ("invalid_api_key", 401), ("invalid_input", 400)]
)
def test_client_errors_are_never_retried(code, status):
    h = Harness(script(envelope(status, code)))
    with pytest.raises(STATUS_ERROR_CLASSES[code]):
        h.run(lambda c: c.get_video("v"))
    assert len(h.requests) == 1


def test_gives_up_after_max_retries_with_the_last_error():
    h = Harness(
        script(httpx.ReadTimeout, httpx.ReadTimeout, envelope(500, "internal_error")), max_retries=2
    )
    with pytest.raises(InternalError):
        h.run(lambda c: c.get_video("v"))
    assert len(h.requests) == 3
    assert h.t.sleeps == pytest.approx([0.5, 1.0])


def test_backoff_grows_and_is_capped():
    assert [retry.backoff_delay(n, rng=lambda: 0.0) for n in range(8)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        30.0,
        30.0,
    ]
    assert retry.backoff_delay(0, rng=lambda: 1.0) == pytest.approx(0.375)


def test_limiter_learns_success_but_not_from_5xx():
    h = Harness(script(httpx.Response(500, text="x"), httpx.Response(200, json={"id": "v"})))
    h.run(lambda c: c.get_video("v"))
    assert h.limiter.successes == 1


# ------------------------------------------------------------------ the key never leaks
def test_mask_api_key():
    assert mask_api_key(KEY) == "hh_live_…abcd"
    assert mask_api_key("hh_live_short") == "hh_live_…"
    assert mask_api_key("") == "(none)"


def test_key_is_masked_in_repr_errors_and_logs(caplog):
    caplog.set_level(logging.DEBUG)
    echoed = envelope(401, "invalid_api_key", f"Key {KEY} is not valid", detail={"key": KEY})
    h = Harness(script(echoed))
    assert KEY not in repr(h.client)
    assert "hh_live_…abcd" in repr(h.client)
    with pytest.raises(InvalidApiKey) as info:
        h.run(lambda c: c.get_video("v"))
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert KEY not in json.dumps(info.value.body)
    assert "hh_live_…abcd" in str(info.value)

    h2 = Harness(
        script(
            httpx.ConnectError(f"cannot reach, key={KEY}"),
            httpx.ConnectError(f"cannot reach, key={KEY}"),
        ),
        max_retries=1,
    )
    with pytest.raises(ApiConnectionError) as info2:
        h2.run(lambda c: c.create_video(BODY))
    assert info2.value.request_sent is False
    assert KEY not in str(info2.value)
    assert KEY not in str(info2.value.__cause__)  # the chained httpx error is scrubbed too
    assert KEY not in caplog.text


def test_bad_characters_in_key_are_refused_without_showing_it():
    with pytest.raises(UsageError) as info:
        ApiClient(BASE, KEY[:-4] + "ä bc")
    assert KEY[8:-4] not in str(info.value)


def test_key_is_stripped_and_empty_key_sends_no_header():
    h = Harness(script(envelope(401, "missing_api_key")))
    h.client = ApiClient(
        BASE,
        "  ",
        limiter=h.limiter,
        transport=httpx.MockTransport(lambda r: (h.requests.append(r), h.handler(r))[1]),
    )
    with pytest.raises(ApiStatusError):
        h.run(lambda c: c.get_video("v"))
    assert "authorization" not in h.requests[0].headers


# ------------------------------------------------------------------ upload to storage
def make_file(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "clip.mp4"
    block = bytes(range(256)) * 4096  # 1 MiB pattern
    with path.open("wb") as f:
        remaining = size
        while remaining:
            f.write(block[: min(len(block), remaining)])
            remaining -= min(len(block), remaining)
    return path


PRESIGNED = Presign(
    f"{STORAGE}/bucket/clip.mp4?X-Sig=abc", "videos/inputs/u/clip.mp4", None, "video"
)


def test_upload_streams_the_file_without_authorization(tmp_path):
    size = 4 * 1024 * 1024 + 123
    path = make_file(tmp_path, size)
    seen: dict = {}

    async def storage(request: httpx.Request) -> httpx.Response:
        seen["headers"] = dict(request.headers)
        seen["url"] = str(request.url)
        chunks = []
        digest = 0
        async for chunk in request.stream:  # consumed piece by piece, never joined
            chunks.append(len(chunk))
            digest = (digest * 31 + sum(chunk[:16])) % 1_000_003
        seen["chunks"] = chunks
        return httpx.Response(200)

    h = Harness(storage)
    progress: list[int] = []
    tracemalloc.start()
    try:
        h.run(lambda c: c.upload(PRESIGNED, path, "video/mp4", size, progress=progress.append))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    headers = seen["headers"]
    assert "authorization" not in headers
    assert KEY not in json.dumps(headers)
    assert headers["content-length"] == str(size)
    assert headers["content-type"] == "video/mp4"
    assert "transfer-encoding" not in headers
    assert seen["url"] == PRESIGNED.upload_url
    assert sum(seen["chunks"]) == size
    assert len(seen["chunks"]) > 10 and max(seen["chunks"]) <= 256 * 1024
    assert sum(progress) == size and len(progress) == len(seen["chunks"])
    assert peak < size / 2  # the file was never held in memory whole
    assert h.limiter.kinds == []  # storage is not the API: no limiter token


def test_upload_size_mismatch_is_refused_before_sending(tmp_path):
    path = make_file(tmp_path, 100)
    h = Harness(script(httpx.Response(200)))
    with pytest.raises(UploadError, match="changed"):
        h.run(lambda c: c.upload(PRESIGNED, path, "video/mp4", 101))
    assert h.requests == []


@pytest.mark.parametrize(
    "status,text,expired",
    [
        (
            403,
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
            True,
        ),
        (400, "<Code>ExpiredToken</Code>", True),
        (400, "<Code>BadDigest</Code>", False),
        (404, "no such bucket", False),
    ],
)
def test_upload_refusals_raise_upload_error(tmp_path, status, text, expired):
    path = make_file(tmp_path, 10)
    h = Harness(script(httpx.Response(status, text=text)))
    progress: list[int] = []
    with pytest.raises(UploadError) as info:
        h.run(lambda c: c.upload(PRESIGNED, path, "video/mp4", 10, progress=progress.append))
    assert (info.value.status_code, info.value.expired) == (status, expired)
    assert len(h.requests) == 1
    assert progress == [10, -10]  # sent, then taken back: the caller will upload it again


def test_upload_retries_network_failures_and_rewinds_progress(tmp_path):
    size = 600 * 1024
    path = make_file(tmp_path, size)
    attempts = []

    async def storage(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        got = 0
        async for chunk in request.stream:
            got += len(chunk)
            if len(attempts) == 1 and got > 300 * 1024:
                raise httpx.WriteError("connection reset", request=request)
        return httpx.Response(200)

    h = Harness(storage)
    progress: list[int] = []
    h.run(lambda c: c.upload(PRESIGNED, path, "video/mp4", size, progress=progress.append))
    assert len(attempts) == 2
    assert sum(progress) == size
    assert any(n < 0 for n in progress)
    assert h.t.sleeps == pytest.approx([0.5])


def test_upload_5xx_is_retried_then_raised(tmp_path):
    path = make_file(tmp_path, 10)
    h = Harness(script(httpx.Response(503, text="slow down")), max_retries=2)
    with pytest.raises(UploadError) as info:
        h.run(lambda c: c.upload(PRESIGNED, path, "video/mp4", 10))
    assert info.value.status_code == 503 and not info.value.expired
    assert len(h.requests) == 3


def test_upload_of_a_missing_file(tmp_path):
    h = Harness(script(httpx.Response(200)))
    with pytest.raises(UploadError, match="Cannot read"):
        h.run(lambda c: c.upload(PRESIGNED, tmp_path / "gone.png", "image/png", 10))


# ------------------------------------------------------------------ the create's attempt gate
class RecordingGate:
    """Records what the client tells it, interleaved with the requests the transport sees."""

    def __init__(self, h: Harness, *, withdraw_on_admit: bool = False) -> None:
        self.h = h
        self.events: list[str] = []
        self.withdraw_on_admit = withdraw_on_admit

    async def waiting(self) -> None:
        self.events.append(f"waiting (sent so far: {len(self.h.requests)})")

    async def admitted(self) -> None:
        self.events.append(f"admitted (sent so far: {len(self.h.requests)})")
        # The executor commits the intent here, off the event loop: the request must wait.
        for _ in range(5):
            await asyncio.sleep(0)
        self.events.append(f"admission done (sent so far: {len(self.h.requests)})")
        if self.withdraw_on_admit:
            raise LookupError("withdrawn")


def test_create_gate_hears_each_attempt_before_it_is_sent():
    h = Harness(script(envelope(429, "rate_limited", headers={"Retry-After": "1"}), CREATED))
    gate = RecordingGate(h)
    assert h.run(lambda c: c.create_video(BODY, gate=gate)) == CreatedVideo("vid-1", "queued")
    assert gate.events == [
        "waiting (sent so far: 0)",
        "admitted (sent so far: 0)",
        "admission done (sent so far: 0)",  # nothing leaves while admission is awaited
        "waiting (sent so far: 1)",  # the 429 proved nothing was created: a second attempt
        "admitted (sent so far: 1)",
        "admission done (sent so far: 1)",
    ]


def test_a_gate_that_raises_on_admission_withdraws_the_create_unsent():
    h = Harness(script(CREATED))
    gate = RecordingGate(h, withdraw_on_admit=True)
    with pytest.raises(LookupError):
        h.run(lambda c: c.create_video(BODY, gate=gate))
    assert h.requests == []
