"""Step 4 of a scheduling cycle, the starts: record them, then launch them.

Invariants:
- every start of a cycle (attempt, job RUNNING, ``started`` event) is recorded in one
  transaction *before* any of them reaches the backend: a crash can never run a job twice (the
  backend finds a launched attempt again by its name, docs/backends/slurm.md);
- launches run outside any transaction. A backend that takes one launch at a time gets them one
  by one, in the loop's thread, and their results are recorded at once. A backend that declares
  ``ConcurrentLaunches`` gets them in the background, ``launch_concurrency`` at a time: the
  loop goes on polling and scheduling meanwhile, ``settle`` records the finished ones (refs in
  one transaction, launches that failed as ended attempts), and attempts still being launched
  are left out of ``reconcile`` (``in_flight``);
- a launch that raises unexpectedly keeps its empty ref (found by name, or reported lost by the
  backend; never launched twice).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime

from petaport.domain.errors import RetryLater
from petaport.domain.ids import new_id
from petaport.domain.jobs import GPU_MILLI, Attempt, Job, JobEvent, JobState, check_transition
from petaport.scheduler import Start
from petaport.services import catalogue_queue
from petaport.services.context import Context
from petaport.services.jobs import event
from petaport.services.ports import AttemptLaunch, AttemptReport, launch_concurrency
from petaport.services.reconcile import record_ends
from petaport.storage.repos.job_batches import JobBatchRepo
from petaport.storage.repos.jobs import JobRepo

log = logging.getLogger(__name__)
Launched = tuple[Attempt, AttemptReport | None]


@dataclass(frozen=True)
class Begun:
    """A start recorded in storage, not launched yet."""

    attempt: Attempt
    launch: AttemptLaunch
    submitted_at: datetime


def record_starts(ctx: Context, starts: Sequence[Start]) -> list[Begun]:
    """Record every start of the cycle in one transaction (a job cancelled meanwhile, or one
    whose catalogue access grant has lapsed, is skipped); the queue-wait metric of first
    attempts."""
    if not starts:
        return []
    now = ctx.clock()
    with ctx.db.transaction() as s:
        batch = JobBatchRepo(s)
        jobs = batch.get_jobs([start.job_id for start in starts], for_update=True)
        pending = [job for job in jobs.values() if job.state == JobState.PENDING]
        refused = catalogue_queue.refuse_starts(ctx, s, pending)  # an access grant lapsed
        made = [m for st in starts if st.job_id not in refused
                and (m := _start_of(ctx, jobs[st.job_id], st, now)) is not None]  # fmt: skip
        batch.add_attempts([(b.attempt, str(b.launch.attempt_dir)) for b, _, _ in made])
        batch.save_jobs([job for _, job, _ in made])
        JobRepo(s).add_events([e for _, _, e in made])
    begun = [b for b, _, _ in made]
    for b in begun:
        if b.launch.number == 1:
            ctx.metrics.queue_wait.observe(max(0.0, (now - b.submitted_at).total_seconds()))
    return begun


def _start_of(
    ctx: Context, current: Job, start: Start, now: datetime
) -> tuple[Begun, Job, JobEvent] | None:
    """The new attempt, the job RUNNING and its event; None if the job is no longer PENDING
    (cancelled meanwhile)."""
    if current.state != JobState.PENDING:
        return None
    number = current.attempt_count + 1
    attempt = Attempt(
        new_id("att"),
        current.id,
        number,
        JobState.RUNNING,
        start.allocations,
        now,
        borrowing=start.borrowing,
        gpu_milli=start.gpu_milli,
    )
    attempt_dir = ctx.settings.jobs_dir.resolve() / current.id / str(number)
    check_transition(current.state, JobState.RUNNING)
    running = replace(
        current,
        state=JobState.RUNNING,
        reason=None,
        attempt_count=number,
        started_at=now,
        ended_at=None,
        exit_code=None,
        updated_at=now,
    )
    message = f"attempt {number} started on {_placement(start)}"
    started = event(current.id, ctx, "started", JobState.RUNNING, message)
    launch = AttemptLaunch(attempt.id, current.id, number, current.spec, start.allocations,
                           attempt_dir)  # fmt: skip
    return Begun(attempt, launch, current.submitted_at), running, started


def _placement(start: Start) -> str:
    """``gpu1:0,1;gpu2:0,1``, a GPU share, borrowing: what the ``started`` event says."""
    gpus = ";".join(f"{a.node}:{','.join(map(str, a.gpu_indices))}" for a in start.allocations)
    if start.gpu_milli:
        gpus += f" ({start.gpu_milli / GPU_MILLI:g} of the GPU)"
    if start.borrowing:
        gpus += ", borrowing idle capacity (may be preempted)"
    return gpus or "CPUs only"


class Launcher:
    """Launches recorded attempts: inline for a one-at-a-time backend, else in a pool of
    ``launch_concurrency`` threads whose results ``settle`` records (loop thread only)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._pool: ThreadPoolExecutor | None = None
        self._workers = 0
        self._lock = threading.Lock()
        self._in_flight: dict[str, tuple[Attempt, Future[AttemptReport | None]]] = {}

    def launch(self, begun: Sequence[Begun]) -> None:
        workers = launch_concurrency(self.ctx.backend)
        if workers <= 1:
            record_launched(self.ctx, [(b.attempt, _try_launch(self.ctx, b.launch)) for b in begun])
            return
        pool = self._pool_of(workers)
        with self._lock:
            for b in begun:
                future = pool.submit(_try_launch, self.ctx, b.launch)
                self._in_flight[b.attempt.id] = (b.attempt, future)

    def in_flight(self) -> frozenset[str]:
        """Attempts whose launch has not been recorded yet."""
        with self._lock:
            return frozenset(self._in_flight)

    def settle(self, *, wait_s: float | None = 0.0) -> int:
        """Record the launches that have finished (waiting up to ``wait_s`` for the others;
        ``None``: for all). Returns how many were recorded."""
        with self._lock:
            futures = [f for _, f in self._in_flight.values()]
        if futures and wait_s != 0.0:
            wait(futures, timeout=wait_s)
        with self._lock:
            done = [k for k, (_, f) in self._in_flight.items() if f.done()]
            finished = [self._in_flight.pop(k) for k in done]
        record_launched(self.ctx, [(a, f.result()) for a, f in finished])
        return len(finished)

    def close(self) -> None:
        """Wait for every launch under way and record it (the server is stopping)."""
        self.settle(wait_s=None)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _pool_of(self, workers: int) -> ThreadPoolExecutor:
        if self._pool is None or self._workers != workers:
            if self._pool is not None:
                self._pool.shutdown(wait=False)  # its queued launches still run
            self._pool = ThreadPoolExecutor(workers, thread_name_prefix="petaport-launch")
            self._workers = workers
        return self._pool


def record_launched(ctx: Context, launched: Sequence[Launched]) -> None:
    """The backend's refs of launched attempts in one transaction; the ends of attempts that
    could not start (recorded like any end: a NODE_FAIL is requeued)."""
    done = [(a, r) for a, r in launched if r is not None]
    record_ends(ctx, [(a, None, r) for a, r in done if r.state.is_terminal])
    running = [(a, r) for a, r in done if not r.state.is_terminal]
    if not running:
        return
    saved = [
        replace(a, backend_ref=r.backend_ref, pid=r.pid, started_at=r.started_at or a.created_at)
        for a, r in running
    ]
    with ctx.db.transaction() as s:
        JobBatchRepo(s).save_attempts(saved)


def _try_launch(ctx: Context, launch: AttemptLaunch) -> AttemptReport | None:
    try:
        launch.attempt_dir.mkdir(parents=True, exist_ok=True)
        return ctx.backend.launch(launch)
    except (RetryLater, OSError) as exc:
        detail = f"launch failed: {exc}"
        return AttemptReport(launch.attempt_id, JobState.NODE_FAIL, "", detail=detail)
    except Exception:  # a bug in one launch must not lose the others' refs
        log.exception("launching attempt %s failed", launch.attempt_id)
        return None
