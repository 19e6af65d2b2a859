"""Keeps the API key out of everything hhbatch stores, writes or prints.

Why one module with a registry: the key reaches hhbatch in one place (the environment) but could
come back in many (a server's ``errorMessage`` quoting the request, an error envelope, a proxy's
error page, a presign answer), and from there into the journal, the ledger, the results sheet, the
HTML report, ``--json`` and the terminal. Scrubbing each server string once, where it enters
(:mod:`hhbatch.client`), keeps every later layer clean without each of them having to remember.

- :func:`register_secret` — the client (and the CLI, for the key in the environment) registers the
  key; every later :func:`redact` removes it.
- :func:`redact` — a server-provided string with every registered secret, and anything shaped like
  an HappyHorse key (``hh_live_…`` / ``hh_test_…``, e.g. another key of the user), replaced by a
  mask such as ``hh_live_…abcd``: enough to tell keys apart, useless to steal.
- :func:`mask_value` — for configuration and environment errors, which echo what the user typed:
  a value that looks like a key or a long opaque token is shown masked, never in full.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import quote

from hhbatch import spec

# Documented keys start "hh_live_"; a test key of the same shape is masked too.
KEY_PREFIXES = (spec.API_KEY_PREFIX, "hh_test_")
# A registered secret shorter than this is not replaced: it would mangle ordinary words.
MIN_SECRET_CHARS = 8
# What looks like a key: a known prefix followed by the secret's characters.
_KEY_SHAPED = re.compile(r"hh_(?:live|test)_[A-Za-z0-9_\-]{4,}")
# A long opaque token (a key pasted without its prefix, a bearer token): letters and digits mixed.
LONG_TOKEN_CHARS = 24
_LONG_TOKEN = re.compile(rf"(?<![A-Za-z0-9_\-+=])[A-Za-z0-9_\-+=]{{{LONG_TOKEN_CHARS},}}")

_lock = threading.Lock()
_secrets: dict[str, str] = {}  # secret text -> its mask


def mask_api_key(key: str) -> str:
    """``hh_live_abcdef…1234`` → ``hh_live_…1234``: enough to tell keys apart, useless to steal."""
    if not key:
        return "(none)"
    prefix = next((p for p in KEY_PREFIXES if key.startswith(p)), "")
    secret = key[len(prefix) :]
    tail = secret[-4:] if len(secret) >= 16 else ""
    return f"{prefix}…{tail}"


def register_secret(value: str | None) -> None:
    """Remember ``value`` (the API key) so that :func:`redact` removes it from now on.

    The key's secret part without its prefix and its percent-encoded form (as a URL would
    quote it) are removed as well. Values shorter than :data:`MIN_SECRET_CHARS` are ignored.
    """
    value = (value or "").strip()
    if len(value) < MIN_SECRET_CHARS:
        return
    mask = mask_api_key(value)
    forms = {value, quote(value, safe="")}
    prefix = next((p for p in KEY_PREFIXES if value.startswith(p)), "")
    if prefix and len(value) - len(prefix) >= MIN_SECRET_CHARS:
        forms.add(value[len(prefix) :])
    with _lock:
        for form in forms:
            _secrets.setdefault(form, mask)


def forget_secrets() -> None:
    """Clear the registry (tests; a long-lived process switching accounts)."""
    with _lock:
        _secrets.clear()


def contains_secret(text: str | None) -> bool:
    """True when ``text`` holds a registered secret (e.g. a URL about to leave the API host)."""
    if not text:
        return False
    with _lock:
        secrets = list(_secrets)
    return any(secret in text for secret in secrets)


def redact(text: str) -> str:
    """``text`` without any registered secret or key-shaped token (each replaced by a mask)."""
    if not text:
        return text
    with _lock:
        # Longest first: the full key before its secret part, so the mask keeps its prefix.
        secrets = sorted(_secrets.items(), key=lambda item: -len(item[0]))
    for secret, mask in secrets:
        if secret in text:
            text = text.replace(secret, mask)
    return _KEY_SHAPED.sub(lambda m: mask_api_key(m.group(0)), text)


def redact_value(value: Any) -> Any:
    """:func:`redact` applied to every string inside a JSON-like value (dicts, lists)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    return value


def looks_like_api_key(value: object) -> bool:
    """An HappyHorse key (``hh_live_…``), or text holding the registered key."""
    if not isinstance(value, str):
        return False
    return bool(_KEY_SHAPED.search(value)) or contains_secret(value)


def looks_like_key(value: object) -> bool:
    """A value a person should never see echoed: an API key, or a long opaque token."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if not text:
        return False
    if contains_secret(text) or _KEY_SHAPED.search(text):
        return True
    return any(_is_opaque_token(m.group(0)) for m in _LONG_TOKEN.finditer(text))


def mask_value(value: object) -> str:
    """How a configuration or environment error may show a value the user typed: as typed,
    unless it looks like a key or a long token, then only masked."""
    text = str(value)
    if not looks_like_key(text):
        return text
    return mask_tokens(text)


def mask_tokens(text: str) -> str:
    """:func:`redact`, and every long opaque token masked too: for text from a library that
    may quote a setting's value (a YAML syntax error shows the line it stopped at)."""
    text = redact(text)

    def mask(match: re.Match[str]) -> str:
        token = match.group(0)
        return mask_api_key(token) if _is_opaque_token(token) else token

    return _LONG_TOKEN.sub(mask, text)


def _is_opaque_token(token: str) -> bool:
    """Letters and digits mixed, as in a generated secret (not a long word or a number)."""
    return any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
