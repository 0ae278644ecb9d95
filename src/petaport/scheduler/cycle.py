"""The working state of one scheduling cycle, built from a Snapshot and discarded after it.

Holds the capacity index, the quota book, fair-share factors, the decisions taken so far and
the time estimates the policies need. It is mutable, but private to one ``schedule`` call:
``schedule`` stays a pure function of its snapshot. Times are float seconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from petaport.domain.jobs import PendingReason
from petaport.scheduler.capacity import Capacity
from petaport.scheduler.config import Blocked, Policy, PolicyConfig
from petaport.scheduler.fairshare import factors
from petaport.scheduler.placement import Plan, Shapes, commit
from petaport.scheduler.quotas import QuotaBook
from petaport.scheduler.snapshot import (
    MILLI,
    PendingJob,
    Preemption,
    Release,
    Reservation,
    RunningJob,
    Snapshot,
    Start,
)


class Reserved:
    """The top blocked job's reservation: when, and what each reserved node can still spare
    (GPUs, CPUs, MiB) to work that would still run at ``at_s``. (A plain class, as ``Cycle``.)"""

    def __init__(
        self,
        job: PendingJob,
        at_s: float,
        slack: dict[str, list[int]],
        counted: dict[str, set[int]],
    ) -> None:
        self.job, self.at_s, self.slack = job, at_s, slack
        self.counted = counted  # per reserved node: GPUs wholly free when it was reserved


class Cycle:
    """A plain class, not a dataclass: compiled, its ``__init__`` is native (a dataclass's is
    generated Python, called once per ``schedule``)."""

    def __init__(
        self,
        snapshot: Snapshot,
        config: PolicyConfig,
        now_s: float,
        cap: Capacity,
        shapes: Shapes,
        book: QuotaBook,
        fair: dict[str, float],
        blocked: Blocked,
        attempts_left: int = 0,
    ) -> None:
        self.snapshot, self.config, self.now_s, self.cap = snapshot, config, now_s, cap
        self.shapes, self.book, self.fair, self.blocked = shapes, book, fair, blocked
        self.starts: list[Start] = []
        self.waits: dict[str, PendingReason] = {}  # reasons after the gate
        self.reasons: dict[str, PendingReason] = {}  # every job's, by the gate
        self.preemptions: list[Preemption] = []
        self.reservations: list[Reservation] = []
        self.reserved: Reserved | None = None
        self.reserve_tried = False
        self.stopped = False
        self.started_ends: list[Release] = []
        self.attempts_left = attempts_left
        self.max_demand_milli = 0  # the largest demand among pending jobs (set by the gate)
        self.headroom: dict[str, float] = {}  # per project, for ordering
        # the jobs the gate let through, per project (None: no quotas, or a project in two orgs)
        self.by_project: dict[str, list[PendingJob]] | None = None
        self.project_org: dict[str, str] = {}

    def start(self, job: PendingJob, plan: Plan) -> None:
        key = plan.nodes[0].key
        milli = job.demand_milli
        borrowing = self.book.borrowing(job.org_id, job.project_id, key, milli)
        self.book.charge(job.org_id, job.project_id, key, milli)
        allocations = commit(self.cap, plan)
        self.starts.append(Start(job.id, allocations, plan.milli, borrowing))
        estimate = self.estimate_s(job)
        if estimate is not None:
            self.started_ends.append((self.now_s + estimate, job.id, allocations, plan.milli, None))

    def wait(self, job: PendingJob, reason: PendingReason) -> None:
        self.waits[job.id] = reason

    def ends_in_time(self, job: PendingJob) -> bool:
        """Would the job end before the reservation starts (so it cannot delay it)?"""
        estimate = self.estimate_s(job)
        reserved = self.reserved
        return reserved is None or (estimate is not None and self.now_s + estimate <= reserved.at_s)

    def ends_in_time_test(self) -> Callable[[PendingJob], bool]:
        """``ends_in_time`` with this moment's reservation and settings bound, for a pass over
        a long lane (the same test, without two method calls per job)."""
        reserved = self.reserved
        if reserved is None:
            return lambda job: True
        now_s, at_s, predicts = self.now_s, reserved.at_s, self.config.predicts

        def short(job: PendingJob) -> bool:
            estimate = job.walltime_s
            predicted = job.predicted_duration_s
            if predicts and predicted is not None:
                estimate = predicted if estimate is None else min(predicted, estimate)
            return estimate is not None and now_s + estimate <= at_s

        return short

    def estimate_s(self, job: PendingJob) -> float | None:
        """How long the job will run, for backfill: walltime, or a prediction if allowed."""
        walltime = job.walltime_s
        if self.config.predicts and job.predicted_duration_s is not None:
            predicted = job.predicted_duration_s
            return predicted if walltime is None else min(predicted, walltime)
        return walltime

    def end_s(self, job: RunningJob) -> float | None:
        """When a running job is expected to end (never before now), or None if unknown."""
        end = job.predicted_end_s if self.config.predicts else None
        end = job.walltime_end_s if end is None else end
        return None if end is None else max(self.now_s, end)

    def at(self, seconds: float) -> datetime:
        return self.snapshot.now + timedelta(seconds=seconds - self.now_s)

    def node_key(self, job: RunningJob) -> str:
        states, key_of = self.cap.states, self.cap.key_of
        for a in job.allocations:
            state = states.get(a.node)
            if state is not None:
                return key_of(state.gpu_model)
        return key_of(job.gpu_model)


def running_milli(job: RunningJob) -> int:
    if 0 < job.gpu_milli < MILLI:
        return job.gpu_milli
    return sum(len(a.gpu_indices) for a in job.allocations) * MILLI


def new_cycle(snapshot: Snapshot) -> Cycle:
    """Phase 1: index capacity, charge running work to quotas, compute fair-share factors."""
    config = snapshot.config
    fair: dict[str, float] = {}
    if config.policy is Policy.DEFAULT and config.weight_fairshare:
        given = snapshot.fair_share
        fair = dict(given) if given is not None else factors(
            snapshot.usage, snapshot.quotas, snapshot.shares, snapshot.now, config.half_life_s
        )  # fmt: skip
    cycle = Cycle(
        snapshot=snapshot,
        config=config,
        now_s=snapshot.now.timestamp(),
        cap=Capacity(snapshot.nodes, (p.gpu_model for p in snapshot.pools), snapshot.node_index),
        shapes=Shapes(snapshot.nodes, snapshot.pools),
        book=QuotaBook(snapshot.quotas),
        fair=fair,
        blocked=config.blocked,
        attempts_left=config.max_preemptors if config.preempts else 0,
    )
    if cycle.book.active:
        _charge_running(cycle)
    return cycle


def _charge_running(cycle: Cycle) -> None:
    """Charge running work to quotas, summed per (org, project, model) first: the sums are
    of whole thousandths, so the totals are the same floats as when charged job by job."""
    totals: dict[tuple[str, str, str], int] = {}
    node_key = cycle.node_key
    for job in cycle.snapshot.running:
        held = (job.org_id, job.project_id, node_key(job))
        totals[held] = totals.get(held, 0) + running_milli(job)
    for (org, project, key), milli in totals.items():
        cycle.book.charge(org, project, key, milli)
    cycle.book.touched.clear()  # only what this cycle charges counts as touched
