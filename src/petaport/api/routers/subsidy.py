"""The subsidy scheme: schemes and calls, the compute-request calculator, the stage clock, the
audit trail and the list of reviewers (docs/subsidy.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from petaport.api.deps import CtxDep, PrincipalDep
from petaport.api.problems import declare
from petaport.api.subsidy_public import (
    call_public,
    clock_public,
    compute_input,
    estimate_public,
    scheme_fields,
    scheme_public,
)
from petaport.schemas.subsidy import (
    AuditPublic,
    CalculatorInput,
    CalculatorPublic,
    CallCreate,
    CallPublic,
    CallUpdate,
    ReviewerPublic,
    SchemeCreate,
    SchemePublic,
    StagePublic,
)
from petaport.services import subsidy_decisions, subsidy_review, subsidy_schemes
from petaport.services.subsidy_applications import calculate

router = APIRouter(prefix="/subsidy", tags=["subsidy"])
Id = Annotated[str, Query(max_length=64)]


@router.get("/schemes", responses=declare(401))
def list_schemes(ctx: CtxDep, p: PrincipalDep) -> list[SchemePublic]:
    """Every scheme: funder, default and maximum rates, eligible categories, rubric."""
    del p
    return [scheme_public(s) for s in subsidy_schemes.list_schemes(ctx)]


@router.post("/schemes", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 409, 422))  # fmt: skip
def create_scheme(ctx: CtxDep, p: PrincipalDep, body: SchemeCreate) -> SchemePublic:
    """A new scheme (the secretariat: centre admins)."""
    return scheme_public(subsidy_schemes.create_scheme(ctx, p, scheme_fields(body)))


@router.get("/schemes/{scheme_id}", responses=declare(401, 404))
def get_scheme(ctx: CtxDep, p: PrincipalDep, scheme_id: str) -> SchemePublic:
    del p
    return scheme_public(subsidy_schemes.get_scheme(ctx, scheme_id))


@router.put("/schemes/{scheme_id}", responses=declare(401, 403, 404, 409, 422))
def update_scheme(ctx: CtxDep, p: PrincipalDep, scheme_id: str, body: SchemeCreate) -> SchemePublic:
    """Change a scheme's rates, categories or rubric (the secretariat)."""
    return scheme_public(subsidy_schemes.update_scheme(ctx, p, scheme_id, scheme_fields(body)))


@router.get("/calls", responses=declare(401, 422))
def list_calls(
    ctx: CtxDep, p: PrincipalDep, scheme_id: Id | None = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
) -> list[CallPublic]:  # fmt: skip
    """Calls for applications; ``open=true``: only those open now."""
    del p
    now = ctx.clock()
    return [call_public(c, c.open_at(now))
            for c in subsidy_schemes.list_calls(ctx, scheme_id, open_only)]  # fmt: skip


@router.post("/calls", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 422))  # fmt: skip
def create_call(ctx: CtxDep, p: PrincipalDep, body: CallCreate) -> CallPublic:
    """A call of a scheme with its open and close dates (the secretariat)."""
    call = subsidy_schemes.create_call(ctx, p, body.scheme, body.name, body.opens_at,
                                       body.closes_at)  # fmt: skip
    return call_public(call, call.open_at(ctx.clock()))


@router.put("/calls/{call_id}", responses=declare(401, 403, 404, 422))
def update_call(ctx: CtxDep, p: PrincipalDep, call_id: str, body: CallUpdate) -> CallPublic:
    """Rename a call or move its dates (the secretariat)."""
    call = subsidy_schemes.update_call(ctx, p, call_id, body.name, body.opens_at, body.closes_at)
    return call_public(call, call.open_at(ctx.clock()))


@router.post("/calculate", responses=declare(401, 422))
def calculator(ctx: CtxDep, p: PrincipalDep, body: CalculatorInput) -> CalculatorPublic:
    """FLOPs and GPU-hours for a model size, tokens, precision, mode and MFU on a GPU model
    (6·N·D training, 4·N·D LoRA, 2·N·D inference), with every assumption listed."""
    del ctx, p
    return estimate_public(calculate(compute_input(body)))


@router.get("/stages", responses=declare(401, 403, 422))
def stages(
    ctx: CtxDep, p: PrincipalDep, overdue: Annotated[bool, Query()] = False
) -> list[StagePublic]:
    """How long each application spent in each stage; ``overdue=true``: only those past their
    stage's target (the secretariat and the committee)."""
    rows = subsidy_decisions.stages(ctx, p, overdue_only=overdue)
    return [StagePublic(application_id=r.application.id, title=r.application.proposal.title,
                        org_id=r.application.org_id, state=r.application.state.value,
                        clock=clock_public(r.clock)) for r in rows]  # fmt: skip


@router.get("/audit", responses=declare(401, 403, 422))
def audit(
    ctx: CtxDep, p: PrincipalDep, application: Id | None = None, grant: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[AuditPublic]:  # fmt: skip
    """The audit trail of the workflow, newest first (the secretariat)."""
    records = subsidy_schemes.list_audit(ctx, p, application_id=application, grant_id=grant,
                                         limit=limit)  # fmt: skip
    return [AuditPublic(id=r.id, at=r.at, actor_id=r.actor_id, action=r.action,
                        subject_kind=r.subject_kind, subject_id=r.subject_id,
                        application_id=r.application_id, grant_id=r.grant_id,
                        details=dict(r.details)) for r in records]  # fmt: skip


@router.get("/reviewers", responses=declare(401, 403))
def reviewers(ctx: CtxDep, p: PrincipalDep) -> list[ReviewerPublic]:
    """Users with the reviewer role (the secretariat assigns them)."""
    return [ReviewerPublic(id=i, username=u, display_name=n)
            for i, u, n in subsidy_review.list_reviewers(ctx, p)]  # fmt: skip
