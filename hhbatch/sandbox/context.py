"""What both hosts (API and storage) share: the current config, the state, the dice and the clock.

Why an object and not globals: tests run many sandboxes in one process, each with its own ports,
credits and seed; ``update_config`` swaps the config atomically while requests are in flight.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hhbatch import spec
from hhbatch.sandbox.config import SandboxConfig
from hhbatch.sandbox.faults import Dice
from hhbatch.sandbox.state import State

Clock = Callable[[], float]


@dataclass
class Reply:
    """One HTTP answer; ``drop`` means close the connection without answering at all."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    close: bool = False

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return cls(status, body, "application/json; charset=utf-8", dict(headers or {}))

    @classmethod
    def dropped(cls) -> Reply:
        return cls(0, drop=True)


def error(code: str, message: str, status: int | None = None, **extra: Any) -> Reply:
    """The API's stable envelope ``{"error": {"code", "message", ...}}``."""
    payload = {"error": {"code": code, "message": message, **extra}}
    return Reply.json(status or spec.ERROR_CODES[code], payload)


@dataclass
class Context:
    config: SandboxConfig
    state: State
    dice: Dice
    clock: Clock = time.time
    secret: bytes = field(default_factory=lambda: os.urandom(16))
    base_url: str = ""
    storage_url: str = ""

    def sign(self, message: str) -> str:
        return hmac.new(self.secret, message.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def verify(self, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message), signature)

    def sleep_latency(self, route: str) -> None:
        """Added latency for routes fault injection covers (real time: it is network time)."""
        config = self.config
        if route in config.fault_routes:
            delay = self.dice.sample(config.latency_sec)
            if delay > 0:
                time.sleep(delay)
