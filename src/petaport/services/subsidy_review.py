"""Screening and review of subsidy applications (docs/design/010-subsidy-review.md).

The secretariat screens eligibility (the org's category must be eligible under the scheme to
pass) and assigns reviewers; each assigned reviewer declares conflicts of interest, then scores
every rubric criterion. When every reviewer who is not recused has scored the current version,
the application moves to the committee by itself.

What ``reviews`` shows: the secretariat and the committee see every review; a reviewer sees
their own, and the others' once theirs is submitted; a recused reviewer is refused (403);
the applicant (and anyone not assigned) gets NotFound.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy.orm import Session

from petaport.domain.errors import Conflict, NotFound, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.subsidy import Criterion
from petaport.domain.subsidy_review import (
    Assignment,
    Coi,
    CriterionScore,
    Recused,
    Review,
    check_assignable,
    check_coi,
    check_scores,
    may_see_all_scores,
    mean_total,
    reviews_complete,
)
from petaport.domain.subsidy_workflow import Action, Application, Screening, State
from petaport.domain.tenancy import Principal, Role
from petaport.services.authz import require_scope
from petaport.services.context import Context
from petaport.services.subsidy_access import (
    audit,
    move,
    require_secretariat,
    sees_all,
    visible_application,
)
from petaport.storage.repos.subsidy import SchemeRepo
from petaport.storage.repos.subsidy_workflow import ApplicationRepo, ReviewRepo
from petaport.storage.repos.tenancy import TenancyRepo


class CategoryNotEligible(ValidationFailed):
    code = "category_not_eligible"
    title = "The organisation's category is not eligible under this scheme"


@dataclass(frozen=True)
class ReviewerSummary:
    assignment: Assignment
    username: str
    display_name: str
    submitted: bool


@dataclass(frozen=True)
class ReviewsView:
    application_id: str
    version: int
    rubric: tuple[Criterion, ...]
    reviewers: tuple[ReviewerSummary, ...]
    reviews: tuple[Review, ...]  # those the caller may see, current version
    totals: dict[str, Decimal]  # assignment id -> weighted total
    mean: Decimal | None  # of the shown totals
    complete: bool


def screen(ctx: Context, p: Principal, app_id: str, eligible: bool, reason: str) -> Application:
    """Eligible: the application goes to review. Ineligible (with a reason): it ends there."""
    text, now = reason.strip(), ctx.clock()
    with ctx.db.transaction() as s:
        app = visible_application(s, p, app_id)
        require_secretariat(p)
        if not eligible and not text:
            raise ValidationFailed("give the reason the application is ineligible")
        scheme = SchemeRepo(s).get(app.scheme_id)
        if eligible and not scheme.eligible(app.category):
            raise CategoryNotEligible(f"{app.category.value} organisations are not eligible "
                                      f"under {scheme.name}")  # fmt: skip
        action = Action.SCREEN_ELIGIBLE if eligible else Action.SCREEN_INELIGIBLE
        app = move(s, p, app, action, now, text)
        app = replace(app, screening=Screening(eligible, text, p.user.id, now))
        ApplicationRepo(s).save(app)
        audit(s, p, "application.screened", app, now,
              details={"eligible": eligible, "reason": text})  # fmt: skip
        return _forward_if_complete(s, app, ctx)


def _forward_if_complete(s: Session, app: Application, ctx: Context) -> Application:
    """Move a reviewed application to the committee once every active reviewer has scored."""
    reviews = ReviewRepo(s)
    if app.state is not State.REVIEW or not reviews_complete(
        reviews.assignments(application_id=app.id), reviews.reviews(app.id), app.version
    ):
        return app
    now = ctx.clock()
    app = move(s, None, app, Action.REVIEWS_COMPLETE, now, "every active reviewer has scored")
    ApplicationRepo(s).save(app)
    audit(s, None, "application.reviews_complete", app, now, details={"version": app.version})
    return app


def assign(ctx: Context, p: Principal, app_id: str, reviewer: str) -> Assignment:
    """Assign a reviewer (username or id) to a screened application."""
    now = ctx.clock()
    with ctx.db.transaction() as s:
        app = visible_application(s, p, app_id)
        require_secretariat(p)
        if app.state is not State.REVIEW:
            raise Conflict(f"reviewers are assigned once the application is screened eligible "
                           f"(it is '{app.state.value}')", code="illegal_transition")  # fmt: skip
        user = next((u for u in ReviewRepo(s).reviewers() if reviewer in (u.id, u.username)),
                    None)  # fmt: skip
        if user is None:
            raise NotFound(f"no active user {reviewer} with the reviewer role")
        orgs = frozenset(m.org_id for m in TenancyRepo(s).memberships_of(user.id))
        check_assignable(orgs, app.org_id)
        if ReviewRepo(s).assignments(application_id=app.id, reviewer_id=user.id):
            raise Conflict(f"{user.username} is already assigned", code="already_assigned")
        a = ReviewRepo(s).add_assignment(Assignment(new_id("rva"), app.id, user.id, p.user.id,
                                                    now))  # fmt: skip
        audit(s, p, "review.assigned", app, now, subject=("assignment", a.id),
              details={"reviewer": user.username})  # fmt: skip
        return a


def _own_assignment(s: Session, p: Principal, app: Application) -> Assignment:
    mine = ReviewRepo(s).assignments(application_id=app.id, reviewer_id=p.user.id)
    if not mine:
        raise NotFound(f"you are not assigned to application {app.id}")
    return mine[0]


def declare_coi(ctx: Context, p: Principal, app_id: str, coi: Coi, statement: str) -> Assignment:
    """An assigned reviewer's declaration (once): none, or conflicted with a statement."""
    require_scope(p, "jobs:write")
    text, now = check_coi(coi, statement), ctx.clock()
    with ctx.db.transaction() as s:
        app = visible_application(s, p, app_id)
        a = _own_assignment(s, p, app)
        if a.coi is not None:
            raise Conflict("you have already declared; ask the secretariat to correct it",
                           code="coi_declared")  # fmt: skip
        a = ReviewRepo(s).save_coi(replace(a, coi=coi, coi_statement=text, coi_at=now))
        audit(s, p, "review.coi_declared", app, now, subject=("assignment", a.id),
              details={"coi": coi.value, "statement": text})  # fmt: skip
        _forward_if_complete(s, app, ctx)
        return a


def score(ctx: Context, p: Principal, app_id: str, scores: list[CriterionScore]) -> Review:
    """Submit the caller's scores of the current version (every criterion, once)."""
    require_scope(p, "jobs:write")
    now = ctx.clock()
    with ctx.db.transaction() as s:
        app = visible_application(s, p, app_id)
        a = _own_assignment(s, p, app)
        a.check_may_score()
        if app.state is not State.REVIEW:
            raise Conflict(f"the application is not in review (it is '{app.state.value}')",
                           code="illegal_transition")  # fmt: skip
        rubric = SchemeRepo(s).get(app.scheme_id).rubric
        check_scores(rubric, scores)
        done = ReviewRepo(s).reviews(app.id)
        if any(r.assignment_id == a.id and r.version == app.version for r in done):
            raise Conflict("you have already scored this version", code="already_scored")
        review = Review(a.id, p.user.id, app.version, tuple(scores), now)
        ReviewRepo(s).add_review(app.id, review)
        audit(s, p, "review.scored", app, now, subject=("assignment", a.id),
              details={"version": app.version, "total": str(review.total(rubric)),
                       "scores": {x.criterion: x.score for x in scores}})  # fmt: skip
        _forward_if_complete(s, app, ctx)
        return review


def _shown(p: Principal, app: Application,
           assignments: list[Assignment], current: list[Review]) -> list[Review]:  # fmt: skip
    if sees_all(p):
        return current
    mine = [a for a in assignments if a.reviewer_id == p.user.id]
    if not mine:
        raise NotFound(f"no reviews of application {app.id} for you")
    if mine[0].recused:
        raise Recused("you declared a conflict of interest: the scores are hidden from you")
    if may_see_all_scores(mine[0], current, app.version):
        return current
    return [r for r in current if r.assignment_id == mine[0].id]


def reviews(ctx: Context, p: Principal, app_id: str) -> ReviewsView:
    with ctx.db.transaction() as s:
        app = visible_application(s, p, app_id)
        repo = ReviewRepo(s)
        assignments = repo.assignments(application_id=app.id)
        current = [r for r in repo.reviews(app.id) if r.version == app.version]
        shown = _shown(p, app, assignments, current)
        rubric = SchemeRepo(s).get(app.scheme_id).rubric
        users = {u.id: u for u in (TenancyRepo(s).find_user(a.reviewer_id) for a in assignments)
                 if u is not None}  # fmt: skip
    done = {r.assignment_id for r in current}
    summaries = tuple(ReviewerSummary(a, users[a.reviewer_id].username,
                                      users[a.reviewer_id].display_name, a.id in done)
                      for a in assignments)  # fmt: skip
    totals = {r.assignment_id: r.total(rubric) for r in shown}
    return ReviewsView(app.id, app.version, rubric, summaries, tuple(shown), totals,
                       mean_total(list(totals.values())),
                       reviews_complete(assignments, current, app.version))  # fmt: skip


def my_assignments(ctx: Context, p: Principal) -> list[tuple[Assignment, Application, bool]]:
    """The caller's assignments with their application and whether the current version is
    scored."""
    if Role.REVIEWER not in p.user.centre_roles:
        return []
    with ctx.db.transaction() as s:
        repo = ReviewRepo(s)
        out = []
        for a in repo.assignments(reviewer_id=p.user.id):
            app = visible_application(s, p, a.application_id)
            scored = any(r.assignment_id == a.id and r.version == app.version
                         for r in repo.reviews(app.id))  # fmt: skip
            out.append((a, app, scored))
        return out


def list_reviewers(ctx: Context, p: Principal) -> list[tuple[str, str, str]]:
    """(id, username, display name) of every active reviewer (for the secretariat)."""
    require_secretariat(p)
    with ctx.db.transaction() as s:
        return [(u.id, u.username, u.display_name) for u in ReviewRepo(s).reviewers()]
