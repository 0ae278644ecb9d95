"""Calls and applications of the subsidy scheme, and the application's state machine as data
(docs/subsidy.md).

One transition table says which action moves an application from which state to which; an
action not in the table raises ``IllegalTransition``. Each state belongs to a **stage** of the
stage clock (draft, screening, review, committee, changes requested, decided); ``stage_times``
sums the time spent in each stage from the recorded transitions and an explicit ``now``.

Invariants: a call closes after it opens (tz-aware); an application is editable only in
``draft`` or ``changes_requested``; milestones are due inside nothing in particular but have a
positive number of planned GPU-hours; the requested GPU-hours are positive.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from petaport.domain.errors import Conflict, IllegalTransition, ValidationFailed
from petaport.domain.tenancy import OrgCategory


class CallClosed(Conflict):
    code = "call_closed"
    title = "The call is not open"


class ApplicationFrozen(Conflict):
    code = "application_frozen"
    title = "The application is frozen"


class State(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # waiting for the secretariat's eligibility screening
    REVIEW = "review"
    COMMITTEE = "committee"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    INELIGIBLE = "ineligible"


class Action(enum.StrEnum):
    SUBMIT = "submit"
    SCREEN_ELIGIBLE = "screen_eligible"
    SCREEN_INELIGIBLE = "screen_ineligible"
    REVIEWS_COMPLETE = "reviews_complete"
    REQUEST_CHANGES = "request_changes"
    APPROVE = "approve"
    REJECT = "reject"


S, A = State, Action
TRANSITIONS: Mapping[tuple[State, Action], State] = {
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.CHANGES_REQUESTED, A.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, A.SCREEN_ELIGIBLE): S.REVIEW,
    (S.SUBMITTED, A.SCREEN_INELIGIBLE): S.INELIGIBLE,
    (S.REVIEW, A.REVIEWS_COMPLETE): S.COMMITTEE,
    (S.SUBMITTED, A.REQUEST_CHANGES): S.CHANGES_REQUESTED,
    (S.REVIEW, A.REQUEST_CHANGES): S.CHANGES_REQUESTED,
    (S.COMMITTEE, A.REQUEST_CHANGES): S.CHANGES_REQUESTED,
    (S.COMMITTEE, A.APPROVE): S.APPROVED,
    (S.COMMITTEE, A.REJECT): S.REJECTED,
}
EDITABLE = frozenset({S.DRAFT, S.CHANGES_REQUESTED})
FINAL = frozenset({S.APPROVED, S.REJECTED, S.INELIGIBLE})


class Stage(enum.StrEnum):
    DRAFT = "draft"
    SCREENING = "screening"
    REVIEW = "review"
    COMMITTEE = "committee"
    CHANGES_REQUESTED = "changes_requested"
    DECIDED = "decided"


STAGE_OF: Mapping[State, Stage] = {
    S.DRAFT: Stage.DRAFT, S.SUBMITTED: Stage.SCREENING, S.REVIEW: Stage.REVIEW,
    S.COMMITTEE: Stage.COMMITTEE, S.CHANGES_REQUESTED: Stage.CHANGES_REQUESTED,
    S.APPROVED: Stage.DECIDED, S.REJECTED: Stage.DECIDED, S.INELIGIBLE: Stage.DECIDED,
}  # fmt: skip


def next_state(state: State, action: Action) -> State:
    """The state ``action`` leads to from ``state``; IllegalTransition if it is not allowed."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(
            f"an application in state '{state.value}' cannot {action.value.replace('_', ' ')}",
            state=state.value,
        ) from None


@dataclass(frozen=True)
class Call:
    id: str
    scheme_id: str
    name: str
    opens_at: datetime
    closes_at: datetime

    def __post_init__(self) -> None:
        if self.opens_at.tzinfo is None or self.closes_at.tzinfo is None:
            raise ValidationFailed("a call's dates need a time zone")
        if self.closes_at <= self.opens_at:
            raise ValidationFailed("a call must close after it opens")
        if not self.name.strip() or len(self.name) > 200:
            raise ValidationFailed("a call needs a name (1-200 characters)")

    def open_at(self, at: datetime) -> bool:
        return self.opens_at <= at < self.closes_at

    def check_open(self, at: datetime) -> None:
        if not self.open_at(at):
            raise CallClosed(f"the call {self.name!r} takes applications from "
                             f"{self.opens_at:%Y-%m-%d} to {self.closes_at:%Y-%m-%d}")  # fmt: skip


@dataclass(frozen=True)
class Milestone:
    title: str
    due_on: date
    planned_gpu_hours: Decimal

    def __post_init__(self) -> None:
        if not self.title.strip() or len(self.title) > 200:
            raise ValidationFailed("a milestone needs a title (1-200 characters)")
        if not self.planned_gpu_hours.is_finite() or self.planned_gpu_hours < 0:
            raise ValidationFailed("a milestone's planned GPU-hours cannot be negative")


DECLARATIONS: Mapping[str, str] = {
    "accurate": "The information in this application is true and complete.",
    "no_double_funding": "The compute requested is not funded by another public scheme.",
    "compliance": "The project complies with Hong Kong law, including data privacy.",
    "reports": "We will file progress reports against the milestones when asked.",
}


@dataclass(frozen=True)
class Proposal:
    """What the applicant writes (editable while a draft or when changes were requested)."""

    title: str
    description: str = ""
    gpu_model: str = "H800"
    gpu_hours: Decimal = Decimal(0)
    duration_months: int = 6
    milestones: tuple[Milestone, ...] = ()
    declarations: frozenset[str] = frozenset()
    calculation: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.title.strip() or len(self.title) > 200:
            raise ValidationFailed("an application needs a title (1-200 characters)")
        if len(self.description) > 20_000:
            raise ValidationFailed("the description is at most 20,000 characters")
        if not 1 <= self.duration_months <= 60:
            raise ValidationFailed("the duration is 1 to 60 months")
        if not self.gpu_hours.is_finite() or self.gpu_hours < 0:
            raise ValidationFailed("the requested GPU-hours cannot be negative")
        unknown = self.declarations - DECLARATIONS.keys()
        if unknown:
            raise ValidationFailed(f"unknown declarations: {', '.join(sorted(unknown))}")

    def check_complete(self) -> None:
        """What a submission needs beyond a draft: compute, a milestone, every declaration."""
        problems = []
        if self.gpu_hours <= 0:
            problems.append("request a positive number of GPU-hours")
        if not self.milestones:
            problems.append("give at least one milestone with its due date")
        missing = DECLARATIONS.keys() - self.declarations
        if missing:
            problems.append(f"accept every declaration (missing: {', '.join(sorted(missing))})")
        if not self.description.strip():
            problems.append("describe the project")
        if problems:
            raise ValidationFailed("cannot submit: " + "; ".join(problems), errors=problems)


@dataclass(frozen=True)
class Screening:
    eligible: bool
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Application:
    id: str
    call_id: str
    scheme_id: str
    org_id: str
    project_id: str
    category: OrgCategory
    proposal: Proposal
    state: State
    version: int  # 1 for the first submission; each resubmission adds one
    created_by: str
    created_at: datetime
    updated_at: datetime
    changes_reason: str = ""
    screening: Screening | None = None

    def check_editable(self) -> None:
        if self.state not in EDITABLE:
            raise ApplicationFrozen(
                f"application {self.id} was submitted and is frozen (state "
                f"'{self.state.value}'); it can change only when changes are requested"
            )


@dataclass(frozen=True)
class Transition:
    application_id: str
    from_state: State | None
    to_state: State
    at: datetime
    actor_id: str | None = None
    note: str = ""


@dataclass(frozen=True)
class StageClock:
    """Seconds spent per stage, the current stage, time in it, its target, and overdue."""

    seconds: Mapping[Stage, int]
    current: Stage
    in_current_s: int
    target_s: int | None
    overdue: bool


def stage_clock(transitions: Sequence[Transition], now: datetime,
                targets: Mapping[Stage, timedelta]) -> StageClock:  # fmt: skip
    """Time per stage from ``transitions`` (in order); the last stage runs until ``now``.
    A decided application is never overdue."""
    if not transitions:
        raise ValidationFailed("an application has at least its creation transition")
    seconds = dict.fromkeys(Stage, 0)
    ordered = sorted(transitions, key=lambda t: t.at)
    for this, following in zip(ordered, [*ordered[1:], None], strict=True):
        end = following.at if following is not None else now
        stage = STAGE_OF[this.to_state]
        seconds[stage] += max(0, int((end - this.at).total_seconds()))
    current = STAGE_OF[ordered[-1].to_state]
    in_current = max(0, int((now - ordered[-1].at).total_seconds()))
    target = targets.get(current)
    target_s = int(target.total_seconds()) if target is not None else None
    overdue = current is not Stage.DECIDED and target_s is not None and in_current > target_s
    return StageClock(seconds, current, in_current, target_s, overdue)
