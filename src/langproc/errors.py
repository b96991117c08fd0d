"""The exception tree of langproc. Each error carries the HTTP status the API answers with.

LangprocError
├── BadRequest (422)
│   ├── UnsupportedLanguage
│   └── InvalidInput
├── NotFound (404)
├── Conflict (409)
├── PayloadTooLarge (413)
├── UnsupportedMediaType (415)
├── Unauthorized (401)
├── DatabaseUnavailable (503)
├── StoredFileGone (503)      a stored file was collected before the row using it committed
└── StepError                 raised by steps and providers, never rendered by the API
    ├── TransientError        retried with backoff (rate limits, 5xx, timeouts, bad output)
    ├── PermanentError        fails the step at once with a message a user can act on
    └── StepSkipped           the step cannot run in this configuration; it ends `skipped`
"""

from __future__ import annotations

import re

# `<_io.BytesIO object at 0x7f...>` and the like: meaningless to a user, and they leak addresses.
_OBJECT_REPR = re.compile(r"\s*<[^<>]*\bat 0x[0-9a-fA-F]+>")


def describe(exc: BaseException) -> str:
    """An exception as plain words for a user: its message without object reprs (an OS error
    by its description), or else its class name."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = _OBJECT_REPR.sub("", str(exc)).strip()
    return text or type(exc).__name__


class LangprocError(Exception):
    """Base of every error langproc raises on purpose."""

    status_code: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(LangprocError):
    status_code = 422


class UnsupportedLanguage(BadRequest):
    pass


class InvalidInput(BadRequest):
    pass


class NotFound(LangprocError):
    status_code = 404


class Conflict(LangprocError):
    status_code = 409


class PayloadTooLarge(LangprocError):
    status_code = 413


class UnsupportedMediaType(LangprocError):
    status_code = 415


class Unauthorized(LangprocError):
    status_code = 401


class DatabaseUnavailable(LangprocError):
    status_code = 503


class StoredFileGone(LangprocError):
    status_code = 503


class SigningKeysUnavailable(LangprocError):
    """The JWKS endpoint does not answer: the token cannot be checked now (not its fault)."""

    status_code = 503


class StepError(LangprocError):
    """An error of a step's work; the engine records it on the step run."""

    retryable: bool = False

    @property
    def type_name(self) -> str:
        return type(self).__name__


class TransientError(StepError):
    """Worth retrying; `retry_after_s` is the provider's own hint, if it gave one, and `kind`
    names the class of failure for metrics (rate_limit, server_error, timeout, ...)."""

    retryable = True

    def __init__(
        self, message: str, retry_after_s: float | None = None, kind: str = "transient"
    ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.kind = kind


class PermanentError(StepError):
    retryable = False


class StepSkipped(StepError):
    """The step does not apply or cannot run here (the message says why); it ends `skipped`.

    `output` is what it still hands downstream, if anything (the uploaded text, for one).
    """

    def __init__(self, message: str, output: object | None = None) -> None:
        super().__init__(message)
        self.output = output
