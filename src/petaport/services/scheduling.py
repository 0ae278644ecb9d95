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
   twice), then launched outside any transaction (``services/launching.py``: in the
   background, ``launch_concurrency`` at a time, for a backend that takes concurrent
   launches; their refs are recorded at the start of a later cycle). A job whose catalogue
   access grant has lapsed is not started (``services/catalogue_queue``).

With a backend that gives end notices (``reconcile.EndNotices``: the slurm backend's batch
script writes one when the command exits), the loop checks for them every ``NOTICE_TICK_S``
while it rests and runs a cycle at once when one arrives; such a cycle polls only the noticed
attempts (and those being stopped), and every attempt is still polled at least every
``FULL_POLL_S`` (ends that leave no notice: cancelled, out of time, a dead node).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from petaport.billing.prices import PriceBook
from petaport.domain.jobs import FinishedWork, JobState, demand_milli
from petaport.domain.tenancy import Scope
from petaport.scheduler import Decisions, Preemption
from petaport.scheduler.prediction import DurationHistory, Finished
from petaport.services import budgets, catalogue_queue
from petaport.services.context import Context
from petaport.services.jobs import STOP_PREEMPT, request_stop
from petaport.services.launching import Launcher, record_starts
from petaport.services.metering import meter_and_alert
from petaport.services.ports import NodeInfo
from petaport.services.pricing import load_book
from petaport.services.reconcile import EndNotices, end_notices, reconcile
from petaport.services.snapshot import Loaded, take_snapshot
from petaport.storage.repos.jobs import JobRepo

log = logging.getLogger(__name__)
EVERYTHING = Scope(everything=True)
MIN_GAP_S = 0.02
NOTICE_TICK_S = 0.05  # how often a resting loop checks the backend's end notices
FULL_POLL_S = 5.0  # with end notices: every running attempt is polled at least this often


@dataclass(frozen=True)
class CycleResult:
    ended: int
    started: int
    pending: int


def apply(
    ctx: Context, decisions: Decisions, loaded: Loaded, launcher: Launcher | None = None
) -> int:
    """Preemptions, changed reasons, then the starts: recorded, then handed to ``launcher``
    (launched inline without one)."""
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
    begun = record_starts(ctx, decisions.starts)
    if begun:
        (launcher or Launcher(ctx)).launch(begun)
    return len(begun)


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
        self._deciding_cpu_s = 0.0  # CPU of the last cycle's snapshot and decision
        self._notices = end_notices(ctx.backend)
        self._noticed: set[str] = set()  # attempts to poll next cycle (their end was noticed)
        self._polled_all_at = -math.inf
        self.launcher = Launcher(ctx)

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
        self.launcher.settle()
        launching = self.launcher.in_flight()
        ended = reconcile(
            self.ctx, history, self.forget_inventory, skip=launching, only=self._poll_only()
        )
        self.meter()
        deciding_at = time.thread_time()
        snapshot, loaded = take_snapshot(self.ctx, self.inventory(), history)
        models = {n.name: n.gpu_model for n in self.inventory()}
        decisions, gate = budgets.schedule_within(self.ctx, snapshot, loaded, self.book, models)
        self._deciding_cpu_s = time.thread_time() - deciding_at
        started = apply(self.ctx, decisions, loaded, self.launcher)
        budgets.stop_overruns(self.ctx, gate, loaded)
        if started and not self.launcher.in_flight():
            # launched inline: very short jobs may already be done
            ended += reconcile(self.ctx, history, self.forget_inventory)
        self.ctx.metrics.scheduler_cycle.observe(time.perf_counter() - started_at)
        return CycleResult(ended, started, len(snapshot.pending) - started)

    def _poll_only(self) -> set[str] | None:
        """The attempts this cycle polls: all (None) without end notices or when a full poll
        is due, else the noticed ones."""
        if self._notices is None:
            return None
        self._noticed |= self._notices.noticed_ends()
        noticed, self._noticed = self._noticed, set()
        if time.monotonic() - self._polled_all_at >= FULL_POLL_S:
            self._polled_all_at = time.monotonic()
            return None
        return noticed

    def _run(self) -> None:
        while not self._stop.is_set():
            self.ctx.wake.clear()
            self._deciding_cpu_s = 0.0
            busy = False
            try:
                result = self.run_cycle()
                busy = bool(result.ended or result.started)
            except Exception:  # the loop must survive a bad cycle; the next one retries
                log.exception("scheduling cycle failed")
            self._rest(self._deciding_cpu_s, busy)

    def _rest(self, deciding_cpu_s: float, busy: bool) -> None:
        """Wait for a poke or the interval, unless the last cycle saw attempts end or start
        (then more are likely to end soon: poll again at once); pokes arriving during a cycle
        are coalesced.

        The loop then still rests at least ``MIN_GAP_S`` and twice the CPU time the last cycle
        spent on its snapshot and decision, the part that grows with the queue, so deciding
        costs at most a third of one core however long the queue. Recording ends and starts
        and waiting on the backend's commands (``sbatch``, ``squeue``) do not lengthen the
        rest: that work is what the rest would delay. An idle centre still starts a job within
        milliseconds of its submission.

        With a backend that gives end notices the loop instead waits for a poke, a notice or
        the interval, busy or not (``_await_notice``).
        """
        if self._notices is not None:
            self._await_notice(self._notices)
        elif not busy:
            self.ctx.wake.wait(self.ctx.settings.scheduler_interval_s)
        self._stop.wait(max(MIN_GAP_S, 2 * deciding_cpu_s))

    def _await_notice(self, notices: EndNotices) -> None:
        """Rest until a poke, an end notice or the interval (whether or not the last cycle
        was busy: ends announce themselves)."""
        until = time.monotonic() + self.ctx.settings.scheduler_interval_s
        while not self.ctx.wake.is_set() and time.monotonic() < until:
            self._noticed |= notices.noticed_ends()
            if self._noticed:
                return
            self.ctx.wake.wait(min(NOTICE_TICK_S, max(0.0, until - time.monotonic())))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="petaport-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.ctx.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.launcher.close()  # record the refs of launches still under way
