"""The HTTP layer under ``PetaportClient``: auth header, retries, problem JSON -> exceptions.

Only requests that are safe to repeat (reads, cancel, and job submission with its
Idempotency-Key) are retried, and only on transport failures or 502/503/504.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from petaport.client.errors import ClientError, ConnectionFailed, error_for
from petaport.schemas import Problem

M = TypeVar("M", bound=BaseModel)
Params = Mapping[str, str | int | bool | list[str] | None]
RETRY_STATUSES = frozenset({502, 503, 504})
DEFAULT_TIMEOUT_S = 30.0


class Transport:
    """Holds the connection; the endpoint methods live in the mixins that subclass it."""

    def __init__(
        self, base_url: str, token: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_S,
        retries: int = 2, http: httpx.Client | None = None,
    ) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.retries = retries
        self._http = http or httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, method: str, path: str, *, params: Params | None = None, body: Any = None,
        headers: Mapping[str, str] | None = None, idempotent: bool = False,
    ) -> httpx.Response:  # fmt: skip
        """Send one request (retrying if ``idempotent``); raise on any problem status."""
        all_headers = dict(headers or {})
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                resp = self._http.request(method, path, params=query, json=body,
                                          headers=all_headers)  # fmt: skip
            except httpx.TransportError as exc:
                if last:
                    raise ConnectionFailed(self.base_url, _reason(exc)) from exc
            else:
                if last or resp.status_code not in RETRY_STATUSES:
                    raise_for_problem(resp)
                    return resp
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.request(method, path, **kwargs)
        try:
            return resp.json()
        except ValueError as exc:
            detail = f"{method} {path}: the server sent a response that is not JSON"
            raise ClientError(detail) from exc

    def one(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        return parse(model, self.json(method, path, **kwargs))

    def many(self, model: type[M], path: str, params: Params | None = None) -> list[M]:
        data = self.json("GET", path, params=params, idempotent=True)
        return [parse(model, item) for item in data]

    def pages(
        self, model: type[M], path: str, params: Params | None = None, page_size: int = 100
    ) -> Iterator[M]:
        """Every item of a paginated list, following ``next_cursor`` lazily."""
        cursor: str | None = None
        while True:
            query = {**(params or {}), "limit": page_size, "cursor": cursor}
            data = self.json("GET", path, params=query, idempotent=True)
            for item in data["items"]:
                yield parse(model, item)
            cursor = data.get("next_cursor")
            if not cursor:
                return


def parse(model: type[M], data: Any) -> M:
    """Validate a response body; a mismatch means client and server versions disagree."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ClientError(
            f"the server sent a {model.__name__} this client cannot read "
            f"(client and server versions may differ): {exc.errors()[0]['msg']}"
        ) from exc


def raise_for_problem(resp: httpx.Response) -> None:
    """Raise the matching ``PetaportError`` when ``resp`` is an error (status >= 400)."""
    if resp.status_code < 400:
        return
    problem: Problem | None = None
    try:
        problem = Problem.model_validate(resp.json())
    except (ValueError, ValidationError):
        problem = None
    if problem is not None:
        raise error_for(resp.status_code, problem.code, problem.detail, problem)
    detail = resp.text.strip()[:200] or resp.reason_phrase or "request failed"
    raise error_for(resp.status_code, f"http_{resp.status_code}", detail, None)


def _reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return str(exc) or type(exc).__name__
