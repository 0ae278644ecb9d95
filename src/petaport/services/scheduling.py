"""The scheduling loop: reconcile with the backend, snapshot, decide (pure core), apply.

One cycle:
1. ``reconcile``: poll the backend for every RUNNING attempt and record those that ended.
2. ``take_snapshot``: free GPUs per node (inventory minus running allocations), pending jobs.
3. ``petaport.scheduler.schedule`` decides.
4. ``apply``: new reasons are written; each start is recorded *before* the backend launches it
   (so a crash can never run a job twice), then the launch result is recorded.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from petaport.domain.errors import RetryLater
from petaport.domain.ids import new_id
from petaport.domain.jobs import (
    Attempt,
    Job,
    JobState,
    PendingReason,
    QueuedJob,
    check_transition,
)
from petaport.domain.tenancy import Scope
from petaport.scheduler import Decisions, NodeState, PendingJob, Snapshot, Start, schedule
from petaport.services.context import Context
from petaport.services.jobs import STOP_CANCEL, STOP_REQUEUE, event
from petaport.services.ports import AttemptLaunch, AttemptRef, AttemptReport, NodeInfo
from petaport.storage.repos.jobs import JobRepo

log = logging.getLogger(__name__)
EVERYTHING = Scope(everything=True)
MAX_AUTO_REQUEUES = 3
MIN_GAP_S = 0.02


@dataclass(frozen=True)
class CycleResult:
    ended: int
    started: int
    pending: int


def reconcile(ctx: Context) -> int:
    """Record every attempt the backend says has ended. Returns how many ended."""
    with ctx.db.transaction() as s:
        running = JobRepo(s).running_attempts()
    if not running:
        return 0
    refs = [
        AttemptRef(a.id, Path(d), a.backend_ref or "", a.pid, a.started_at) for a, d, _ in running
    ]
    reports = ctx.backend.poll(refs)
    ended = 0
    for (attempt, _, intent), report in zip(running, reports, strict=True):
        if report.state.is_terminal:
            record_end(ctx, attempt, intent, report)
            ended += 1
    return ended


def record_end(ctx: Context, attempt: Attempt, intent: str | None, report: AttemptReport) -> None:
    now = ctx.clock()
    ended = replace(
        attempt,
        state=report.state,
        ended_at=report.ended_at or now,
        exit_code=report.exit_code,
        detail=report.detail,
    )
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        job = repo.get_job(EVERYTHING, attempt.job_id, for_update=True)
        repo.save_attempt(ended)
        job = _job_after(job, ended, intent)
        repo.save_job(job)
        message = f"attempt {attempt.number} ended {report.state.value}"
        if report.exit_code is not None:
            message += f" (exit code {report.exit_code})"
        if report.detail:
            message += f": {report.detail}"
        repo.add_event(event(job.id, ctx, "attempt_ended", job.state, message))
    ctx.metrics.attempts_ended.labels(report.state.value).inc()


def _job_after(job: Job, attempt: Attempt, intent: str | None) -> Job:
    if job.state != JobState.RUNNING:
        return job  # the job was already moved on (should not happen; keep what is stored)
    requeue = intent == STOP_REQUEUE or (
        attempt.state == JobState.NODE_FAIL
        and intent != STOP_CANCEL
        and job.spec.requeue_on_node_fail
        and job.attempt_count <= MAX_AUTO_REQUEUES
    )
    end_at = attempt.ended_at
    if requeue:
        check_transition(job.state, JobState.PENDING)
        return replace(
            job,
            state=JobState.PENDING,
            reason=PendingReason.REQUEUED,
            updated_at=end_at or job.updated_at,
            exit_code=attempt.exit_code,
        )
    state = JobState.CANCELLED if intent == STOP_CANCEL else attempt.state
    check_transition(job.state, state)
    return replace(
        job,
        state=state,
        reason=None,
        ended_at=end_at,
        exit_code=attempt.exit_code,
        updated_at=end_at or job.updated_at,
    )


def take_snapshot(ctx: Context, inventory: list[NodeInfo]) -> tuple[Snapshot, dict[str, QueuedJob]]:
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        running = repo.running_attempts()
        pending = repo.queue()
    used_gpus: dict[str, set[int]] = {}
    used_cpus: dict[str, int] = {}
    used_mem: dict[str, int] = {}
    for attempt, _, _ in running:
        for a in attempt.allocations:
            used_gpus.setdefault(a.node, set()).update(a.gpu_indices)
            used_cpus[a.node] = used_cpus.get(a.node, 0) + a.cpus
            used_mem[a.node] = used_mem.get(a.node, 0) + a.memory_mb
    nodes = tuple(
        NodeState(
            n.name,
            n.name,
            n.gpu_model,
            len(n.gpu_indices),
            tuple(i for i in n.gpu_indices if i not in used_gpus.get(n.name, set())),
            n.cpus,
            n.cpus - used_cpus.get(n.name, 0),
            n.memory_mb,
            n.memory_mb - used_mem.get(n.name, 0),
        )
        for n in inventory
    )
    queue = tuple(
        PendingJob(
            j.id,
            j.org_id,
            j.project_id,
            j.priority,
            j.qos,
            j.submitted_at,
            j.gpus,
            j.nodes,
            j.cpus,
            j.memory_mb,
            j.gpu_model,
        )
        for j in pending
    )
    return Snapshot(ctx.clock(), nodes, queue), {j.id: j for j in pending}


def apply(ctx: Context, decisions: Decisions, jobs: dict[str, QueuedJob]) -> int:
    changed = {jid: r for jid, r in decisions.waits.items() if jobs[jid].reason != r}
    if changed:
        with ctx.db.transaction() as s:
            JobRepo(s).set_reasons(changed, ctx.clock())
    started = 0
    for start in decisions.starts:
        started += _start(ctx, start)
    return started


def _start(ctx: Context, start: Start) -> int:
    now = ctx.clock()
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        job = current = repo.get_job(EVERYTHING, start.job_id, for_update=True)
        if current.state != JobState.PENDING:
            return 0  # cancelled meanwhile
        number = current.attempt_count + 1
        attempt = Attempt(new_id("att"), job.id, number, JobState.RUNNING, start.allocations, now)
        attempt_dir = ctx.settings.jobs_dir.resolve() / job.id / str(number)
        repo.add_attempt(attempt, str(attempt_dir))
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
        repo.save_job(running)
        gpus = ";".join(f"{a.node}:{','.join(map(str, a.gpu_indices))}" for a in start.allocations)
        repo.add_event(
            event(
                job.id,
                ctx,
                "started",
                JobState.RUNNING,
                f"attempt {number} started on {gpus or 'CPUs only'}",
            )
        )
    if number == 1:
        ctx.metrics.queue_wait.observe(max(0.0, (now - job.submitted_at).total_seconds()))
    _launch(
        ctx,
        attempt,
        AttemptLaunch(attempt.id, job.id, number, job.spec, start.allocations, attempt_dir),
    )
    return 1


def _launch(ctx: Context, attempt: Attempt, launch: AttemptLaunch) -> None:
    launch.attempt_dir.mkdir(parents=True, exist_ok=True)
    try:
        report = ctx.backend.launch(launch)
    except (RetryLater, OSError) as exc:
        report = AttemptReport(attempt.id, JobState.NODE_FAIL, "", detail=f"launch failed: {exc}")
    if report.state.is_terminal:
        record_end(ctx, attempt, None, report)
        return
    with ctx.db.transaction() as s:
        JobRepo(s).save_attempt(
            replace(
                attempt,
                backend_ref=report.backend_ref,
                pid=report.pid,
                started_at=report.started_at or attempt.created_at,
            )
        )


class SchedulerLoop:
    """Runs cycles in a background thread: on a poke, or every ``scheduler_interval_s``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inventory: list[NodeInfo] = []
        self._inventory_at = 0.0

    def inventory(self) -> list[NodeInfo]:
        if time.monotonic() - self._inventory_at > 60 or not self._inventory:
            self._inventory = self.ctx.backend.inventory()
            self._inventory_at = time.monotonic()
        return self._inventory

    def run_cycle(self) -> CycleResult:
        started_at = time.perf_counter()
        ended = reconcile(self.ctx)
        snapshot, jobs = take_snapshot(self.ctx, self.inventory())
        started = apply(self.ctx, schedule(snapshot), jobs)
        if started:
            ended += reconcile(self.ctx)  # very short jobs may already be done
        self.ctx.metrics.scheduler_cycle.observe(time.perf_counter() - started_at)
        return CycleResult(ended, started, len(snapshot.pending) - started)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.ctx.wake.clear()
            began = time.monotonic()
            try:
                self.run_cycle()
            except Exception:  # the loop must survive a bad cycle; the next one retries
                log.exception("scheduling cycle failed")
            self._rest(time.monotonic() - began)

    def _rest(self, cycle_s: float) -> None:
        """Wait for a poke or the interval; pokes arriving during a cycle are coalesced.

        After a poke the loop still rests at least ``MIN_GAP_S`` and twice as long as the last
        cycle took, so a burst of submissions onto a long queue costs at most a third of one
        core for scheduling; an idle centre still starts a job within milliseconds.
        """
        self.ctx.wake.wait(self.ctx.settings.scheduler_interval_s)
        self._stop.wait(max(MIN_GAP_S, 2 * cycle_s))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="petaport-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.ctx.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
