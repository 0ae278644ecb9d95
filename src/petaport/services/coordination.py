"""Coordination between the worker processes of one server (``PETAPORT_WORKERS`` > 1).

All workers serve the API and portal; exactly one runs the scheduling loop:
- ``SchedulerLease``: an exclusive ``flock`` on ``<data_dir>/scheduler.lock``. The kernel drops
  it when its holder dies, so another worker takes over within ``retry_s``.
- ``WakeChannel``: the lease holder listens on an abstract Unix datagram socket named after the
  data directory; any worker's submit or cancel sends one byte so the loop runs at once.
- ``AuthEpoch``: a file whose mtime changes whenever users, memberships or tokens change, so
  every worker drops its cached principals (a revoked token stops working everywhere at once).
Everything is local to one machine, as the data directory is.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


class SchedulerLease:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _address(data_dir: Path) -> bytes:
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:24]
    return b"\0petaport-wake-" + digest.encode()


class WakeChannel:
    def __init__(self, data_dir: Path) -> None:
        self.address = _address(data_dir)
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self._listener: socket.socket | None = None

    def send(self) -> None:
        """Best effort: a lost wake-up only delays scheduling until the next interval."""
        with contextlib.suppress(OSError):
            self._sender.sendto(b"!", self.address)

    def listen(self, on_wake: Callable[[], None]) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.bind(self.address)
        self._listener = listener
        threading.Thread(target=self._receive, args=(listener, on_wake), daemon=True,
                         name="petaport-wake").start()  # fmt: skip

    @staticmethod
    def _receive(listener: socket.socket, on_wake: Callable[[], None]) -> None:
        while True:
            try:
                listener.recv(64)
            except OSError:
                return
            on_wake()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        self._sender.close()


class AuthEpoch:
    """Cheap cross-process invalidation: one ``stat`` per cache hit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)

    def current(self) -> int:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return 0

    def bump(self) -> None:
        now = time.time_ns()
        with contextlib.suppress(OSError):
            os.utime(self.path, ns=(now, max(now, self.current() + 1)))


def hold_lease_when_free(lease: SchedulerLease, on_acquired: Callable[[], None],
                         stop: threading.Event, retry_s: float = 2.0) -> None:  # fmt: skip
    """Call ``on_acquired`` once this process holds the lease (retrying until ``stop``)."""

    def _wait() -> None:
        while not stop.is_set():
            if lease.try_acquire():
                log.info("this worker (pid %s) now runs the scheduling loop", os.getpid())
                on_acquired()
                return
            stop.wait(retry_s)

    threading.Thread(target=_wait, daemon=True, name="petaport-lease").start()
