"""The scheduling loop: reconcile with the backend, snapshot, decide (pure core), apply.

One cycle:
1. ``reconcile`` (``services/reconcile.py``): poll the backend for every RUNNING attempt and
   record those that ended (one transaction); finished GPU time is folded into the project's
   decayed fair-share usage, completed attempts into the duration history.
2. ``take_snapshot`` (``services/snapshot.py``): free GPUs per node (inventory minus running
   allocations, shared GPUs with their free thousandths), pending jobs with walltimes and
   predicted durations, running jobs with their start, walltime, tier and borrowing flag,
   quotas, decayed usage, the policy.
3. ``petaport.scheduler.schedule`` decides.
4. ``apply``: preemptions are asked of the backend (the victim's attempt ends PREEMPTED and
   the job is requeued); new reasons are written; the cycle's starts are recorded in one
   transaction *before* the backend launches any of them (so a crash can never run a job
   twice), launched outside any transaction (``launch_concurrency`` at a time), then their
   backend refs are recorded in one transaction.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from petaport.billing.prices import PriceBook
from petaport.domain.errors import RetryLater
from petaport.domain.ids import new_id
from petaport.domain.jobs import (
    GPU_MILLI,
    Attempt,
    FinishedWork,
    JobState,
    check_transition,
    demand_milli,
)
from petaport.domain.tenancy import Scope
from petaport.scheduler import Decisions, Preemption, Start
from petaport.scheduler.prediction import DurationHistory, Finished
from petaport.services import budgets
from petaport.services.context import Context
from petaport.services.jobs import STOP_PREEMPT, event, request_stop
from petaport.services.metering import meter_and_alert
from petaport.services.ports import AttemptLaunch, AttemptReport, NodeInfo, launch_concurrency
from petaport.services.pricing import load_book
from petaport.services.reconcile import reconcile, record_ends
from petaport.services.snapshot import Loaded, take_snapshot
from petaport.storage.repos.jobs import JobRepo

log = logging.getLogger(__name__)
EVERYTHING = Scope(everything=True)
MIN_GAP_S = 0.02


@dataclass(frozen=True)
class CycleResult:
    ended: int
    started: int
    pending: int


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
    begun = _record_starts(ctx, decisions.starts)
    if begun:
        _launch_all(ctx, begun)
    return len(begun)


def _preempt(ctx: Context, p: Preemption) -> None:
    """Ask the backend to stop the victim; its attempt ends PREEMPTED and it is requeued."""
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        job = repo.get_job(EVERYTHING, p.job_id, for_update=True)
        if job.state != JobState.RUNNING:
            return
        why = (
            "its tier is preemptible"
            if p.reason == "PreemptibleTier"
            else ("it ran on capacity its owner reclaims")
        )
        ref = request_stop(
            ctx, repo, job, STOP_PREEMPT, f"preempted for job {p.for_job}: {why} ({p.reason})"
        )
    if ref is not None:
        ctx.backend.cancel(ref)
        ctx.metrics.preemptions.labels(p.reason).inc()


@dataclass(frozen=True)
class Begun:
    """A start recorded in storage, not yet launched."""

    attempt: Attempt
    launch: AttemptLaunch
    submitted_at: datetime


def _record_starts(ctx: Context, starts: Sequence[Start]) -> list[Begun]:
    """Record every start of the cycle (attempt, job RUNNING, event) in one transaction, before
    any of them is launched: a crash can never run a job twice (docs/backends/slurm.md)."""
    if not starts:
        return []
    now = ctx.clock()
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        begun = [b for s_ in starts if (b := _record_start(ctx, repo, s_, now)) is not None]
    for b in begun:
        if b.launch.number == 1:
            ctx.metrics.queue_wait.observe(max(0.0, (now - b.submitted_at).total_seconds()))
    return begun


def _record_start(ctx: Context, repo: JobRepo, start: Start, now: datetime) -> Begun | None:
    current = repo.get_job(EVERYTHING, start.job_id, for_update=True)
    if current.state != JobState.PENDING:
        return None  # cancelled meanwhile
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
    message = f"attempt {number} started on {gpus or 'CPUs only'}"
    repo.add_event(event(current.id, ctx, "started", JobState.RUNNING, message))
    launch = AttemptLaunch(attempt.id, current.id, number, current.spec, start.allocations,
                           attempt_dir)  # fmt: skip
    return Begun(attempt, launch, current.submitted_at)


def _launch_all(ctx: Context, begun: Sequence[Begun]) -> None:
    """Launch the recorded attempts, ``launch_concurrency`` at a time, outside any transaction;
    then record the backend's refs in one transaction (and the ends of those that could not
    start). An attempt whose launch raised unexpectedly keeps an empty ref: the backend finds
    it again by name or reports it lost (never launched twice)."""
    workers = min(len(begun), launch_concurrency(ctx.backend))
    if workers <= 1:
        reports = [_try_launch(ctx, b.launch) for b in begun]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="petaport-launch") as pool:
            reports = list(pool.map(lambda b: _try_launch(ctx, b.launch), begun))
    done = [(b.attempt, r) for b, r in zip(begun, reports, strict=True) if r is not None]
    record_ends(ctx, [(a, None, r) for a, r in done if r.state.is_terminal])
    launched = [(a, r) for a, r in done if not r.state.is_terminal]
    if launched:
        with ctx.db.transaction() as s:
            repo = JobRepo(s)
            for attempt, report in launched:
                started_at = report.started_at or attempt.created_at
                repo.save_attempt(replace(attempt, backend_ref=report.backend_ref,
                                          pid=report.pid, started_at=started_at))  # fmt: skip


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
            cpu_at = time.thread_time()
            busy = False
            try:
                result = self.run_cycle()
                busy = bool(result.ended or result.started)
            except Exception:  # the loop must survive a bad cycle; the next one retries
                log.exception("scheduling cycle failed")
            self._rest(time.thread_time() - cpu_at, busy)

    def _rest(self, cycle_cpu_s: float, busy: bool) -> None:
        """Wait for a poke or the interval, unless the last cycle saw attempts end or start
        (then more are likely to end soon: poll again at once); pokes arriving during a cycle
        are coalesced.

        The loop then still rests at least ``MIN_GAP_S`` and twice the CPU time the last cycle
        spent in this thread, so scheduling costs at most a third of one core however long the
        queue; time spent waiting on the backend's commands (``sbatch``, ``squeue``) or the
        database is not CPU here and does not lengthen the rest. An idle centre still starts a
        job within milliseconds of its submission.
        """
        if not busy:
            self.ctx.wake.wait(self.ctx.settings.scheduler_interval_s)
        self._stop.wait(max(MIN_GAP_S, 2 * cycle_cpu_s))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="petaport-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.ctx.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
