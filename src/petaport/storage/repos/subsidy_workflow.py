"""Calls, applications and their review, as domain objects (domain/subsidy_workflow.py,
domain/subsidy_review.py, domain/subsidy_decision.py).

Reads of applications take a ``Scope``: another tenant's application is not found. Who among
centre staff may see which application is the service's to decide (reviewers see only the
applications they are assigned to).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from petaport.domain.errors import NotFound
from petaport.domain.money import Money
from petaport.domain.subsidy import OnCap
from petaport.domain.subsidy_decision import Decision, Outcome, Terms
from petaport.domain.subsidy_review import Assignment, Coi, CriterionScore, Review
from petaport.domain.subsidy_workflow import (
    Application,
    Call,
    Milestone,
    Proposal,
    Screening,
    State,
    Transition,
)
from petaport.domain.tenancy import OrgCategory, Role, Scope, User
from petaport.storage.repos.tenancy import user_from_row
from petaport.storage.subsidy_workflow_tables import (
    ApplicationRow,
    ApplicationVersionRow,
    AssignmentRow,
    AttachmentRow,
    CallRow,
    DecisionRow,
    MilestoneRow,
    ScoreRow,
    TransitionRow,
)
from petaport.storage.tables import UserRow


@dataclass(frozen=True)
class Attachment:
    id: str
    application_id: str
    filename: str
    size_bytes: int
    sha256: str
    path: str
    uploaded_by: str
    uploaded_at: datetime


@dataclass(frozen=True)
class SubmittedVersion:
    application_id: str
    version: int
    snapshot: Mapping[str, object]
    submitted_by: str
    submitted_at: datetime


def terms_json(t: Terms) -> dict[str, object]:
    return {"gpu_hours": str(t.gpu_hours), "valid_from": t.valid_from.isoformat(),
            "valid_until": t.valid_until.isoformat(),
            "cap": str(t.cap.amount) if t.cap else None,
            "rate": str(t.rate) if t.rate is not None else None,
            "allowed_gpu_models": sorted(t.allowed_gpu_models), "on_cap": t.on_cap.value,
            "conditions": t.conditions}  # fmt: skip


def terms_from_json(d: Mapping[str, object]) -> Terms:
    cap, rate = d.get("cap"), d.get("rate")
    return Terms(Decimal(str(d["gpu_hours"])), datetime.fromisoformat(str(d["valid_from"])),
                 datetime.fromisoformat(str(d["valid_until"])),
                 Money(Decimal(str(cap))) if cap is not None else None,
                 Decimal(str(rate)) if rate is not None else None,
                 frozenset(str(m) for m in d.get("allowed_gpu_models") or []),  # type: ignore[attr-defined]
                 OnCap(str(d["on_cap"])), str(d.get("conditions", "")))  # fmt: skip


class CallRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, call: Call, now: datetime) -> Call:
        self.s.add(CallRow(id=call.id, scheme_id=call.scheme_id, name=call.name,
                           opens_at=call.opens_at, closes_at=call.closes_at,
                           created_at=now))  # fmt: skip
        self.s.flush()
        return call

    def save(self, call: Call) -> Call:
        row = self.s.get(CallRow, call.id)
        if row is None:
            raise NotFound(f"no call {call.id}")
        row.name, row.opens_at, row.closes_at = call.name, call.opens_at, call.closes_at
        self.s.flush()
        return call

    def get(self, call_id: str) -> Call:
        row = self.s.get(CallRow, call_id)
        if row is None:
            raise NotFound(f"no call {call_id}")
        return Call(row.id, row.scheme_id, row.name, row.opens_at, row.closes_at)

    def list_calls(self, scheme_id: str | None = None) -> list[Call]:
        q = select(CallRow).order_by(CallRow.opens_at.desc(), CallRow.id)
        if scheme_id is not None:
            q = q.where(CallRow.scheme_id == scheme_id)
        return [Call(r.id, r.scheme_id, r.name, r.opens_at, r.closes_at)
                for r in self.s.scalars(q)]  # fmt: skip


def _screening(r: ApplicationRow) -> Screening | None:
    if r.screened_eligible is None or r.screened_by is None or r.screened_at is None:
        return None
    return Screening(r.screened_eligible, r.screening_reason, r.screened_by, r.screened_at)


def _milestone_rows(app_id: str, milestones: tuple[Milestone, ...]) -> list[MilestoneRow]:
    return [MilestoneRow(application_id=app_id, seq=i, title=m.title, due_on=m.due_on,
                         planned_gpu_hours=m.planned_gpu_hours)
            for i, m in enumerate(milestones)]  # fmt: skip


def _fill(row: ApplicationRow, app: Application) -> None:
    p = app.proposal
    row.title, row.description, row.gpu_model = p.title, p.description, p.gpu_model
    row.gpu_hours, row.duration_months = p.gpu_hours, p.duration_months
    row.declarations, row.calculation = sorted(p.declarations), dict(p.calculation)
    row.state, row.version = app.state.value, app.version
    row.changes_reason = app.changes_reason
    row.updated_at = app.updated_at
    sc = app.screening
    row.screened_eligible = sc.eligible if sc else None
    row.screening_reason, row.screened_by = (sc.reason, sc.by) if sc else ("", None)
    row.screened_at = sc.at if sc else None


class ApplicationRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def _load(self, r: ApplicationRow) -> Application:
        rows = self.s.scalars(select(MilestoneRow).where(MilestoneRow.application_id == r.id)
                              .order_by(MilestoneRow.seq))  # fmt: skip
        milestones = tuple(Milestone(m.title, m.due_on, m.planned_gpu_hours) for m in rows)
        proposal = Proposal(r.title, r.description, r.gpu_model, r.gpu_hours, r.duration_months,
                            milestones, frozenset(r.declarations), dict(r.calculation))  # fmt: skip
        return Application(r.id, r.call_id, r.scheme_id, r.org_id, r.project_id,
                           OrgCategory(r.category), proposal, State(r.state), r.version,
                           r.created_by, r.created_at, r.updated_at, r.changes_reason,
                           _screening(r))  # fmt: skip

    def add(self, app: Application) -> Application:
        row = ApplicationRow(id=app.id, call_id=app.call_id, scheme_id=app.scheme_id,
                             org_id=app.org_id, project_id=app.project_id,
                             category=app.category.value, created_by=app.created_by,
                             created_at=app.created_at)  # fmt: skip
        _fill(row, app)
        self.s.add(row)
        self.s.flush()
        self.s.add_all(_milestone_rows(app.id, app.proposal.milestones))
        self.s.flush()
        return app

    def save(self, app: Application) -> Application:
        """Store the proposal (milestones replaced), state, version, reasons and screening."""
        row = self.s.get(ApplicationRow, app.id)
        if row is None:
            raise NotFound(f"no application {app.id}")
        _fill(row, app)
        old = select(MilestoneRow).where(MilestoneRow.application_id == app.id)
        for milestone in self.s.scalars(old):
            self.s.delete(milestone)
        self.s.flush()
        self.s.add_all(_milestone_rows(app.id, app.proposal.milestones))
        self.s.flush()
        return app

    def find(self, app_id: str, scope: Scope) -> Application | None:
        row = self.s.get(ApplicationRow, app_id)
        if row is None or not scope.allows(row.org_id, row.project_id):
            return None
        return self._load(row)

    def get(self, app_id: str, scope: Scope) -> Application:
        app = self.find(app_id, scope)
        if app is None:
            raise NotFound(f"application {app_id} not found")
        return app

    def list_applications(self, scope: Scope, *, ids: frozenset[str] | None = None,
                          state: State | None = None, org_id: str | None = None
                          ) -> list[Application]:  # fmt: skip
        q = select(ApplicationRow).order_by(ApplicationRow.created_at.desc(), ApplicationRow.id)
        if ids is not None:
            q = q.where(ApplicationRow.id.in_(ids))
        if state is not None:
            q = q.where(ApplicationRow.state == state.value)
        if org_id is not None:
            q = q.where(ApplicationRow.org_id == org_id)
        return [self._load(r) for r in self.s.scalars(q) if scope.allows(r.org_id, r.project_id)]

    def add_version(self, v: SubmittedVersion) -> None:
        self.s.add(ApplicationVersionRow(application_id=v.application_id, version=v.version,
                                         snapshot=dict(v.snapshot), submitted_by=v.submitted_by,
                                         submitted_at=v.submitted_at))  # fmt: skip
        self.s.flush()

    def versions(self, app_id: str) -> list[SubmittedVersion]:
        q = (select(ApplicationVersionRow).where(ApplicationVersionRow.application_id == app_id)
             .order_by(ApplicationVersionRow.version))  # fmt: skip
        return [SubmittedVersion(r.application_id, r.version, dict(r.snapshot), r.submitted_by,
                                 r.submitted_at) for r in self.s.scalars(q)]  # fmt: skip

    def add_attachment(self, a: Attachment) -> Attachment:
        self.s.add(AttachmentRow(**a.__dict__))
        self.s.flush()
        return a

    def attachments(self, app_id: str) -> list[Attachment]:
        q = (select(AttachmentRow).where(AttachmentRow.application_id == app_id)
             .order_by(AttachmentRow.uploaded_at, AttachmentRow.id))  # fmt: skip
        return [_attachment(r) for r in self.s.scalars(q)]

    def add_transition(self, t: Transition) -> None:
        self.s.add(TransitionRow(application_id=t.application_id, at=t.at, note=t.note,
                                 from_state=t.from_state.value if t.from_state else None,
                                 to_state=t.to_state.value, actor_id=t.actor_id))  # fmt: skip
        self.s.flush()

    def transitions(self, app_ids: frozenset[str]) -> dict[str, list[Transition]]:
        out: dict[str, list[Transition]] = {a: [] for a in app_ids}
        q = (select(TransitionRow).where(TransitionRow.application_id.in_(app_ids))
             .order_by(TransitionRow.at, TransitionRow.id))  # fmt: skip
        for r in self.s.scalars(q):
            out[r.application_id].append(Transition(
                r.application_id, State(r.from_state) if r.from_state else None,
                State(r.to_state), r.at, r.actor_id, r.note))  # fmt: skip
        return out


def _attachment(r: AttachmentRow) -> Attachment:
    return Attachment(r.id, r.application_id, r.filename, r.size_bytes, r.sha256, r.path,
                      r.uploaded_by, r.uploaded_at)  # fmt: skip


def _assignment(r: AssignmentRow) -> Assignment:
    return Assignment(r.id, r.application_id, r.reviewer_id, r.assigned_by, r.assigned_at,
                      Coi(r.coi) if r.coi else None, r.coi_statement, r.coi_at)  # fmt: skip


class ReviewRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def reviewers(self) -> list[User]:
        """Active users holding the reviewer role."""
        rows = self.s.scalars(select(UserRow).where(UserRow.is_active.is_(True))
                              .order_by(UserRow.username))  # fmt: skip
        return [u for u in map(user_from_row, rows) if Role.REVIEWER in u.centre_roles]

    def add_assignment(self, a: Assignment) -> Assignment:
        self.s.add(AssignmentRow(id=a.id, application_id=a.application_id,
                                 reviewer_id=a.reviewer_id, assigned_by=a.assigned_by,
                                 assigned_at=a.assigned_at, coi_statement=""))  # fmt: skip
        self.s.flush()
        return a

    def save_coi(self, a: Assignment) -> Assignment:
        row = self.s.get(AssignmentRow, a.id)
        if row is None:
            raise NotFound(f"no assignment {a.id}")
        row.coi = a.coi.value if a.coi else None
        row.coi_statement, row.coi_at = a.coi_statement, a.coi_at
        self.s.flush()
        return a

    def assignments(self, *, application_id: str | None = None,
                    reviewer_id: str | None = None) -> list[Assignment]:  # fmt: skip
        q = select(AssignmentRow).order_by(AssignmentRow.assigned_at, AssignmentRow.id)
        if application_id is not None:
            q = q.where(AssignmentRow.application_id == application_id)
        if reviewer_id is not None:
            q = q.where(AssignmentRow.reviewer_id == reviewer_id)
        return [_assignment(r) for r in self.s.scalars(q)]

    def add_review(self, application_id: str, review: Review) -> Review:
        self.s.add_all(ScoreRow(assignment_id=review.assignment_id, application_id=application_id,
                                version=review.version, criterion=x.criterion, score=x.score,
                                comment=x.comment, submitted_at=review.submitted_at)
                       for x in review.scores)  # fmt: skip
        self.s.flush()
        return review

    def reviews(self, application_id: str) -> list[Review]:
        """Every submitted review of every version, oldest first."""
        owners = {a.id: a.reviewer_id for a in self.assignments(application_id=application_id)}
        q = (select(ScoreRow).where(ScoreRow.application_id == application_id)
             .order_by(ScoreRow.submitted_at, ScoreRow.id))  # fmt: skip
        grouped: dict[tuple[str, int], list[ScoreRow]] = {}
        for r in self.s.scalars(q):
            grouped.setdefault((r.assignment_id, r.version), []).append(r)
        return [Review(aid, owners[aid], version,
                       tuple(CriterionScore(r.criterion, r.score, r.comment) for r in rows),
                       rows[0].submitted_at)
                for (aid, version), rows in grouped.items()]  # fmt: skip

    def add_decision(self, d: Decision) -> Decision:
        self.s.add(DecisionRow(id=d.id, application_id=d.application_id, version=d.version,
                               outcome=d.outcome.value, reasons=d.reasons,
                               terms=terms_json(d.terms) if d.terms else None,
                               grant_id=d.grant_id, decided_by=d.decided_by,
                               decided_at=d.decided_at))  # fmt: skip
        self.s.flush()
        return d

    def decisions(self, application_id: str) -> list[Decision]:
        q = (select(DecisionRow).where(DecisionRow.application_id == application_id)
             .order_by(DecisionRow.decided_at, DecisionRow.id))  # fmt: skip
        return [Decision(r.id, r.application_id, Outcome(r.outcome), r.reasons, r.decided_by,
                         r.decided_at, r.version,
                         terms_from_json(r.terms) if r.terms else None, r.grant_id)
                for r in self.s.scalars(q)]  # fmt: skip
