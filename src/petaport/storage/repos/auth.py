"""API tokens and portal sessions. Secrets are never stored: only their hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from petaport.storage.tables import ApiTokenRow, WebSessionRow


@dataclass(frozen=True)
class TokenRecord:
    id: str
    user_id: str
    name: str
    secret_hash: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class SessionRecord:
    id: str
    user_id: str
    secret_hash: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


def _token(row: ApiTokenRow) -> TokenRecord:
    return TokenRecord(
        row.id,
        row.user_id,
        row.name,
        row.secret_hash,
        frozenset(row.scopes.split(",")),
        row.created_at,
        row.expires_at,
        row.revoked_at,
        row.last_used_at,
    )


class AuthRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add_token(self, t: TokenRecord) -> None:
        self.s.add(
            ApiTokenRow(
                id=t.id,
                user_id=t.user_id,
                name=t.name,
                secret_hash=t.secret_hash,
                scopes=",".join(sorted(t.scopes)),
                created_at=t.created_at,
                expires_at=t.expires_at,
            )
        )

    def find_token(self, token_id: str) -> TokenRecord | None:
        row = self.s.get(ApiTokenRow, token_id)
        return _token(row) if row else None

    def list_tokens(
        self, user_id: str | None, *, after: str | None, limit: int
    ) -> list[TokenRecord]:
        q = select(ApiTokenRow).order_by(ApiTokenRow.id)
        if user_id is not None:
            q = q.where(ApiTokenRow.user_id == user_id)
        if after:
            q = q.where(ApiTokenRow.id > after)
        return [_token(r) for r in self.s.scalars(q.limit(limit))]

    def revoke_token(self, token_id: str, at: datetime) -> None:
        row = self.s.get(ApiTokenRow, token_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = at

    def touch_token(self, token_id: str, at: datetime) -> None:
        row = self.s.get(ApiTokenRow, token_id)
        if row is not None:
            row.last_used_at = at

    def add_session(self, r: SessionRecord) -> None:
        self.s.add(
            WebSessionRow(
                id=r.id,
                user_id=r.user_id,
                secret_hash=r.secret_hash,
                csrf_token=r.csrf_token,
                created_at=r.created_at,
                expires_at=r.expires_at,
            )
        )

    def find_session(self, session_id: str) -> SessionRecord | None:
        row = self.s.get(WebSessionRow, session_id)
        if row is None:
            return None
        return SessionRecord(
            row.id, row.user_id, row.secret_hash, row.csrf_token, row.created_at, row.expires_at
        )

    def delete_session(self, session_id: str) -> None:
        self.s.execute(delete(WebSessionRow).where(WebSessionRow.id == session_id))

    def purge_sessions(self, now: datetime) -> None:
        self.s.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
