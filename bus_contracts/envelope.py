"""The event envelope and the codec that reads it first, then its payload.

Readers decode the envelope, look the ``type`` tag up in the registry and only
then decode ``data`` into the payload Struct. An unknown tag (written by a newer
node) becomes an :class:`UnknownEvent` that keeps its raw bytes; an unknown
field inside a known payload is ignored. Neither ever raises.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every event payload. Subclasses register a type tag with :func:`event`."""

    event_type: ClassVar[str]
    aggregate: ClassVar[str]
    schema_version: ClassVar[int]


class UnknownEvent(msgspec.Struct, frozen=True):
    """A payload whose tag this reader does not know; kept verbatim."""

    type: str
    raw: bytes


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """What is stored for each event. New fields get defaults; never repurpose one."""

    event_id: str
    aggregate: str
    aggregate_id: str
    type: str
    schema_version: int = 1
    occurred_at: datetime
    project_id: str = ""
    #: W3C trace context (``traceparent``, ``tracestate``) of the command that caused it.
    trace: dict[str, str] = {}
    data: msgspec.Raw = msgspec.Raw(b"{}")


class Recorded(msgspec.Struct, frozen=True):
    """An event as read back from the stream, with its stream sequence."""

    seq: int
    subject: str
    envelope: Envelope
    event: Event | UnknownEvent


E = TypeVar("E", bound=type[Event])

_REGISTRY: dict[str, type[Event]] = {}
_DECODERS: dict[type[Event], msgspec.json.Decoder[Any]] = {}
_ENVELOPE_DECODER = msgspec.json.Decoder(Envelope)
_ENCODER = msgspec.json.Encoder()


def event(type_tag: str, *, aggregate: str, schema_version: int = 1):
    """Class decorator registering an event payload under its type tag."""

    def register(cls: E) -> E:
        if type_tag in _REGISTRY:
            raise ValueError(f"event type {type_tag!r} registered twice")
        cls.event_type = type_tag
        cls.aggregate = aggregate
        cls.schema_version = schema_version
        _REGISTRY[type_tag] = cls
        _DECODERS[cls] = msgspec.json.Decoder(cls)
        return cls

    return register


def new_event_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def seal(
    payload: Event,
    *,
    aggregate_id: str,
    project_id: str,
    trace: dict[str, str] | None = None,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    """Wrap a payload in its envelope."""
    return Envelope(
        event_id=event_id or new_event_id(),
        aggregate=payload.aggregate,
        aggregate_id=aggregate_id,
        type=payload.event_type,
        schema_version=payload.schema_version,
        occurred_at=occurred_at or utcnow(),
        project_id=project_id,
        trace=dict(trace or {}),
        data=msgspec.Raw(_ENCODER.encode(payload)),
    )


def encode_envelope(envelope: Envelope) -> bytes:
    return _ENCODER.encode(envelope)


def decode_envelope(raw: bytes) -> Envelope:
    return _ENVELOPE_DECODER.decode(raw)


def decode_payload(envelope: Envelope) -> Event | UnknownEvent:
    cls = _REGISTRY.get(envelope.type)
    if cls is None:
        return UnknownEvent(envelope.type, bytes(envelope.data))
    try:
        return _DECODERS[cls].decode(envelope.data)
    except msgspec.DecodeError:
        # A payload that no longer fits its registered type is kept, not fatal.
        return UnknownEvent(envelope.type, bytes(envelope.data))


UNDECODABLE = "<undecodable>"


def decode_event(raw: bytes) -> Event | UnknownEvent:
    """The payload of a stored message; never raises."""
    try:
        return decode_payload(decode_envelope(raw))
    except msgspec.DecodeError:
        return UnknownEvent(UNDECODABLE, raw)


def decode_recorded(seq: int, subject: str, raw: bytes) -> Recorded:
    """A stored message with its position; never raises. A message that is not an
    envelope at all (written by something else) is kept as an UnknownEvent."""
    try:
        envelope = decode_envelope(raw)
    except msgspec.DecodeError:
        _, aggregate, aggregate_id = (subject.split(".", 2) + ["", ""])[:3]
        envelope = Envelope(
            event_id="", aggregate=aggregate, aggregate_id=aggregate_id, type=UNDECODABLE, occurred_at=utcnow()
        )
        return Recorded(seq, subject, envelope, UnknownEvent(UNDECODABLE, raw))
    return Recorded(seq, subject, envelope, decode_payload(envelope))
