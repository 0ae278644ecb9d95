"""Group commit for submissions: concurrent requests share one transaction.

Under load, one database transaction per submission makes the commit (and its round trips) the
bottleneck. A ``Batcher`` hands every request to one thread that drains whatever is waiting
(up to ``max_batch``) and runs it as one batch; each caller still gets its own answer or its
own error. An idle server sees batches of one, so latency does not change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from queue import Empty, SimpleQueue
from typing import Generic, TypeVar

Req = TypeVar("Req")
Res = TypeVar("Res")


class Batcher(Generic[Req, Res]):
    def __init__(self, run: Callable[[list[Req]], list[Res | Exception]], max_batch: int = 128):
        self._run = run
        self._max = max_batch
        self._queue: SimpleQueue[tuple[Req, Future[Res]]] = SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def call(self, request: Req) -> Res:
        """Run ``request`` in the next batch and return its result (or raise its error)."""
        self._ensure_thread()
        future: Future[Res] = Future()
        self._queue.put((request, future))
        return future.result()

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, daemon=True,
                                                     name="petaport-batcher")  # fmt: skip
                    self._thread.start()

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max:
                try:
                    batch.append(self._queue.get_nowait())
                except Empty:
                    break
            self._settle(batch)

    def _settle(self, batch: list[tuple[Req, Future[Res]]]) -> None:
        try:
            results = self._run([request for request, _ in batch])
        except Exception as exc:  # a failure of the whole batch reaches every caller
            results = [exc] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
