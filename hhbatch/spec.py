"""The HappyHorse Customer API contract, as data: the one place its limits are written down.

Why one module: the loader (what a row may contain), the sandbox (what the fake server accepts),
the templates (dropdowns and numeric ranges) and the client (upload kinds, error codes) must never
disagree. Every number from ``shared/spec/API.md`` lives here and nowhere else; tests prove the
loader and the sandbox reach the same verdict on a table of edge values.

``check_create_body`` is the *strict* JSON-level rule set the real server applies. Spreadsheet
forgiveness (``6.0`` for 6, ``1080P``, Excel times for ``16:9``) belongs to the loader, which
normalises first and then asks :func:`check_field` for the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

API_PREFIX = "/api/v1"
PRESIGN_PATH = f"{API_PREFIX}/uploads/presign"
VIDEOS_PATH = f"{API_PREFIX}/videos"

ENV_API_KEY = "HAPPYHORSE_API_KEY"
ENV_BASE_URL = "HAPPYHORSE_BASE_URL"
API_KEY_PREFIX = "hh_live_"

# The page says "10 MB" without saying which megabyte. We stay under the smaller reading
# (1,000,000 bytes) so a file we accept is accepted by either server; configurable where it matters.
MEGABYTE = 1_000_000

# --- statuses -------------------------------------------------------------------------------
STATUS_QUEUED = "queued"
STATUS_PROCESSING = "processing"
STATUS_READY = "ready"
STATUS_FAILED = "failed"
DOCUMENTED_STATUSES = (STATUS_QUEUED, STATUS_PROCESSING, STATUS_READY, STATUS_FAILED)
# "Common statuses include …": anything else that appears is treated as still in progress.
TERMINAL_STATUSES = frozenset({STATUS_READY, STATUS_FAILED})

# The vendor recommends 5–10 s between polls of one job.
RECOMMENDED_POLL_INTERVAL_SEC = (5.0, 10.0)


# --- uploads --------------------------------------------------------------------------------
@dataclass(frozen=True)
class UploadKind:
    """One presign ``kind``: which content types it takes and how large a file may be."""

    name: str
    content_types: tuple[str, ...]
    max_megabytes: int

    def max_bytes(self, megabyte: int = MEGABYTE) -> int:
        return self.max_megabytes * megabyte


UPLOAD_KINDS: dict[str, UploadKind] = {
    "image": UploadKind("image", ("image/png", "image/jpeg", "image/webp"), 10),
    "video": UploadKind("video", ("video/mp4", "video/quicktime", "video/webm"), 50),
    "audio": UploadKind("audio", ("audio/mpeg", "audio/mp3", "audio/wav", "audio/webm"), 15),
}
DEFAULT_UPLOAD_KIND = "image"
# Voice recorders export .m4a; the API refuses it and the page says to convert first.
REFUSED_CONTENT_TYPES = {"audio/mp4": "convert it to MP3 or WAV first"}

# File extension → content type, per kind (".webm" means video or audio depending on the column).
EXTENSION_CONTENT_TYPES: dict[str, dict[str, str]] = {
    "image": {
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".webp": "image/webp",
    },
    "video": {".mp4": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm"},
    "audio": {".mp3": "audio/mpeg", ".wav": "audio/wav", ".webm": "audio/webm"},
}


# --- create-video fields --------------------------------------------------------------------
@dataclass(frozen=True)
class FieldSpec:
    """One documented field of ``POST /api/v1/videos``."""

    name: str
    type: str  # "string" | "integer" | "number" | "enum" | "key"
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    default: Any = None
    upload_kind: str | None = None  # for storage-key fields: the presign kind they take
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def allowed(self) -> str:
        """Human sentence of what is allowed, used in every error message about this field."""
        if self.type == "string":
            lo = int(self.minimum) if self.minimum is not None else 0
            hi = int(self.maximum) if self.maximum is not None else None
            if lo and hi:
                return f"text of {lo} to {hi} characters"
            return f"text of at most {hi} characters"
        if self.type == "integer":
            return f"a whole number from {_num(self.minimum)} to {_num(self.maximum)}"
        if self.type == "number":
            return f"a number from {_num(self.minimum)} to {_num(self.maximum)}"
        if self.type == "enum":
            return "one of " + ", ".join(self.choices)
        if self.type == "key":
            return f"a storage key from an upload of kind {self.upload_kind}"
        return self.type

    def allowed_text(self) -> str:
        """:meth:`allowed` in the interface language (the same numbers, read from this spec).

        Why a twin and not a translated ``allowed``: the sandbox server words its errors with
        ``allowed`` and must stay English, like the real API; messages for people use this one.
        """
        from hhbatch.i18n import _

        lo, hi = _num(self.minimum), _num(self.maximum)
        if self.type == "string":
            if self.minimum:
                return _("text of {lo} to {hi} characters").format(lo=lo, hi=hi)
            return _("text of at most {hi} characters").format(hi=hi)
        if self.type == "integer":
            return _("a whole number from {lo} to {hi}").format(lo=lo, hi=hi)
        if self.type == "number":
            return _("a number from {lo} to {hi}").format(lo=lo, hi=hi)
        if self.type == "enum":
            return _("one of {choices}").format(choices=_(", ").join(self.choices))
        if self.type == "key":
            return _("a storage key from an upload of kind {kind}").format(kind=self.upload_kind)
        return self.type


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)


ASPECT_RATIOS = ("16:9", "9:16", "1:1")
RESOLUTIONS = ("720p", "1080p")
CAMERA_MOTIONS = (
    "none",
    "static",
    "pan-left",
    "pan-right",
    "tilt-up",
    "tilt-down",
    "zoom-in",
    "zoom-out",
    "orbit",
)

CREATE_FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        FieldSpec(
            "prompt",
            "string",
            required=True,
            minimum=3,
            maximum=2000,
            description="What the video shows",
        ),
        FieldSpec("style", "string", maximum=50, description="Visual style, e.g. cinematic"),
        FieldSpec(
            "durationSec",
            "integer",
            required=True,
            minimum=3,
            maximum=12,
            description="Length in seconds; your plan may allow less",
        ),
        FieldSpec(
            "aspectRatio", "enum", choices=ASPECT_RATIOS, default="16:9", description="Frame shape"
        ),
        FieldSpec(
            "resolution",
            "enum",
            choices=RESOLUTIONS,
            default="720p",
            description="Output resolution",
        ),
        FieldSpec(
            "sourceImageKey",
            "key",
            upload_kind="image",
            description="First-frame / reference image",
        ),
        FieldSpec(
            "lastFrameKey",
            "key",
            upload_kind="image",
            description="Last-frame image (not together with a first-frame image)",
        ),
        FieldSpec("referenceVideoKey", "key", upload_kind="video", description="Reference video"),
        FieldSpec("referenceAudioKey", "key", upload_kind="audio", description="Reference audio"),
        FieldSpec(
            "cameraMotion",
            "enum",
            choices=CAMERA_MOTIONS,
            default="none",
            description="Camera movement",
        ),
        FieldSpec(
            "motionIntensity",
            "integer",
            minimum=1,
            maximum=5,
            description="How much movement, 1 to 5",
        ),
        FieldSpec(
            "cfgScale",
            "number",
            minimum=0,
            maximum=1,
            description="How closely to follow the prompt, 0 to 1",
        ),
    )
}

# Pairs of fields the API refuses together.
MUTUALLY_EXCLUSIVE = (("sourceImageKey", "lastFrameKey"),)

# Fields that do not exist; the page names them so integrators stop sending them.
FORBIDDEN_FIELDS = {
    "model": "the model is chosen by your plan",
    "inputImageUrl": "upload the file first and pass its key",
    "referenceVideoUrl": "upload the file first and pass its key",
    "audioUrl": "upload the file first and pass its key",
}

# The manifest names a local file (or an existing key) in these columns; the request has the key.
FILE_COLUMNS: dict[str, str] = {
    "sourceImage": "sourceImageKey",
    "lastFrame": "lastFrameKey",
    "referenceVideo": "referenceVideoKey",
    "referenceAudio": "referenceAudioKey",
}
# Storage keys the API hands out start like this; the loader passes such values through untouched.
STORAGE_KEY_PREFIX = "videos/"


# --- errors ---------------------------------------------------------------------------------
ERROR_CODES: dict[str, int] = {
    "missing_api_key": 401,
    "invalid_api_key": 401,
    "rate_limited": 429,
    "invalid_input": 400,
    "insufficient_credits": 402,
    "plan_gate_exceeded": 403,
    "upload_file_too_large": 413,
    "upload_type_not_supported": 400,
    "not_found": 404,
    "internal_error": 500,
}
PLAN_GATE_EXTRA_FIELDS = ("field", "requiredPlan", "currentPlan")


# --- verdicts -------------------------------------------------------------------------------
def check_field(name: str, value: Any) -> str | None:
    """Return why ``value`` is not acceptable for field ``name`` (strict JSON typing), else None.

    ``None`` as a value means "absent": fine for optional fields, a problem for required ones.
    """
    spec = CREATE_FIELDS[name]
    if value is None:
        return f"{name} is required" if spec.required else None
    # Each verdict below builds its sentence only when it refuses: the loader asks this of
    # every distinct cell of a sheet, nearly all of them acceptable.
    if spec.type in ("string", "key"):
        if not isinstance(value, str):
            return f"{name} must be {spec.allowed()}"
        length = len(value)  # Unicode code points, not bytes
        if spec.minimum is not None and length < spec.minimum:
            return f"{name} must be {spec.allowed()}, got {length}"
        if spec.maximum is not None and length > spec.maximum:
            return f"{name} must be {spec.allowed()}, got {length}"
        if spec.type == "key" and not value.strip():
            return f"{name} must be {spec.allowed()}"
        return None
    if spec.type == "enum":
        if not isinstance(value, str) or value not in spec.choices:
            return f"{name} must be {spec.allowed()}"
        return None
    # numbers: bool is an int in Python but not a number in JSON
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{name} must be {spec.allowed()}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name} must be {spec.allowed()}"
    if spec.type == "integer" and not float(value).is_integer():
        return f"{name} must be {spec.allowed()}"
    if spec.minimum is not None and value < spec.minimum:
        return f"{name} must be {spec.allowed()}"
    if spec.maximum is not None and value > spec.maximum:
        return f"{name} must be {spec.allowed()}"
    return None


def texts_acceptable(name: str, texts: Sequence[str]) -> bool:
    """``all(check_field(name, t) is None for t in texts)`` for a text field and trimmed,
    non-empty texts, asked of two texts instead of each: a text field's verdict above depends
    on the text's length alone, so the shortest and the longest stand for all (the loader
    judges 100,000 prompts this way). Any other kind of field: each one is asked."""
    if CREATE_FIELDS[name].type not in ("string", "key") or not texts:
        return all(check_field(name, text) is None for text in texts)
    lengths = list(map(len, texts))
    shortest = texts[lengths.index(min(lengths))]
    longest = texts[lengths.index(max(lengths))]
    return check_field(name, shortest) is None and check_field(name, longest) is None


def check_create_body(body: Any) -> list[str]:
    """Every reason the server would answer ``invalid_input`` to this JSON body (empty = valid).

    Storage-key ownership is not checked here: only the server knows which keys exist.
    """
    if not isinstance(body, dict):
        return ["Request body must be a JSON object."]
    problems: list[str] = []
    for name in body:
        if name in FORBIDDEN_FIELDS:
            problems.append(f"{name} is not accepted: {FORBIDDEN_FIELDS[name]}")
        elif name not in CREATE_FIELDS:
            problems.append(f"{name} is not a known field")
    for name in CREATE_FIELDS:
        problem = check_field(name, body.get(name))
        if problem:
            problems.append(problem)
    for a, b in MUTUALLY_EXCLUSIVE:
        if body.get(a) is not None and body.get(b) is not None:
            problems.append(f"{a} and {b} cannot be used together")
    return problems


def check_presign_body(body: Any, megabyte: int = MEGABYTE) -> tuple[str, str] | None:
    """Return ``(error_code, message)`` for a presign body the server refuses, else None."""
    if not isinstance(body, dict):
        return ("invalid_input", "Request body must be a JSON object.")
    kind_name = body.get("kind", DEFAULT_UPLOAD_KIND)
    if kind_name not in UPLOAD_KINDS:
        return ("invalid_input", f"kind must be one of {', '.join(UPLOAD_KINDS)}")
    content_type = body.get("contentType")
    size = body.get("sizeBytes")
    if not isinstance(content_type, str) or not content_type:
        return ("invalid_input", "contentType is required")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        return ("invalid_input", "sizeBytes must be a positive whole number")
    kind = UPLOAD_KINDS[kind_name]
    if content_type not in kind.content_types:
        return (
            "upload_type_not_supported",
            f"{content_type} is not accepted for {kind_name}; use {', '.join(kind.content_types)}",
        )
    if size > kind.max_bytes(megabyte):
        return (
            "upload_file_too_large",
            f"{kind_name} uploads are limited to {kind.max_megabytes} MB",
        )
    return None
