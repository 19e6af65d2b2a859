"""The JSON every ``--json`` command prints: one key style, one error shape, one writer.

Why one module: scripts parse these documents, so the rules must not drift between commands:

* keys are camelCase, also keys made from data (``"not submitted"`` → ``"notSubmitted"``,
  ``"not_found"`` → ``"notFound"``); values (statuses, messages) stay as they are;
* a document is printed once, on stdout, as the only thing there; messages go to stderr;
* on failure stdout gets ``{"command": "<command>", "error": {"code": "<snake_case>",
  "message": "<sentence>"}, "exitCode": <code>}`` (``command`` is null when the command line
  named none) and the process exits with that code (see :mod:`hhbatch.cli.exitcodes`): like
  every other document, an error document has ``exitCode``.

Kept free of heavy imports: every command loads it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from typing import Any

from hhbatch import errors

_SEPARATORS = re.compile(r"[\s_\-]+")


def camel(key: str) -> str:
    """``"not submitted"`` → ``"notSubmitted"``; a key already in camelCase is unchanged."""
    parts = [p for p in _SEPARATORS.split(str(key).strip()) if p]
    if not parts:
        return str(key)
    return parts[0][:1].lower() + parts[0][1:] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def camel_keys(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``mapping`` whose keys (one level deep) are camelCase."""
    return {camel(key): value for key, value in mapping.items()}


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, default=str)


def emit(document: Mapping[str, Any]) -> None:
    """Print a document on stdout and flush it (a pipe would otherwise hold it back)."""
    sys.stdout.write(dumps(document) + "\n")
    sys.stdout.flush()


def error_object(code: str, message: str) -> dict[str, str]:
    """The ``error`` object: also carried by a run document when the run stopped part-way."""
    return {"code": code, "message": message}


def error_document(
    code: str, message: str, *, command: str | None, exit_code: int
) -> dict[str, Any]:
    """What stdout gets when a command fails before it has a document of its own."""
    return {"command": command, "error": error_object(code, message), "exitCode": exit_code}


# Codes of hhbatch's own failures; a server's error keeps the code it sent (``invalid_api_key``).
_CODES: tuple[tuple[type[BaseException], str], ...] = (
    (errors.ApiUnreachable, "api_unreachable"),
    (errors.ApiTimeout, "api_timeout"),
    (errors.ApiConnectionError, "api_connection_failed"),
    (errors.UploadError, "upload_failed"),
    (errors.MissingCredentials, "missing_credentials"),
    (errors.BatchLocked, "batch_locked"),
    (errors.JournalError, "journal_error"),
    (errors.ManifestError, "manifest_unusable"),
    (errors.ConfigError, "config_error"),
    (errors.OutputError, "output_error"),
    (errors.UsageError, "usage_error"),
)


def error_code(err: BaseException) -> str:
    """The snake_case code a script branches on."""
    if isinstance(err, errors.ApiStatusError):
        return _snake(err.code)
    for cls, code in _CODES:
        if isinstance(err, cls):
            return code
    return "error"


def _snake(code: str) -> str:
    text = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", str(code))
    return _SEPARATORS.sub("_", text).strip("_").lower() or "error"
