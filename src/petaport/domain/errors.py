"""Domain error hierarchy with stable codes.

Every error a user can cause carries a stable machine-readable ``code`` (used as the RFC 9457
problem ``type`` suffix) and a readable ``detail``. The HTTP edge maps each class to one status,
once, in ``petaport.api.problems``; nothing else decides statuses.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of all errors a caller can cause. ``code`` is stable across releases."""

    code = "error"
    title = "Error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it exists."""

    code = "not_found"
    title = "Not found"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    """The caller can see the object but lacks the role for this action."""

    code = "forbidden"
    title = "Forbidden"


class ValidationFailed(DomainError):
    code = "validation_failed"
    title = "Invalid request"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict"


class IdempotencyMismatch(DomainError):
    """Same Idempotency-Key reused with a different request body."""

    code = "idempotency_key_reused"
    title = "Idempotency key reused with another request"


class IllegalTransition(Conflict):
    code = "illegal_transition"
    title = "Illegal state transition"


class RetryLater(Exception):
    """A transient backend failure: the operation may succeed if retried later."""
