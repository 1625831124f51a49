"""Identifier formats. Ids are subject- and URL-safe (see ``subjects.is_valid_aggregate_id``)."""

from __future__ import annotations

import re
import secrets
import uuid

E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def new_pipe_id() -> str:
    return new_id("pipe")


def new_trunk_id() -> str:
    return new_id("trk")


def new_project_id() -> str:
    return new_id("prj")


def new_key_id() -> str:
    return f"key_{secrets.token_hex(8)}"


def number_id_for(e164: str) -> str:
    """A number's aggregate id is derived from its E.164 form, so one phone
    number can exist only once in the whole installation."""
    if not E164_RE.match(e164):
        raise ValueError(f"not an E.164 number: {e164!r}")
    return f"num_{e164[1:]}"


def runner_aggregate_id(worker_id: str) -> str:
    """Worker ids (``<agent_id>#<random>``) may hold characters a subject cannot."""
    import hashlib

    return "wrk_" + hashlib.sha256(worker_id.encode()).hexdigest()[:24]


def new_call_id() -> str:
    return new_id("call")


def new_recording_id() -> str:
    return new_id("rec")
