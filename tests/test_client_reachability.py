"""The client tells "the API cannot be reached at all" apart, within a time budget (exit 5).

Fake time: the budget is asserted in the seconds the client asked to sleep or spent connecting,
not in seconds waited here.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fakes import FakeTime
from test_client import BASE, BODY, CREATED, KEY, SpyLimiter, envelope, script

from hhbatch import client as client_module
from hhbatch.client import ApiClient
from hhbatch.errors import ApiUnreachable, InvalidApiKey


def _client(handler, t: FakeTime) -> ApiClient:  # type: ignore[no-untyped-def]
    return ApiClient(BASE, KEY, limiter=SpyLimiter(t), transport=httpx.MockTransport(handler))


def _run(client: ApiClient, make):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        async with client:
            return await make(client)

    return asyncio.run(main())


def _slow_connect_failure(t: FakeTime):  # type: ignore[no-untyped-def]
    """A host that swallows the connection attempt: each try costs the whole connect timeout."""

    def handler(request: httpx.Request) -> httpx.Response:
        t.now += client_module.CONNECT_TIMEOUT
        raise httpx.ConnectTimeout("timed out", request=request)

    return handler


@pytest.mark.parametrize("slow", [False, True], ids=["refused", "swallowed"])
def test_a_create_that_never_connects_gives_up_within_the_budget(slow: bool) -> None:
    t = FakeTime()
    handler = _slow_connect_failure(t) if slow else script(httpx.ConnectError)
    client = _client(handler, t)
    with pytest.raises(ApiUnreachable) as info:
        _run(client, lambda c: c.create_video(BODY))
    assert info.value.request_sent is False  # the row stays submittable
    assert BASE in str(info.value) and "HAPPYHORSE_BASE_URL" in str(info.value)
    assert 0 < t.now <= client_module.UNREACHABLE_BUDGET < 20


def test_a_short_outage_is_still_retried_and_succeeds() -> None:
    t = FakeTime()
    client = _client(script(httpx.ConnectError, httpx.ConnectError, CREATED), t)
    assert _run(client, lambda c: c.create_video(BODY)).id == "vid-1"


@pytest.mark.parametrize(
    "answer",
    [
        envelope(404, "not_found", "Video not found."),
        httpx.Response(400, text="bad id"),  # a server that checks the id's shape first
        httpx.Response(503, text="<html>maintenance</html>"),
    ],
)
def test_the_probe_accepts_any_http_answer(answer: httpx.Response) -> None:
    t = FakeTime()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    _run(_client(handler, t), lambda c: c.probe())
    [request] = seen
    assert request.method == "GET" and request.url.path.startswith("/api/v1/videos/")


def test_the_probe_reports_a_refused_key() -> None:
    t = FakeTime()
    handler = script(envelope(401, "invalid_api_key", "The API key is malformed."))
    with pytest.raises(InvalidApiKey):
        _run(_client(handler, t), lambda c: c.probe())


@pytest.mark.parametrize("slow", [False, True], ids=["refused", "swallowed"])
def test_the_probe_gives_up_on_an_unreachable_host_within_the_budget(slow: bool) -> None:
    t = FakeTime()
    handler = _slow_connect_failure(t) if slow else script(httpx.ConnectError)
    with pytest.raises(ApiUnreachable):
        _run(_client(handler, t), lambda c: c.probe())
    assert 0 < t.now <= client_module.UNREACHABLE_BUDGET
