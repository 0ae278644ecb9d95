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
3. ordering (ordering.py): the gate gives each job it lets through the policy's key, in the
   same pass; the keys go into three heaps (queues.py).
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
from collections.abc import Sequence
from itertools import count
from operator import itemgetter

from petaport.domain.jobs import PendingReason, QosTier
from petaport.scheduler.backfill import admit, reserve
from petaport.scheduler.config import Blocked
from petaport.scheduler.cycle import Cycle, new_cycle
from petaport.scheduler.ordering import Entry, keyer
from petaport.scheduler.placement import find
from petaport.scheduler.preemption import Victims, preempt
from petaport.scheduler.queues import Lane, Queues
from petaport.scheduler.quotas import QuotaGate, Verdict
from petaport.scheduler.snapshot import Decisions, PendingJob, Snapshot

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
    gpu, cpu, aside, unordered = gate(cycle, snapshot.pending)
    queues = Queues(gpu.values(), cpu.values(), aside)
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
    cycle: Cycle, pending: Sequence[PendingJob]
) -> tuple[Grouped, Grouped, list[Entry], list[PendingJob]]:
    """Phases 2 and 3, one pass: the ordered entries (ordering.py) of GPU jobs that might fit
    now and of CPU-only jobs, each grouped by (the identity of) the job's shape, the entries
    of jobs set aside; and the jobs set aside that no step needs in order (given no key).
    Every job gets its reason in ``cycle.reasons`` in the same pass: the gate's, or for a job
    let through Resources, until a later phase says otherwise (``cycle.waits``)."""
    grouped: tuple[Grouped, Grouped] = ({}, {})  # GPU, CPU
    aside: list[Entry] = []
    counts = [count(), count(), count()]  # per GPU, CPU, ASIDE: the index in each entry
    unordered: list[PendingJob] = []
    skip_aside = cycle.blocked is Blocked.SKIP and not cycle.attempts_left
    key = keyer(cycle)  # each job gets its key as soon as it is let through: it is in cache
    exhausted = cycle.snapshot.exhausted_projects
    reasons = cycle.reasons
    broke, over, waiting = _BROKE, _OVER, PendingReason.RESOURCES
    quota = QuotaGate(cycle.book, cycle.cap.models_for) if cycle.book.active else None
    by_model = quota is not None and bool(quota.by_model)
    memo: dict[int, int] = {}  # id(shape) -> where: shapes are interned, and alive all cycle
    # per project: its room under all-model caps, its org, the jobs let through
    slots: dict[str, tuple[float, str, list[PendingJob]]] = {}
    mixed = False  # a project in two orgs: bulk_reasons then scans every job
    for job in pending:
        if job.budget_exhausted or job.project_id in exhausted:
            reasons[job.id] = broke
            continue
        shape = job.shape
        where = memo.get(id(shape))
        if where is None:
            where = memo[id(shape)] = _where(cycle, job)
        if where > ASIDE:
            reasons[job.id] = WHERE[where]  # type: ignore[assignment]
            continue
        if quota is not None:
            slot = slots.get(job.project_id)
            if slot is None:
                slot = slots[job.project_id] = (quota.room_of(job), job.org_id, [])
            if job.demand_milli > slot[0] or (by_model and quota.over_by_model(job)):
                reasons[job.id] = over
                continue
            mixed = mixed or slot[1] != job.org_id
            slot[2].append(job)
        reasons[job.id] = waiting
        if where == ASIDE:
            if skip_aside:
                unordered.append(job)
            else:
                aside.append(key(job, next(counts[ASIDE])))
            continue
        lane = grouped[where].get(id(shape))
        if lane is None:
            lane = grouped[where][id(shape)] = []
        lane.append(key(job, next(counts[where])))
    if quota is not None and not mixed:
        cycle.by_project = {p: slot[2] for p, slot in slots.items()}
        cycle.project_org = {p: slot[1] for p, slot in slots.items()}
    return grouped[GPU], grouped[CPU], aside, unordered


_BROKE, _OVER = PendingReason.BUDGET_EXHAUSTED, PendingReason.QUOTA_EXCEEDED


GPU, CPU, ASIDE = 0, 1, 2
Grouped = dict[int, list[Entry]]  # id(shape) -> entries of jobs of that shape
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
    while (entry := queues.next(cycle)) is not None:
        dropped = queues.done(entry, consider(cycle, entry[6], victims), cycle.ends_in_time_test)
        cycle.waits.update(dict.fromkeys([e[4] for e in dropped], PendingReason.PRIORITY))


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
    bulk_reasons(cycle, rest, queues.rest())


def bulk_reasons(cycle: Cycle, jobs: list[PendingJob], entries: list[Entry]) -> None:
    """Resources for all (the gate's default; Priority behind a stop); QuotaExceeded where
    this cycle's starts used up a quota (jobs over quota before the cycle were caught by the
    gate)."""
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
            over = [
                j
                for j in [*jobs, *[e[6] for e in entries]]
                if j.project_id in tight or j.org_id in tight
            ]
    if cycle.stopped:
        reasons, behind = cycle.reasons, PendingReason.PRIORITY
        reasons.update(dict.fromkeys(map(_ID, entries), behind))
        reasons.update(dict.fromkeys([j.id for j in jobs], behind))
    _quota_reasons(cycle, quota, over)


_ID = itemgetter(4)


def _quota_reasons(cycle: Cycle, quota: QuotaGate, jobs: list[PendingJob]) -> None:
    """Mark those of these jobs (of tenants with little room left) now over quota."""
    room, by_model = quota.room, bool(quota.by_model)
    for job in jobs:
        left = room.get(job.project_id)
        if job.demand_milli > (quota.room_of(job) if left is None else left) or (
            by_model and quota.over_by_model(job)
        ):
            cycle.waits[job.id] = PendingReason.QUOTA_EXCEEDED
