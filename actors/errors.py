"""Typed failures. Deciders raise :class:`Rejected` subclasses; the store raises
:class:`ConcurrencyError` when another writer appended first."""

from __future__ import annotations


class Rejected(Exception):
    """A command refused by a decider. ``code`` maps to an HTTP status at the edge."""

    code = "rejected"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.message == other.message  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.message))


class NotFound(Rejected):
    code = "not_found"


class Conflict(Rejected):
    code = "conflict"


class Invalid(Rejected):
    code = "invalid"


class ConcurrencyError(Exception):
    """The subject moved past the sequence this writer expected (JetStream err 10071)."""

    def __init__(self, subject: str, expected: int, detail: str = "") -> None:
        super().__init__(f"{subject}: expected last sequence {expected}; {detail}".strip())
        self.subject = subject
        self.expected = expected
