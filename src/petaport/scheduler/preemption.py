"""Preemption: stop running work so that a blocked job can start in the next cycle.

Who may be stopped, for a blocked reserved or on-demand GPU job J:
- preemptible-tier work of anyone (reason PreemptibleTier);
- borrowed work of other projects, when J is within its own guarantee (ReclaimGuarantee).

How (Kueue's algorithm, on nodes): candidates are taken newest first (least work lost), each
crediting what it holds back to its nodes of J's models, until J would fit (a gang: on
``nodes`` nodes of one model); then every candidate J can do without is dropped again, oldest
first. The result is minimal (no victim can be spared) and prefers recent starts.
A job limited to node pools only counts (and stops work on) nodes of those pools.
The chosen nodes' free resources are held for J for the rest of the cycle and J's demand is
charged to its quotas, so later jobs cannot take what the victims give back. J waits with
Resources and, being first in order next cycle, starts then.
"""

from __future__ import annotations

from petaport.domain.jobs import QosTier
from petaport.scheduler.backfill import Need, need_of
from petaport.scheduler.capacity import Outside
from petaport.scheduler.cycle import Cycle
from petaport.scheduler.snapshot import (
    MILLI,
    PREEMPT_RECLAIM,
    PREEMPT_TIER,
    PendingJob,
    Preemption,
    RunningJob,
)

Freed = dict[str, list[int]]  # node -> projected free (GPUs, CPUs, MiB) once victims stop


class Victims:
    """Running jobs some blocked job might stop, newest first."""

    def __init__(self, ordered: list[RunningJob]) -> None:
        self.ordered = ordered
        self.tier = any(r.qos is QosTier.PREEMPTIBLE for r in ordered)
        self.gone: set[str] = set()
        self.failed: set[tuple[object, ...]] = set()

    @classmethod
    def of(cls, cycle: Cycle) -> Victims | None:
        if not cycle.attempts_left:
            return None
        index = cycle.snapshot.running_index
        if index is not None:
            candidates = list(index.victims)
        else:
            tier = QosTier.PREEMPTIBLE
            candidates = [r for r in cycle.snapshot.running if r.qos is tier or r.borrowing]
        if not candidates:
            return None
        candidates.sort(key=lambda r: (r.started_at, r.id), reverse=True)
        return cls(candidates)

    def may_stop(self, victim: RunningJob, job: PendingJob, reclaim: bool) -> bool:
        if victim.id in self.gone:
            return False
        if victim.qos is QosTier.PREEMPTIBLE:
            return True
        return reclaim and victim.borrowing and victim.project_id != job.project_id


def _fits(free: list[int], need: Need) -> bool:
    return free[0] >= need[0] and free[1] >= need[1] and free[2] >= need[2]


def _credit(cycle: Cycle, freed: Freed, victim: RunningJob, keys: tuple[str, ...],
            outside: Outside | None) -> list[str]:  # fmt: skip
    """Add what ``victim`` holds to ``freed``; the nodes of ``keys`` (not ``outside``) it
    touched."""
    whole = not 0 < victim.gpu_milli < MILLI
    touched: list[str] = []
    for a in victim.allocations:
        node = cycle.cap.node_for(a.node, victim.gpu_model)
        if node.key not in keys or not node.schedulable or (outside and a.node in outside):
            continue
        free = freed.get(a.node)
        if free is None:
            free = freed[a.node] = [len(node.free), node.cpus, node.mem]
        free[0] += len(a.gpu_indices) if whole else 0
        free[1] += a.cpus
        free[2] += a.memory_mb
        touched.append(a.node)
    return touched


def _gather(
    cycle: Cycle, victims: Victims, job: PendingJob, keys: tuple[str, ...], reclaim: bool
) -> tuple[list[RunningJob], list[str]] | None:
    """Candidates newest first until ``job`` fits: (candidates, the nodes it would use)."""
    need = need_of(job)
    outside = cycle.cap.outside(job)
    freed: Freed = {}
    fitting: dict[str, dict[str, None]] = {key: {} for key in keys}
    for key in keys if job.nodes > 1 else ():  # nodes that already fit count for a gang
        for k in range(need[0], cycle.cap.top.get(key, 0) + 1):
            for name in cycle.cap.bucket(key, k):
                if cycle.cap.node(name).holds(need[1], need[2]) and not (
                    outside and name in outside
                ):
                    fitting[key][name] = None
    taken: list[RunningJob] = []
    for victim in victims.ordered:
        if not victims.may_stop(victim, job, reclaim):
            continue
        touched = _credit(cycle, freed, victim, keys, outside)
        if not touched:
            continue
        taken.append(victim)
        for name in touched:
            if _fits(freed[name], need):
                fitting[cycle.cap.nodes[name].key][name] = None
        for key in keys:
            if len(fitting[key]) >= job.nodes:
                return taken, list(fitting[key])[: job.nodes]
    return None


def _enough(
    cycle: Cycle,
    job: PendingJob,
    nodes: list[str],
    stopped: list[RunningJob],
    keys: tuple[str, ...],
) -> bool:
    freed: Freed = {}
    outside = cycle.cap.outside(job)
    for victim in stopped:
        _credit(cycle, freed, victim, keys, outside)
    need = need_of(job)
    for name in nodes:
        node = cycle.cap.nodes[name]
        if not _fits(freed.get(name, [len(node.free), node.cpus, node.mem]), need):
            return False
    return True


def _prune(
    cycle: Cycle, job: PendingJob, taken: list[RunningJob], nodes: list[str], keys: tuple[str, ...]
) -> list[RunningJob]:
    """Drop every candidate the job can do without, oldest first."""
    chosen = set(nodes)
    kept = [v for v in taken if any(a.node in chosen for a in v.allocations)]
    for victim in reversed(list(kept)):
        rest = [v for v in kept if v is not victim]
        if _enough(cycle, job, nodes, rest, keys):
            kept = rest
    return kept


def preempt(cycle: Cycle, victims: Victims, job: PendingJob, keys: tuple[str, ...]) -> bool:
    """Stop the fewest running jobs that let ``job`` start next cycle; False if impossible."""
    book = cycle.book
    reclaim = book.active and any(
        book.within_guarantee(job.org_id, job.project_id, k, job.demand_milli) for k in keys
    )
    if not reclaim and not victims.tier:
        return False
    shape = (keys, need_of(job), job.nodes, reclaim, job.project_id if reclaim else "", job.pools)
    if shape in victims.failed:
        return False
    found = _gather(cycle, victims, job, keys, reclaim)
    if found is None:
        victims.failed.add(shape)
        return False
    taken, nodes = found
    for v in sorted(_prune(cycle, job, taken, nodes, keys), key=lambda v: v.id):
        victims.gone.add(v.id)
        reason = PREEMPT_TIER if v.qos is QosTier.PREEMPTIBLE else PREEMPT_RECLAIM
        cycle.preemptions.append(Preemption(v.id, reason, job.id))
    _hold(cycle, job, nodes)
    return True


def _hold(cycle: Cycle, job: PendingJob, nodes: list[str]) -> None:
    """Keep what is free on the chosen nodes for ``job`` until the victims have stopped."""
    g, c, m = need_of(job)
    for name in nodes:
        node = cycle.cap.nodes[name]
        cycle.cap.take_whole(node, min(g, len(node.free)), min(c, node.cpus), min(m, node.mem))
    key = cycle.cap.nodes[nodes[0]].key
    cycle.book.charge(job.org_id, job.project_id, key, job.demand_milli)
