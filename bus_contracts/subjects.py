"""Subject names and stream configuration: the one place they are spelled.

Every domain event lives in one JetStream stream, one subject per aggregate
instance (``ev.<aggregate>.<id>``), so an aggregate is loaded by reading its
subject and optimistic concurrency is per subject.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

EVENT_SUBJECT_PREFIX = "ev"
ALL_EVENTS = f"{EVENT_SUBJECT_PREFIX}.>"

#: NATS KV bucket holding secrets that must never enter the immutable event log
#: (trunk passwords, provider tokens). Events only record that a secret exists.
SECRETS_BUCKET = "unpod_secrets"
#: NATS object store bucket holding call recordings (WAV files), named by recording id.
RECORDINGS_BUCKET = "unpod_recordings"

AggregateKind = Literal["pipe", "number", "trunk", "call", "runner", "key", "project"]
AGGREGATE_KINDS: tuple[str, ...] = ("pipe", "number", "trunk", "call", "runner", "key", "project")

# NATS subject tokens may not contain '.', '*', '>' or whitespace; ids are
# restricted further so they are also safe in URLs and SQL LIKE patterns.
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def is_valid_aggregate_id(aggregate_id: str) -> bool:
    return bool(_ID_RE.match(aggregate_id))


def event_subject(aggregate: str, aggregate_id: str) -> str:
    if aggregate not in AGGREGATE_KINDS:
        raise ValueError(f"unknown aggregate kind {aggregate!r}")
    if not is_valid_aggregate_id(aggregate_id):
        raise ValueError(f"invalid aggregate id {aggregate_id!r}")
    return f"{EVENT_SUBJECT_PREFIX}.{aggregate}.{aggregate_id}"


def parse_event_subject(subject: str) -> tuple[str, str]:
    """``ev.pipe.pipe_1`` -> ``("pipe", "pipe_1")``."""
    prefix, aggregate, aggregate_id = subject.split(".", 2)
    if prefix != EVENT_SUBJECT_PREFIX:
        raise ValueError(f"not an event subject: {subject!r}")
    return aggregate, aggregate_id


class StreamSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the event stream is created. Replicas/storage are deployment settings."""

    name: str = "UNPOD_EVENTS"
    replicas: int = 1
    storage: Literal["file", "memory"] = "file"
    #: Window in which a re-published ``Nats-Msg-Id`` is recognised as a duplicate.
    duplicate_window_s: float = 120.0
