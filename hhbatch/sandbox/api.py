"""The API host: the three documented ``/api/v1`` routes and the ``/_sandbox`` inspection routes.

Why the rules are checked in this order (route, auth, rate limit, faults, JSON, field rules, storage
keys, plan gates, credits): it is the order a real server must follow to answer every documented
code: a plan gate is only meaningful for a valid body, credits only for a permitted one. Field rules
come from :func:`hhbatch.spec.check_create_body` so the loader and the sandbox cannot disagree.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from hhbatch import spec
from hhbatch.sandbox.config import KeyConfig, PlanLimits, SandboxConfig
from hhbatch.sandbox.context import Context, Reply, error
from hhbatch.sandbox.faults import DROP, ERROR
from hhbatch.sandbox.state import Job, TokenBucket, Upload, iso_z

ROUTE_PRESIGN = f"POST {spec.PRESIGN_PATH}"
ROUTE_CREATE = f"POST {spec.VIDEOS_PATH}"
ROUTE_GET = f"GET {spec.VIDEOS_PATH}/{{id}}"
ROUTE_UNMATCHED = "unmatched"
ROUTE_INSPECT = "GET /_sandbox/{what}"

# Where each presign kind's uploads live (the vendor page's example keys).
KEY_PREFIXES = {
    "image": "videos/inputs",
    "video": "videos/reference-video",
    "audio": "videos/reference-audio",
}


# A plan gate: the ``field`` the error names, and whether a plan allows this body.
Gate = tuple[str, Callable[[PlanLimits, Mapping[str, Any]], bool]]
PLAN_GATES: tuple[Gate, ...] = (
    ("durationSec", lambda plan, body: body["durationSec"] <= plan.max_duration_sec),
    ("resolution", lambda plan, body: body.get("resolution") != "1080p" or plan.allow_1080p),
    (
        "referenceAudio",
        lambda plan, body: body.get("referenceAudioKey") is None or plan.allow_reference_audio,
    ),
    ("lastFrame", lambda plan, body: body.get("lastFrameKey") is None or plan.allow_last_frame),
    (
        "referenceVideo",
        lambda plan, body: body.get("referenceVideoKey") is None or plan.allow_reference_video,
    ),
)


def number(value: float) -> float | int:
    """JSON-friendly number: ``6`` rather than ``6.0`` when it is whole."""
    return int(value) if float(value).is_integer() else value


def extension(kind: str, content_type: str) -> str:
    for ext, ctype in spec.EXTENSION_CONTENT_TYPES.get(kind, {}).items():
        if ctype == content_type:
            return ext
    return "." + content_type.rsplit("/", 1)[-1]


class ApiApp:
    """Answers one parsed request on the API host."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # --- entry point ------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[str, Reply]:
        """Return ``(route name for the counters, reply)``."""
        if path.startswith("/_sandbox/"):
            return ROUTE_INSPECT, self.inspect(method, path)
        route, fault_name, video_id = self.match(method, path)
        if route == ROUTE_UNMATCHED:
            return route, error("not_found", f"No route for {method} {path}.")
        ctx = self.ctx
        config = ctx.config
        ctx.sleep_latency(fault_name)
        api_key, problem = self.authenticate(headers, config)
        if problem is not None:
            return route, problem
        limited = self.rate_limit(api_key, config)
        if limited is not None:
            return route, limited
        fault = ctx.dice.before_fault(config, fault_name)
        if fault == DROP:
            ctx.state.count("fault_drop")
            return route, Reply.dropped()
        if fault == ERROR:
            ctx.state.count("fault_error")
            return route, error("internal_error", "HappyHorse could not complete the request.")
        key_config = config.keys[api_key]
        if route == ROUTE_PRESIGN:
            return route, self.presign(body, key_config, config)
        if route == ROUTE_CREATE:
            return route, self.create(body, api_key, key_config, config)
        return route, self.get(video_id or "", key_config, config)

    @staticmethod
    def match(method: str, path: str) -> tuple[str, str, str | None]:
        if method == "POST" and path == spec.PRESIGN_PATH:
            return ROUTE_PRESIGN, "presign", None
        if method == "POST" and path == spec.VIDEOS_PATH:
            return ROUTE_CREATE, "create", None
        prefix = spec.VIDEOS_PATH + "/"
        if method == "GET" and path.startswith(prefix) and "/" not in path[len(prefix) :]:
            video_id = path[len(prefix) :]
            if video_id:
                return ROUTE_GET, "get", video_id
        return ROUTE_UNMATCHED, "", None

    # --- cross-cutting rules ----------------------------------------------------------------
    @staticmethod
    def authenticate(headers: Mapping[str, str], config: SandboxConfig) -> tuple[str, Reply | None]:
        header = (headers.get("Authorization") or "").strip()
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return "", error(
                "missing_api_key", "Send your API key as 'Authorization: Bearer hh_live_…'."
            )
        if not token.startswith(spec.API_KEY_PREFIX) or token not in config.keys:
            return "", error("invalid_api_key", "The API key is malformed, deleted or invalid.")
        return token, None

    def rate_limit(self, api_key: str, config: SandboxConfig) -> Reply | None:
        if config.rate is None:
            return None
        state = self.ctx.state
        with state.lock:
            bucket = state.buckets.get(api_key)
            now = self.ctx.clock()
            if bucket is None or bucket.rate != config.rate or bucket.burst != config.burst:
                bucket = state.buckets[api_key] = TokenBucket(config.rate, config.burst, now)
            wait = bucket.take(now)
            if wait is None:
                return None
            state.events["rate_limited"] += 1
        reply = error("rate_limited", "Too many requests for this API key; slow down.")
        if config.retry_after:
            if config.retry_after_decimal:
                reply.headers["Retry-After"] = f"{max(wait, 0.001):.3f}"
            else:
                reply.headers["Retry-After"] = str(max(1, int(-(-wait // 1))))
        return reply

    # --- presign ----------------------------------------------------------------------------
    def presign(self, raw: bytes, key_config: KeyConfig, config: SandboxConfig) -> Reply:
        body, problem = parse_json(raw)
        if problem is not None:
            return problem
        verdict = spec.check_presign_body(body, config.megabyte)
        if verdict is not None:
            code, message = verdict
            return error(code, message)
        ctx = self.ctx
        kind = body.get("kind", spec.DEFAULT_UPLOAD_KIND)
        content_type = body["contentType"]
        asset = f"{ctx.dice.bits(64):016x}"
        key = f"{KEY_PREFIXES[kind]}/{key_config.user}/{asset}{extension(kind, content_type)}"
        expires_at = ctx.clock() + config.upload_url_ttl_sec
        expires_ms = int(expires_at * 1000)
        token = f"{asset}.{expires_ms}.{ctx.sign(f'{asset}.{expires_ms}')}"
        upload = Upload(
            key, key_config.user, kind, content_type, body["sizeBytes"], token, expires_at
        )
        with ctx.state.lock:
            ctx.state.uploads[key] = upload
            ctx.state.uploads_by_token[asset] = upload
            ctx.state.events["presigns"] += 1
        return Reply.json(
            200,
            {
                "uploadUrl": f"{ctx.storage_url}/upload/{token}",
                "key": key,
                "publicUrl": f"{ctx.storage_url}/{quote(key)}",
                "kind": kind,
            },
        )

    # --- create -----------------------------------------------------------------------------
    def create(
        self, raw: bytes, api_key: str, key_config: KeyConfig, config: SandboxConfig
    ) -> Reply:
        body, problem = parse_json(raw)
        if problem is not None:
            return problem
        problems = spec.check_create_body(body)
        if problems:
            return error("invalid_input", "Request body is invalid: " + "; ".join(problems))
        problem = self.check_keys(body, key_config.user)
        if problem is not None:
            return problem
        problem = self.check_plan(body, key_config, config)
        if problem is not None:
            return problem
        ctx = self.ctx
        resolution = body.get("resolution") or spec.CREATE_FIELDS["resolution"].default
        cost = float(body["durationSec"]) * config.pricing[resolution]
        with ctx.state.lock:
            left = ctx.state.credits.get(api_key, 0.0)
            if left < cost:
                return error(
                    "insufficient_credits",
                    f"Not enough credits: this video needs {number(cost)}, "
                    f"the account has {number(left)}.",
                )
            ctx.state.credits[api_key] = left - cost
            job = self.new_job(body, api_key, key_config, config, cost)
            ctx.state.jobs[job.id] = job
            ctx.state.events["creates"] += 1
        ctx.state.record_body(key_config.user, body)
        fault = ctx.dice.after_create_fault(config)
        if fault == DROP:
            ctx.state.count("fault_create_then_drop")
            return Reply.dropped()
        if fault == ERROR:
            ctx.state.count("fault_create_then_fail")
            return error("internal_error", "HappyHorse could not complete the request.")
        return Reply.json(config.create_status_code, {"id": job.id, "status": spec.STATUS_QUEUED})

    def check_keys(self, body: Mapping[str, Any], user: str) -> Reply | None:
        """Storage keys must name a completed upload of this user, of the field's kind."""
        state = self.ctx.state
        for name, fspec in spec.CREATE_FIELDS.items():
            value = body.get(name)
            if fspec.type != "key" or value is None:
                continue
            with state.lock:
                upload = state.uploads.get(value)
            if upload is None or upload.user != user:
                return error("invalid_input", f"{name}: no upload with key {value!r} was found.")
            if not upload.completed:
                return error(
                    "invalid_input", f"{name}: the file for key {value!r} was never uploaded."
                )
            if upload.kind != fspec.upload_kind:
                return error(
                    "invalid_input",
                    f"{name} needs a key from an upload of kind {fspec.upload_kind}, "
                    f"but {value!r} is of kind {upload.kind}.",
                )
        return None

    @staticmethod
    def check_plan(
        body: Mapping[str, Any], key_config: KeyConfig, config: SandboxConfig
    ) -> Reply | None:
        current = config.plans[key_config.plan]
        for field_name, allows in PLAN_GATES:
            if allows(current, body):
                continue
            required = next((n for n, p in config.plans.items() if allows(p, body)), None)
            return error(
                "plan_gate_exceeded",
                "Your plan does not allow this video setting.",
                field=field_name,
                requiredPlan=required,
                currentPlan=key_config.plan,
            )
        return None

    def new_job(
        self,
        body: dict[str, Any],
        api_key: str,
        key_config: KeyConfig,
        config: SandboxConfig,
        cost: float,
    ) -> Job:
        ctx = self.ctx
        now = ctx.clock()
        prompt = body["prompt"]
        messages = config.failure_messages
        marker = config.fail_marker
        message: str | None = None
        found = fail_pattern(marker).search(prompt) if marker else None
        if found is not None:
            if found.group(1) is not None:
                index = int(found.group(1))
            else:
                index = ctx.state.fail_rotation
                ctx.state.fail_rotation += 1
            message = messages[index % len(messages)]
        if message is None and ctx.dice.chance(config.failure_probability):
            message = messages[ctx.dice.bits(16) % len(messages)]
        return Job(
            id=ctx.dice.uuid7(now),
            user=key_config.user,
            api_key=api_key,
            body=body,
            created_at=now,
            queue_sec=ctx.dice.sample(config.queue_sec),
            processing_sec=ctx.dice.sample(config.processing_sec),
            fails=message is not None,
            error_message=message,
            has_thumbnail=ctx.dice.chance(config.thumbnail_probability),
            cost=cost,
        )

    # --- get --------------------------------------------------------------------------------
    def get(self, video_id: str, key_config: KeyConfig, config: SandboxConfig) -> Reply:
        try:
            uuid.UUID(video_id)
        except ValueError:
            return error("invalid_input", f"{video_id!r} is not a video id.")
        with self.ctx.state.lock:
            job = self.ctx.state.jobs.get(video_id.lower())
        if job is None or job.user != key_config.user:
            return error("not_found", "Video not found.")
        return Reply.json(200, self.view(job, config))

    def view(self, job: Job, config: SandboxConfig) -> dict[str, Any]:
        status = job.status_at(self.ctx.clock(), config.extra_status)
        ready = status == spec.STATUS_READY
        body = job.body
        outputs = f"{self.ctx.storage_url}/videos/outputs/{job.id}"
        return {
            "id": job.id,
            "status": status,
            "prompt": body["prompt"],
            "style": body.get("style"),
            "durationSec": number(body["durationSec"]),
            "aspectRatio": body.get("aspectRatio") or spec.CREATE_FIELDS["aspectRatio"].default,
            "resolution": body.get("resolution") or spec.CREATE_FIELDS["resolution"].default,
            "videoUrl": f"{outputs}.mp4" if ready else None,
            "thumbnailUrl": f"{outputs}.png" if ready and job.has_thumbnail else None,
            "errorMessage": job.error_message if status == spec.STATUS_FAILED else None,
            "readyAt": iso_z(job.finished_at) if ready else None,
        }

    # --- inspection -------------------------------------------------------------------------
    def inspect(self, method: str, path: str) -> Reply:
        if method == "GET" and path == "/_sandbox/counters":
            return Reply.json(200, self.counters())
        if method == "GET" and path == "/_sandbox/jobs":
            return Reply.json(200, self.jobs())
        return error("not_found", f"No route for {method} {path}.")

    def counters(self) -> dict[str, Any]:
        snapshot = self.ctx.state.counters()
        snapshot["credits"] = {k: number(v) for k, v in snapshot["credits"].items()}
        return snapshot

    def jobs(self) -> list[dict[str, Any]]:
        config = self.ctx.config
        with self.ctx.state.lock:
            jobs = list(self.ctx.state.jobs.values())
        out = []
        for job in jobs:
            view = self.view(job, config)
            out.append(
                {
                    "id": job.id,
                    "user": job.user,
                    "api_key": job.api_key,
                    "body": job.body,
                    "status": view["status"],
                    "created_at": iso_z(job.created_at),
                    "finishes_at": iso_z(job.finished_at),
                    "will_fail": job.fails,
                    "error_message": job.error_message,
                    "credits_charged": number(job.cost),
                    "video_url": view["videoUrl"],
                    "thumbnail_url": view["thumbnailUrl"],
                }
            )
        return out


def fail_pattern(marker: str) -> re.Pattern[str]:
    """``[fail]`` fails with the next message in turn; ``[fail:3]`` with message 3."""
    if marker.endswith("]"):
        return re.compile(re.escape(marker[:-1]) + r"(?::(\d+))?\]")
    return re.compile(re.escape(marker) + r"(?::(\d+))?")


def parse_json(raw: bytes) -> tuple[Any, Reply | None]:
    try:
        return json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError):
        return None, error("invalid_input", "Request body is invalid: it is not JSON.")
