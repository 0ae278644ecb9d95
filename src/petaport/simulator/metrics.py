"""What a replay measured: JCT, queueing delay, slowdown, utilisation, fairness, fragmentation.

Definitions (``docs/simulator.md`` explains each):
- JCT = end - submit; queueing delay (wait) = first start - submit;
- bounded slowdown = max(1, JCT / max(duration, tau)), tau = 10 s;
- utilisation = busy GPU-seconds / (GPUs x makespan); makespan = last end - first submit;
- a tenant's share = its GPU-seconds / all GPU-seconds; entitlement from the cluster
  description (equal shares when absent);
- Jain's index over tenants of 1 / (mean bounded slowdown): 1 when every tenant's jobs are
  slowed alike, 1/n when one tenant takes all the delay;
- fragmentation = free GPUs that no pending job could use (time average).
Percentiles are nearest-rank. Every figure is a pure function of the ``ReplayResult``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from petaport.simulator.outcome import JobOutcome, ReplayResult

TAU_S = 10.0
UTILISATION_BINS = 100
CDF_POINTS = 200


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def bounded_slowdown(job: JobOutcome) -> float:
    return max(1.0, job.jct_s / max(job.duration_s, TAU_S))


def jain(values: Sequence[float]) -> float:
    """Jain's fairness index: (sum x)^2 / (n sum x^2); 1 for no values."""
    squares = sum(v * v for v in values)
    return (sum(values) ** 2) / (len(values) * squares) if squares else 1.0


def makespan_s(result: ReplayResult) -> float:
    if not result.outcomes:
        return 0.0
    return max(o.end_s for o in result.outcomes) - min(o.submit_s for o in result.outcomes)


def entitlements(tenants: Sequence[str], configured: dict[str, float]) -> dict[str, float]:
    """Each tenant's entitled share, normalised over the tenants present."""
    raw = {t: configured.get(t, 0.0) if configured else 1.0 for t in tenants}
    total = sum(raw.values())
    return {t: (v / total if total else 0.0) for t, v in raw.items()}


def tenant_table(result: ReplayResult, configured: dict[str, float]) -> dict[str, Any]:
    groups: dict[str, list[JobOutcome]] = defaultdict(list)
    for o in result.outcomes:
        groups[o.tenant].append(o)
    total_gpu_s = sum(o.duration_s * o.gpus for o in result.outcomes) or 1.0
    entitled = entitlements(sorted(groups), configured)
    table = {}
    for tenant in sorted(groups):
        jobs = groups[tenant]
        gpu_s = sum(o.duration_s * o.gpus for o in jobs)
        share = gpu_s / total_gpu_s
        table[tenant] = {
            "jobs": len(jobs),
            "gpu_hours": gpu_s / 3600,
            "share": share,
            "entitlement": entitled[tenant],
            "share_vs_entitlement": share / entitled[tenant] if entitled[tenant] else None,
            "avg_wait_s": mean([o.wait_s for o in jobs]),
            "avg_jct_s": mean([o.jct_s for o in jobs]),
            "avg_bounded_slowdown": mean([bounded_slowdown(o) for o in jobs]),
        }
    return table


def summary(result: ReplayResult, configured: dict[str, float]) -> dict[str, Any]:
    """The headline figures of one policy's replay."""
    jct = sorted(o.jct_s for o in result.outcomes)
    wait = sorted(o.wait_s for o in result.outcomes)
    span = makespan_s(result)
    tenants = tenant_table(result, configured)
    return {
        "jobs": len(result.outcomes),
        "unschedulable_jobs": result.unschedulable,
        "unfinished_jobs": result.unfinished,
        "avg_jct_s": mean(jct),
        "median_jct_s": percentile(jct, 50),
        "p95_jct_s": percentile(jct, 95),
        "p99_jct_s": percentile(jct, 99),
        "avg_wait_s": mean(wait),
        "p99_wait_s": percentile(wait, 99),
        "avg_bounded_slowdown": mean([bounded_slowdown(o) for o in result.outcomes]),
        "utilisation": result.busy_gpu_s / (result.total_gpus * span) if span else 0.0,
        "makespan_s": span,
        "jain_fairness": jain([1 / t["avg_bounded_slowdown"] for t in tenants.values()]),
        "fragmented_gpus_avg": result.fragmented_gpu_s / span if span else 0.0,
        "fragmented_gpus_avg_while_queued": (
            result.fragmented_gpu_s / result.queued_s if result.queued_s else 0.0
        ),
        "preemptions": sum(o.preemptions for o in result.outcomes),
        "gpu_hours_lost": sum(o.lost_gpu_s for o in result.outcomes) / 3600,
        "scheduler_calls": result.core_calls,
        "events": result.events,
        "tenants": tenants,
    }


def utilisation_series(result: ReplayResult, bins: int = UTILISATION_BINS) -> list[list[float]]:
    """[[bin start (h), mean utilisation]] over the makespan."""
    span = makespan_s(result)
    if not span or not result.total_gpus:
        return []
    width, busy_s = span / bins, [0.0] * bins
    points = [*result.series, (span, 0)]
    for (begin, busy), (t1, _) in pairwise(points):
        t0 = begin
        while busy and t0 < t1:
            b = min(int(t0 / width), bins - 1)
            if b < bins - 1 and (b + 1) * width <= t0:
                b += 1
            end = t1 if b == bins - 1 else min(t1, (b + 1) * width)
            busy_s[b] += busy * (end - t0)
            t0 = end
    return [[b * width / 3600, v / (width * result.total_gpus)] for b, v in enumerate(busy_s)]


def jct_cdf(result: ReplayResult, points: int = CDF_POINTS) -> list[list[float]]:
    """[[JCT (s), fraction of jobs with at most that JCT]], at most ``points`` rows."""
    jct = sorted(o.jct_s for o in result.outcomes)
    if not jct:
        return []
    n = len(jct)
    ranks = sorted({max(1, math.ceil(k * n / points)) for k in range(1, points + 1)})
    return [[jct[r - 1], r / n] for r in ranks]
