"""What every use case needs, built once at start (bootstrap) and passed in."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, cast

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from petaport.domain.tenancy import Principal
from petaport.services.clock import Clock, utc_now
from petaport.services.coordination import AuthEpoch, WakeChannel
from petaport.services.metrics import Metrics
from petaport.services.ports import Backend
from petaport.settings import Settings
from petaport.storage.db import Database

T = TypeVar("T")


class PrincipalCache:
    """Verified API tokens -> Principal, for ``ttl_s``, keyed by a SHA-256 of the token.

    argon2 runs once per token per TTL: ``lock_for(key)`` lets one request verify a token while
    concurrent requests with the same token wait for its answer instead of hashing too.
    """

    def __init__(self, ttl_s: float, epoch: AuthEpoch | None = None) -> None:
        self.ttl_s = ttl_s
        self.epoch = epoch
        self._seen_epoch = epoch.current() if epoch else 0
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Principal | None:
        if self.epoch is not None and self.epoch.current() != self._seen_epoch:
            self.clear()  # another worker changed users, memberships or tokens
        entry = self._entries.get(key)
        return entry[1] if entry and entry[0] > time.monotonic() else None

    def put(self, key: str, principal: Principal) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl_s, principal)

    def lock_for(self, key: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    def release(self, key: str) -> None:
        """Forget the verification lock of ``key`` (waiters still hold their reference)."""
        with self._lock:
            self._locks.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._seen_epoch = self.epoch.current() if self.epoch else 0


@dataclass
class Context:
    settings: Settings
    db: Database
    backend: Backend
    clock: Clock = utc_now
    metrics: Metrics = field(default_factory=Metrics)
    wake: threading.Event = field(default_factory=threading.Event)
    hasher: PasswordHash = field(init=False)
    # A real hash to verify against when a user does not exist (same timing either way).
    dummy_hash: str = field(init=False)
    principals: PrincipalCache = field(init=False)
    wake_channel: WakeChannel = field(init=False)
    runs_scheduler: bool = False
    _singletons: dict[str, object] = field(default_factory=dict)
    _singletons_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        s = self.settings
        self.hasher = PasswordHash(
            (Argon2Hasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib),)
        )
        self.dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        run_dir = s.data_dir / "run"
        self.principals = PrincipalCache(60.0, AuthEpoch(run_dir / "auth-epoch"))
        self.wake_channel = WakeChannel(s.data_dir)

    def submissions(self, build: Callable[[], T]) -> T:
        """The process-wide submission batcher (built on first use)."""
        with self._singletons_lock:
            if "submissions" not in self._singletons:
                self._singletons["submissions"] = build()
            return cast(T, self._singletons["submissions"])

    def poke_scheduler(self) -> None:
        """Ask the scheduling loop to run a cycle now (after submit, cancel, requeue)."""
        self.wake.set()
        if not self.runs_scheduler:
            self.wake_channel.send()  # the loop runs in another worker process

    def forget_principals(self) -> None:
        """Drop cached principals, in every worker, after a change to users or tokens."""
        if self.principals.epoch is not None:
            self.principals.epoch.bump()
        self.principals.clear()
