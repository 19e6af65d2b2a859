"""HTTP plumbing and the :class:`Sandbox` that runs the API and storage hosts in background threads.

Why the standard library (``ThreadingHTTPServer``): no dependency, starts in a few milliseconds
inside a test process, one thread per connection holds hundreds of concurrent connections on
loopback, and fault injection needs raw control of the socket (close it without any answer), which
an ASGI framework hides. Both servers bind 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from hhbatch.sandbox.api import ROUTE_INSPECT, ApiApp
from hhbatch.sandbox.config import SandboxConfig
from hhbatch.sandbox.context import Clock, Context, Reply, error
from hhbatch.sandbox.faults import Dice
from hhbatch.sandbox.state import State
from hhbatch.sandbox.storage import StorageApp

log = logging.getLogger("hhbatch.sandbox")

HOST = "127.0.0.1"
MAX_API_BODY = 1_000_000  # JSON bodies are tiny; refuse to buffer more
IDLE_TIMEOUT_SEC = 60.0  # a keep-alive connection idle this long is closed
POLL_INTERVAL_SEC = 0.02  # how fast stop() is noticed by serve_forever


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    # On Windows SO_REUSEADDR lets a second server steal a port already in use: only elsewhere.
    allow_reuse_address = os.name != "nt"

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], app: Any, state: State):
        self.app = app
        self.state = state
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((HOST, port), handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a reverse DNS lookup that can take seconds.
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every keep-alive handler thread so none outlives the sandbox."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)


class _Body:
    """The request body on the socket, read lazily (uploads can be 50 MB)."""

    def __init__(self, rfile: Any, length: int | None) -> None:
        self.rfile = rfile
        self.length = length
        self.consumed = 0

    def read(self, n: int) -> bytes:
        chunks = []
        remaining = n
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        self.consumed += len(data)
        return data

    def drain(self, limit: int) -> bool:
        """Skip the unread body when it is at most ``limit`` bytes; True when fully skipped."""
        if self.length is None:
            return False
        left = self.length - self.consumed
        if left > limit:
            return False
        while left > 0:
            got = len(self.read(min(left, 1 << 20)))
            if not got:
                return False
            left -= got
        return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HappyHorseSandbox/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT_SEC
    # Headers and body go out in separate writes; with Nagle on, keep-alive requests stall ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        state = self.server.state
        state.enter()
        try:
            path = urlsplit(self.path).path
            try:
                route, reply = self.answer(path)
            except Exception:
                log.exception("sandbox bug answering %s %s", self.command, self.path)
                route, reply = "error", error("internal_error", "Sandbox bug; see its log.")
                reply.close = True
            if route != ROUTE_INSPECT:  # reading the counters must not change them
                state.count_request(route, "dropped" if reply.drop else reply.status)
            log.debug("%s %s -> %s", self.command, path, "dropped" if reply.drop else reply.status)
            self._send(reply)
        finally:
            state.leave()

    def answer(self, path: str) -> tuple[str, Reply]:
        raise NotImplementedError

    def _length(self) -> int | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None
        raw = self.headers.get("Content-Length")
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            return None
        return value if value >= 0 else None

    def _send(self, reply: Reply) -> None:
        if reply.drop:
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class _ApiHandler(_Handler):
    server: _Server

    def answer(self, path: str) -> tuple[str, Reply]:
        body = self._read_json_body()
        if isinstance(body, Reply):
            return "body", body
        app: ApiApp = self.server.app
        return app.handle(self.command, path, self.headers, body)

    def _read_json_body(self) -> bytes | Reply:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = self._length() or 0
        if length > MAX_API_BODY:
            reply = error("invalid_input", "Request body is too large.")
            reply.close = True
            return reply
        return _Body(self.rfile, length).read(length)

    def _read_chunked(self) -> bytes | Reply:
        data = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip() or b"x", 16)
            except ValueError:
                reply = error("invalid_input", "Malformed chunked body.")
                reply.close = True
                return reply
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(data)
            if len(data) + size > MAX_API_BODY:
                reply = error("invalid_input", "Request body is too large.")
                reply.close = True
                return reply
            data += self.rfile.read(size)
            self.rfile.readline(1024)


class _StorageHandler(_Handler):
    server: _Server

    def answer(self, path: str) -> tuple[str, Reply]:
        app: StorageApp = self.server.app
        body = _Body(self.rfile, self._length())
        route, reply = app.handle(self.command, path, self.headers, body)
        if not reply.drop and not reply.close:
            # Anything left unread would be parsed as the next request: skip it or close.
            chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
            if chunked or (body.length is not None and not body.drain(MAX_API_BODY)):
                reply.close = True
        return route, reply


class Sandbox:
    """A local HappyHorse API (and storage host) on 127.0.0.1, for tests and for trying hhbatch.

    ``with Sandbox(SandboxConfig(...)) as sb:`` starts both servers on ephemeral ports; read
    ``sb.base_url``, ``sb.api_key``, ``sb.counters()``, ``sb.jobs()``.
    """

    def __init__(self, config: SandboxConfig | None = None, *, clock: Clock = time.time) -> None:
        config = config or SandboxConfig()
        state = State(credits={key: kc.credits for key, kc in config.keys.items()})
        self._ctx = Context(config=config, state=state, dice=Dice(config.seed), clock=clock)
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> Sandbox:
        if self._servers:
            return self
        ctx = self._ctx
        config = ctx.config
        api = _Server(config.port, _ApiHandler, ApiApp(ctx), ctx.state)
        try:
            storage = _Server(config.storage_port, _StorageHandler, StorageApp(ctx), ctx.state)
        except OSError:
            api.server_close()
            raise
        self._servers = [api, storage]
        ctx.base_url = f"http://{HOST}:{api.server_port}"
        ctx.storage_url = f"http://{HOST}:{storage.server_port}"
        for server, name in ((api, "api"), (storage, "storage")):
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": POLL_INTERVAL_SEC},
                name=f"hhbatch-sandbox-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        # Each shutdown() waits up to one poll interval: wait for both at once.
        waiters = [threading.Thread(target=server.shutdown) for server in self._servers]
        for waiter in waiters:
            waiter.start()
        for waiter in waiters:
            waiter.join()
        for server in self._servers:
            server.close_connections()
            server.server_close()
        for thread in self._threads:
            thread.join()
        self._servers = []
        self._threads = []

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests and the CLI read --------------------------------------------------------
    @property
    def config(self) -> SandboxConfig:
        return self._ctx.config

    @property
    def base_url(self) -> str:
        return self._ctx.base_url

    @property
    def storage_url(self) -> str:
        return self._ctx.storage_url

    @property
    def api_key(self) -> str:
        return self._ctx.config.demo_key

    @property
    def api_keys(self) -> list[str]:
        return list(self._ctx.config.keys)

    def counters(self) -> dict[str, Any]:
        return ApiApp(self._ctx).counters()

    def jobs(self) -> list[dict[str, Any]]:
        return ApiApp(self._ctx).jobs()

    def credits(self, api_key: str) -> float:
        with self._ctx.state.lock:
            return self._ctx.state.credits[api_key]

    def set_credits(self, api_key: str, credits: float) -> None:
        if api_key not in self._ctx.config.keys:
            raise KeyError(f"{api_key!r} is not a configured sandbox key")
        with self._ctx.state.lock:
            self._ctx.state.credits[api_key] = float(credits)

    def update_config(self, **overrides: Any) -> SandboxConfig:
        """Change settings while running (e.g. switch faults on mid-test). Ports and keys stay."""
        fixed = {"port", "storage_port", "keys", "seed"} & set(overrides)
        if fixed:
            raise ValueError(f"{sorted(fixed)[0]} cannot change while the sandbox runs")
        self._ctx.config = self._ctx.config.with_overrides(**overrides)
        return self._ctx.config
