"""``hhbatch.yaml``: per-campaign settings that a marketing team edits, never the API key.

Looked up beside the manifest unless ``--config`` names a file. Every key is optional.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hhbatch import redact, spec
from hhbatch.caps import parse_prices
from hhbatch.errors import ConfigError
from hhbatch.i18n import _

CONFIG_FILENAME = "hhbatch.yaml"


@dataclass
class Config:
    base_url: str | None = None
    # Defaults for any create field (or file column) when a row leaves the cell empty.
    defaults: dict[str, Any] = field(default_factory=dict)
    # Extra header names per field, e.g. {"durationSec": ["Länge", "秒数"]}.
    aliases: dict[str, list[str]] = field(default_factory=dict)
    sheet: str | None = None
    # The most requests per second (the key's limit, when the user knows it). None: hhbatch
    # finds the limit itself from the server's 429s (see hhbatch/ratelimit.py).
    rate: float | None = None
    concurrency: int = 8
    poll_interval: float = 5.0
    megabyte: int = spec.MEGABYTE
    # Spend caps for one run (hhbatch.caps); the --max-* options override them.
    max_videos: int | None = None
    max_seconds: int | None = None
    max_credits: float | None = None
    # The user's prices, credits per second of video by resolution (the API page has none).
    credits_per_second: dict[str, float] = field(default_factory=dict)
    # Text encoding of a CSV/TXT manifest (e.g. cp1252, gbk) when detection cannot tell.
    encoding: str | None = None
    source: Path | None = None  # the file it came from, if any


_KNOWN_KEYS = {
    "base_url",
    "defaults",
    "aliases",
    "sheet",
    "rate",
    "concurrency",
    "poll_interval",
    "megabyte",
    "max_videos",
    "max_seconds",
    "max_credits",
    "credits_per_second",
    "encoding",
}


def load_config(explicit: Path | None, manifest: Path | None = None) -> Config:
    """Load ``explicit`` (must exist) or ``hhbatch.yaml`` beside the manifest (may be absent)."""
    path = explicit
    if path is None and manifest is not None:
        candidate = Path(manifest).resolve().parent / CONFIG_FILENAME
        path = candidate if candidate.is_file() else None
    if path is None:
        return Config()
    path = Path(path)
    import yaml  # here, not at the top: `hhbatch --help` and `init` never read a config

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except FileNotFoundError as err:
        raise ConfigError(_("Config file {path} does not exist.").format(path=path)) from err
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        # A YAML error quotes the line it stopped at, which may hold a pasted key: masked.
        raise ConfigError(
            _("Config file {path} could not be read: {error}").format(
                path=path, error=redact.mask_tokens(str(err))
            )
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(
            _("Config file {path} must be a mapping of settings, e.g. 'rate: 5'.").format(path=path)
        )
    if "api_key" in raw or "apiKey" in raw:
        raise ConfigError(
            _("Config file {path} holds an API key; remove it and set {env} instead.").format(
                path=path, env=spec.ENV_API_KEY
            )
        )
    pasted = _key_setting(raw)
    if pasted is not None:
        # Named by its setting, never shown: the file is shared with the team, the error may
        # end up in a CI log.
        raise ConfigError(
            _(
                "Config file {path} holds what looks like an API key (in {setting}); remove it "
                "and set {env} instead."
            ).format(path=path, setting=pasted, env=spec.ENV_API_KEY)
        )
    unknown = sorted(set(raw) - _KNOWN_KEYS, key=str)
    if unknown:
        raise ConfigError(
            _("Config file {path}: unknown setting {name}; known: {known}.").format(
                path=path,
                name=repr(redact.mask_value(unknown[0])),
                known=", ".join(sorted(_KNOWN_KEYS)),
            )
        )
    config = Config(source=path)
    try:
        if raw.get("base_url") is not None:
            config.base_url = str(raw["base_url"]).rstrip("/")
        config.defaults = dict(raw.get("defaults") or {})
        config.aliases = {
            str(k): [str(a) for a in (v if isinstance(v, list) else [v])]
            for k, v in (raw.get("aliases") or {}).items()
        }
        if raw.get("sheet") is not None:
            config.sheet = str(raw["sheet"])
        if raw.get("encoding") is not None:
            config.encoding = str(raw["encoding"]).strip()
            try:
                codecs.lookup(config.encoding)
                b"a".decode(config.encoding, "ignore")  # 'base64' is a codec, not a text encoding
            except LookupError:
                raise ConfigError(
                    _(
                        "Config file {path}: encoding {name} is not a text encoding Python knows; "
                        "use e.g. cp1252, gbk, big5, shift_jis or utf-8."
                    ).format(path=path, name=repr(config.encoding))
                ) from None
        for name, kind in (
            ("rate", float),
            ("concurrency", int),
            ("poll_interval", float),
            ("megabyte", int),
        ):
            if raw.get(name) is not None:
                setattr(config, name, kind(raw[name]))
        for name, kind in (("max_videos", int), ("max_seconds", int), ("max_credits", float)):
            if raw.get(name) is not None:
                value = kind(raw[name])
                if isinstance(raw[name], bool) or value <= 0:
                    raise ValueError(
                        _("{name} must be a number above 0 (remove it for no cap).").format(
                            name=name
                        )
                    )
                setattr(config, name, value)
        if raw.get("credits_per_second") is not None:
            config.credits_per_second = parse_prices(raw["credits_per_second"])
    except (TypeError, ValueError, AttributeError) as err:
        # e.g. "could not convert string to float: '<the value>'": the value is masked if it
        # looks like a key or a token.
        raise ConfigError(
            _("Config file {path}: {error}").format(path=path, error=redact.mask_tokens(str(err)))
        ) from None
    if config.max_credits is not None and not config.credits_per_second:
        raise ConfigError(
            _(
                "Config file {path}: max_credits needs your prices as credits_per_second "
                "(credits per second of video for 720p and 1080p); the API page lists none."
            ).format(path=path)
        )
    if (
        (config.rate is not None and config.rate <= 0)
        or config.concurrency < 1
        or config.poll_interval <= 0
    ):
        raise ConfigError(
            _("Config file {path}: rate, concurrency and poll_interval must be positive.").format(
                path=path
            )
        )
    return config


def _key_setting(value: Any, where: str = "") -> str | None:
    """The setting (e.g. ``defaults.prompt``) whose name or value looks like an API key."""
    if isinstance(value, dict):
        for name, item in value.items():
            here = f"{where}.{name}" if where else str(name)
            if redact.looks_like_api_key(name):
                return where or _("a setting's name")
            found = _key_setting(item, here)
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for item in value:
            found = _key_setting(item, where)
            if found is not None:
                return found
        return None
    return where if redact.looks_like_api_key(value) else None
