"""Queue order, one key per policy. Smaller keys go first; ties end on submission time and id,
so the order never depends on the order of the snapshot's pending tuple.

- ``default`` (multifactor, after Slurm): explicit priority; then work within its tenant's
  guarantee before borrowing work (Kueue's rule); then the weighted sum
  ``w_qos*QoS + w_fs*fairshare + w_size*size + w_age*age`` with every factor in [0, 1]:
  QoS 1 / 0.5 / 0 for reserved / on-demand / preemptible, fair share from ``fairshare``, size
  ``1 - ln(1 + g) / ln(1 + size_max_gpu_s)`` (at least 0) for ``g`` predicted GPU seconds
  (walltime when there is no prediction; 0.5 when neither is known): shortest predicted GPU
  time first, the idea of Helios' QSSF, on a log scale so that every tenfold in GPU time
  costs the same, from one-second jobs to month-long gangs (a ratio ``ref / (ref + g)``
  cannot tell 10 s from 100 s, nor 100 h from 1,000 h). Age grows linearly up to
  ``max_age_s``. With the default weights QoS tiers stay strict (the other factors add up to
  less than half a tier), size counts ten times fair share and age at their strongest, and,
  with no usage or predictions, the order is the foundation's: priority, tier, oldest first.
- ``fifo`` / ``fifo_backfill``: submission time only.
- ``sjf_oracle``: shortest true duration first (prediction, then walltime, when unknown).

Keys are heap entries ``(k1, k2, k3, submitted_at, id, index, job)``.

For ``default``, ``bounder`` gives a lower bound ``(k1, k2, k3)`` of the keys of a group of
jobs (of one shape, size class, QoS rank and tier, priority 0), without reading them, so that
a cycle computes the keys of a group only when its walk reaches the bound (queues.py): most
of a long queue never gets a key.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime

from petaport.scheduler.config import Policy
from petaport.scheduler.cycle import Cycle
from petaport.scheduler.snapshot import KEY_NOW, SIZE_CLASSES, PendingJob

Entry = tuple[float, float, float, datetime, str, int, PendingJob]
Bound = tuple[float, float, float]  # smaller than every key it bounds (a shorter tuple)
Bounder = Callable[[int], Bound | None]
INF = float("inf")


def keys(cycle: Cycle, jobs: Sequence[PendingJob]) -> list[Entry]:
    key = keyer(cycle)
    return [key(j, i) for i, j in enumerate(jobs)]


def keyer(cycle: Cycle) -> Callable[[PendingJob, int], Entry]:
    """The policy's key of a job, as the entry at ``index`` of its list. The gate calls it
    right after it has read the job, while the job is still in the CPU's cache (a second
    pass over 100,000 jobs would cost twice as much)."""
    policy = cycle.config.policy
    if policy is Policy.DEFAULT:
        return _multifactor(cycle)
    if policy is Policy.SJF_ORACLE:
        return lambda j, i: (_oracle(j), 0.0, 0.0, j.submitted_at, j.id, i, j)
    return lambda j, i: (0.0, 0.0, 0.0, j.submitted_at, j.id, i, j)


def _oracle(job: PendingJob) -> float:
    for known in (job.oracle_duration_s, job.predicted_duration_s, job.walltime_s):
        if known is not None:
            return known
    return INF


def _multifactor(cycle: Cycle) -> Callable[[PendingJob, int], Entry]:
    """Tight: this runs for every pending job of every cycle."""
    cfg = cycle.config
    qos = (0.0, cfg.weight_qos / 2, cfg.weight_qos)  # by PendingJob.qos_rank
    w_fs = cfg.weight_fairshare
    fair = {p: w_fs * f for p, f in cycle.fair.items()}
    fair_of = fair.get
    w_age, rate, now_s = cfg.weight_age, cfg.weight_age / cfg.max_age_s, cycle.now_s
    w_size = cfg.weight_size
    per_log, half = w_size / math.log1p(cfg.size_max_gpu_s), w_size / 2
    book = cycle.book if cycle.book.active else None
    headroom = cycle.headroom  # nothing is charged while keys are made
    log1p = math.log1p

    def key(j: PendingJob, i: int) -> Entry:
        logged = j.gpu_s_log  # log1p(gpu_s), derived once per job
        if logged is not None:
            size = w_size - per_log * logged
            if not size > 0.0:
                size = 0.0  # max(0.0, size)
        elif j.gpu_s is None:
            size = half
        else:  # no logarithm (a negative estimate): as math.log1p says
            size = max(0.0, w_size - per_log * log1p(j.gpu_s))
        age = (now_s - j.submitted_s) * rate
        score = (
            qos[j.qos_rank] + fair_of(j.project_id, w_fs) + size + (w_age if age > w_age else age)
        )
        tier = 0.0
        if book is not None:
            left = headroom.get(j.project_id)
            if left is None:
                left = headroom[j.project_id] = book.headroom(j.org_id, j.project_id)
            tier = 0.0 if j.demand_milli <= left else 1.0
        return (-j.priority, tier, -score, j.submitted_at, j.id, i, j)

    return key


def bounder(cycle: Cycle) -> Bounder | None:
    """For ``default`` with finite factors and a long queue (``LAZY_FROM``): a function
    giving, for a group of jobs of one shape (``snapshot.order_class`` plus the tier), a
    lower bound of their keys (None: no bound, key them now). None otherwise (keys are
    cheap for the other policies; a short queue is keyed at once, with less to do). It reads no
    job: a group's bound is the smallest key any job of the group could have (priority 0,
    its tier, its QoS, the largest fair share, the size of the smallest estimate of its size
    class, the largest age); float sums and products are monotonic, so it is below every
    key of the group."""
    cfg = cycle.config
    if cfg.policy is not Policy.DEFAULT or len(cycle.snapshot.pending) < LAZY_FROM:
        return None
    w_fs, w_size, w_age = cfg.weight_fairshare, cfg.weight_size, cfg.weight_age
    qos = (0.0, cfg.weight_qos / 2, cfg.weight_qos)
    factors = cycle.fair.values()
    fair = max(w_fs, w_fs * max(factors)) if factors else w_fs
    per_log, half = w_size / math.log1p(cfg.size_max_gpu_s), w_size / 2
    if not all(map(math.isfinite, (*qos, fair, sum(factors), w_size, w_age, per_log))):
        return None  # (a NaN factor could hide from max: the sum shows it)

    def bound(group: int) -> Bound | None:
        if group >= KEY_NOW:
            return None
        size, rank = divmod(group >> 1, 3)
        biggest = half if size == SIZE_CLASSES else max(w_size - per_log * size, 0.0)
        return (0.0, float(group & 1), -(qos[rank] + fair + biggest + w_age))

    return bound


LAZY_FROM = 1_000  # fewer pending jobs: key them all at once (less to do per cycle)
