"""The scheduling loop: reconcile with the backend, snapshot, decide (pure core), apply.

One cycle:
1. ``reconcile``: poll the backend for every RUNNING attempt and record those that ended;
   finished GPU time is folded into the project's decayed fair-share usage, completed
   attempts into the duration history.
2. ``take_snapshot`` (``services/snapshot.py``): free GPUs per node (inventory minus running
   allocations, shared GPUs with their free thousandths), pending jobs with walltimes and
   predicted durations, running jobs with their start, walltime, tier and borrowing flag,
   quotas, decayed usage, the policy.
3. ``petaport.scheduler.schedule`` decides.
4. ``apply``: preemptions are asked of the backend (the victim's attempt ends PREEMPTED and
   the job is requeued); new reasons are written; each start is recorded *before* the backend
   launches it (so a crash can never run a job twice), then the launch result is recorded. A
   job whose catalogue access grant has lapsed is not started (``services/catalogue_queue``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from petaport.billing.prices import PriceBook
from petaport.domain.errors import RetryLater
from petaport.domain.ids import new_id
from petaport.domain.jobs import (
    GPU_MILLI,
    Attempt,
    FinishedWork,
    Job,
    JobState,
    PendingReason,
    check_transition,
    demand_milli,
    held_gpus,
)
from petaport.domain.tenancy import Scope
from petaport.scheduler import Decisions, Preemption, Start
from petaport.scheduler.fairshare import add_usage
from petaport.scheduler.prediction import DurationHistory, Finished
from petaport.services import budgets, catalogue_queue
from petaport.services.context import Context
from petaport.services.jobs import STOP_CANCEL, STOP_PREEMPT, STOP_REQUEUE, event, request_stop
from petaport.services.metering import meter_and_alert
from petaport.services.ports import AttemptLaunch, AttemptRef, AttemptReport, NodeInfo
from petaport.services.pricing import load_book
from petaport.services.snapshot import Loaded, take_snapshot
from petaport.storage.repos.jobs import JobRepo
from petaport.storage.repos.quotas import UsageRepo

log = logging.getLogger(__name__)
EVERYTHING = Scope(everything=True)
MAX_AUTO_REQUEUES = 3
MIN_GAP_S = 0.02


@dataclass(frozen=True)
class CycleResult:
    ended: int
    started: int
    pending: int


def reconcile(
    ctx: Context,
    history: DurationHistory | None = None,
    on_node_fail: Callable[[], None] | None = None,
) -> int:
    """Record every attempt the backend says has ended (completed ones into ``history``).
    Calls ``on_node_fail`` when one ended NODE_FAIL. Returns how many ended."""
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
            finished = record_end(ctx, attempt, intent, report)
            if finished is not None and history is not None:
                history.record(finished)
            if report.state is JobState.NODE_FAIL and on_node_fail is not None:
                on_node_fail()
            ended += 1
    return ended


def record_end(
    ctx: Context, attempt: Attempt, intent: str | None, report: AttemptReport
) -> Finished | None:
    """Store the attempt's end and the job's next state; fold its GPU time into fair-share
    usage. Returns the duration-history entry of a COMPLETED attempt."""
    now = ctx.clock()
    state = report.state
    if intent == STOP_PREEMPT and state != JobState.COMPLETED:
        state = JobState.PREEMPTED  # stopped for another job; a job that finished first keeps it
    ended = replace(
        attempt,
        state=state,
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
        gpu_s = _gpu_seconds(ended)
        if gpu_s > 0 and ended.ended_at is not None:
            _fold_usage(ctx, UsageRepo(s), job, gpu_s, ended.ended_at)
        message = f"attempt {attempt.number} ended {report.state.value}"
        if report.exit_code is not None:
            message += f" (exit code {report.exit_code})"
        if report.detail:
            message += f": {report.detail}"
        repo.add_event(event(job.id, ctx, "attempt_ended", job.state, message))
    ctx.metrics.attempts_ended.labels(ended.state.value).inc()
    if ended.state != JobState.COMPLETED or ended.started_at is None or ended.ended_at is None:
        return None
    spec = job.spec
    demand = demand_milli(spec.gpus, spec.nodes, spec.gpu_milli)
    duration = (ended.ended_at - ended.started_at).total_seconds()
    return Finished(job.project_id, job.user_id, demand, max(0.0, duration))


def _gpu_seconds(attempt: Attempt) -> float:
    if attempt.started_at is None or attempt.ended_at is None:
        return 0.0
    held = held_gpus(attempt.allocations, attempt.gpu_milli)
    return held * max(0.0, (attempt.ended_at - attempt.started_at).total_seconds())


def _fold_usage(ctx: Context, usage: UsageRepo, job: Job, gpu_s: float, at: datetime) -> None:
    """Add an attempt's GPU-seconds to its project's decayed usage (counted at its end)."""
    half_life = ctx.settings.fairshare_half_life_s
    current = usage.get_for_update(job.project_id)
    if current is None:
        usage.put(job.org_id, job.project_id, gpu_s, at)
        return
    total, as_of = current
    if at < as_of:  # an attempt that ended before the last fold: decay it instead
        usage.put(job.org_id, job.project_id, add_usage(gpu_s, at, total, as_of, half_life), as_of)
    else:
        usage.put(job.org_id, job.project_id, add_usage(total, as_of, gpu_s, at, half_life), at)


def _job_after(job: Job, attempt: Attempt, intent: str | None) -> Job:
    if job.state != JobState.RUNNING:
        return job  # the job was already moved on (should not happen; keep what is stored)
    preempted = intent == STOP_PREEMPT and attempt.state == JobState.PREEMPTED
    requeue = (
        intent == STOP_REQUEUE
        or preempted
        or (
            attempt.state == JobState.NODE_FAIL
            and intent != STOP_CANCEL
            and job.spec.requeue_on_node_fail
            and job.attempt_count <= MAX_AUTO_REQUEUES
        )
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


def apply(ctx: Context, decisions: Decisions, loaded: Loaded) -> int:
    for p in decisions.preemptions:
        victim = loaded.running.get(p.job_id)
        if victim is not None and not victim.stopping:
            _preempt(ctx, p)
    jobs = loaded.pending
    changed = {jid: r for jid, r in decisions.waits.items() if jobs[jid].reason != r}
    if changed:
        with ctx.db.transaction() as s:
            JobRepo(s).set_reasons(changed, ctx.clock())
    catalogue_queue.hold(ctx, loaded.lapsed, jobs)
    started = 0
    for start in decisions.starts:
        started += _start(ctx, start)
    return started


def _preempt(ctx: Context, p: Preemption) -> None:
    """Ask the backend to stop the victim; its attempt ends PREEMPTED and it is requeued."""
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        job = repo.get_job(EVERYTHING, p.job_id, for_update=True)
        if job.state != JobState.RUNNING:
            return
        tier = p.reason == "PreemptibleTier"
        why = "its tier is preemptible" if tier else "it ran on capacity its owner reclaims"
        ref = request_stop(
            ctx, repo, job, STOP_PREEMPT, f"preempted for job {p.for_job}: {why} ({p.reason})"
        )
    if ref is not None:
        ctx.backend.cancel(ref)
        ctx.metrics.preemptions.labels(p.reason).inc()


def _start(ctx: Context, start: Start) -> int:
    now = ctx.clock()
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        job = current = repo.get_job(EVERYTHING, start.job_id, for_update=True)
        if current.state != JobState.PENDING or catalogue_queue.refuse_start(ctx, s, job):
            return 0  # cancelled meanwhile, or an access grant it relies on has lapsed
        number = current.attempt_count + 1
        attempt = Attempt(
            new_id("att"),
            job.id,
            number,
            JobState.RUNNING,
            start.allocations,
            now,
            borrowing=start.borrowing,
            gpu_milli=start.gpu_milli,
        )
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
        if start.gpu_milli:
            gpus += f" ({start.gpu_milli / GPU_MILLI:g} of the GPU)"
        if start.borrowing:
            gpus += ", borrowing idle capacity (may be preempted)"
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


def _finished(f: FinishedWork) -> Finished:
    demand = demand_milli(f.gpus, f.nodes, f.gpu_milli)
    return Finished(f.project_id, f.user_id, demand, f.duration_s)


class SchedulerLoop:
    """Runs cycles in a background thread: on a poke, or every ``scheduler_interval_s``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inventory: list[NodeInfo] = []
        self._inventory_at = 0.0
        self._history: DurationHistory | None = None
        self._metered_at = -math.inf
        self._book: PriceBook | None = None

    def forget_inventory(self) -> None:
        """Read the inventory again next cycle (a node failed: it may be gone)."""
        self._inventory_at = -math.inf

    def inventory(self) -> list[NodeInfo]:
        if time.monotonic() - self._inventory_at > 60 or not self._inventory:
            self._inventory = self.ctx.backend.inventory()
            self._inventory_at = time.monotonic()
        return self._inventory

    def history(self) -> DurationHistory:
        """Durations of recent completed attempts; loaded once, then fed by ``reconcile``."""
        if self._history is None:
            self._history = DurationHistory()
            with self.ctx.db.transaction() as s:
                recent = JobRepo(s).finished_work(self.ctx.settings.prediction_history)
            for f in recent:
                self._history.record(_finished(f))
        return self._history

    def book(self) -> PriceBook:
        """The price book, read again after each metering run."""
        if self._book is None:
            self._book = load_book(self.ctx)
        return self._book

    def meter(self, *, force: bool = False) -> None:
        """Meter and rate usage, then raise budget alerts, every ``metering_interval_s``."""
        if force or time.monotonic() - self._metered_at >= self.ctx.settings.metering_interval_s:
            self._metered_at = time.monotonic()
            self._book = None  # read again: a new version may have taken effect
            meter_and_alert(self.ctx)

    def run_cycle(self) -> CycleResult:
        started_at = time.perf_counter()
        history = self.history()
        ended = reconcile(self.ctx, history, self.forget_inventory)
        self.meter()
        snapshot, loaded = take_snapshot(self.ctx, self.inventory(), history)
        models = {n.name: n.gpu_model for n in self.inventory()}
        decisions, gate = budgets.schedule_within(self.ctx, snapshot, loaded, self.book, models)
        started = apply(self.ctx, decisions, loaded)
        budgets.stop_overruns(self.ctx, gate, loaded)
        if started:
            # very short jobs may already be done
            ended += reconcile(self.ctx, history, self.forget_inventory)
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
