"""``schedule``: one cycle of the configured policy over an immutable Snapshot.

Phases, each a small function:
1. ``new_cycle`` (cycle.py): index free capacity by model and free-GPU count, charge running
   work to quotas, compute fair-share factors.
2. ``gate``: a project out of budget waits with BudgetExhausted; a job no node pool could ever
   hold waits with PartitionConfig or GpuModelUnavailable (NodePoolUnavailable: none of the
   pools it is limited to could); the others are sorted into GPU jobs
   that might fit now, CPU-only jobs and jobs set aside (all memoised per job shape). In the
   same pass every job gets its reason: the gate's, or Resources until a later phase says
   otherwise.
3. ordering (ordering.py): the policy's key, given (queues.py) to a group of jobs of one
   shape only when the walk reaches the group's bound, so most jobs of a long queue get none.
4. ``walk``: take jobs in order while anything may still start; ``consider`` each: quota,
   placement, the reservation's veto (backfill), else ``blocked``: preemption, the reservation
   or a stop.
5. ``settle``: the first blocked job gets its reservation if the walk did not reach it, a few
   more blocked jobs may preempt, and the jobs not walked keep the gate's Resources or get
   Priority (behind a stop or a reservation) or QuotaExceeded, without being placed.
Every pending job ends with exactly one decision: a Start or a reason.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import cast

from petaport.domain.jobs import PendingReason, QosTier
from petaport.scheduler.backfill import admit, reserve
from petaport.scheduler.config import Blocked
from petaport.scheduler.cycle import Cycle, new_cycle
from petaport.scheduler.ordering import bounder, keyer
from petaport.scheduler.placement import find
from petaport.scheduler.preemption import Victims, preempt
from petaport.scheduler.queues import Groups, Lane, Queues
from petaport.scheduler.quotas import QuotaGate, Verdict
from petaport.scheduler.snapshot import ORDER_GROUPS, Decisions, PendingJob, Snapshot

PREEMPT_SCAN = 50  # blocked jobs looked at per preemption attempt left, after the walk
RESERVE_SCAN = 8  # blocked jobs looked at for the reservation, after the walk


def schedule(snapshot: Snapshot) -> Decisions:
    """Decide, for every pending job, to start it (and where) or why it waits; and whom to
    preempt for whom.

    The cyclic garbage collector is paused during the call: a cycle allocates a few short-lived
    objects per pending job, all freed by reference counting, and would otherwise make the
    collector walk the whole snapshot several times (half the time of a 100,000-job cycle).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _schedule(snapshot)
    finally:
        if was_enabled:
            gc.enable()


def _schedule(snapshot: Snapshot) -> Decisions:
    cycle = new_cycle(snapshot)
    cycle.waits = reason_table()  # (nothing waits yet) a veto may add 10,000 jobs to it
    bound = bounder(cycle)
    (gpu, cpu, aside), unordered = gate(cycle, snapshot.pending, lazy=bound is not None)
    queues = Queues((gpu.values(), cpu.values(), aside.values()), keyer(cycle), bound)
    victims = Victims.of(cycle)
    walk(cycle, queues, victims)
    settle(cycle, queues, unordered, victims)
    waits = cycle.reasons  # every job, as the gate left it
    waits.update(cycle.waits)  # the reasons given since
    for start in cycle.starts:
        del waits[start.job_id]
    return Decisions(tuple(cycle.starts), waits, tuple(cycle.preemptions),
                     tuple(cycle.reservations))  # fmt: skip


def gate(
    cycle: Cycle, pending: Sequence[PendingJob], *, lazy: bool
) -> tuple[Sorted, list[PendingJob]]:
    """Phase 2, one pass: the jobs that might start now (GPU, then CPU-only) and those set
    aside, each grouped by (the identity of) the job's shape and by size, QoS rank and tier
    (snapshot.order_class; queues.py keys them when needed: phase 3); and the jobs set aside that
    no step needs in order (given no key). Each project's headroom, which keys read, is
    taken here, before anything is charged, when its first job is let through.
    Every job gets its reason in ``cycle.reasons`` in the same pass: the gate's, or for a job
    let through Resources, until a later phase says otherwise (``cycle.waits``)."""
    grouped: Sorted = ({}, {}, {})  # GPU, CPU, ASIDE
    unordered: list[PendingJob] = []
    skip_aside = cycle.blocked is Blocked.SKIP and not cycle.attempts_left
    headroom, book = cycle.headroom, cycle.book
    exhausted = cycle.snapshot.exhausted_projects
    reasons = cycle.reasons = reason_table()
    broke, over, waiting = _BROKE, _OVER, PendingReason.RESOURCES
    quota = QuotaGate(cycle.book, cycle.cap.models_for) if cycle.book.active else None
    by_model = quota is not None and bool(quota.by_model)
    # shape number -> its reason if it never fits, else its group (None: unordered); shapes are
    # interned, and alive all cycle
    memo: dict[int, tuple[PendingReason | None, Groups | None]] = {}
    slots: dict[str, _Slot] = {}  # per project: one look-up per job for all it needs
    mixed = False  # a project in two orgs: bulk_reasons then scans every job
    for job in pending:
        slot = slots.get(job.project_id)
        if slot is None:
            slot = slots[job.project_id] = _Slot(job.project_id in exhausted)
        if job.broke or slot.broke:
            reasons[job.id] = broke
            continue
        found = memo.get(job.shape_key)
        if found is None:
            found = memo[job.shape_key] = _group(cycle, job, grouped, skip_aside, lazy)
        never, tiers = found
        if never is not None:
            reasons[job.id] = never
            continue
        if quota is not None:
            org = slot.org
            if org is None:  # the project's first job that might fit: its room and org
                org = slot.open(quota.room_of(job), job.org_id)
            if job.demand_milli > slot.room or (by_model and quota.over_by_model(job)):
                reasons[job.id] = over
                continue
            mixed = mixed or org != job.org_id
            slot.jobs.append(job)
        reasons[job.id] = waiting
        if tiers is None:
            unordered.append(job)
            continue
        group = job.order_class  # ordering.bounder
        if quota is not None:  # the tier: beyond the headroom (taken at the first job keyed)
            left = slot.left
            if left is None:
                left = book.headroom(job.org_id, job.project_id)
                slot.left = headroom[job.project_id] = left
            group += job.demand_milli > left
        tiers[group].append(job)
    if quota is not None and not mixed:
        _index(cycle, slots)
    return grouped, unordered


def _index(cycle: Cycle, slots: dict[str, _Slot]) -> None:
    """Keep the jobs the gate let through per project, and each project's org."""
    cycle.by_project = {p: got.jobs for p, got in slots.items() if got.org is not None}
    cycle.project_org = {p: got.org for p, got in slots.items() if got.org is not None}


def reason_table() -> dict[str, PendingReason]:
    """An empty dict for every pending job's reason, of CPython's general kind: a dict whose
    keys are all strings stores no hashes, so each collision while inserting 100,000 ids
    reads a key string elsewhere in memory; a dict that once held another key stores them
    (a third faster to fill, the same dict to its readers)."""
    table: dict[object, PendingReason] = {None: PendingReason.RESOURCES}
    del table[None]
    return cast(dict[str, PendingReason], table)


def _group(
    cycle: Cycle, job: PendingJob, grouped: Sorted, skip_aside: bool, lazy: bool
) -> tuple[PendingReason | None, Groups | None]:
    """For the first job of a shape: the reason if it never fits, else the (new) groups of
    its shape, where they belong (None: set aside, and no key needed); not ``lazy``: all
    groups one list."""
    where = _where(cycle, job)
    if where > ASIDE:
        return WHERE[where], None
    if where == ASIDE and skip_aside:
        return None, None
    # keyed at once: one list for all groups (Lanes reads group 0)
    tiers: Groups = [[] for _ in range(ORDER_GROUPS)] if lazy else [[]] * ORDER_GROUPS
    grouped[where][job.shape_key] = tiers
    return None, tiers


_BROKE, _OVER = PendingReason.BUDGET_EXHAUSTED, PendingReason.QUOTA_EXCEEDED


class _Slot:
    """What the gate keeps per project: whether its budget is exhausted; once a job of it
    might fit, its room under all-model caps and its org; the jobs let through and its
    headroom (once a job of it is keyed)."""

    __slots__ = ("broke", "jobs", "left", "org", "room")

    def __init__(self, broke: bool) -> None:
        self.broke = broke
        self.org: str | None = None
        self.room = 0.0
        self.jobs: list[PendingJob] = []
        self.left: float | None = None

    def open(self, room: float, org: str) -> str:
        self.room, self.org = room, org
        return org


GPU, CPU, ASIDE = 0, 1, 2
Grouped = dict[int, Groups]  # shape number -> jobs of that shape, by group (snapshot.order_class)
Sorted = tuple[Grouped, Grouped, Grouped]  # GPU, CPU, ASIDE
WHERE = (
    None, None, None, PendingReason.GPU_MODEL_UNAVAILABLE, PendingReason.PARTITION_CONFIG,
    PendingReason.POOL_UNAVAILABLE,
)  # fmt: skip


def _where(cycle: Cycle, job: PendingJob) -> int:
    """Where jobs of this shape go: GPU, CPU, ASIDE or the index of a never-fits reason."""
    cycle.max_demand_milli = max(cycle.max_demand_milli, job.demand_milli)
    reason = cycle.shapes.never_fits(job, cycle.cap.models_for(job))
    if reason is not None:
        return WHERE.index(reason)
    if job.fractional:
        return ASIDE if cycle.cap.exhausted else GPU
    if job.gpus == 0:
        return CPU
    return GPU if job.gpus <= cycle.cap.max_free(cycle.cap.keys) else ASIDE


def walk(cycle: Cycle, queues: Queues, victims: Victims | None) -> None:
    """Phase 4: take jobs in order while anything may still start."""
    waits, behind = cycle.waits, PendingReason.PRIORITY
    while (entry := queues.next(cycle)) is not None:
        dropped = queues.done(entry, consider(cycle, entry[6], victims), cycle.ends_in_time_test)
        for job in dropped:  # (a veto can drop 10,000 jobs at once)
            waits[job.id] = behind


def consider(cycle: Cycle, job: PendingJob, victims: Victims | None) -> Lane:
    """Start the job or say why it waits, and what that says about jobs of its shape."""
    models, over = allowed(cycle, job)
    if not models:
        cycle.wait(job, PendingReason.QUOTA_EXCEEDED if over else PendingReason.RESOURCES)
        return Lane.OPEN
    every_model = len(models) == len(cycle.cap.models_for(job))
    plan = find(cycle.cap, job, models)
    if plan is not None and cycle.reserved is not None:
        plan = admit(cycle, cycle.reserved, job, plan, models)
        if plan is None:
            cycle.wait(job, PendingReason.PRIORITY)
            return Lane.SHORT_ONLY if every_model else Lane.OPEN
    if plan is not None:
        cycle.start(job, plan)
        return Lane.OPEN
    blocked(cycle, job, models, victims)
    return Lane.CLOSED if every_model else Lane.OPEN


def allowed(cycle: Cycle, job: PendingJob) -> tuple[tuple[str, ...], bool]:
    """The job's models its quotas let it use now, and whether a quota said no."""
    models = cycle.cap.models_for(job)
    book = cycle.book
    if not book.active:
        return models, False
    milli, milli_free = job.demand_milli, cycle.cap.milli
    verdicts = [
        book.check(job.org_id, job.project_id, k, milli, milli_free.get(k, 0)) for k in models
    ]
    ok = tuple(k for k, v in zip(models, verdicts, strict=True) if v is Verdict.OK)
    return ok, not ok and Verdict.OVER_QUOTA in verdicts


def blocked(
    cycle: Cycle, job: PendingJob, models: tuple[str, ...], victims: Victims | None
) -> None:
    """The job fits nowhere now: preempt for it, reserve for it, or stop the queue."""
    cycle.wait(job, PendingReason.RESOURCES)
    if victims is not None and cycle.attempts_left > 0 and may_preempt(job):
        cycle.attempts_left -= 1
        if preempt(cycle, victims, job, models):
            cycle.stopped = cycle.blocked is Blocked.STOP  # it starts next cycle: nobody passes
            return
    if cycle.blocked is Blocked.STOP:
        cycle.stopped = True
    elif cycle.blocked is Blocked.RESERVE and not cycle.reserve_tried:
        cycle.reserve_tried = True
        cycle.reserved = reserve(cycle, job, models)


def may_preempt(job: PendingJob) -> bool:
    """Reserved and on-demand GPU jobs may preempt; fractional and CPU-only jobs wait."""
    return job.qos is not QosTier.PREEMPTIBLE and job.gpus > 0 and not job.fractional


def settle(
    cycle: Cycle, queues: Queues, unordered: list[PendingJob], victims: Victims | None
) -> None:
    """Phase 5: the reservation if still to come, late preemptions, then a reason for every
    job not yet decided."""
    rest = unordered
    scan = PREEMPT_SCAN * (cycle.attempts_left if victims is not None else 0) + RESERVE_SCAN
    for entry in queues.in_order() if not cycle.stopped else ():
        reserve_next = cycle.blocked is Blocked.RESERVE and not cycle.reserve_tried
        preempt_next = victims is not None and cycle.attempts_left > 0
        job = entry[6]
        if reserve_next or (preempt_next and may_preempt(job)):
            consider(cycle, job, victims)
        else:
            rest.append(job)
        scan -= 1
        if scan <= 0 or not (reserve_next or preempt_next):
            break
    bulk_reasons(cycle, rest, queues.rest)


def bulk_reasons(
    cycle: Cycle, jobs: list[PendingJob], queued: Callable[[], list[PendingJob]]
) -> None:
    """Resources for all (the gate's default; Priority behind a stop); QuotaExceeded where
    this cycle's starts used up a quota (jobs over quota before the cycle were caught by the
    gate). ``jobs`` and ``queued()``: the jobs not walked (the second only if needed)."""
    quota = QuotaGate(cycle.book, cycle.cap.models_for)
    tight = quota.tight(cycle.book.touched, cycle.max_demand_milli)
    over: list[PendingJob] = []
    if tight:
        if cycle.by_project is not None:  # the gate indexed the jobs it let through
            waits, started = cycle.waits, {s.job_id for s in cycle.starts}
            orgs = cycle.project_org
            over = [
                j
                for p, mine in cycle.by_project.items()
                if p in tight or orgs[p] in tight
                for j in mine
                if j.id not in waits and j.id not in started
            ]
        else:
            over = [j for j in [*jobs, *queued()] if j.project_id in tight or j.org_id in tight]
    if cycle.stopped:
        reasons, behind = cycle.reasons, PendingReason.PRIORITY
        reasons.update(dict.fromkeys(map(_ID, queued()), behind))
        reasons.update(dict.fromkeys([j.id for j in jobs], behind))
    _quota_reasons(cycle, quota, over)


_ID = attrgetter("id")


def _quota_reasons(cycle: Cycle, quota: QuotaGate, jobs: list[PendingJob]) -> None:
    """Mark those of these jobs (of tenants with little room left) now over quota."""
    room, by_model = quota.room, bool(quota.by_model)
    for job in jobs:
        left = room.get(job.project_id)
        if job.demand_milli > (quota.room_of(job) if left is None else left) or (
            by_model and quota.over_by_model(job)
        ):
            cycle.waits[job.id] = PendingReason.QUOTA_EXCEEDED
