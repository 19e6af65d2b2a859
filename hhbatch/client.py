"""Async client for the four HappyHorse operations; the only module that touches httpx.

Why a boundary: everything behind it sees typed results (``Presign``, ``CreatedVideo``, ``Video``)
or typed errors from :mod:`hhbatch.errors`, never an ``httpx`` exception or a raw status code.
``_status_error`` turns status + envelope into the class of ``errors.STATUS_ERROR_CLASSES``;
``_connection_error`` decides whether a network failure proves the request never left (the one
case in which a create may be repeated, see :mod:`hhbatch.retry`).

Two HTTP clients, on purpose: API calls carry ``Authorization: Bearer`` and go through the shared
rate limiter; the PUT to the presigned storage URL lives on another host, must never see the key,
and is not counted against the API's rate limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Protocol
from urllib.parse import quote

import httpx

from hhbatch import __version__, redact, retry, spec
from hhbatch.errors import (
    STATUS_ERROR_CLASSES,
    ApiConnectionError,
    ApiError,
    ApiStatusError,
    ApiTimeout,
    ApiUnreachable,
    AuthError,
    FileChangedError,
    InsufficientCredits,
    InvalidApiKey,
    RateLimited,
    UploadError,
    UsageError,
)
from hhbatch.i18n import _
from hhbatch.ratelimit import RateLimiter

log = logging.getLogger(__name__)

USER_AGENT = f"hhbatch/{__version__}"
# Room for ~50 concurrent API requests plus uploads without queueing on the pool.
POOL_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=32, keepalive_expiry=30.0)
UPLOAD_CHUNK_SIZE = 256 * 1024
# The first lines of a non-JSON error body are enough to recognise a proxy's HTML page.
ERROR_SNIPPET_CHARS = 200
# Opening a connection takes milliseconds when the host is there; a host that swallows the SYN
# (a typo'd domain behind a firewall, no network) must not cost 30 s per attempt.
CONNECT_TIMEOUT = 8.0
# A request that cannot reach the API at all (refused, DNS, TLS, connect timeouts) is retried
# only while the whole effort stays within this many seconds; then the run stops with exit 5
# instead of retrying for half a minute behind a progress bar.
UNREACHABLE_BUDGET = 18.0
# The reachability check reads a video id no server ever hands out (the nil UUID): any HTTP
# answer (404, 401, even 400 or 5xx) proves something answers at the base URL, and a GET can
# neither create nor cost anything.
PROBE_VIDEO_ID = "00000000-0000-0000-0000-000000000000"
PROBE_READ_TIMEOUT = 10.0

# Limiter kinds: the limiter serves presigns and creates in turn, so neither starves the other.
KIND_PRESIGN = "presign"
KIND_CREATE = "create"
KIND_POLL = "poll"
# Polls go only when no presign or create waits (creates first): every second a create waits
# is a second added to the whole batch, a poll that waits loses nothing (the job keeps
# generating), and polls get the whole rate the moment submission leaves it free.
BACKGROUND_KINDS = (KIND_POLL,)


# ------------------------------------------------------------------------------ results
class AttemptGate(Protocol):
    """Told when each attempt of a request queues and when it is let through (see create_video).
    Both are awaited: the executor commits the create's intent (an fsync) off the event loop."""

    async def waiting(self) -> None: ...
    async def admitted(self) -> None: ...


@dataclass(frozen=True)
class Presign:
    """Answer of ``POST /api/v1/uploads/presign``: where to PUT the bytes, the key to pass on."""

    upload_url: str
    key: str
    public_url: str | None
    kind: str


@dataclass(frozen=True)
class CreatedVideo:
    """Answer of ``POST /api/v1/videos``: the job exists and its credits are spent."""

    id: str
    status: str


@dataclass(frozen=True)
class Video:
    """Answer of ``GET /api/v1/videos/{id}``. ``status`` may be any string ("statuses include")."""

    id: str
    status: str
    video_url: str | None = None
    thumbnail_url: str | None = None
    error_message: str | None = None
    ready_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def terminal(self) -> bool:
        """Ready or failed; any other status (documented or not) means keep polling."""
        return self.status in spec.TERMINAL_STATUSES


# ------------------------------------------------------------------------------ secrets
# Kept importable from here: the mask is part of how the client shows a key.
mask_api_key = redact.mask_api_key


# ------------------------------------------------------------------------------ the client
class ApiClient:
    """The four operations of the HappyHorse Customer API, with retries and rate limiting.

    Use as ``async with ApiClient(...) as client:`` or call ``await client.aclose()``.
    ``transport`` replaces the network for both the API and the storage host (tests pass an
    ``httpx.MockTransport``); ``storage_transport`` replaces it for storage only.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        limiter: RateLimiter | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = retry.DEFAULT_MAX_RETRIES,
        *,
        storage_transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] | None = None,
        rng: Callable[[], float] | None = None,
        upload_chunk_size: int = UPLOAD_CHUNK_SIZE,
    ) -> None:
        self.base_url = _normalise_base_url(base_url)
        key = (api_key or "").strip()
        # From here on every server string is scrubbed of the key (see hhbatch.redact).
        redact.register_secret(key)
        if key and (not key.isascii() or any(c.isspace() for c in key)):
            raise UsageError(
                _(
                    "The API key {key} contains spaces or non-ASCII characters; copy it again "
                    "from Dashboard / Settings / API Keys."
                ).format(key=mask_api_key(key))
            )
        self.api_key_masked = mask_api_key(key)
        self.limiter = (
            limiter if limiter is not None else RateLimiter(background_kinds=BACKGROUND_KINDS)
        )
        self.policy = retry.RetryPolicy(max_retries=max_retries)
        self._sleep = sleep if sleep is not None else self.limiter.sleep
        self._rng = rng if rng is not None else self.limiter.rng
        self._chunk_size = upload_chunk_size
        # Set the instant a create is answered 402 (its head, before the body is read): no
        # further create leaves this client, so only those already on the wire can be refused.
        self.out_of_credits = False

        api_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if key:  # an empty key sends no header, so the server answers missing_api_key
            api_headers["Authorization"] = f"Bearer {key}"
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))
        self._api = httpx.AsyncClient(
            base_url=self.base_url,
            headers=api_headers,
            timeout=self._timeout,
            limits=POOL_LIMITS,
            transport=transport,
            follow_redirects=False,
            event_hooks={"response": [self._saw_response]},
        )
        # No default headers beyond the User-Agent: the presigned URL is its own credential.
        self._storage = httpx.AsyncClient(
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout),
            limits=POOL_LIMITS,
            transport=storage_transport if storage_transport is not None else transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r}, key={self.api_key_masked!r})"

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._api.aclose()
        await self._storage.aclose()

    # -------------------------------------------------------------- the four operations
    async def presign(self, kind: str, content_type: str, size_bytes: int) -> Presign:
        """Ask for a short-lived upload URL for a file of exactly ``size_bytes``."""
        body = {"kind": kind, "contentType": content_type, "sizeBytes": int(size_bytes)}
        data = await self._call("POST", spec.PRESIGN_PATH, KIND_PRESIGN, json=body, idempotent=True)
        upload_url, key = data.get("uploadUrl"), data.get("key")
        if not isinstance(upload_url, str) or not isinstance(key, str) or not upload_url or not key:
            raise ApiConnectionError(
                "The presign answer has no uploadUrl or key; try again later.", request_sent=True
            )
        if redact.contains_secret(upload_url):
            # The PUT goes to another host, which must never see the key: refuse to send it.
            raise UploadError(
                _(
                    "The upload URL the API gave carries your API key; it was not used, so the "
                    "key never left for the storage host. Try again later or contact support."
                )
            )
        return Presign(
            upload_url=upload_url,
            key=redact.redact(key),
            public_url=_redacted(data.get("publicUrl")),
            kind=redact.redact(str(data.get("kind") or kind)),
        )

    async def create_video(
        self, body: dict[str, Any], *, gate: AttemptGate | None = None
    ) -> CreatedVideo:
        """Start a job (credits are spent now). Retried only when nothing can have been created.

        ``gate`` hears about each attempt: ``waiting()`` before it queues for the rate limiter,
        ``admitted()`` the moment the limiter lets it go; the bytes leave only once it returned.
        The executor journals the create's intent there (and waits until it is durable), so a
        row still queued when the process dies was provably never sent. Either may raise to
        withdraw the create unsent.
        """
        data = await self._call(
            "POST", spec.VIDEOS_PATH, KIND_CREATE, json=body, idempotent=False, gate=gate
        )
        video_id = data.get("id")
        if isinstance(video_id, int) and not isinstance(video_id, bool):
            video_id = str(video_id)  # documented as a UUID string; a number is still an id
        if not isinstance(video_id, str) or not video_id.strip():
            # The server accepted the request but we cannot tell which job it made: unknown.
            raise ApiConnectionError(
                "The create answer carries no video id; the job may exist.", request_sent=True
            )
        status = redact.redact(str(data.get("status") or spec.STATUS_QUEUED))
        return CreatedVideo(id=redact.redact(video_id), status=status)

    async def get_video(self, video_id: str) -> Video:
        """Read one job's status and, once ready, its links."""
        path = f"{spec.VIDEOS_PATH}/{quote(str(video_id), safe='')}"
        data = await self._call("GET", path, KIND_POLL, idempotent=True)
        # Every field is server text that may reach the journal, the sheet or the terminal:
        # scrubbed of the key here, once (an errorMessage may quote the request).
        data = redact.redact_value(data)
        status = data.get("status")
        return Video(
            id=str(data.get("id") or video_id),
            status=status if isinstance(status, str) else ("" if status is None else str(status)),
            video_url=_opt_str(data.get("videoUrl")),
            thumbnail_url=_opt_str(data.get("thumbnailUrl")),
            error_message=_opt_str(data.get("errorMessage")),
            ready_at=_opt_str(data.get("readyAt")),
            raw=data,
        )

    async def probe(self) -> None:
        """Check, before anything is drawn or sent, that the API answers at all.

        ``GET /api/v1/videos/<nil UUID>`` changes nothing and costs nothing; a server that
        follows the contract answers 401 (bad key) or 404 (no such video), and any other HTTP
        answer still proves the base URL reaches a server. Raises :class:`ApiUnreachable` when no
        connection can be made (or nothing answers) within ``UNREACHABLE_BUDGET`` seconds, and
        the :class:`AuthError` of a 401, so a wrong key is told before any progress bar.
        """
        path = f"{spec.VIDEOS_PATH}/{PROBE_VIDEO_ID}"
        clock = self.limiter.clock
        started = clock()
        attempt = 0
        timeout = httpx.Timeout(PROBE_READ_TIMEOUT, connect=self._timeout.connect)
        while True:
            await self.limiter.acquire(KIND_POLL)
            try:
                response = await self._api.get(path, timeout=timeout)
            except httpx.HTTPError as err:
                err.args = tuple(redact.redact(a) if isinstance(a, str) else a for a in err.args)
                if not isinstance(err, (*_NEVER_SENT, httpx.TimeoutException)):
                    return  # a connection was accepted, then dropped: something is there
                delay = retry.backoff_delay(attempt, rng=self._rng)
                if clock() - started + delay + (timeout.connect or 0) > UNREACHABLE_BUDGET:
                    raise self._unreachable(err) from err
                attempt += 1
                await self._sleep(delay)
                continue
            if response.status_code == 401:
                error = self._status_error(response)
                if isinstance(error, AuthError):
                    raise error
                raise InvalidApiKey(str(error), status_code=401, body=error.body)
            return

    def _unreachable(self, err: BaseException) -> ApiUnreachable:
        detail = redact.redact(str(err)) or type(err).__name__
        return ApiUnreachable(
            _(
                "The HappyHorse API at {url} cannot be reached ({detail}). Check {env} (or "
                "base_url in hhbatch.yaml) and the network connection. Nothing was sent: run the "
                "same command again once it is fixed."
            ).format(url=self.base_url, detail=detail, env=spec.ENV_BASE_URL),
            url=self.base_url,
        )

    async def upload(
        self,
        presign: Presign,
        path: Path,
        content_type: str,
        size_bytes: int,
        progress: Callable[[int], None] | None = None,
        *,
        sha256: str | None = None,
    ) -> None:
        """PUT the file to the presigned URL, streamed from disk, without the API key.

        ``sha256``: the hash of the bytes that were validated. The bytes sent are hashed as they
        stream; when they differ (the file was changed on disk since it was checked), the last
        chunk is withheld, so the upload never completes, and :class:`FileChangedError` is
        raised: the presigned key must not be used, nor recorded under the old hash.

        ``progress(n)`` is called with each chunk's size as it is sent; when an attempt fails (to
        be repeated here, or raised), it is called with minus the bytes that attempt reported, so
        a progress bar counts each byte that stayed uploaded exactly once. A 403 (or a 400 that
        says so) means the URL expired: ``UploadError(expired=True)`` tells the caller to presign
        again. Network failures and storage 5xx are repeated here with the same URL.
        """
        path = Path(path)
        try:
            actual = path.stat().st_size
        except OSError as err:
            raise UploadError(
                _("Cannot read {path}: {reason}").format(path=path, reason=err.strerror or err)
            ) from err
        if actual != size_bytes:
            raise FileChangedError(
                _(
                    "{path} is {actual} bytes but was presigned for {size}; it changed since it "
                    "was checked."
                ).format(path=path, actual=actual, size=size_bytes),
                path=str(path),
            )
        headers = {"Content-Type": content_type, "Content-Length": str(size_bytes)}
        attempt = 0
        while True:
            sent = [0]

            def report(n: int, sent: list[int] = sent) -> None:
                sent[0] += n
                if progress is not None:
                    progress(n)

            try:
                await self._put_once(presign.upload_url, path, size_bytes, headers, report, sha256)
                return
            except (UploadError, asyncio.CancelledError) as err:
                if sent[0] and progress is not None:
                    progress(-sent[0])  # those bytes did not stay uploaded
                if not isinstance(err, UploadError):
                    raise
                if not (_upload_retryable(err) and attempt < self.policy.max_retries):
                    raise
                delay = retry.backoff_delay(
                    attempt,
                    rng=self._rng,
                    initial=self.policy.initial_delay,
                    maximum=self.policy.max_delay,
                )
                log.debug(
                    "upload of %s failed (%s); retry %d in %.2fs",
                    path.name,
                    err,
                    attempt + 1,
                    delay,
                )
                attempt += 1
                await self._sleep(delay)

    # -------------------------------------------------------------- plumbing
    async def _saw_response(self, response: httpx.Response) -> None:
        request = response.request
        create = request.method == "POST" and request.url.path.endswith(spec.VIDEOS_PATH)
        if create and response.status_code == 402:
            self.out_of_credits = True

    async def _call(
        self,
        method: str,
        path: str,
        kind: str,
        *,
        json: dict[str, Any] | None = None,
        idempotent: bool,
        gate: AttemptGate | None = None,
    ) -> dict[str, Any]:
        """One API operation: limiter, send, map, and retry as :mod:`hhbatch.retry` allows.

        A 429 is retried without counting as a failed attempt (it proves nothing happened, and
        the limiter finds the key's limit by meeting it now and then); it only gives up once the
        server has refused this request for ``retry.MAX_RATE_LIMITED_SEC``.
        """
        attempt = 0
        clock = self.limiter.clock
        unreached_since: float | None = None  # start of the first attempt that found no server
        refused_since: float | None = None
        while True:
            if gate is not None:
                await gate.waiting()
            await self.limiter.acquire(kind)
            sent_at = self.limiter.clock()
            if gate is not None:
                await gate.admitted()
            if kind == KIND_CREATE and self.out_of_credits:
                raise InsufficientCredits(
                    _("Not sent: the account ran out of credits earlier in this run."),
                    status_code=402,
                )
            began = clock()
            try:
                return await self._send_once(method, path, json)
            except ApiError as err:
                refused_for = 0.0
                if isinstance(err, RateLimited):
                    self.limiter.on_rate_limited(err.retry_after, sent_at=sent_at)
                    now = self.limiter.clock()
                    refused_since = now if refused_since is None else refused_since
                    refused_for = now - refused_since
                never_reached = (
                    isinstance(err, ApiConnectionError)
                    and not err.request_sent
                    and not isinstance(err.__cause__, httpx.PoolTimeout)  # our own pool, busy
                )
                if never_reached:
                    unreached_since = began if unreached_since is None else unreached_since
                else:
                    unreached_since = None
                if not self.policy.should_retry(
                    err, attempt=attempt, idempotent=idempotent, rate_limited_for=refused_for
                ):
                    if never_reached:
                        raise self._unreachable(err.__cause__ or err) from err
                    raise
                if isinstance(err, RateLimited):
                    log.debug("%s %s answered 429; waiting for the limiter", method, path)
                    continue  # free: the limiter's shared pause is the wait
                delay = self.policy.delay(err, attempt=attempt, rng=self._rng)
                if unreached_since is not None and (
                    clock() - unreached_since + delay + (self._timeout.connect or 0)
                    > UNREACHABLE_BUDGET
                ):
                    raise self._unreachable(err.__cause__ or err) from err
                log.debug(
                    "%s %s failed (%s); retry %d in %.2fs",
                    method,
                    path,
                    type(err).__name__,
                    attempt + 1,
                    delay,
                )
                attempt += 1
                if delay > 0:
                    await self._sleep(delay)

    async def _send_once(
        self, method: str, path: str, json: dict[str, Any] | None
    ) -> dict[str, Any]:
        try:
            response = await self._api.request(method, path, json=json)
        except httpx.HTTPError as err:
            self._raise_connection_error(err, f"{method} {path}")
        log.debug("%s %s -> %d", method, path, response.status_code)
        if response.status_code != 429 and response.status_code < 500:
            self.limiter.on_success()  # answered without throttling us, nor struggling
        if not response.is_success:
            raise self._status_error(response)
        try:
            data = response.json()
        except ValueError as err:
            raise ApiConnectionError(
                _("{where}: the answer (HTTP {status}) is not JSON.").format(
                    where=f"{method} {path}", status=response.status_code
                ),
                request_sent=True,
            ) from err
        if not isinstance(data, dict):
            raise ApiConnectionError(
                _("{where}: the answer (HTTP {status}) is not a JSON object.").format(
                    where=f"{method} {path}", status=response.status_code
                ),
                request_sent=True,
            )
        return data

    def _status_error(self, response: httpx.Response) -> ApiStatusError:
        """The one factory from an error response to the class for its code."""
        status = response.status_code
        envelope: dict[str, Any] | None = None
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            envelope = redact.redact_value(data["error"])
        where = f"{response.request.method} {response.request.url.path}"
        if envelope is not None:
            code = envelope.get("code") if isinstance(envelope.get("code"), str) else None
            message = envelope.get("message")
            if not isinstance(message, str) or not message.strip():
                message = _("HappyHorse answered HTTP {status} ({code}) to {where}.").format(
                    status=status, code=code or _("no code"), where=where
                )
            body = envelope
        else:
            code = None
            snippet = _snippet(redact.redact(response.text))
            if snippet:
                message = _("HappyHorse answered HTTP {status} to {where}: {text}").format(
                    status=status, where=where, text=snippet
                )
            else:
                message = _("HappyHorse answered HTTP {status} to {where}.").format(
                    status=status, where=where
                )
            if 300 <= status < 400:
                message = _("{message} Check {env} (redirects are not followed).").format(
                    message=message, env=spec.ENV_BASE_URL
                )
            body = {"raw": snippet} if snippet else {}
        cls = STATUS_ERROR_CLASSES.get(code or "")
        if cls is None and status == 429:
            cls = RateLimited  # a gateway's 429 without the envelope is still a 429
        if cls is None and status == 402:
            cls = InsufficientCredits  # 402 Payment Required means the same, whatever the body
        kwargs: dict[str, Any] = {"status_code": status, "body": body}
        if cls is None:
            cls = ApiStatusError
            kwargs["code"] = code or f"http_{status}"
        elif code is not None and code != cls.code:
            kwargs["code"] = code
        retry_after = retry.retry_after_from_headers(response.headers)
        if cls is RateLimited:
            err: ApiStatusError = RateLimited(message, retry_after=retry_after, **kwargs)
        else:
            err = cls(message, **kwargs)
            if retry_after is not None and status >= 500:
                err.retry_after = retry_after  # type: ignore[attr-defined]
        return err

    def _raise_connection_error(self, err: httpx.HTTPError, where: str) -> NoReturn:
        """Map an httpx failure: did the request provably never leave, or may the server have it?"""
        # The exception stays the __cause__ of what we raise: scrub its args too.
        err.args = tuple(redact.redact(a) if isinstance(a, str) else a for a in err.args)
        detail = redact.redact(str(err)) or type(err).__name__
        if isinstance(err, _NEVER_SENT):
            raise ApiConnectionError(
                _("Could not connect to {url} for {where}: {detail}").format(
                    url=self.base_url, where=where, detail=detail
                ),
                request_sent=False,
            ) from err
        if isinstance(err, httpx.TimeoutException):
            raise ApiTimeout(
                _("{where}: no answer from {url} in time ({error}).").format(
                    where=where, url=self.base_url, error=type(err).__name__
                ),
                request_sent=True,
            ) from err
        raise ApiConnectionError(
            _("{where}: the connection to {url} broke after the request was sent: {detail}").format(
                where=where, url=self.base_url, detail=detail
            ),
            request_sent=True,
        ) from err

    async def _put_once(
        self,
        url: str,
        path: Path,
        size: int,
        headers: dict[str, str],
        report: Callable[[int], None],
        sha256: str | None = None,
    ) -> None:
        where = _("upload of {file}").format(file=path.name)
        try:
            request = self._storage.build_request(
                "PUT",
                url,
                headers=headers,
                content=_file_chunks(path, size, self._chunk_size, report, sha256),
            )
            response = await self._storage.send(request)
        except _ChangedWhileSending as err:
            raise FileChangedError(
                _(
                    "{file} changed after it was checked (its contents are not the ones that "
                    "were validated); the upload was stopped and discarded."
                ).format(file=path),
                path=str(path),
            ) from err
        except httpx.InvalidURL as err:
            raise UploadError(
                _("{where}: the presigned URL is not usable ({error}).").format(
                    where=where, error=err
                )
            ) from err
        except httpx.HTTPError as err:
            detail = redact.redact(str(err)) or type(err).__name__
            if isinstance(err, httpx.TimeoutException):
                text = _("{where} timed out: {detail}")
            else:
                text = _("{where} failed: {detail}")
            raise UploadError(text.format(where=where, detail=detail)) from err
        except OSError as err:
            raise UploadError(
                _("{where}: cannot read the file ({reason}).").format(
                    where=where, reason=err.strerror or err
                )
            ) from err
        if response.is_success:
            return
        text = _snippet(redact.redact(response.text))
        expired = response.status_code == 403 or (
            response.status_code == 400 and "expire" in text.lower()
        )
        if text:
            message = _("{where}: storage answered HTTP {status}: {text}").format(
                where=where, status=response.status_code, text=text
            )
        else:
            message = _("{where}: storage answered HTTP {status}.").format(
                where=where, status=response.status_code
            )
        if expired:
            message = _("{message} The upload URL expired or was refused; presign again.").format(
                message=message
            )
        raise UploadError(
            message,
            status_code=response.status_code,
            expired=expired,
        )


# ------------------------------------------------------------------------------ helpers
# Failures that happen before a single byte of the request reached the server.
_NEVER_SENT = (
    httpx.ConnectError,  # refused, DNS failure, TLS handshake failed
    httpx.ConnectTimeout,
    httpx.PoolTimeout,  # waited for a free connection of our own pool
    httpx.ProxyError,  # the proxy refused to open the tunnel
    httpx.UnsupportedProtocol,
)


def _upload_retryable(err: UploadError) -> bool:
    """Network failures and storage 5xx are worth repeating with the same URL; refusals are not."""
    if err.status_code is None:
        return isinstance(err.__cause__, httpx.TransportError) and not isinstance(
            err.__cause__, httpx.UnsupportedProtocol
        )
    return err.status_code >= 500 or err.status_code == 429


class _ChangedWhileSending(Exception):
    """The bytes read for an upload are not the bytes that were validated."""


async def _file_chunks(
    path: Path,
    size: int,
    chunk_size: int,
    report: Callable[[int], None],
    sha256: str | None = None,
) -> AsyncIterator[bytes]:
    """Read ``path`` in chunks off the event loop; exactly ``size`` bytes, never the whole file.

    With ``sha256``, the bytes are hashed as they are read and the last chunk is only sent when
    the whole matches: a file changed since validation never completes an upload."""
    digest = hashlib.sha256() if sha256 else None
    remaining = size
    with path.open("rb") as handle:
        while remaining > 0:
            chunk = await asyncio.to_thread(handle.read, min(chunk_size, remaining))
            if not chunk:
                raise OSError(f"{path.name} became shorter while it was being uploaded")
            remaining -= len(chunk)
            if digest is not None:
                digest.update(chunk)
                if remaining == 0 and digest.hexdigest() != sha256:
                    raise _ChangedWhileSending(path.name)
            yield chunk
            report(len(chunk))


def _normalise_base_url(base_url: str) -> str:
    url = (base_url or "").strip().rstrip("/")
    if url.endswith(spec.API_PREFIX):  # people paste the API root; the paths add it again
        url = url[: -len(spec.API_PREFIX)].rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url, flags=re.IGNORECASE):
        raise UsageError(
            _(
                "The API address {url} is not an http(s) URL; set {env} to e.g. "
                "https://<your-domain>."
            ).format(url=repr(redact.mask_value(base_url)), env=spec.ENV_BASE_URL)
        )
    return url


def _redacted(value: Any) -> str | None:
    text = _opt_str(value)
    return None if text is None else redact.redact(text)


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _snippet(text: str) -> str:
    one_line = " ".join(text.split())
    if len(one_line) > ERROR_SNIPPET_CHARS:
        return one_line[: ERROR_SNIPPET_CHARS - 1] + "…"
    return one_line
