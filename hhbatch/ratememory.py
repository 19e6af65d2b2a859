"""The rate limit learned for each account, kept between runs in the per-user data folder.

Why remember it: the API page gives no rate-limit number, so each run finds it by climbing until
the server answers 429 (:mod:`hhbatch.ratelimit`). Climbing costs seconds and a few 429s; the
next run of the same key can start just below what the last one found instead. Why it fades:
a limit learned weeks ago may have changed (a plan upgrade, a busier account), so an old memory
pulls the start back towards the modest default, and a very old one is forgotten.

The file is ``ratelimits.json`` in :func:`hhbatch.userdata.home`, keyed by
:func:`hhbatch.userdata.account_id` (base URL and a one-way fingerprint of the key, never the
key). It is a hint, not a record: a missing, unreadable or corrupt file means "nothing known",
and it is replaced atomically (write a temporary file, then rename), so a crash mid-write
leaves the old one whole.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hhbatch import userdata
from hhbatch.ratelimit import DEFAULT_RATE

log = logging.getLogger(__name__)

FILE_NAME = "ratelimits.json"
FORMAT_VERSION = 1
# Start this far below what was found: near the limit, without a 429 in the first second.
START_BELOW = 0.8
# An older memory counts for less: halfway back to the modest start after a week …
HALF_LIFE_DAYS = 7.0
# … and is forgotten once it counts for less than this (about a month).
FORGET_BELOW = 0.05
# Accounts kept (the most recently used): sandboxes and test keys must not grow the file forever.
MAX_ACCOUNTS = 50


@dataclass(frozen=True)
class Remembered:
    """What a run learned about one account's limit."""

    level: float | None  # the rate the server last answered 429 at; None: never refused
    highest_ok: float  # the highest rate that went through (0: none measured)
    saved_at: float  # wall-clock seconds (time.time)


@dataclass(frozen=True)
class Start:
    """Where the next run's limiter starts, and the level near which it climbs gently."""

    rate: float
    level: float | None


def path() -> Path:
    return userdata.home() / FILE_NAME


def load(account: str, *, file: Path | None = None) -> Remembered | None:
    """The memory for ``account``, or None when there is none (or the file is unusable)."""
    entry = _read(file or path()).get(account)
    if not isinstance(entry, dict):
        return None
    level = _positive(entry.get("level"))
    highest = _positive(entry.get("highestOk")) or 0.0
    saved = entry.get("savedAt")
    if not isinstance(saved, (int, float)) or not math.isfinite(saved):
        return None
    if level is None and highest <= 0:
        return None
    return Remembered(level=level, highest_ok=highest, saved_at=float(saved))


def start_for(
    remembered: Remembered | None,
    *,
    ceiling: float | None,
    now: float | None = None,
    modest: float = DEFAULT_RATE,
) -> Start:
    """Where a run starts: a little below the remembered limit, faded towards ``modest`` by age.

    With a ``ceiling`` (``--rate``) and nothing remembered the run starts at the ceiling, as the
    user asked; the limiter never goes above it either way.
    """
    top = math.inf if ceiling is None else float(ceiling)
    base = min(modest, top) if ceiling is None else top
    if remembered is None:
        return Start(rate=base, level=None)
    age_days = max(0.0, ((time.time() if now is None else now) - remembered.saved_at) / 86400.0)
    weight = 0.5 ** (age_days / HALF_LIFE_DAYS)
    if weight < FORGET_BELOW:
        return Start(rate=base, level=None)
    found = remembered.level if remembered.level is not None else remembered.highest_ok
    target = START_BELOW * found
    if remembered.level is None:
        target = max(target, modest)  # it never refused us: no reason to start below modest
    rate = modest + (target - modest) * weight
    return Start(rate=max(min(rate, top), 1e-3), level=remembered.level)


def remember(
    account: str,
    *,
    level: float | None,
    highest_ok: float,
    refused: bool,
    file: Path | None = None,
    now: float | None = None,
) -> bool:
    """Keep what this run learned; returns whether the file was written.

    ``refused``: the server answered 429 during this run, so ``level`` is fresh. Without one, a
    run that went higher than the remembered level shows that level is out of date (it is
    dropped); a run that learned nothing new leaves the memory (and its age) alone.
    """
    target = file or path()
    accounts = _read(target)
    old = load(account, file=target)
    if refused and level is not None:
        new = Remembered(level=level, highest_ok=highest_ok, saved_at=0.0)
    elif highest_ok > 0 and (old is None or highest_ok > _reference(old)):
        new = Remembered(level=None, highest_ok=highest_ok, saved_at=0.0)
    else:
        return False
    accounts[account] = {
        "level": new.level,
        "highestOk": round(new.highest_ok, 3),
        "savedAt": time.time() if now is None else now,
    }
    if len(accounts) > MAX_ACCOUNTS:
        newest = sorted(accounts, key=lambda key: _saved_at(accounts[key]), reverse=True)
        accounts = {key: accounts[key] for key in newest[:MAX_ACCOUNTS]}
    try:
        _write_atomically(target, {"version": FORMAT_VERSION, "accounts": accounts})
    except OSError as err:  # a read-only or full disk must not fail the batch
        log.debug("could not keep the learned rate limit in %s: %s", target, err)
        return False
    return True


def _reference(remembered: Remembered) -> float:
    return remembered.level if remembered.level is not None else remembered.highest_ok


def _read(file: Path) -> dict[str, Any]:
    """The accounts mapping; empty when the file is missing, unreadable or not ours."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), dict):
        return {}
    return dict(data["accounts"])


def _write_atomically(file: Path, data: dict[str, Any]) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ratelimits-", suffix=".tmp", dir=file.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _positive(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


def _saved_at(entry: Any) -> float:
    saved = entry.get("savedAt") if isinstance(entry, dict) else None
    return float(saved) if isinstance(saved, (int, float)) else 0.0
