"""Domain objects and service views of the subsidy workflow -> their wire schemas, and the
request bodies -> domain inputs."""

from __future__ import annotations

from petaport.domain.compute_request import (
    ComputeEstimate,
    ComputeInput,
    FineTuning,
    Mode,
    Precision,
)
from petaport.domain.money import Money
from petaport.domain.subsidy import Criterion, OnCap, Scheme
from petaport.domain.subsidy_decision import Decision, Terms
from petaport.domain.subsidy_review import Assignment, Review
from petaport.domain.subsidy_workflow import Call, Milestone, Proposal, StageClock
from petaport.domain.tenancy import OrgCategory
from petaport.schemas.subsidy import (
    ApplicationPublic,
    AssignmentPublic,
    AttachmentPublic,
    CalculatorInput,
    CalculatorPublic,
    CallPublic,
    CriterionPublic,
    DecisionPublic,
    MilestonePublic,
    ProposalIn,
    ReviewPublic,
    ReviewsPublic,
    SchemeCreate,
    SchemePublic,
    ScoreIn,
    ScreeningPublic,
    StageClockPublic,
    TermsIn,
    TermsPublic,
    VersionPublic,
)
from petaport.services.subsidy_applications import ApplicationView
from petaport.services.subsidy_review import ReviewsView
from petaport.services.subsidy_schemes import SchemeFields


def scheme_fields(body: SchemeCreate) -> SchemeFields:
    cats = (frozenset(OrgCategory(c) for c in body.eligible_categories)
            if body.eligible_categories is not None else frozenset(OrgCategory))  # fmt: skip
    rubric = None if body.rubric is None else tuple(
        Criterion(c.key, c.label, c.weight) for c in body.rubric)  # fmt: skip
    fields = SchemeFields(body.name, body.funder, body.default_rate, body.max_rate, cats,
                          {OrgCategory(k): v for k, v in body.category_rates.items()})  # fmt: skip
    return fields if rubric is None else SchemeFields(**{**fields.__dict__, "rubric": rubric})


def criterion_public(c: Criterion) -> CriterionPublic:
    return CriterionPublic(key=c.key, label=c.label, weight=c.weight)


def scheme_public(s: Scheme) -> SchemePublic:
    return SchemePublic(
        id=s.id, name=s.name, funder=s.funder_id, default_rate=s.default_rate,
        max_rate=s.max_rate, eligible_categories=sorted(c.value for c in s.eligible_categories),
        category_rates={k.value: v for k, v in s.category_rates.items()},
        rubric=[criterion_public(c) for c in s.rubric],
    )  # fmt: skip


def call_public(c: Call, open_now: bool) -> CallPublic:
    return CallPublic(id=c.id, scheme_id=c.scheme_id, name=c.name, opens_at=c.opens_at,
                      closes_at=c.closes_at, open=open_now)  # fmt: skip


def compute_input(b: CalculatorInput) -> ComputeInput:
    return ComputeInput(
        parameters=b.parameters, gpu_model=b.gpu_model, precision=Precision(b.precision),
        mode=Mode(b.mode), mfu=b.mfu, tokens=b.tokens, samples=b.samples,
        tokens_per_sample=b.tokens_per_sample, epochs=b.epochs, batch_size=b.batch_size,
        fine_tuning=FineTuning(b.fine_tuning),
    )  # fmt: skip


def estimate_public(e: ComputeEstimate) -> CalculatorPublic:
    return CalculatorPublic(flops=e.flops, peak_flops_per_s=e.peak_flops_per_s, tokens=e.tokens,
                            gpu_hours=e.gpu_hours, steps=e.steps, formula=e.formula,
                            assumptions=list(e.assumptions))  # fmt: skip


def proposal(b: ProposalIn) -> Proposal:
    return Proposal(
        b.title.strip(), b.description.strip(), b.gpu_model.strip(), b.gpu_hours,
        b.duration_months,
        tuple(Milestone(m.title.strip(), m.due_on, m.planned_gpu_hours) for m in b.milestones),
        frozenset(b.declarations), b.calculation,
    )  # fmt: skip


def terms(b: TermsIn) -> Terms:
    return Terms(b.gpu_hours, b.valid_from, b.valid_until,
                 Money(b.cap) if b.cap is not None else None, b.rate,
                 frozenset(b.allowed_gpu_models), OnCap(b.on_cap),
                 b.conditions.strip())  # fmt: skip


def terms_public(t: Terms) -> TermsPublic:
    return TermsPublic(gpu_hours=t.gpu_hours, valid_from=t.valid_from, valid_until=t.valid_until,
                       cap=t.cap.amount if t.cap else None, rate=t.rate,
                       allowed_gpu_models=sorted(t.allowed_gpu_models), on_cap=t.on_cap.value,
                       conditions=t.conditions)  # fmt: skip


def decision_public(d: Decision, state: str | None = None) -> DecisionPublic:
    return DecisionPublic(id=d.id, application_id=d.application_id, outcome=d.outcome.value,
                          reasons=d.reasons, version=d.version, decided_at=d.decided_at,
                          terms=terms_public(d.terms) if d.terms else None, grant_id=d.grant_id,
                          application_state=state)  # fmt: skip


def clock_public(c: StageClock) -> StageClockPublic:
    return StageClockPublic(current=c.current.value, seconds={k.value: v for k, v in
                                                              c.seconds.items()},
                            in_current_s=c.in_current_s, target_s=c.target_s,
                            overdue=c.overdue)  # fmt: skip


def application_public(v: ApplicationView) -> ApplicationPublic:
    a, p = v.app, v.app.proposal
    sc = a.screening
    return ApplicationPublic(
        id=a.id, call_id=a.call_id, call_name=v.call_name, scheme_id=a.scheme_id,
        scheme_name=v.scheme_name, org_id=a.org_id, org_name=v.org_name,
        project_id=a.project_id, project=v.project_ref, category=a.category.value,
        title=p.title, description=p.description, gpu_model=p.gpu_model, gpu_hours=p.gpu_hours,
        duration_months=p.duration_months,
        milestones=[MilestonePublic(title=m.title, due_on=m.due_on,
                                    planned_gpu_hours=m.planned_gpu_hours) for m in p.milestones],
        declarations=sorted(p.declarations), calculation=dict(p.calculation),
        state=a.state.value, version=a.version, changes_reason=a.changes_reason,
        screening=ScreeningPublic(eligible=sc.eligible, reason=sc.reason, at=sc.at) if sc else None,
        attachments=[AttachmentPublic(id=x.id, filename=x.filename, size_bytes=x.size_bytes,
                                      sha256=x.sha256, uploaded_at=x.uploaded_at)
                     for x in v.attachments],
        versions=[VersionPublic(version=x.version, submitted_at=x.submitted_at,
                                snapshot=dict(x.snapshot)) for x in v.versions],
        decisions=[decision_public(d) for d in v.decisions], stage_clock=clock_public(v.clock),
        can_edit=v.can_edit, created_at=a.created_at, updated_at=a.updated_at,
    )  # fmt: skip


def assignment_public(a: Assignment, username: str | None = None,
                      scored: bool | None = None) -> AssignmentPublic:  # fmt: skip
    return AssignmentPublic(id=a.id, application_id=a.application_id, reviewer_id=a.reviewer_id,
                            reviewer=username, assigned_at=a.assigned_at,
                            coi=a.coi.value if a.coi else None, coi_statement=a.coi_statement,
                            coi_at=a.coi_at, scored=scored)  # fmt: skip


def review_public(r: Review, v: ReviewsView) -> ReviewPublic:
    return ReviewPublic(assignment_id=r.assignment_id, reviewer_id=r.reviewer_id,
                        version=r.version, total=v.totals[r.assignment_id],
                        submitted_at=r.submitted_at,
                        scores=[ScoreIn(criterion=x.criterion, score=x.score, comment=x.comment)
                                for x in r.scores])  # fmt: skip


def reviews_public(v: ReviewsView) -> ReviewsPublic:
    return ReviewsPublic(
        application_id=v.application_id, version=v.version,
        rubric=[criterion_public(c) for c in v.rubric],
        reviewers=[assignment_public(x.assignment, x.username, x.submitted) for x in v.reviewers],
        reviews=[review_public(r, v) for r in v.reviews], mean_total=v.mean, complete=v.complete,
    )  # fmt: skip
