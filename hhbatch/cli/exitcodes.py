"""Exit codes, documented in ``hhbatch --help`` and the README."""

from __future__ import annotations

from hhbatch.errors import (
    ApiUnreachable,
    AuthError,
    HhbatchError,
    InsufficientCredits,
    MissingCredentials,
)

OK = 0  # every row ready (run) or valid (validate)
ROWS_NOT_OK = 1  # some rows failed, invalid, unknown or still pending
USAGE = 2  # bad command line, config or manifest
AUTH = 3  # missing or rejected API key
NO_CREDITS = 4  # ran out of credits; rerun after a top-up
UNREACHABLE = 5  # the API could not be reached at all (network, HAPPYHORSE_BASE_URL)
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
TERMINATED = 143  # SIGTERM (128 + SIGTERM): stopped like Ctrl-C, state saved


def for_error(err: HhbatchError) -> int:
    if isinstance(err, (AuthError, MissingCredentials)):
        return AUTH
    if isinstance(err, InsufficientCredits):
        return NO_CREDITS
    if isinstance(err, ApiUnreachable):
        return UNREACHABLE
    return USAGE
