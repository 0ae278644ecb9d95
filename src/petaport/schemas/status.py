"""The one table from domain errors to HTTP statuses, shared by the API and the portal."""

from __future__ import annotations

from petaport.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IdempotencyMismatch,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)

STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Unauthenticated: 401,
    Forbidden: 403,
    ValidationFailed: 422,
    IdempotencyMismatch: 422,
    Conflict: 409,
}


def status_of(exc: DomainError) -> int:
    """The status of the nearest class of ``exc`` in the table (400 for anything else)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400
