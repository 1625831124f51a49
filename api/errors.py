"""Every error leaves as one JSON shape: ``{status_code, code, message, detail}``."""

from __future__ import annotations

import logging

import nats.errors
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from actors.direct_get import DirectGetError
from actors.errors import Rejected
from actors.host import TooManyConflicts
from api.dto import Error
from projections.projector import ProjectionTimeout

log = logging.getLogger(__name__)

_STATUS = {"not_found": 404, "conflict": 409, "invalid": 422}
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "invalid", 429: "rate_limited"}  # fmt: skip


def _response(
    status: int, code: str, message: str, extra: list | None = None, headers: dict[str, str] | None = None
) -> Response[Error]:
    return Response(
        Error(status_code=status, code=code, message=message, detail=message, extra=extra),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def rejected(_: Request, exc: Rejected) -> Response[Error]:
    return _response(_STATUS.get(exc.code, 400), exc.code, exc.message)


def validation(request: Request, exc: ValidationException) -> Response[Error]:
    extra = exc.extra if isinstance(exc.extra, list) else None
    parts = []
    for item in extra or []:
        if isinstance(item, dict):
            key = item.get("key")
            msg = item.get("message", "")
            parts.append(f"{key}: {msg}" if key else str(msg))
    message = "; ".join(parts) or exc.detail or "invalid request"
    return _response(400, "bad_request", f"invalid request: {message}", extra)


def http(_: Request, exc: HTTPException) -> Response[Error]:
    status = exc.status_code
    # Keep headers such as ``Allow`` on a 405.
    return _response(status, _CODES.get(status, "error"), exc.detail or "error", headers=dict(exc.headers or {}))


def projection_timeout(_: Request, exc: ProjectionTimeout) -> Response[Error]:
    return _response(
        504,
        "read_model_behind",
        f"the change was stored, but this node's read model is behind ({exc}); read it again shortly",
    )


def conflicts(_: Request, exc: TooManyConflicts) -> Response[Error]:
    return _response(409, "conflict", f"too many concurrent changes to the same resource; retry ({exc})")


def unavailable(request: Request, exc: Exception) -> Response[Error]:
    log.warning("event store unavailable on %s %s: %s", request.method, request.url.path, exc or type(exc).__name__)
    return _response(
        503,
        "unavailable",
        "the event store (NATS) did not answer in time; the change may or may not have been stored: read before retrying",
    )


def internal(request: Request, exc: Exception) -> Response[Error]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _response(500, "internal", "internal error; the request may be retried")


HANDLERS = {
    Rejected: rejected,
    ValidationException: validation,
    HTTPException: http,
    ProjectionTimeout: projection_timeout,
    TooManyConflicts: conflicts,
    nats.errors.Error: unavailable,
    DirectGetError: unavailable,
    TimeoutError: unavailable,
    Exception: internal,
}


_DESCRIPTIONS = {
    400: "Malformed request: a field is missing, of the wrong type, out of range or unknown",
    401: "Missing, invalid or revoked API key",
    404: "No such resource in this project",
    409: "The resource's current state forbids this; the message says why",
    422: "Well-formed but against the rules (e.g. an unknown voice profile)",
    503: "The event store (NATS) is unavailable; nothing was changed",
    504: "The change was stored but this node's read model has not caught up yet",
}


def responses(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error statuses an operation can answer."""
    return {c: ResponseSpec(data_container=Error, description=_DESCRIPTIONS[c], generate_examples=False) for c in codes}


READ = responses(401)
READ_ONE = responses(401, 404)
WRITE = (400, 401, 503, 504)
