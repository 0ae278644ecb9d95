"""RFC 9457 problem details: the one place where errors become HTTP statuses.

Every response a route can give besides success is declared through ``declare`` so the OpenAPI
document lists it; unexpected exceptions become a generic 500 problem without a traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from petaport.domain.errors import (
    DomainError,
)
from petaport.schemas import Problem
from petaport.schemas.status import status_of

log = logging.getLogger(__name__)
PROBLEM_BASE = "https://petaport.dev/problems/"
TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
}
CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
}
DESCRIPTIONS = {
    401: "Missing, unknown, expired or revoked credentials.",
    403: "Authenticated, but the role or token scope does not allow this.",
    404: "No such object, or not visible to the caller.",
    409: "The object's state or a uniqueness rule forbids this.",
    422: "The request is malformed or breaks a rule.",
}


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, object]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=PROBLEM_BASE + code,
        title=title or TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        code=code,
        instance=instance,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def declare(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry documenting problem statuses of a route."""
    return {
        s: {
            "model": Problem,
            "description": DESCRIPTIONS.get(s, TITLES.get(s, "Error")),
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for s in statuses
    }


def _clean_errors(errors: Any) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for e in errors:
        out.append(
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
        )
    return out


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI document lists for this path (the Allow header of a 405)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), request.url.path):
            methods |= {m.upper() for m in operations}
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        errors = exc.extra.get("errors")
        listed: list[dict[str, object]] | None = (
            [{"msg": str(e)} for e in errors] if isinstance(errors, list) else None
        )
        return problem_response(
            status,
            exc.code,
            exc.detail,
            title=exc.title,
            instance=request.url.path,
            errors=listed,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_errors(exc.errors())
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])  # type: ignore[call-overload]
        return problem_response(
            422,
            "validation_failed",
            detail or "invalid request",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # a body FastAPI could not even decode: invalid input
            return problem_response(
                422, "validation_failed", str(exc.detail), instance=request.url.path
            )
        code = CODES.get(exc.status_code, "error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {"Allow": ", ".join(allowed_methods(request))}
        return problem_response(
            exc.status_code, code, str(exc.detail), instance=request.url.path, headers=headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            "internal_error",
            "an unexpected error occurred; it was logged",
            instance=request.url.path,
        )
