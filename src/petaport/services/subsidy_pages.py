"""Read models of the portal's subsidy workflow pages: one call per page (docs/portal.md).

The applications come from ``services.subsidy_applications`` and ``subsidy_review`` under
their rules (the secretariat and the committee see every application, a reviewer the assigned
ones, an org's members their org's; anyone else gets NotFound). This module adds what a page
shows beside them: the calls a visitor may apply to and the projects they may apply for, the
reviewers the secretariat may still assign (never a member of the applicant org), the
committee's queue with each reviewer's weighted total, and the scheme's rates for the
decision form. Names are looked up only for applications the caller may already read.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from petaport.domain.errors import Forbidden, NotFound
from petaport.domain.subsidy import Criterion, Scheme
from petaport.domain.subsidy_review import Assignment
from petaport.domain.subsidy_workflow import Call, State
from petaport.domain.tenancy import Principal, Scope
from petaport.services import portal, subsidy_decisions, subsidy_review, subsidy_schemes
from petaport.services.context import Context
from petaport.services.subsidy_access import (
    applies_for,
    is_committee,
    is_reviewer,
    require_secretariat,
    sees_all,
    visible_application,
)
from petaport.services.subsidy_applications import (
    ApplicationView,
    get_application,
    list_applications,
)
from petaport.services.subsidy_decisions import StageRow
from petaport.services.subsidy_review import ReviewsView
from petaport.storage.repos.subsidy import AuditRecord, SchemeRepo
from petaport.storage.repos.subsidy_workflow import ReviewRepo
from petaport.storage.repos.tenancy import TenancyRepo

EVERYTHING = Scope(everything=True)


@dataclass(frozen=True)
class ApplyOptions:
    calls: tuple[Call, ...]  # open now
    projects: tuple[tuple[str, str], ...]  # (org-slug/project-slug, "Org: Project")


@dataclass(frozen=True)
class ApplicationPage:
    view: ApplicationView
    scheme: Scheme
    assignable: tuple[tuple[str, str], ...]  # (username, display name), secretariat only
    assigned: tuple[tuple[Assignment, str], ...]  # with the reviewer's display name
    audit: tuple[AuditRecord, ...]  # secretariat only
    actors: dict[str, str]  # user id -> display name, for the audit trail
    my_assignment: Assignment | None  # the visitor's, when they review it
    may_read_reviews: bool


@dataclass(frozen=True)
class CommitteeRow:
    view: ApplicationView
    reviews: ReviewsView


@dataclass(frozen=True)
class IntakeRow:
    stage: StageRow
    org_name: str
    project_ref: str
    title: str


def apply_options(ctx: Context, p: Principal) -> ApplyOptions:
    """The open calls and the projects whose org the visitor administers."""
    projects = tuple(sorted(
        (f"{org.slug}/{prj.slug}", f"{org.name}: {prj.name}")
        for prj, org in portal.project_list(ctx, p) if applies_for(p, org.id)
    ))  # fmt: skip
    return ApplyOptions(tuple(subsidy_schemes.list_calls(ctx, open_only=True)), projects)


def _names(ctx: Context, user_ids: set[str]) -> dict[str, str]:
    with ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        users = (repo.find_user(i) for i in sorted(user_ids))
        return {u.id: u.display_name or u.username for u in users if u is not None}


def _assignable(ctx: Context, app_org_id: str, taken: set[str]) -> tuple[tuple[str, str], ...]:
    """Active reviewers who are not members of the applicant org and not yet assigned."""
    with ctx.db.transaction() as s:
        tenancy = TenancyRepo(s)
        return tuple(
            (u.username, u.display_name or u.username) for u in ReviewRepo(s).reviewers()
            if u.id not in taken
            and app_org_id not in {m.org_id for m in tenancy.memberships_of(u.id)}
        )  # fmt: skip


def application_page(ctx: Context, p: Principal, app_id: str) -> ApplicationPage:
    view = get_application(ctx, p, app_id)  # NotFound for whoever may not read it
    app = view.app
    with ctx.db.transaction() as s:
        scheme = SchemeRepo(s).get(app.scheme_id)
        assignments = ReviewRepo(s).assignments(application_id=app.id)
    mine = next((a for a in assignments if a.reviewer_id == p.user.id), None)
    secretariat = p.is_centre_admin
    audit = tuple(subsidy_schemes.list_audit(ctx, p, application_id=app.id)) if secretariat else ()
    names = _names(ctx, {a.reviewer_id for a in assignments}
                   | {r.actor_id for r in audit if r.actor_id})  # fmt: skip
    assigned = tuple((a, names.get(a.reviewer_id, a.reviewer_id)) for a in assignments)
    assignable = (_assignable(ctx, app.org_id, {a.reviewer_id for a in assignments})
                  if secretariat and app.state is State.REVIEW else ())  # fmt: skip
    return ApplicationPage(view, scheme, assignable, assigned if sees_all(p) else (), audit,
                           names, mine, sees_all(p) or mine is not None)  # fmt: skip


def my_assignments(ctx: Context, p: Principal) -> list[tuple[Assignment, ApplicationView, bool]]:
    """The visitor's review assignments, with the application and whether it is scored."""
    if not is_reviewer(p):
        raise Forbidden("only reviewers have review assignments")
    out = []
    for a, app, scored in subsidy_review.my_assignments(ctx, p):
        out.append((a, get_application(ctx, p, app.id), scored))
    return out


def committee_queue(ctx: Context, p: Principal) -> list[CommitteeRow]:
    """Applications waiting for the committee, with every reviewer's weighted total."""
    if not is_committee(p):
        raise Forbidden("only a member of the committee may read the committee's queue")
    return [CommitteeRow(v, subsidy_review.reviews(ctx, p, v.app.id))
            for v in list_applications(ctx, p, state=State.COMMITTEE)]  # fmt: skip


def intake(ctx: Context, p: Principal) -> list[IntakeRow]:
    """Every application with its stage clock, newest first (the secretariat)."""
    require_secretariat(p)
    rows = subsidy_decisions.stages(ctx, p)
    with ctx.db.transaction() as s:
        tenancy = TenancyRepo(s)
        orgs = {o.id: o for o in tenancy.list_orgs(EVERYTHING, after=None, limit=10_000)}
        out = []
        for r in rows:
            app, org = r.application, orgs.get(r.application.org_id)
            project = tenancy.get_project(EVERYTHING, app.project_id)
            ref = f"{org.slug if org else app.org_id}/{project.slug}"
            out.append(IntakeRow(r, org.name if org else app.org_id, ref, app.proposal.title))
    return sorted(out, key=lambda x: x.stage.application.created_at, reverse=True)


@dataclass(frozen=True)
class DecisionForm:
    page: ApplicationPage
    reviews: ReviewsView
    default_rate: Decimal
    max_rate: Decimal


def decision_form(ctx: Context, p: Principal, app_id: str) -> DecisionForm:
    """What the committee decides from: the application, its reviews, and the scheme's
    default rate for the org's category and its maximum."""
    if not is_committee(p):
        with ctx.db.transaction() as s:
            visible_application(s, p, app_id)  # NotFound first for those who may not read it
        raise Forbidden("only a member of the committee may decide")
    page = application_page(ctx, p, app_id)
    reviews = subsidy_review.reviews(ctx, p, app_id)
    scheme = page.scheme
    return DecisionForm(page, reviews, scheme.rate_for(page.view.app.category), scheme.max_rate)


def my_applications(ctx: Context, p: Principal) -> list[ApplicationView]:
    """The applications of the visitor's own organisations, newest first."""
    mine = p.org_ids()
    views = [v for v in list_applications(ctx, p) if v.app.org_id in mine]
    return sorted(views, key=lambda v: v.app.created_at, reverse=True)


@dataclass(frozen=True)
class ReviewPage:
    page: ApplicationPage
    reviews: ReviewsView | None  # None: the visitor is recused and sees no scores
    rubric: tuple[Criterion, ...]
    scored: bool  # the visitor has scored the current version

    @property
    def mine(self) -> Assignment | None:
        return self.page.my_assignment


def review_page(ctx: Context, p: Principal, app_id: str) -> ReviewPage:
    """The reviews of an application as the visitor may see them: the secretariat and the
    committee all; a reviewer their own until they have scored, then everyone's; a recused
    reviewer none. The applicant, and anyone not assigned, gets NotFound."""
    page = application_page(ctx, p, app_id)
    if not page.may_read_reviews:
        raise NotFound(f"no reviews of application {app_id} for you")
    mine = page.my_assignment
    shown = None if mine is not None and mine.recused and not sees_all(p) else (
        subsidy_review.reviews(ctx, p, app_id))  # fmt: skip
    scored = mine is not None and shown is not None and any(
        r.assignment_id == mine.id for r in shown.reviews)  # fmt: skip
    return ReviewPage(page, shown, page.scheme.rubric, scored)
