"""Errors the SDK raises: one per RFC 9457 problem status, plus transport and config failures.

Every API error carries the problem's stable ``code`` and readable ``detail``; callers branch on
the class (or ``code``), never on the wording of ``detail``.
"""

from __future__ import annotations

from petaport.schemas import Problem


class ClientError(Exception):
    """Base of everything the SDK raises on purpose."""

    code = "client_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConnectionFailed(ClientError):
    """The server could not be reached (refused, DNS, TLS, timeout)."""

    code = "connection_failed"

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach Petaport at {url}: {reason}")
        self.url = url


class ConfigError(ClientError):
    """The local configuration file cannot be read or written."""

    code = "config_error"


class NotLoggedIn(ClientError):
    """No token is configured (neither in the config file nor in ``PETAPORT_TOKEN``)."""

    code = "not_logged_in"


class PetaportError(ClientError):
    """The API answered with a problem document (status >= 400)."""

    def __init__(self, status: int, code: str, detail: str, problem: Problem | None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.detail} ({self.code}, HTTP {self.status})"


class Unauthenticated(PetaportError):
    """401: missing, unknown, expired or revoked token, or wrong password."""


class Forbidden(PetaportError):
    """403: the role or token scope does not allow this."""


class NotFound(PetaportError):
    """404: no such object, or not visible to the caller."""


class Conflict(PetaportError):
    """409: the object's state or a uniqueness rule forbids this."""


class InvalidRequest(PetaportError):
    """422: the request is malformed or breaks a rule."""


_BY_STATUS: dict[int, type[PetaportError]] = {
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidRequest,
}


def error_for(status: int, code: str, detail: str, problem: Problem | None) -> PetaportError:
    """The most specific ``PetaportError`` subclass for ``status``."""
    cls = _BY_STATUS.get(status, PetaportError)
    return cls(status, code, detail, problem)
