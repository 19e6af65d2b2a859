"""Where hhbatch keeps what belongs to the person, not to one campaign folder.

Why outside the campaign folder: users copy, sync, clean and move campaign folders (and lose the
hidden ``.hhbatch/`` journal on the way). What must survive that — the ledger of every create
this machine sent, the rate limit learned for a key — lives in the platform's user data folder
(``platformdirs``), or in ``$HHBATCH_HOME`` when set (tests set it, so they never touch the real
one).

Records there are keyed by base URL and a *fingerprint* of the API key, never the key: the
fingerprint tells two accounts apart but cannot be turned back into the key.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "HHBATCH_HOME"
APP_NAME = "hhbatch"
_FINGERPRINT_SALT = b"hhbatch-key-fingerprint-v1\0"


def home() -> Path:
    """The per-user folder (not created here: the first writer creates it)."""
    override = os.environ.get(ENV_HOME, "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir  # only the commands that keep per-user data need it

    return Path(user_data_dir(APP_NAME, appauthor=False))


def key_fingerprint(api_key: str) -> str:
    """A short, stable, one-way tag for an API key (16 hex digits of a salted SHA-256)."""
    import hashlib  # here: every command's start imports this module

    return hashlib.sha256(_FINGERPRINT_SALT + api_key.strip().encode("utf-8")).hexdigest()[:16]


def account_id(base_url: str, api_key: str) -> str:
    """``<base url>|<key fingerprint>``: the account a record belongs to. Base URLs differ
    only by a trailing slash or the case of the host are the same server."""
    return f"{normalize_base_url(base_url)}|{key_fingerprint(api_key)}"


def normalize_base_url(base_url: str) -> str:
    url = base_url.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"
