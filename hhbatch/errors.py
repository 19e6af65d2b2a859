"""Every error hhbatch raises, under one root so the CLI can catch it once.

    HhbatchError
    ├── UsageError                    bad command-line or config input (exit 2)
    ├── MissingCredentials            no API key / base URL in the environment (exit 3)
    ├── ConfigError                   hhbatch.yaml is unreadable or wrong
    ├── ManifestError                 the spreadsheet cannot be read at all (not a per-cell problem)
    ├── JournalError                  the local journal is unusable
    │   └── BatchLocked               another run holds this batch
    ├── OutputError                   the results sheet could not be written anywhere
    └── ApiError                      anything the HappyHorse API or the network did
        ├── ApiConnectionError        no answer; ``request_sent`` says whether the bytes left
        │   ├── ApiTimeout
        │   └── ApiUnreachable        the API cannot be reached at all (exit 5)
        ├── UploadError               the PUT to presigned storage failed
        │   └── FileChangedError      the file is not the bytes that were validated
        └── ApiStatusError            the server answered with the error envelope
            ├── MissingApiKey / InvalidApiKey   (both AuthError)
            ├── RateLimited(retry_after)
            ├── InvalidInput
            ├── InsufficientCredits
            ├── PlanGateExceeded(field, required_plan, current_plan)
            ├── UploadFileTooLarge / UploadTypeNotSupported
            ├── NotFound
            └── InternalError

Per-cell validation problems are *data* (``hhbatch.loader`` returns them), not exceptions: a
manifest with 40 bad cells is one report, not 40 raises.
"""

from __future__ import annotations

from typing import Any


class HhbatchError(Exception):
    """Root of everything hhbatch raises on purpose; ``str()`` is a sentence for the user."""


class UsageError(HhbatchError):
    pass


class MissingCredentials(HhbatchError):
    pass


class ConfigError(HhbatchError):
    pass


class ManifestError(HhbatchError):
    """The manifest as a whole cannot be used (not a spreadsheet, encrypted, empty, no header)."""

    def __init__(self, message: str, *, path: str | None = None, sheet: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.sheet = sheet


class JournalError(HhbatchError):
    pass


class BatchLocked(JournalError):
    pass


class OutputError(HhbatchError):
    pass


class NotStarted(HhbatchError):
    """``hhbatch status`` on a sheet nothing was submitted from yet: there is nothing to check,
    and nothing is created for it (no journal, no results sheet). Not a failure: the CLI says
    what to run first and exits 0."""

    def __init__(self, message: str, *, sheet: str | None = None) -> None:
        super().__init__(message)
        self.sheet = sheet


class ApiError(HhbatchError):
    pass


class ApiConnectionError(ApiError):
    """No usable answer. ``request_sent`` is False only when the request provably never left
    (connect failure, DNS, refused): the one case where a create may be retried safely."""

    def __init__(self, message: str, *, request_sent: bool) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class ApiTimeout(ApiConnectionError):
    pass


class ApiUnreachable(ApiConnectionError):
    """The API could not be reached at all (refused, DNS, TLS, no answer in time) within the
    retry budget: nothing was sent, so every row stays submittable. ``url`` is the base URL."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message, request_sent=False)
        self.url = url


class UploadError(ApiError):
    """The PUT to the presigned storage URL failed; ``expired`` means presign again."""

    def __init__(self, message: str, *, status_code: int | None = None, expired: bool = False):
        super().__init__(message)
        self.status_code = status_code
        self.expired = expired


class FileChangedError(UploadError):
    """A local file is not what was validated any more (changed on disk before or while it was
    uploaded): the upload is discarded and the rows using it wait for the next run's check."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class ApiStatusError(ApiError):
    """The API answered with its error envelope ``{"error": {"code", "message", ...}}``."""

    code = "unknown_error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        if code is not None:
            self.code = code
        self.body = body or {}


class AuthError(ApiStatusError):
    pass


class MissingApiKey(AuthError):
    code = "missing_api_key"


class InvalidApiKey(AuthError):
    code = "invalid_api_key"


class RateLimited(ApiStatusError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class InvalidInput(ApiStatusError):
    code = "invalid_input"


class InsufficientCredits(ApiStatusError):
    code = "insufficient_credits"


class PlanGateExceeded(ApiStatusError):
    code = "plan_gate_exceeded"

    @property
    def field(self) -> str | None:
        return self.body.get("field")

    @property
    def required_plan(self) -> str | None:
        return self.body.get("requiredPlan")

    @property
    def current_plan(self) -> str | None:
        return self.body.get("currentPlan")


class UploadFileTooLarge(ApiStatusError):
    code = "upload_file_too_large"


class UploadTypeNotSupported(ApiStatusError):
    code = "upload_type_not_supported"


class NotFound(ApiStatusError):
    code = "not_found"


class InternalError(ApiStatusError):
    code = "internal_error"


STATUS_ERROR_CLASSES: dict[str, type[ApiStatusError]] = {
    cls.code: cls
    for cls in (
        MissingApiKey,
        InvalidApiKey,
        RateLimited,
        InvalidInput,
        InsufficientCredits,
        PlanGateExceeded,
        UploadFileTooLarge,
        UploadTypeNotSupported,
        NotFound,
        InternalError,
    )
}
