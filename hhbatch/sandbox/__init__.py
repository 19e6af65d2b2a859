"""A faithful local HappyHorse API (plus its storage host) for tests and for trying hhbatch.

``with Sandbox(SandboxConfig(...)) as sb:`` serves the documented API on 127.0.0.1 with every
documented rule and error code, the rules from :mod:`hhbatch.spec`, and configurable answers to
what the vendor page leaves open (plans, prices, rate limit, timings, faults).
"""

from __future__ import annotations

from hhbatch.sandbox.config import (
    BASIC_KEY,
    DEFAULT_FAILURE_MESSAGES,
    DEMO_KEY,
    OTHER_KEY,
    KeyConfig,
    PlanLimits,
    SandboxConfig,
)
from hhbatch.sandbox.server import Sandbox

__all__ = [
    "BASIC_KEY",
    "DEFAULT_FAILURE_MESSAGES",
    "DEMO_KEY",
    "OTHER_KEY",
    "KeyConfig",
    "PlanLimits",
    "Sandbox",
    "SandboxConfig",
]
