"""Spend caps and the credits estimate: what one run may spend, decided before anything is sent.

Why in the plan: credits are charged the moment a job is created, so a cap enforced while
submitting would already be a bill. ``--max-videos N``, ``--max-seconds S`` (total ``durationSec``
of new creates) and ``--max-credits C`` (also ``max_videos`` / ``max_seconds`` / ``max_credits``
in ``hhbatch.yaml``) bound the rows the plan submits; the rows past a cap stay for the next run,
exactly like ``--limit``'s, each with a note saying which cap held it back.

The API page publishes no prices. When the user writes theirs into ``hhbatch.yaml``
(``credits_per_second: {720p: 1, 1080p: 2}``), the plan shows the estimated credits and
``--max-credits`` can be used; without prices ``--max-credits`` is refused, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hhbatch import errors, spec
from hhbatch.i18n import _

SUBMIT = "submit"  # hhbatch.plan.SUBMIT / LATER (not imported: plan imports this module)
LATER = "later"


@dataclass(frozen=True)
class SpendCaps:
    """The most one run may create; ``None`` is no cap."""

    max_videos: int | None = None
    max_seconds: int | None = None
    max_credits: float | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.max_videos, self.max_seconds, self.max_credits))


@dataclass
class Spend:
    """What the plan submits this run, and what the caps held back."""

    videos: int = 0
    seconds: int = 0
    credits: float | None = None  # the estimate; None without prices for every resolution used
    unpriced: list[str] = field(default_factory=list)  # resolutions used that have no price
    priced: bool = False  # the user configured credits_per_second
    caps: SpendCaps = field(default_factory=SpendCaps)
    capped: int = 0  # rows left for a later run by a cap
    reached: str | None = None  # the cap that held rows back, as words ("at most 5 videos")


def row_seconds(request: Mapping[str, Any]) -> int:
    return int(request.get("durationSec") or 0)


def row_resolution(request: Mapping[str, Any]) -> str:
    return str(request.get("resolution") or spec.CREATE_FIELDS["resolution"].default)


def row_credits(request: Mapping[str, Any], prices: Mapping[str, float] | None) -> float | None:
    """Estimated credits of one create, or None when its resolution has no price."""
    if not prices:
        return None
    price = prices.get(row_resolution(request))
    return None if price is None else price * row_seconds(request)


def apply_caps(
    plans: Iterable[Any], caps: SpendCaps, prices: Mapping[str, float] | None = None
) -> Spend:
    """Turn the submitted rows past a cap (in sheet order) into ``later`` rows with a note, and
    return what the rest will spend. Raises :class:`~hhbatch.errors.UsageError` for
    ``max_credits`` without a price for every resolution it would have to count."""
    plans = list(plans)
    submitting = [rp for rp in plans if rp.action == SUBMIT]
    if caps.max_credits is not None and submitting:
        _require_prices(submitting, prices)
    spend = Spend(caps=caps, priced=bool(prices))
    credits = 0.0
    stopped = False
    for rp in submitting:
        request = rp.row.request
        seconds = row_seconds(request)
        cost = row_credits(request, prices) or 0.0
        reached = None if stopped else _cap_reached(caps, spend, seconds, credits + cost)
        if stopped or reached is not None:
            # In sheet order, like --limit: the next run starts where this one stopped.
            if not stopped:
                spend.reached = reached
                stopped = True
            rp.action = LATER
            rp.note = _(
                "Not submitted this run: the spending cap ({cap}) was reached; the next run "
                "takes it."
            ).format(cap=spend.reached)
            spend.capped += 1
            continue
        spend.videos += 1
        spend.seconds += seconds
        credits += cost
    used = {row_resolution(rp.row.request) for rp in submitting if rp.action == SUBMIT}
    spend.unpriced = sorted(r for r in used if not prices or r not in prices)
    spend.credits = credits if prices and not spend.unpriced else None
    return spend


def _cap_reached(caps: SpendCaps, spend: Spend, seconds: int, credits: float) -> str | None:
    if caps.max_videos is not None and spend.videos + 1 > caps.max_videos:
        return _("at most {count} videos per run").format(count=caps.max_videos)
    if caps.max_seconds is not None and spend.seconds + seconds > caps.max_seconds:
        return _("at most {seconds} seconds of video per run").format(seconds=caps.max_seconds)
    if caps.max_credits is not None and credits > caps.max_credits + 1e-9:
        return _("at most {credits} credits per run").format(credits=_number(caps.max_credits))
    return None


def _require_prices(submitting: list[Any], prices: Mapping[str, float] | None) -> None:
    if not prices:
        raise errors.UsageError(
            _(
                "--max-credits needs your prices, and the API page lists none: add them to "
                "hhbatch.yaml under credits_per_second (credits per second of video for 720p and "
                "1080p; see the example in 'hhbatch init'), or cap the run with --max-videos or "
                "--max-seconds instead."
            )
        )
    missing = sorted({row_resolution(rp.row.request) for rp in submitting} - set(prices))
    if missing:
        raise errors.UsageError(
            _(
                "--max-credits cannot count {resolutions} videos: credits_per_second in "
                "hhbatch.yaml has no price for them. Add one, or cap the run with --max-videos "
                "or --max-seconds instead."
            ).format(resolutions=", ".join(missing))
        )


def parse_prices(raw: Any) -> dict[str, float]:
    """``credits_per_second`` from hhbatch.yaml: a price (credits per second) per resolution.
    Raises ``ValueError`` with a sentence for anything else."""
    if not isinstance(raw, Mapping):
        raise ValueError(
            _("credits_per_second must give a price per resolution, e.g. 720p: 1 and 1080p: 2.")
        )
    prices: dict[str, float] = {}
    for name, value in raw.items():
        resolution = str(name).strip()
        if resolution not in spec.RESOLUTIONS:
            raise ValueError(
                _("credits_per_second: {name} is not a resolution ({known}).").format(
                    name=repr(resolution), known=", ".join(spec.RESOLUTIONS)
                )
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(
                _("credits_per_second: the price for {resolution} must be a number >= 0.").format(
                    resolution=resolution
                )
            )
        prices[resolution] = float(value)
    return prices


def to_json(spend: Spend | None) -> dict[str, Any]:
    """The spend part of the JSON summaries (camelCase)."""
    if spend is None:
        return {}
    return {
        "videos": spend.videos,
        "seconds": spend.seconds,
        "estimatedCredits": None if spend.credits is None else _json_number(spend.credits),
        "capped": spend.capped,
        "caps": {
            "maxVideos": spend.caps.max_videos,
            "maxSeconds": spend.caps.max_seconds,
            "maxCredits": spend.caps.max_credits,
        },
    }


def plan_lines(spend: Spend | None, line: Any) -> list[str]:
    """The plan's lines about money: the estimate and the rows a cap held back.
    ``line(label, count, extra)`` formats one plan line, as the CLI lays them out."""
    if spend is None:
        return []
    lines = []
    if spend.credits is not None:
        lines.append(
            line(
                _("estimated credits"),
                _number(spend.credits),
                _("(your prices from credits_per_second in hhbatch.yaml)"),
            )
        )
    elif spend.priced and spend.unpriced:
        lines.append(
            "  "
            + _("Estimated credits: unknown, hhbatch.yaml has no price for {resolutions}.").format(
                resolutions=", ".join(spend.unpriced)
            )
        )
    if spend.capped:
        lines.append(
            line(
                _("left for a later run"),
                spend.capped,
                _("(spending cap: {cap})").format(cap=spend.reached),
            )
        )
    return lines


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _json_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
