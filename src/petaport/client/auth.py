"""Endpoints for login, the caller's identity and API tokens."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from petaport.client.transport import Transport
from petaport.schemas import LoginCreate, Me, TokenCreate, TokenIssued, TokenPublic


class AuthApi(Transport):
    def login(
        self,
        username: str,
        password: str,
        *,
        token_name: str = "cli",  # noqa: S107 (a label for the token, not a secret)
        ttl_days: int | None = None,
    ) -> TokenIssued:
        """Exchange a password for a new token; this client then uses that token."""
        body = LoginCreate(username=username, password=password, token_name=token_name,
                           ttl_days=ttl_days)  # fmt: skip
        issued = self.one(TokenIssued, "POST", "/v1/auth/login", body=body.model_dump())
        self.token = issued.token
        return issued

    def me(self) -> Me:
        return self.one(Me, "GET", "/v1/me", idempotent=True)

    def create_token(self, spec: TokenCreate) -> TokenIssued:
        """A new API token; its secret (``.token``) is shown only in this response."""
        return self.one(TokenIssued, "POST", "/v1/tokens", body=spec.model_dump(mode="json"))

    def iter_tokens(self, *, all_users: bool = False) -> Iterator[TokenPublic]:
        return self.pages(TokenPublic, "/v1/tokens", {"all_users": all_users})

    def list_tokens(
        self, *, all_users: bool = False, limit: int | None = None
    ) -> list[TokenPublic]:
        return list(islice(self.iter_tokens(all_users=all_users), limit))

    def revoke_token(self, token_id: str) -> TokenPublic:
        return self.one(TokenPublic, "DELETE", f"/v1/tokens/{token_id}", idempotent=True)
