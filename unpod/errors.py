"""Typed errors carrying the server's message."""

from __future__ import annotations


class UnpodError(Exception):
    """Base of every error the SDK raises."""


class ConfigurationError(UnpodError):
    """The client is missing something it needs (an API key, a base URL)."""


class ConnectionFailed(UnpodError):
    """The server could not be reached."""


class APIError(UnpodError):
    """The server answered with an error status."""

    def __init__(self, status_code: int, code: str, message: str, body: object = None) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.body = body


class BadRequestError(APIError):
    """400: the request was malformed (a field missing, of the wrong type, unknown)."""


class AuthenticationError(APIError):
    """401: missing, invalid or revoked API key."""


class PermissionDeniedError(APIError):
    """403."""


class NotFoundError(APIError):
    """404: no such resource in your project."""


class ConflictError(APIError):
    """409: the resource's state forbids this (e.g. a number already attached elsewhere)."""


class UnprocessableError(APIError):
    """422: well-formed but against the rules (e.g. unknown voice profile)."""


class ServerError(APIError):
    """5xx."""


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableError,
}


def error_for(status_code: int, code: str, message: str, body: object = None) -> APIError:
    cls = _BY_STATUS.get(status_code, ServerError if status_code >= 500 else APIError)
    return cls(status_code, code, message, body)
