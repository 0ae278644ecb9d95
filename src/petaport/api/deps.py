"""Request dependencies: the Context, the calling Principal, pagination."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from petaport.domain.errors import Unauthenticated, ValidationFailed
from petaport.domain.tenancy import Principal
from petaport.services import auth
from petaport.services.context import Context

bearer = HTTPBearer(auto_error=False, description="An API token: `tok_<id>.<secret>`.")


def get_ctx(request: Request) -> Context:
    ctx = request.app.state.ctx
    assert isinstance(ctx, Context)
    return ctx


CtxDep = Annotated[Context, Depends(get_ctx)]


def get_principal(
    ctx: CtxDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    if creds is None or not creds.credentials:
        raise Unauthenticated("send an API token as 'Authorization: Bearer <token>'")
    if not auth.token_is_valid_shape(creds.credentials):
        raise Unauthenticated("the API token is unknown, expired or revoked")
    return auth.principal_from_token(ctx, creds.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed("cursor is not one this API gave out", code="bad_cursor") from exc
    if "_" not in raw or len(raw) > 40 or not raw.isascii() or not raw.replace("_", "").isalnum():
        raise ValidationFailed("cursor is not one this API gave out", code="bad_cursor")
    return raw


Cursor = Annotated[str | None, Query(max_length=80, description="From `next_cursor`.")]
Limit = Annotated[int, Query(ge=1, le=200)]


def next_cursor(ids: list[str], limit: int) -> str | None:
    return encode_cursor(ids[-1]) if len(ids) == limit and ids else None
