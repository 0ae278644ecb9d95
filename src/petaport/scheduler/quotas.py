"""Quotas with borrowing and lending: Kueue's cohort model with one cohort, the whole centre.

Each ``Quota`` (an org or a project, one GPU model or all) has a nominal guarantee, a
borrowing limit and a lending limit. For a job of project P (org O) on GPUs of model M asking
for ``d`` thousandths of GPUs:

- every quota that applies (P's and O's, for M or for all models) must keep
  ``used + d <= nominal + borrowing_limit`` (else QuotaExceeded);
- idle guarantee that other tenants do not lend (``nominal - lending_limit - used`` where
  positive) stays free for them: ``free(M) - d`` must not drop below it (else Resources);
- the job *borrows* when some applicable quota ends up above its nominal, or when it has no
  quota at all while others do (it runs on capacity nobody guaranteed to it);
- the job is *within its guarantee* when it has a quota with a nominal, and every applicable
  quota stays at or under nominal: such a job may reclaim borrowed capacity by preemption.

The book is mutable working state private to one ``schedule`` call.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable

from petaport.scheduler.capacity import key_matches
from petaport.scheduler.snapshot import MILLI, PendingJob, Quota

INF = float("inf")


class Verdict(enum.Enum):
    OK = "ok"
    OVER_QUOTA = "over quota"
    PROTECTED = "capacity kept for its owner"


class Entry:
    __slots__ = ("cap", "keep", "model", "nominal", "quota", "used")

    def __init__(self, quota: Quota) -> None:
        self.quota = quota
        self.model = None if quota.gpu_model is None else quota.gpu_model.lower()
        self.nominal = quota.nominal_gpus * MILLI
        borrow = quota.borrowing_limit_gpus
        self.cap = INF if borrow is None else self.nominal + borrow * MILLI
        lend = quota.lending_limit_gpus
        self.keep = 0.0 if lend is None else max(0.0, self.nominal - lend * MILLI)
        self.used = 0.0

    def covers(self, key: str) -> bool:
        return self.model is None or key_matches(key, self.model)


class QuotaBook:
    def __init__(self, quotas: Iterable[Quota]) -> None:
        self.entries = [Entry(q) for q in quotas]
        self.active = bool(self.entries)
        self._by_project: dict[str, list[Entry]] = {}
        self._by_org: dict[str, list[Entry]] = {}
        for e in self.entries:
            if e.quota.project_id is None:
                self._by_org.setdefault(e.quota.org_id, []).append(e)
            else:
                self._by_project.setdefault(e.quota.project_id, []).append(e)
        self.protecting = [e for e in self.entries if e.keep > 0]
        self._memo: dict[tuple[str, str, str], tuple[Entry, ...]] = {}
        self.touched: set[str] = set()  # projects and orgs charged during the cycle

    def applicable(self, org: str, project: str, key: str) -> tuple[Entry, ...]:
        memo = (org, project, key)
        found = self._memo.get(memo)
        if found is None:
            mine = self._by_project.get(project, []) + self._by_org.get(org, [])
            found = tuple(e for e in mine if e.covers(key))
            self._memo[memo] = found
        return found

    def check(self, org: str, project: str, key: str, milli: int, free_milli: int) -> Verdict:
        entries = self.applicable(org, project, key)
        for e in entries:
            if e.used + milli > e.cap:
                return Verdict.OVER_QUOTA
        if self.protecting:
            kept = sum(
                max(0.0, e.keep - e.used)
                for e in self.protecting
                if e.covers(key) and e not in entries
            )
            if free_milli - milli < kept:
                return Verdict.PROTECTED
        return Verdict.OK

    def borrowing(self, org: str, project: str, key: str, milli: int) -> bool:
        """Would this start run beyond a guarantee? (Ask before ``charge``.)"""
        entries = self.applicable(org, project, key)
        if not entries:
            return self.active
        return any(e.used + milli > e.nominal for e in entries)

    def within_guarantee(self, org: str, project: str, key: str, milli: int) -> bool:
        entries = self.applicable(org, project, key)
        return any(e.nominal > 0 for e in entries) and all(
            e.used + milli <= e.nominal for e in entries
        )

    def charge(self, org: str, project: str, key: str, milli: int) -> None:
        for e in self.applicable(org, project, key):
            e.used += milli
            self.touched.add(e.quota.project_id or e.quota.org_id)

    def over_everywhere(self, org: str, project: str, keys: Iterable[str], milli: int) -> bool:
        """Would ``milli`` more exceed a cap on every one of these models?"""
        found = False
        for key in keys:
            if not any(e.used + milli > e.cap for e in self.applicable(org, project, key)):
                return False
            found = True
        return found

    def headroom(self, org: str, project: str) -> float:
        """Guarantee left to the tenant over all models (-1 when it has none): for ordering."""
        mine = self._by_project.get(project, []) + self._by_org.get(org, [])
        with_nominal = [e.nominal - e.used for e in mine if e.nominal > 0]
        return min(with_nominal) if with_nominal else -1.0

    def rooms(self) -> tuple[dict[str, float], dict[str, float], set[str]]:
        """Room under the all-model caps per project and per org, and the projects and orgs
        that also have per-model caps (whose jobs need ``check`` per model)."""
        room_p: dict[str, float] = {}
        room_o: dict[str, float] = {}
        by_model: set[str] = set()
        for e in self.entries:
            owner = e.quota.project_id
            target, name = (room_o, e.quota.org_id) if owner is None else (room_p, owner)
            if e.model is not None:
                by_model.add(name)
            else:
                target[name] = min(target.get(name, INF), e.cap - e.used)
        return room_p, room_o, by_model


class QuotaGate:
    """Is a job over quota on every model it may use? Room is read once per project; only
    tenants with per-model caps are checked model by model (memoised per demand and models)."""

    def __init__(self, book: QuotaBook, models_for: Callable[[PendingJob], tuple[str, ...]]):
        self.book = book
        self.models_for = models_for
        self.room_p, self.room_o, self.by_model = book.rooms()
        self.room: dict[str, float] = {}  # per project: the least room under all-model caps
        self.memo: dict[tuple[str, int, str | None, frozenset[str] | None], bool] = {}

    def room_of(self, job: PendingJob) -> float:
        room = self.room.get(job.project_id)
        if room is None:
            room = self.room[job.project_id] = min(
                self.room_p.get(job.project_id, INF), self.room_o.get(job.org_id, INF)
            )
        return room

    def over(self, job: PendingJob) -> bool:
        return job.demand_milli > self.room_of(job) or (
            bool(self.by_model) and self.over_by_model(job)
        )

    def over_by_model(self, job: PendingJob) -> bool:
        project, org, milli = job.project_id, job.org_id, job.demand_milli
        if project not in self.by_model and org not in self.by_model:
            return False
        memo = (project, milli, job.gpu_model, job.allowed_models)
        found = self.memo.get(memo)
        if found is None:
            keys = self.models_for(job)
            found = self.memo[memo] = self.book.over_everywhere(org, project, keys, milli)
        return found

    def tight(self, names: set[str], milli: int) -> set[str]:
        """Those of these projects and orgs with less than ``milli`` room left (or with
        per-model caps)."""
        return {
            n
            for n in names
            if n in self.by_model or min(self.room_p.get(n, INF), self.room_o.get(n, INF)) < milli
        }
