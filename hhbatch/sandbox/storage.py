"""The storage host: presigned PUT uploads and public downloads, answering like an object store.

Why a separate host and S3-style XML errors: the real upload URL lives on a storage domain, not
the API; a client that sends its API key there leaks it to a third party, and one that sends a
different Content-Type, a different size, no Content-Length (chunked) or an expired URL gets the
object store's refusal, not the API's envelope. The sandbox reproduces each of those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol
from urllib.parse import unquote
from xml.sax.saxutils import escape

from hhbatch import spec
from hhbatch.sandbox import assets
from hhbatch.sandbox.context import Context, Reply
from hhbatch.sandbox.faults import DROP, ERROR

ROUTE_UPLOAD = "PUT /upload/{token}"
ROUTE_OUTPUT = "GET /videos/outputs/{file}"
ROUTE_OBJECT = "GET /{key}"
ROUTE_OTHER = "storage unmatched"

# Keep uploaded bytes (to serve publicUrl) only for small files; a demo may upload gigabytes.
KEEP_BYTES_UP_TO = 2_000_000


class Body(Protocol):
    """The request body as the HTTP layer exposes it: read it, or skip it."""

    length: int | None  # None when chunked or absent

    def read(self, n: int) -> bytes: ...

    def drain(self, limit: int) -> bool: ...


def s3_error(status: int, code: str, message: str, *, close: bool = False) -> Reply:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        "<RequestId>SANDBOX</RequestId></Error>"
    )
    return Reply(status, xml.encode("utf-8"), "application/xml", close=close)


def drain_limit(megabyte: int) -> int:
    """The largest body worth reading just to answer politely: the biggest upload kind."""
    return max(k.max_bytes(megabyte) for k in spec.UPLOAD_KINDS.values()) + 1_000_000


class StorageApp:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: Body
    ) -> tuple[str, Reply]:
        ctx = self.ctx
        config = ctx.config
        has_auth = headers.get("Authorization") is not None
        if has_auth:
            ctx.state.count("storage_authorization_headers")
        if method == "PUT" and path.startswith("/upload/"):
            route, fault_name = ROUTE_UPLOAD, "upload"
        elif method in ("GET", "HEAD") and path.startswith("/videos/outputs/"):
            route, fault_name = ROUTE_OUTPUT, "download"
        elif method in ("GET", "HEAD"):
            route, fault_name = ROUTE_OBJECT, "download"
        else:
            return ROUTE_OTHER, self._refuse(body, 405, "MethodNotAllowed", "Method not allowed.")
        ctx.sleep_latency(fault_name)
        fault = ctx.dice.before_fault(config, fault_name)
        if fault == DROP:
            ctx.state.count("fault_drop")
            return route, Reply.dropped()
        if fault == ERROR:
            ctx.state.count("fault_error")
            return route, self._refuse(
                body, 500, "InternalError", "We encountered an internal error."
            )
        if route == ROUTE_UPLOAD:
            if has_auth:
                return route, self._refuse(
                    body,
                    400,
                    "InvalidArgument",
                    "Only one auth mechanism allowed; the presigned URL already authorizes this "
                    "request, do not send an Authorization header.",
                )
            return route, self.put(path[len("/upload/") :], headers, body)
        if route == ROUTE_OUTPUT:
            return route, self.output(path[len("/videos/outputs/") :])
        return route, self.object(unquote(path[1:]))

    def _refuse(self, body: Body, status: int, code: str, message: str) -> Reply:
        """Answer without storing; skip the body first so the answer is not lost to a reset."""
        drained = body.length is not None and body.drain(drain_limit(self.ctx.config.megabyte))
        return s3_error(status, code, message, close=not drained)

    # --- upload -----------------------------------------------------------------------------
    def put(self, token: str, headers: Mapping[str, str], body: Body) -> Reply:
        ctx = self.ctx
        asset, _, rest = token.partition(".")
        expires_ms, _, signature = rest.partition(".")
        with ctx.state.lock:
            upload = ctx.state.uploads_by_token.get(asset)
        if upload is None or not ctx.verify(f"{asset}.{expires_ms}", signature):
            return self._refuse(
                body, 403, "SignatureDoesNotMatch", "The request signature does not match."
            )
        if ctx.clock() >= int(expires_ms) / 1000:
            return self._refuse(body, 403, "AccessDenied", "Request has expired.")
        if body.length is None:
            return s3_error(
                411,
                "MissingContentLength",
                "You must provide the Content-Length header.",
                close=True,
            )
        content_type = headers.get("Content-Type")
        if content_type != upload.content_type:
            return self._refuse(
                body,
                400,
                "InvalidRequest",
                f"Content-Type {content_type!r} does not match the presigned "
                f"{upload.content_type!r}.",
            )
        if body.length != upload.size:
            code = "EntityTooLarge" if body.length > upload.size else "EntityTooSmall"
            return self._refuse(
                body,
                400,
                code,
                f"Content-Length {body.length} does not match the presigned size {upload.size}.",
            )
        data = body.read(body.length)
        if len(data) < body.length:
            return Reply.dropped()  # the client went away mid-upload
        with ctx.state.lock:
            if not upload.completed:
                ctx.state.events["uploads_completed"] += 1
            upload.completed = True
            upload.data = data if len(data) <= KEEP_BYTES_UP_TO else None
        return Reply(200, b"", "text/plain", {"ETag": f'"{asset}"'})

    # --- downloads --------------------------------------------------------------------------
    def output(self, name: str) -> Reply:
        video_id, _, ext = name.rpartition(".")
        with self.ctx.state.lock:
            job = self.ctx.state.jobs.get(video_id)
        if job is not None:
            status = job.status_at(self.ctx.clock())
            if status == spec.STATUS_READY:
                if ext == "mp4":
                    return Reply(200, assets.mp4_bytes(), "video/mp4")
                if ext == "png" and job.has_thumbnail:
                    return Reply(200, assets.png_bytes(), "image/png")
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")

    def object(self, key: str) -> Reply:
        with self.ctx.state.lock:
            upload = self.ctx.state.uploads.get(key)
        if upload is None or not upload.completed or upload.data is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return Reply(200, upload.data, upload.content_type)
