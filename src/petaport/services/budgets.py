"""Budgets that block: their state, the scheduler's budget gate, alerts, and the CRUD edges.

A budget's state (``billing.budgets.BudgetState``) is computed from the database: ``spent``
from the stored charges of its org or project in its period, ``reserved`` from the running
jobs it covers (each reserves its projected cost, from ``billing.estimate``, less what it has
been charged so far). A trial org whose trial ended gets a zero budget that is exhausted
since the trial's end.

The scheduling loop asks a ``BudgetGate`` each cycle: which projects are exhausted (their jobs
wait BudgetExhausted), which of the cycle's starts are admitted (in decision order, so
concurrent submissions overspend by less than one job's reservation), and which running jobs
have overrun their budget's grace and must stop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from petaport.billing.budgets import (
    AdmissionRequest,
    Budget,
    BudgetPeriod,
    BudgetState,
    BudgetUnit,
    Projection,
    RunningCost,
    admit,
    exhausted_projects,
    observe,
    period_start,
    stops_due,
)
from petaport.billing.estimate import estimate
from petaport.billing.metering import HOUR_S, month_of
from petaport.billing.plans import OrgBilling
from petaport.billing.prices import PriceBook
from petaport.domain.ids import new_id
from petaport.domain.jobs import (
    Allocation,
    JobSpec,
    JobState,
    PendingReason,
    QueuedJob,
    RunningWork,
)
from petaport.domain.tenancy import Scope
from petaport.scheduler import Decisions, Snapshot, schedule
from petaport.services.context import Context
from petaport.services.grant_gate import (
    grant_budgets,
    grant_projects,
    org_shares,
    relabel,
    stop_reason,
)
from petaport.services.jobs import STOP_CANCEL, request_stop
from petaport.services.snapshot import Loaded
from petaport.storage.repos.billing import OrgBillingRepo, UsageRepo
from petaport.storage.repos.budgets import BudgetAlert, BudgetRepo, StoredBudget
from petaport.storage.repos.jobs import JobRepo

ZERO = Decimal(0)


@dataclass(frozen=True)
class RunningCharge:
    """A running attempt as budgets see it: its projected cost and what it was charged."""

    job_id: str
    attempt_id: str
    org_id: str
    project_id: str
    projected: Projection
    charged_hkd: Decimal
    charged_gpu_s: Decimal

    def reserved(self, unit: BudgetUnit) -> Decimal:
        if unit is BudgetUnit.HKD:
            return max(ZERO, self.projected.hkd - self.charged_hkd)
        return max(ZERO, self.projected.gpu_s - self.charged_gpu_s)


def model_on(allocations: Iterable[Allocation], models: dict[str, str | None]) -> str | None:
    """The GPU model of the nodes an attempt holds GPUs on (None: CPU only or unknown)."""
    return next((models.get(a.node) for a in allocations if a.gpu_indices), None)


def projection(
    spec: JobSpec, book: PriceBook, start_at: datetime, now: datetime, default_s: int,
    gpu_model: str | None = None,
) -> Projection:  # fmt: skip
    """A job's projected cost: its walltime, or (none given) what it ran so far rounded up to
    the hour plus ``default_s``."""
    walltime = spec.walltime_s
    if walltime is None:
        elapsed = max(0, int((now - start_at).total_seconds()))
        walltime = -(-elapsed // HOUR_S) * HOUR_S + default_s
    return estimate(spec, book, start_at, walltime_s=walltime, gpu_model=gpu_model).projection


def trial_budgets(billing: Iterable[OrgBilling], now: datetime) -> list[StoredBudget]:
    """A zero HKD budget, exhausted since the trial's end, for each org whose trial is over."""
    out = []
    for b in billing:
        if b.trial_over(now) and b.plan_ends_at is not None:
            budget = Budget(f"trial/{b.org_id}", b.org_id, None, BudgetUnit.HKD, ZERO,
                            grace_s=0, thresholds=())  # fmt: skip
            out.append(StoredBudget(budget, b.plan_ends_at, b.plan_ends_at, b.plan_ends_at))
    return out


def _spend(
    s: Session, budgets: Sequence[StoredBudget], now: datetime
) -> dict[str, tuple[Decimal, Decimal]]:
    """Budget id -> (HKD, GPU-seconds) spent in its current period. HKD counts the org's
    share of each charge (list price less what a subsidy grant paid); GPU time counts all."""
    by_since: dict[datetime | None, list[tuple[str, str, Decimal, Decimal]]] = {}
    out = {}
    repo = UsageRepo(s)
    for sb in budgets:
        since = period_start(sb.budget, now)
        if since not in by_since:
            by_since[since] = org_shares(s, repo.spend_by_project(since), since)
        b = sb.budget
        rows = [r for r in by_since[since] if b.covers(r[0], r[1])]
        out[b.id] = (sum((r[2] for r in rows), ZERO), sum((r[3] for r in rows), ZERO))
    return out


def compute_states(
    s: Session, now: datetime, running: Sequence[RunningCharge]
) -> list[BudgetState]:
    stored = BudgetRepo(s).list_budgets()
    stored += trial_budgets(OrgBillingRepo(s).all().values(), now)
    stored += grant_budgets(s, now)
    if not stored:
        return []
    spend = _spend(s, stored, now)
    states = []
    for sb in stored:
        b = sb.budget
        hkd, gpu_s = spend[b.id]
        reserved = sum(
            (r.reserved(b.unit) for r in running if b.covers(r.org_id, r.project_id)), ZERO
        )
        used = hkd if b.unit is BudgetUnit.HKD else gpu_s
        states.append(BudgetState(b, used, reserved, sb.exhausted_since))
    return states


@dataclass
class BudgetGate:
    """The budget state of one scheduling cycle."""

    states: list[BudgetState]
    projects: frozenset[str]  # exhausted: their pending jobs wait BudgetExhausted
    running: Sequence[RunningCharge] = ()
    stop_ids: tuple[str, ...] = ()
    budgeted_orgs: frozenset[str] = field(default_factory=frozenset)

    def admit_starts(
        self, decisions: Decisions, specs: dict[str, tuple[str, str, JobSpec]],
        book: PriceBook | None, now: datetime, default_s: int, models: dict[str, str | None],
    ) -> Decisions:  # fmt: skip
        """Admit the cycle's starts one by one; the refused wait BudgetExhausted."""
        if not self.states or book is None:
            return decisions
        requests = []
        for start in decisions.starts:
            org_id, project_id, spec = specs[start.job_id]
            if org_id in self.budgeted_orgs:
                model = model_on(start.allocations, models)
                cost = projection(spec, book, now, now, default_s, model)
                requests.append(AdmissionRequest(start.job_id, org_id, project_id, cost))
        if not requests:
            return decisions
        refused = set(admit(self.states, requests).refused)
        if not refused:
            return decisions
        waits = dict(decisions.waits)
        waits.update({job_id: PendingReason.BUDGET_EXHAUSTED for job_id in refused})
        starts = tuple(st for st in decisions.starts if st.job_id not in refused)
        return replace(decisions, starts=starts, waits=waits)


def gate(
    s: Session,
    now: datetime,
    running: Sequence[RunningCharge],
    projects: Iterable[tuple[str, str]],
) -> BudgetGate:
    """The cycle's budget gate; records when budgets became (or stopped being) exhausted."""
    states = compute_states(s, now, running)
    if not states:
        return BudgetGate([], frozenset())
    observed = [observe(st, now) for st in states]
    changes = {
        o.budget.id: o.exhausted_since
        for o, st in zip(observed, states, strict=True)
        if o.exhausted_since != st.exhausted_since and "/" not in o.budget.id
    }
    if changes:
        BudgetRepo(s).set_exhausted(changes)
    costs = [RunningCost(r.job_id, r.org_id, r.project_id) for r in running]
    return BudgetGate(
        observed,
        exhausted_projects(observed, projects),
        running,
        stops_due(observed, costs, now),
        frozenset(st.budget.org_id for st in observed),
    )


def raise_alerts(s: Session, now: datetime) -> list[BudgetAlert]:
    """Record each 50/80/100% threshold a budget's spend reached, once per period."""
    states = compute_states(s, now, ())
    repo = BudgetRepo(s)
    period = month_of(now)
    out = []
    for st in states:
        b = st.budget
        if "/" in b.id or not b.thresholds:
            continue
        key = period if b.period is BudgetPeriod.MONTHLY else "all"
        fired = repo.fired([b.id], key)
        for t in b.thresholds:
            if (b.id, t) in fired or st.spent * 100 < t * b.limit_base or b.limit_base == 0:
                continue
            alert = BudgetAlert(new_id("alr"), b.id, b.org_id, b.project_id, key, t, now,
                                f"{describe(b)}: {t}% spent")  # fmt: skip
            if repo.add_alert(alert):
                out.append(alert)
    return out


def describe(b: Budget) -> str:
    unit = "HKD" if b.unit is BudgetUnit.HKD else "GPU-hour"
    scope = "project" if b.project_id else "organisation"
    per = " monthly" if b.period is BudgetPeriod.MONTHLY else ""
    return f"{scope}{per} {unit} budget of {b.limit:,}"


def queued_spec(q: QueuedJob) -> JobSpec:
    """The resources of a queued job as a spec, for its cost estimate."""
    return JobSpec(name=q.id, project_id=q.project_id, command=("true",), gpus=q.gpus,
                   gpu_model=q.gpu_model, cpus=q.cpus, memory_mb=q.memory_mb, nodes=q.nodes,
                   walltime_s=q.walltime_s, qos=q.qos, gpu_milli=q.gpu_milli)  # fmt: skip


def budgeted_orgs(s: Session, now: datetime) -> frozenset[str]:
    """Orgs with a budget (or an ended trial): the only ones whose jobs the gate looks at."""
    orgs = {sb.budget.org_id for sb in BudgetRepo(s).list_budgets()}
    orgs |= {b.org_id for b in OrgBillingRepo(s).all().values() if b.trial_over(now)}
    orgs |= {sb.budget.org_id for sb in grant_budgets(s, now)}
    return frozenset(orgs)


def running_charges(
    s: Session, running: Iterable[RunningWork], orgs: frozenset[str], book: PriceBook,
    now: datetime, default_s: int, models: dict[str, str | None],
) -> list[RunningCharge]:  # fmt: skip
    """Projected cost and charges so far of the running attempts of ``orgs``."""
    jobs = JobRepo(s)
    picked = [(r, jobs.current_attempt(r.job_id)) for r in running if r.org_id in orgs]
    attempts = [a for _, a in picked if a is not None]
    charged = UsageRepo(s).charged_by_attempt([a.id for a in attempts])
    out = []
    for r, attempt in picked:
        if attempt is None:
            continue
        spec = jobs.get_job(Scope(everything=True), r.job_id).spec
        hkd, gpu_s = charged.get(attempt.id, (ZERO, ZERO))
        model = model_on(r.allocations, models)
        cost = projection(spec, book, r.started_at, now, default_s, model)
        out.append(RunningCharge(r.job_id, attempt.id, r.org_id, r.project_id, cost, hkd, gpu_s))
    return out


# -- the scheduling loop's use ------------------------------------------------------------


def cycle_gate(
    ctx: Context, loaded: Loaded, book: Callable[[], PriceBook], models: dict[str, str | None]
) -> BudgetGate:
    """The budget gate of one cycle (empty, after two small queries, without budgets)."""
    now = ctx.clock()
    with ctx.db.transaction() as s:
        orgs = budgeted_orgs(s, now)
    if not orgs:
        return BudgetGate([], frozenset())
    prices = book()  # before the transaction: it may read (one SQLite writer at a time)
    with ctx.db.transaction() as s:
        default_s = ctx.settings.budget_default_reservation_s
        work = loaded.running.values()
        running = running_charges(s, work, orgs, prices, now, default_s, models)
        projects = {(j.org_id, j.project_id) for j in loaded.pending.values()}
        projects |= {(r.org_id, r.project_id) for r in running}
        return gate(s, now, running, projects)


def schedule_within(
    ctx: Context, snapshot: Snapshot, loaded: Loaded, book: Callable[[], PriceBook],
    models: dict[str, str | None],
) -> tuple[Decisions, BudgetGate]:  # fmt: skip
    """One cycle's decisions under the budgets: exhausted projects wait BudgetExhausted, then
    the starts are admitted in order (see the module docstring)."""
    g = cycle_gate(ctx, loaded, book, models)
    if g.projects:
        snapshot = replace(snapshot, exhausted_projects=g.projects)
    decisions = admit_starts(ctx, g, schedule(snapshot), loaded, book, models)
    held = grant_projects(g.states)
    if held:
        project_of = {j.id: j.project_id for j in loaded.pending.values()}
        decisions = replace(decisions, waits=relabel(dict(decisions.waits), held, project_of))
    return decisions, g


def admit_starts(
    ctx: Context, g: BudgetGate, decisions: Decisions, loaded: Loaded,
    book: Callable[[], PriceBook], models: dict[str, str | None],
) -> Decisions:  # fmt: skip
    if not g.states or not decisions.starts:
        return decisions
    specs = {
        j.id: (j.org_id, j.project_id, queued_spec(j))
        for j in (loaded.pending[st.job_id] for st in decisions.starts)
    }
    default_s = ctx.settings.budget_default_reservation_s
    return g.admit_starts(decisions, specs, book(), ctx.clock(), default_s, models)


def stop_overruns(ctx: Context, g: BudgetGate, loaded: Loaded) -> None:
    """Stop running jobs whose budget has been exhausted for longer than its grace."""
    held = grant_projects(g.states)
    for job_id in g.stop_ids:
        victim = loaded.running.get(job_id)
        if victim is not None and not victim.stopping:
            _stop(ctx, job_id, stop_reason(victim.project_id, held))


def _stop(ctx: Context, job_id: str, why: str) -> None:
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        job = repo.get_job(Scope(everything=True), job_id, for_update=True)
        if job.state != JobState.RUNNING:
            return
        ref = request_stop(ctx, repo, job, STOP_CANCEL, why)
    if ref is not None:
        ctx.backend.cancel(ref)
