"""Dub's error envelope as werkzeug exceptions, and the mock's own non-HTTP errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson
from werkzeug.exceptions import HTTPException

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

DOC_URL_BASE = "https://dub.co/docs/api-reference/errors#"
INTERNAL_ERROR_MESSAGE = (
    "An internal server error occurred. Please contact our support if the problem persists."
)

#: Dub's error codes and the status each answers with.
STATUS_BY_CODE: dict[str, int] = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "exceeded_limit": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "invite_pending": 409,
    "invite_expired": 410,
    "payload_too_large": 413,
    "unprocessable_entity": 422,
    "rate_limit_exceeded": 429,
    "internal_server_error": 500,
}


def doc_url(code: str) -> str:
    """Dub turns only the first underscore into a hyphen: `rate-limit_exceeded`."""
    return DOC_URL_BASE + code.replace("_", "-", 1)


def code_for_status(status: int) -> str:
    """The Dub code a bare status maps to (the first of the table for 403 and 409)."""
    for code, code_status in STATUS_BY_CODE.items():
        if code_status == status:
            return code
    return "internal_server_error" if status >= 500 else "bad_request"


def envelope(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "doc_url": doc_url(code)}}


class ApiError(HTTPException):
    """An answer in Dub's envelope; raised anywhere in a request, rendered once in dispatch."""

    error_code = "internal_server_error"

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        status: int | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        if error_code is not None:
            self.error_code = error_code
        self.code = status if status is not None else STATUS_BY_CODE[self.error_code]
        self.message = message
        self.extra_headers = list(headers)

    def body(self) -> dict[str, Any]:
        return envelope(self.error_code, self.message)

    def get_body(
        self, environ: WSGIEnvironment | None = None, scope: dict[str, Any] | None = None
    ) -> str:
        return orjson.dumps(self.body()).decode()

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: dict[str, Any] | None = None
    ) -> list[tuple[str, str]]:
        return [("Content-Type", "application/json"), *self.extra_headers]


class BadRequest(ApiError):
    error_code = "bad_request"


class Unauthorized(ApiError):
    error_code = "unauthorized"


class Forbidden(ApiError):
    error_code = "forbidden"


class NotFound(ApiError):
    error_code = "not_found"


class MethodNotAllowed(ApiError):
    error_code = "method_not_allowed"

    def __init__(self, allowed: Iterable[str]) -> None:
        allow = ", ".join(sorted(allowed))
        super().__init__(f"Method not allowed. Allowed: {allow}.", headers=[("Allow", allow)])


class Conflict(ApiError):
    error_code = "conflict"


class PayloadTooLarge(ApiError):
    error_code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body is larger than the limit of {limit} bytes.")


class UnprocessableEntity(ApiError):
    error_code = "unprocessable_entity"


class RateLimitExceeded(ApiError):
    """429; the rate-limit headers (Retry-After among them) travel with it."""

    error_code = "rate_limit_exceeded"

    def __init__(self, headers: Iterable[tuple[str, str]]) -> None:
        super().__init__("Too many requests.", headers=headers)


class InternalServerError(ApiError):
    error_code = "internal_server_error"

    def __init__(self, message: str = INTERNAL_ERROR_MESSAGE) -> None:
        super().__init__(message)


class DubMockError(Exception):
    """Base of the mock's own errors (not answers to a client); the CLI maps them to exit 2."""

    exit_code = 2


class ConfigError(DubMockError):
    """Raised when settings or flags do not fit together; the message says how to fix it."""


class SpecError(DubMockError):
    """Raised when the bundled or given OpenAPI document cannot be loaded or is invalid."""


class StoreError(DubMockError):
    """Raised when a state store URL is malformed or its backend cannot be reached."""


class SeedError(DubMockError):
    """Raised when a seed file cannot be read or names objects that do not fit together."""
