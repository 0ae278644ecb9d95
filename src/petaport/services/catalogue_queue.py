"""The catalogue's say in scheduling: which queued jobs may run only in Hong Kong, and which may
not start now because an access grant they were admitted under has lapsed.

Read for the whole queue once per cycle (``queue_limits``, by ``services/snapshot``) and again
for the jobs inside the transaction that starts them (``refuse_starts``, by
``services/launching``), so that a grant expiring between the snapshot and the start is still
caught. A job whose grant lapsed stays PENDING with reason ``CatalogueAccess`` (an event says
which entry): it is not failed, because the owner can renew access (approve a new request)
and the job then starts as submitted, like a job waiting for its budget. Its data is never
mounted, since no attempt is launched.

Invariants: a job using a resident-only entry is limited to the node pools marked in Hong Kong
(``PendingJob.pools``; the scheduler core never places it elsewhere); the sensitivity and the
grants are read afresh each cycle, so a change by the owner applies to queued jobs too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from petaport.domain.catalogue import AccessRequired, Entry, Grant, Sensitivity, Use, check_access
from petaport.domain.jobs import Job, JobState, PendingReason, QueuedJob
from petaport.services.context import Context
from petaport.services.jobs import event
from petaport.storage.repos.catalogue import CatalogueRepo
from petaport.storage.repos.jobs import JobRepo


@dataclass(frozen=True)
class QueueLimits:
    resident: frozenset[str] = frozenset()  # ids of queued jobs that use resident-only entries
    lapsed: dict[str, str] = field(default_factory=dict)  # job id -> why it may not start now


def _why_not(entry: Entry, use: Use, grants: list[Grant], now: datetime) -> str | None:
    """Why ``use`` is no longer allowed at ``now`` (None: it still is)."""
    mine = [g for g in grants if g.entry_id == entry.id and g.project_id == use.project_id]
    try:
        check_access(entry, use.org_id, mine, now, f"{entry.kind.value}:{entry.name}")
    except AccessRequired as refused:
        return refused.detail
    return None


def _limits(repo: CatalogueRepo, uses: list[Use], now: datetime) -> QueueLimits:
    if not uses:
        return QueueLimits()
    entries = repo.entries_by_id({u.entry_id for u in uses})
    grants = repo.grants(entry_ids=sorted(entries))
    resident: set[str] = set()
    lapsed: dict[str, str] = {}
    for use in uses:
        entry = entries[use.entry_id]
        if entry.sensitivity is Sensitivity.RESIDENT_ONLY:
            resident.add(use.job_id)
        why = None if use.job_id in lapsed else _why_not(entry, use, grants, now)
        if why is not None:
            lapsed[use.job_id] = why
    return QueueLimits(frozenset(resident), lapsed)


def queue_limits(s: Session, now: datetime) -> QueueLimits:
    """Residency and lapsed grants of every queued job that uses catalogue entries."""
    return _limits(CatalogueRepo(s), CatalogueRepo(s).pending_uses(), now)


def refuse_starts(ctx: Context, s: Session, jobs: Sequence[Job]) -> set[str]:
    """Inside the transaction about to start ``jobs`` (PENDING, locked): those relying on a
    grant that has lapsed stay PENDING with reason CatalogueAccess (and an event saying why);
    returns their ids. One read of the queued jobs' catalogue uses, whatever their number."""
    starting = {job.id for job in jobs}
    repo = CatalogueRepo(s)
    uses = [u for u in repo.pending_uses() if u.job_id in starting]
    lapsed = _limits(repo, uses, ctx.clock()).lapsed
    if lapsed:
        held = JobRepo(s)
        held.set_reasons(dict.fromkeys(lapsed, PendingReason.CATALOGUE_ACCESS), ctx.clock())
        for job_id, why in lapsed.items():
            held.add_event(event(job_id, ctx, "held", JobState.PENDING, f"not started: {why}"))
    return set(lapsed)


def hold(ctx: Context, lapsed: dict[str, str], queued: dict[str, QueuedJob]) -> None:
    """Reason CatalogueAccess, and an event saying why, for queued jobs newly held back by a
    lapsed grant (``lapsed`` from this cycle's ``queue_limits``)."""
    held = PendingReason.CATALOGUE_ACCESS
    new = {jid: why for jid, why in lapsed.items() if jid in queued and queued[jid].reason != held}
    if not new:
        return
    with ctx.db.transaction() as s:
        jobs = JobRepo(s)
        jobs.set_reasons(dict.fromkeys(new, held), ctx.clock())
        for job_id, why in new.items():
            jobs.add_event(event(job_id, ctx, "held", JobState.PENDING, f"waiting: {why}"))
