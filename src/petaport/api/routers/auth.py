"""Login (password -> API token), the caller's identity, and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, status

from petaport.api import convert
from petaport.api.deps import CtxDep, Cursor, Limit, PrincipalDep, decode_cursor, next_cursor
from petaport.api.problems import declare
from petaport.schemas import LoginCreate, Me, Page, TokenCreate, TokenIssued, TokenPublic
from petaport.services import auth

router = APIRouter(tags=["auth"])


def _issued(issued: auth.IssuedToken) -> TokenIssued:
    return TokenIssued(**convert.token(issued.record).model_dump(), token=issued.secret)


@router.post(
    "/auth/login",
    status_code=status.HTTP_201_CREATED,
    responses=declare(401, 422),
    summary="Exchange a username and password for a new API token",
)
def login(ctx: CtxDep, body: LoginCreate) -> TokenIssued:
    principal = auth.authenticate_password(ctx, body.username, body.password)
    issued = auth.issue_token(
        ctx, principal, name=body.token_name, scopes=frozenset({"*"}), ttl_days=body.ttl_days
    )
    return _issued(issued)


@router.get("/me", responses=declare(401))
def whoami(p: PrincipalDep) -> Me:
    return convert.me(p)


@router.post("/tokens", status_code=status.HTTP_201_CREATED, responses=declare(401, 403, 404, 422))
def create_token(ctx: CtxDep, p: PrincipalDep, body: TokenCreate) -> TokenIssued:
    issued = auth.issue_token(
        ctx,
        p,
        name=body.name,
        scopes=frozenset(body.scopes),
        ttl_days=body.ttl_days,
        user_id=body.user_id,
    )
    return _issued(issued)


@router.get("/tokens", responses=declare(401, 403, 422))
def list_tokens(
    ctx: CtxDep, p: PrincipalDep, cursor: Cursor = None, limit: Limit = 50, all_users: bool = False
) -> Page[TokenPublic]:
    rows = auth.list_tokens(ctx, p, all_users=all_users, after=decode_cursor(cursor), limit=limit)
    return Page(
        items=[convert.token(t) for t in rows], next_cursor=next_cursor([t.id for t in rows], limit)
    )


@router.delete("/tokens/{token_id}", responses=declare(401, 404))
def revoke_token(ctx: CtxDep, p: PrincipalDep, token_id: str) -> TokenPublic:
    return convert.token(auth.revoke_token(ctx, p, token_id))
