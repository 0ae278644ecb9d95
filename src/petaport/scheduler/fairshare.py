"""Fair share: a factor in (0, 1] per project from decayed usage against entitlement.

Slurm's classic formula ``F = 2 ** (-U / S)``: ``U`` is the project's share of all decayed
usage, ``S`` its share of all entitlements. A project that used exactly its entitlement gets
0.5; one that used nothing gets 1; one that used twice its entitlement gets 0.25.

Entitlements: an org's weight is its ``Snapshot.shares`` entry; else its org-level nominal
quota; else the sum of its projects' nominal quotas; else 1. Within an org the weight is split
among its known projects by their nominal quotas (at least 1 GPU each).

Usage decays exponentially with a configurable half-life; callers keep one decayed figure per
project and fold finished work in with ``add_usage``. Everything here is a pure function.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from operator import attrgetter

from petaport.scheduler.snapshot import Quota, Usage

DEFAULT_WEIGHT = 1.0


def decay(gpu_s: float, elapsed_s: float, half_life_s: float) -> float:
    """``gpu_s`` after ``elapsed_s`` more seconds of decay."""
    if elapsed_s <= 0:
        return gpu_s
    if half_life_s <= 0:
        return 0.0
    return float(gpu_s * 0.5 ** (elapsed_s / half_life_s))


def add_usage(
    total_gpu_s: float, as_of: datetime, gpu_s: float, at: datetime, half_life_s: float
) -> float:
    """The decayed total at ``at`` after adding ``gpu_s`` used at ``at`` (``at >= as_of``)."""
    return decay(total_gpu_s, (at - as_of).total_seconds(), half_life_s) + gpu_s


def decayed_usage(usage: tuple[Usage, ...], now: datetime, half_life_s: float) -> dict[str, float]:
    """Usage per project id, decayed to ``now``."""
    out: dict[str, float] = defaultdict(float)
    elapsed_of: dict[datetime, float] = {}  # callers often give one ``as_of`` for all
    for u in usage:
        elapsed = elapsed_of.get(u.as_of)
        if elapsed is None:
            elapsed = elapsed_of[u.as_of] = (now - u.as_of).total_seconds()
        out[u.project_id] += decay(u.gpu_s, elapsed, half_life_s) if elapsed > 0 else u.gpu_s
    return dict(out)


def org_weights(
    usage: tuple[Usage, ...], quotas: tuple[Quota, ...], shares: tuple[tuple[str, float], ...]
) -> dict[str, float]:
    org_level: dict[str, float] = defaultdict(float)
    project_level: dict[str, float] = defaultdict(float)
    for q in quotas:
        target = org_level if q.project_id is None else project_level
        target[q.org_id] += q.nominal_gpus
    given = dict(shares)
    fallback = min(given.values()) if given else DEFAULT_WEIGHT
    orgs = {u.org_id for u in usage} | {q.org_id for q in quotas}
    return {
        org: given.get(org) or org_level.get(org) or project_level.get(org) or fallback
        for org in orgs
    }


def project_weights(
    usage: tuple[Usage, ...], quotas: tuple[Quota, ...], orgs: dict[str, float]
) -> dict[str, float]:
    nominal: dict[str, float] = defaultdict(float)
    org_of: dict[str, str] = {u.project_id: u.org_id for u in usage}
    for q in quotas:
        if q.project_id is not None:
            nominal[q.project_id] += q.nominal_gpus
            org_of[q.project_id] = q.org_id
    raw = {p: max(nominal.get(p, 0.0), 1.0) for p in org_of}
    per_org: dict[str, float] = defaultdict(float)
    for p, w in raw.items():
        per_org[org_of[p]] += w
    return {p: orgs[org_of[p]] * w / per_org[org_of[p]] for p, w in raw.items()}


def factors(
    usage: tuple[Usage, ...],
    quotas: tuple[Quota, ...],
    shares: tuple[tuple[str, float], ...],
    now: datetime,
    half_life_s: float,
) -> dict[str, float]:
    """Fair-share factor per project id; projects absent from the result have 1.0. (Inputs are
    sorted first, so float sums, and the order of jobs, never depend on their order.)"""
    usage = tuple(sorted(usage, key=_usage_order))
    quotas = tuple(sorted(quotas, key=_quota_order))
    used = decayed_usage(usage, now, half_life_s)
    total_used = sum(used.values())
    if total_used <= 0:
        return {}
    orgs = org_weights(usage, quotas, shares)
    return from_weights(used, total_used, project_weights(usage, quotas, orgs), sum(orgs.values()))


def from_weights(
    used: dict[str, float], total_used: float, weights: dict[str, float], total_weight: float
) -> dict[str, float]:
    """The factors of ``factors`` from its parts: decayed usage per project (in project
    order) and its sum, the project weights and the sum of the org weights."""
    return {p: 2.0 ** -((u / total_used) / (weights[p] / total_weight)) for p, u in used.items()}


_usage_order = attrgetter("project_id", "org_id", "as_of", "gpu_s")


def _quota_order(q: Quota) -> tuple[str, str, str, float]:
    return q.org_id, q.project_id or "", q.gpu_model or "", q.nominal_gpus
