"""The Unpod SDK: the management client (``AsyncClient``, ``Client``) and the
connectivity side (``AgentRunner``, ``CallContext``, ``Session``, ``HTTPAdapter``)."""

from runner import AgentRunner, CallContext, CallMetrics, HTTPAdapter, RunnerStats, Session
from unpod.client import AsyncClient, Client
from unpod.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectionFailed,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    UnpodError,
    UnprocessableError,
)
from unpod.models import ApiKey, CreatedApiKey, Number, Pipe, Trunk, TrunkSync, VoiceProfile

__all__ = [
    "APIError",
    "AgentRunner",
    "CallContext",
    "CallMetrics",
    "HTTPAdapter",
    "RunnerStats",
    "Session",
    "ApiKey",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "ConnectionFailed",
    "CreatedApiKey",
    "NotFoundError",
    "Number",
    "PermissionDeniedError",
    "Pipe",
    "ServerError",
    "Trunk",
    "TrunkSync",
    "UnpodError",
    "UnprocessableError",
    "VoiceProfile",
]
