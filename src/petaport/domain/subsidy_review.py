"""Review of a subsidy application: assignment, conflict of interest, scores and weighted totals
(docs/design/010-subsidy-review.md).

Rules, all pure:
- a reviewer who is a member of the applicant's org is never assigned (``check_assignable``);
- an assigned reviewer declares a conflict of interest before anything else: ``none`` lets them
  score, ``conflicted`` (with a statement) recuses them: they can neither score nor see scores;
- a score gives every rubric criterion an integer from 0 to 10 (``SCORE_MIN``..``SCORE_MAX``)
  with an optional comment; the weighted total is ``Σ weight × score``, exact (weights are
  exact decimals summing to 1, so the total is on the same 0-10 scale);
- a reviewer sees other reviewers' scores only after submitting their own for the same version
  (``may_see_all_scores``); the secretariat and the committee see all; the applicant none.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from petaport.domain.errors import Conflict, Forbidden, ValidationFailed
from petaport.domain.subsidy import Criterion

SCORE_MIN, SCORE_MAX = 0, 10


class Coi(enum.StrEnum):
    NONE = "none"
    CONFLICTED = "conflicted"


class ReviewerFromApplicantOrg(Conflict):
    code = "reviewer_from_applicant_org"
    title = "Reviewer belongs to the applicant's organisation"


class CoiRequired(Conflict):
    code = "coi_required"
    title = "Declare conflicts of interest first"


class Recused(Forbidden):
    code = "recused"
    title = "Recused for a conflict of interest"


@dataclass(frozen=True)
class Assignment:
    id: str
    application_id: str
    reviewer_id: str
    assigned_by: str
    assigned_at: datetime
    coi: Coi | None = None
    coi_statement: str = ""
    coi_at: datetime | None = None

    @property
    def recused(self) -> bool:
        return self.coi is Coi.CONFLICTED

    def check_may_score(self) -> None:
        if self.coi is None:
            raise CoiRequired("declare whether you have a conflict of interest before scoring")
        if self.recused:
            raise Recused("you declared a conflict of interest and are recused")


@dataclass(frozen=True)
class CriterionScore:
    criterion: str
    score: int
    comment: str = ""


@dataclass(frozen=True)
class Review:
    """One reviewer's submitted scores for one version of an application."""

    assignment_id: str
    reviewer_id: str
    version: int
    scores: tuple[CriterionScore, ...]
    submitted_at: datetime

    def total(self, rubric: Sequence[Criterion]) -> Decimal:
        return weighted_total(rubric, {s.criterion: s.score for s in self.scores})


def check_assignable(reviewer_org_ids: frozenset[str], applicant_org_id: str) -> None:
    if applicant_org_id in reviewer_org_ids:
        raise ReviewerFromApplicantOrg(
            "this reviewer is a member of the applicant's organisation and cannot review it"
        )


def check_coi(coi: Coi, statement: str) -> str:
    text = statement.strip()
    if coi is Coi.CONFLICTED and not text:
        raise ValidationFailed("describe the conflict of interest")
    if len(text) > 5000:
        raise ValidationFailed("the statement is at most 5,000 characters")
    return text


def check_scores(rubric: Sequence[Criterion], scores: Sequence[CriterionScore]) -> None:
    """Every criterion scored once, each an integer in 0..10; no unknown criteria."""
    keys = [s.criterion for s in scores]
    wanted = {c.key for c in rubric}
    if len(set(keys)) != len(keys):
        raise ValidationFailed("score each criterion once")
    if set(keys) != wanted:
        missing, unknown = sorted(wanted - set(keys)), sorted(set(keys) - wanted)
        raise ValidationFailed(f"score every criterion of the rubric (missing: {missing}, "
                               f"unknown: {unknown})")  # fmt: skip
    for s in scores:
        if isinstance(s.score, bool) or not SCORE_MIN <= s.score <= SCORE_MAX:
            raise ValidationFailed(f"{s.criterion}: a score is a whole number from 0 to 10")
        if len(s.comment) > 5000:
            raise ValidationFailed(f"{s.criterion}: a comment is at most 5,000 characters")


def weighted_total(rubric: Sequence[Criterion], scores: Mapping[str, int]) -> Decimal:
    """``Σ weight × score`` over the rubric, exact."""
    return sum((c.weight * Decimal(scores[c.key]) for c in rubric), Decimal(0))


def mean_total(totals: Sequence[Decimal]) -> Decimal | None:
    """The mean of reviewers' weighted totals, rounded half-even to 0.01 (None: no reviews)."""
    if not totals:
        return None
    return (sum(totals, Decimal(0)) / len(totals)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


def reviews_complete(assignments: Sequence[Assignment], reviews: Sequence[Review],
                     version: int) -> bool:  # fmt: skip
    """Every assigned, not recused reviewer has scored ``version``, and at least one did."""
    active = [a for a in assignments if not a.recused]
    done = {r.assignment_id for r in reviews if r.version == version}
    return bool(active) and all(a.coi is not None and a.id in done for a in active)


def may_see_all_scores(assignment: Assignment, reviews: Sequence[Review], version: int) -> bool:
    """A reviewer sees others' scores only once not recused and their own are submitted."""
    if assignment.recused:
        return False
    return any(r.assignment_id == assignment.id and r.version == version for r in reviews)
