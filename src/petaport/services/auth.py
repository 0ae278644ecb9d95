"""Authentication: passwords, API tokens and portal sessions.

Tokens look like ``tok_<id>.<secret>``: the id finds the row, the secret is checked against an
argon2 hash. Secrets are shown once, at creation. Verified tokens are cached in-process for a
short time (keyed by a SHA-256 of the whole token) so argon2 does not run on every request;
revocation and membership changes clear the cache. Sessions hash their secret with SHA-256
(the secret is 256 random bits, so a slow hash adds nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from petaport.domain.errors import NotFound, Unauthenticated, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.tenancy import TOKEN_SCOPES, Principal, User
from petaport.services.authz import require_centre_admin
from petaport.services.context import Context
from petaport.storage.repos.auth import AuthRepo, SessionRecord, TokenRecord
from petaport.storage.repos.tenancy import TenancyRepo


def hash_password(ctx: Context, password: str) -> str:
    if len(password) < 8:
        raise ValidationFailed("passwords need at least 8 characters")
    return ctx.hasher.hash(password)


def _principal(
    repo: TenancyRepo,
    user: User,
    scopes: frozenset[str] = frozenset({"*"}),
    token_id: str | None = None,
) -> Principal:
    return Principal(user, repo.memberships_of(user.id), scopes, token_id)


def authenticate_password(ctx: Context, username: str, password: str) -> Principal:
    with ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        found = repo.find_user_by_username(username)
        stored = found[1] if found and found[1] else ctx.dummy_hash
        ok = ctx.hasher.verify(password, stored)
        if not found or not found[1] or not ok or not found[0].is_active:
            raise Unauthenticated("wrong username or password")
        return _principal(repo, found[0])


@dataclass(frozen=True)
class IssuedToken:
    record: TokenRecord
    secret: str  # the whole token, shown once


def issue_token(
    ctx: Context,
    principal: Principal,
    *,
    name: str,
    scopes: frozenset[str],
    ttl_days: int | None,
    user_id: str | None = None,
) -> IssuedToken:
    """A new token for the caller (or, for a centre admin, for ``user_id``)."""
    unknown = scopes - TOKEN_SCOPES
    if unknown or not scopes:
        raise ValidationFailed(f"unknown scopes {sorted(unknown)}; use {sorted(TOKEN_SCOPES)}")
    if not principal.has_scope("*") and not scopes <= principal.scopes:
        raise ValidationFailed("a token cannot grant scopes its creator's token lacks")
    owner = user_id or principal.user.id
    if owner != principal.user.id:
        require_centre_admin(principal)
    days = ttl_days if ttl_days is not None else ctx.settings.token_default_ttl_days
    if not 1 <= days <= 3650:
        raise ValidationFailed("ttl_days must be between 1 and 3650")
    now = ctx.clock()
    token_id, secret = new_id("tok"), secrets.token_urlsafe(32)
    record = TokenRecord(
        token_id,
        owner,
        name,
        ctx.hasher.hash(secret),
        scopes,
        now,
        now + timedelta(days=days),
        None,
        None,
    )
    with ctx.db.transaction() as s:
        if TenancyRepo(s).find_user(owner) is None:
            raise NotFound(f"user {owner} not found")
        AuthRepo(s).add_token(record)
    return IssuedToken(record, f"{token_id}.{secret}")


def principal_from_token(ctx: Context, token: str) -> Principal:
    key = hashlib.sha256(token.encode()).hexdigest()
    cached = ctx.principals.get(key)
    if cached is not None:
        return cached
    with ctx.principals.lock_for(key):
        cached = ctx.principals.get(key)  # verified by a concurrent request meanwhile?
        if cached is not None:
            return cached
        try:
            principal = _verify_token(ctx, token)
        finally:
            ctx.principals.release(key)
        ctx.principals.put(key, principal)
        return principal


def _verify_token(ctx: Context, token: str) -> Principal:
    token_id, _, secret = token.partition(".")
    now = ctx.clock()
    with ctx.db.transaction() as s:
        record = AuthRepo(s).find_token(token_id) if secret else None
        if record is None or record.revoked_at is not None or record.expires_at <= now:
            raise Unauthenticated("the API token is unknown, expired or revoked")
        if not ctx.hasher.verify(secret, record.secret_hash):
            raise Unauthenticated("the API token is unknown, expired or revoked")
        user = TenancyRepo(s).find_user(record.user_id)
        if user is None or not user.is_active:
            raise Unauthenticated("the token's user is disabled")
        AuthRepo(s).touch_token(token_id, now)
        return _principal(TenancyRepo(s), user, scopes=record.scopes, token_id=token_id)


def list_tokens(
    ctx: Context, principal: Principal, *, all_users: bool, after: str | None, limit: int
) -> list[TokenRecord]:
    if all_users:
        require_centre_admin(principal)
    with ctx.db.transaction() as s:
        return AuthRepo(s).list_tokens(
            None if all_users else principal.user.id, after=after, limit=limit
        )


def revoke_token(ctx: Context, principal: Principal, token_id: str) -> TokenRecord:
    with ctx.db.transaction() as s:
        repo = AuthRepo(s)
        record = repo.find_token(token_id)
        if record is None or (
            record.user_id != principal.user.id and not principal.is_centre_admin
        ):
            raise NotFound(f"token {token_id} not found")
        repo.revoke_token(token_id, ctx.clock())
        revoked = repo.find_token(token_id)
    ctx.forget_principals()
    assert revoked is not None
    return revoked


# -- portal sessions
@dataclass(frozen=True)
class WebSession:
    cookie: str
    csrf_token: str
    principal: Principal


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def start_session(ctx: Context, username: str, password: str) -> WebSession:
    principal = authenticate_password(ctx, username, password)
    now = ctx.clock()
    session_id, secret, csrf = new_id("ses"), secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    record = SessionRecord(
        session_id,
        principal.user.id,
        _sha(secret),
        csrf,
        now,
        now + timedelta(seconds=ctx.settings.session_ttl_s),
    )
    with ctx.db.transaction() as s:
        AuthRepo(s).purge_sessions(now)
        AuthRepo(s).add_session(record)
    return WebSession(f"{session_id}.{secret}", csrf, principal)


def resume_session(ctx: Context, cookie: str) -> WebSession:
    session_id, _, secret = cookie.partition(".")
    with ctx.db.transaction() as s:
        record = AuthRepo(s).find_session(session_id)
        if record is None or record.expires_at <= ctx.clock():
            raise Unauthenticated("your session has ended; please log in again")
        if not hmac.compare_digest(record.secret_hash, _sha(secret)):
            raise Unauthenticated("your session has ended; please log in again")
        user = TenancyRepo(s).find_user(record.user_id)
        if user is None or not user.is_active:
            raise Unauthenticated("your account is disabled")
        return WebSession(cookie, record.csrf_token, _principal(TenancyRepo(s), user))


def end_session(ctx: Context, cookie: str) -> None:
    with ctx.db.transaction() as s:
        AuthRepo(s).delete_session(cookie.partition(".")[0])


def csrf_ok(session: WebSession, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(session.csrf_token, presented)


def set_locale(ctx: Context, principal: Principal, locale: str) -> None:
    with ctx.db.transaction() as s:
        TenancyRepo(s).set_locale(principal.user.id, locale)
    ctx.forget_principals()


def token_is_valid_shape(token: str) -> bool:
    token_id, dot, secret = token.partition(".")
    return bool(dot and secret and token_id.startswith("tok_"))


def expires_in(record: TokenRecord, now: datetime) -> timedelta:
    return record.expires_at - now
