"""What the sandbox makes of what the API page leaves open: plans, prices, limits, timings, faults.

Why a dataclass with defaults for everything: tests and other modules build one in a line
(``SandboxConfig(rate=None)``), users edit the same settings as YAML (``hhbatch sandbox --config``).
The API's documented limits are NOT settings here: they come from :mod:`hhbatch.spec`. Only what the
vendor page leaves open (prices, plan limits, rate limit, timings, URL lifetime, the megabyte) is
configurable, so hhbatch can be tested against every reading of it.

Defaults are fast (jobs finish in ~0.15 s) so a test needs no setup; ``templates/sandbox.yaml``
shows realistic values for a demo.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from hhbatch import spec
from hhbatch.errors import ConfigError

# A duration in seconds, or a [low, high] range sampled uniformly per job / request.
Range = Union[float, tuple[float, float]]  # noqa: UP007 - evaluated at runtime on 3.10

DEMO_KEY = f"{spec.API_KEY_PREFIX}sandbox_demo"
OTHER_KEY = f"{spec.API_KEY_PREFIX}sandbox_other"
BASIC_KEY = f"{spec.API_KEY_PREFIX}sandbox_basic"

# Routes fault injection may hit; "upload" is the storage PUT, "download" a storage GET.
FAULT_ROUTES = ("presign", "create", "get", "upload", "download")

# Hostile but real-looking failure messages: clients must store them as text, never as a formula
# (=, +, -, @ at the start), keep CJK intact, cope with > 2,000 characters, commas, quotes,
# newlines, and a control character that XML (xlsx) cannot hold.
_LONG_MESSAGE = "Render pipeline aborted after repeated worker crashes. " + " ".join(
    f"[worker {i:03d}] CUDA error: an illegal memory access was encountered; retrying segment."
    for i in range(40)
)
DEFAULT_FAILURE_MESSAGES: tuple[str, ...] = (
    "Generation failed: the prompt was flagged by content moderation.",
    '=HYPERLINK("https://evil.example/phish","Click to fix")',
    "+1 frames could not be rendered; please retry",
    "-1 credits were refunded; generation timed out",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "生成失败:提示词包含不支持的内容,请修改后重试。",
    _LONG_MESSAGE,
    'Encoder error: "segment 3", codec=h264,\nsee log; tab\there',
    "Upstream error \x0b (vertical tab) in frame 12",
)


@dataclass(frozen=True)
class KeyConfig:
    """One API key: the user it belongs to (ownership is per user), its plan and its credits."""

    user: str
    plan: str
    credits: float


@dataclass(frozen=True)
class PlanLimits:
    """What a plan allows. Not in the vendor page: hhbatch must learn them from 403 answers."""

    max_duration_sec: float = spec.CREATE_FIELDS["durationSec"].maximum or 0
    allow_1080p: bool = True
    allow_reference_audio: bool = True
    allow_last_frame: bool = True
    allow_reference_video: bool = True


def _default_keys() -> dict[str, KeyConfig]:
    return {
        DEMO_KEY: KeyConfig("demo", "pro", 1_000_000),
        OTHER_KEY: KeyConfig("other", "pro", 1_000_000),
        BASIC_KEY: KeyConfig("basic", "basic", 1_000),
    }


def _default_plans() -> dict[str, PlanLimits]:
    # Order matters: the first plan that allows a setting is the error's ``requiredPlan``.
    return {
        "basic": PlanLimits(
            max_duration_sec=6,
            allow_1080p=False,
            allow_reference_audio=False,
            allow_last_frame=False,
            allow_reference_video=True,
        ),
        "pro": PlanLimits(),
    }


def _default_pricing() -> dict[str, float]:
    return {"720p": 1.0, "1080p": 2.0}


@dataclass(frozen=True)
class SandboxConfig:
    """Every setting of the sandbox; see ``templates/sandbox.yaml`` for what each one means."""

    port: int = 0  # API host; 0 = ephemeral
    storage_port: int = 0  # storage host (presigned uploads, downloads); 0 = ephemeral
    keys: Mapping[str, KeyConfig] = field(default_factory=_default_keys)
    plans: Mapping[str, PlanLimits] = field(default_factory=_default_plans)
    pricing: Mapping[str, float] = field(default_factory=_default_pricing)  # credits per second
    # Token bucket per key over every /api/v1 request; rate None = unlimited.
    rate: float | None = 20.0
    burst: int = 20
    retry_after: bool = True  # send Retry-After on 429
    retry_after_decimal: bool = False  # "0.25" instead of rounding up to whole seconds
    queue_sec: Range = 0.05
    processing_sec: Range = 0.1
    failure_probability: float = 0.0
    fail_marker: str | None = "[fail]"  # prompts containing it fail; "[fail:N]" picks message N
    failure_messages: tuple[str, ...] = DEFAULT_FAILURE_MESSAGES
    thumbnail_probability: float = 1.0
    extra_status: str | None = None  # an undocumented status shown in the second half of processing
    error_probability: float = 0.0  # 500 internal_error before doing anything
    drop_probability: float = 0.0  # close the connection without an answer, before doing anything
    latency_sec: Range = 0.0  # added before answering every faultable request
    create_then_fail: float = 0.0  # POST /videos creates (and charges), then answers 500
    create_then_drop: float = 0.0  # POST /videos creates (and charges), then drops the connection
    fault_routes: tuple[str, ...] = ("presign", "create", "get")
    upload_url_ttl_sec: float = 900.0
    megabyte: int = spec.MEGABYTE
    create_status_code: int = 200
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("queue_sec", "processing_sec", "latency_sec"):
            object.__setattr__(self, name, _range(name, getattr(self, name)))
        object.__setattr__(self, "keys", {str(k): _key(k, v) for k, v in self.keys.items()})
        object.__setattr__(self, "plans", {str(k): _plan(k, v) for k, v in self.plans.items()})
        object.__setattr__(self, "pricing", {str(k): float(v) for k, v in self.pricing.items()})
        object.__setattr__(self, "failure_messages", tuple(self.failure_messages))
        object.__setattr__(self, "fault_routes", tuple(self.fault_routes))
        self._validate()

    def _validate(self) -> None:
        if not self.keys:
            raise ConfigError("sandbox: at least one API key must be configured.")
        for key, kc in self.keys.items():
            if kc.plan not in self.plans:
                raise ConfigError(
                    f"sandbox: key {key!r} is on plan {kc.plan!r}, which is not among plans "
                    f"{', '.join(self.plans)}."
                )
        missing = [r for r in spec.RESOLUTIONS if r not in self.pricing]
        if missing:
            raise ConfigError(f"sandbox: pricing has no price for {', '.join(missing)}.")
        for name in (
            "failure_probability",
            "thumbnail_probability",
            "error_probability",
            "drop_probability",
            "create_then_fail",
            "create_then_drop",
        ):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ConfigError(
                    f"sandbox: {name} must be a probability from 0 to 1, got {value}."
                )
        if self.rate is not None and self.rate <= 0:
            raise ConfigError("sandbox: rate must be positive, or null for no rate limit.")
        if self.burst < 1:
            raise ConfigError("sandbox: burst must be at least 1.")
        if not self.failure_messages:
            raise ConfigError("sandbox: failure_messages must not be empty.")
        unknown = [r for r in self.fault_routes if r not in FAULT_ROUTES]
        if unknown:
            raise ConfigError(
                f"sandbox: unknown fault route {unknown[0]!r}; known: {', '.join(FAULT_ROUTES)}."
            )
        if self.megabyte <= 0 or self.upload_url_ttl_sec < 0:
            raise ConfigError("sandbox: megabyte must be positive and upload_url_ttl_sec >= 0.")

    @property
    def demo_key(self) -> str:
        """The first configured key: what ``hhbatch sandbox`` prints and ``Sandbox.api_key`` is."""
        return next(iter(self.keys))

    def with_overrides(self, **overrides: Any) -> SandboxConfig:
        """A copy with some settings changed (same validation as the constructor)."""
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ConfigError(f"sandbox: unknown setting {unknown[0]!r}.")
        return dataclasses.replace(self, **overrides)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, source: str = "config") -> SandboxConfig:
        """Build from parsed YAML; list values become tuples, nested keys/plans become objects."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(
                f"sandbox {source}: unknown setting {unknown[0]!r}; "
                f"known: {', '.join(sorted(known))}."
            )
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if isinstance(value, list):
                value = tuple(value)
            values[name] = value
        try:
            return cls(**values)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"sandbox {source}: {err}") from err

    @classmethod
    def from_yaml(cls, path: str | Path) -> SandboxConfig:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
        except FileNotFoundError as err:
            raise ConfigError(f"Sandbox config {path} does not exist.") from err
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise ConfigError(f"Sandbox config {path} could not be read: {err}") from err
        if not isinstance(raw, dict):
            raise ConfigError(f"Sandbox config {path} must be a mapping of settings.")
        return cls.from_dict(raw, source=str(path))


def _range(name: str, value: Any) -> Range:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ConfigError(f"sandbox: {name} must be a number or a [low, high] pair.")
        lo, hi = float(value[0]), float(value[1])
        if lo < 0 or hi < lo:
            raise ConfigError(f"sandbox: {name} range must satisfy 0 <= low <= high.")
        return (lo, hi)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"sandbox: {name} must be a non-negative number of seconds.")
    return float(value)


def _key(key: Any, value: Any) -> KeyConfig:
    if isinstance(value, KeyConfig):
        return value
    if not isinstance(value, Mapping) or not {"user", "plan"} <= set(value):
        raise ConfigError(f"sandbox: key {key!r} needs user, plan and credits.")
    extra = sorted(set(value) - {"user", "plan", "credits"})
    if extra:
        raise ConfigError(f"sandbox: key {key!r} has unknown setting {extra[0]!r}.")
    return KeyConfig(str(value["user"]), str(value["plan"]), float(value.get("credits", 0)))


def _plan(name: Any, value: Any) -> PlanLimits:
    if isinstance(value, PlanLimits):
        return value
    if value is None:
        return PlanLimits()
    if not isinstance(value, Mapping):
        raise ConfigError(f"sandbox: plan {name!r} must be a mapping of limits.")
    known = {f.name for f in dataclasses.fields(PlanLimits)}
    extra = sorted(set(value) - known)
    if extra:
        raise ConfigError(
            f"sandbox: plan {name!r} has unknown limit {extra[0]!r}; "
            f"known: {', '.join(sorted(known))}."
        )
    return PlanLimits(**value)
