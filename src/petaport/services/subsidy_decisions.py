"""Decisions on subsidy applications and the stage clock (docs/subsidy.md).

The committee approves with terms or rejects with reasons; the committee or the secretariat
requests changes (the application reopens for the applicant with the reason). An approval
creates the grant on the project through ``GrantRepo.add`` in the same transaction, checked by
``domain.subsidy.new_grant_for``: a rate above the scheme's maximum is refused
(``rate_above_maximum``) and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from petaport.domain.errors import Forbidden, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.subsidy import Grant
from petaport.domain.subsidy_decision import (
    Decision,
    Outcome,
    Terms,
    check_reasons,
    grant_from_terms,
)
from petaport.domain.subsidy_workflow import Action, Application, StageClock, stage_clock
from petaport.domain.tenancy import Principal
from petaport.services.authz import require_scope
from petaport.services.context import Context
from petaport.services.subsidy_access import (
    EVERYTHING,
    audit,
    is_committee,
    is_secretariat,
    move,
    require_committee,
    sees_all,
    visible_application,
)
from petaport.services.subsidy_applications import stage_targets
from petaport.storage.repos.subsidy import GrantRepo, SchemeRepo
from petaport.storage.repos.subsidy_workflow import ApplicationRepo, ReviewRepo

ACTIONS = {Outcome.APPROVED: Action.APPROVE, Outcome.REJECTED: Action.REJECT,
           Outcome.CHANGES_REQUESTED: Action.REQUEST_CHANGES}  # fmt: skip


@dataclass(frozen=True)
class DecisionResult:
    decision: Decision
    application: Application
    grant: Grant | None


def _check_may_decide(p: Principal, outcome: Outcome) -> None:
    if outcome is Outcome.CHANGES_REQUESTED:
        require_scope(p, "jobs:write")
        if not (is_committee(p) or is_secretariat(p)):
            raise Forbidden("only the secretariat or the committee may request changes")
        return
    require_committee(p)


def decide(ctx: Context, p: Principal, app_id: str, outcome: Outcome, reasons: str,
           terms: Terms | None = None) -> DecisionResult:  # fmt: skip
    """Record the decision, move the application and (approval) create its grant."""
    now = ctx.clock()
    with ctx.db.transaction() as s:
        app = visible_application(s, p, app_id)
        _check_may_decide(p, outcome)
        text = check_reasons(outcome, reasons)
        if outcome is Outcome.APPROVED and terms is None:
            raise ValidationFailed("an approval needs its terms: GPU-hours, validity and cap")
        app = move(s, p, app, ACTIONS[outcome], now, text)
        grant = None
        if outcome is Outcome.APPROVED and terms is not None:
            scheme = SchemeRepo(s).get(app.scheme_id)
            grant = grant_from_terms(new_id("grt"), scheme, app, terms)
            GrantRepo(s).add(grant, p.user.id, now)
        if outcome is Outcome.CHANGES_REQUESTED:
            app = replace(app, changes_reason=text)
        ApplicationRepo(s).save(app)
        decision = Decision(new_id("dec"), app.id, outcome, text, p.user.id, now, app.version,
                            terms, grant.id if grant else None)  # fmt: skip
        ReviewRepo(s).add_decision(decision)
        audit(s, p, f"decision.{outcome.value}", app, now, subject=("decision", decision.id),
              grant_id=grant.id if grant else None,
              details={"reasons": text, "version": app.version})  # fmt: skip
        if grant is not None:
            audit(s, p, "grant.created", app, now, subject=("grant", grant.id), grant_id=grant.id,
                  details={"rate": str(grant.rate),
                           "cap": str(grant.cap.amount) if grant.cap else None,
                           "cap_gpu_hours": str(grant.cap_gpu_hours),
                           "valid_until": grant.valid_until.isoformat()})  # fmt: skip
        return DecisionResult(decision, app, grant)


@dataclass(frozen=True)
class StageRow:
    application: Application
    clock: StageClock


def stages(ctx: Context, p: Principal, *, overdue_only: bool = False) -> list[StageRow]:
    """The stage clock of every application (the secretariat and the committee)."""
    if not sees_all(p):
        raise Forbidden("only the secretariat and the committee read the stage clock")
    targets, now = stage_targets(ctx.settings.subsidy_review), ctx.clock()
    with ctx.db.transaction() as s:
        repo = ApplicationRepo(s)
        apps = repo.list_applications(EVERYTHING)
        history = repo.transitions(frozenset(a.id for a in apps))
    rows = [StageRow(a, stage_clock(history[a.id], now, targets)) for a in apps]
    return [r for r in rows if r.clock.overdue or not overdue_only]


def decisions(ctx: Context, p: Principal, app_id: str) -> list[Decision]:
    """The decisions on an application: its readers (the applicant included) see them."""
    with ctx.db.transaction() as s:
        app = visible_application(s, p, app_id)
        return ReviewRepo(s).decisions(app.id)
