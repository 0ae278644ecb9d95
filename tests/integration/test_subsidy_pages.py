"""The read models of the portal's subsidy pages (``services/subsidy_pages``) on SQLite and
PostgreSQL: what an applicant may apply for, the reviewers the secretariat is offered (never a
member of the applicant org, never one already assigned), the review page per role (the
applicant not found, a recused reviewer without scores, others' scores only after one's own),
the committee's queue with weighted totals, and the decision form's rates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from petaport.domain.errors import Forbidden, NotFound
from petaport.domain.tenancy import Role
from petaport.services import subsidy_pages
from tests.integration.conftest import World
from tests.integration.subsidy_helpers import (
    add_staff,
    coi,
    in_review,
    ok,
    scheme_and_call,
    score,
)
from tests.integration.test_grant_pages import principal


def test_apply_options_and_the_reviewers_offered(world: World) -> None:
    _, call_id = scheme_and_call(world)
    options = subsidy_pages.apply_options(world.ctx, principal(world, "a_org_admin"))
    assert [c.id for c in options.calls] == [call_id]
    assert [ref for ref, _ in options.projects] == ["org-a/proj-a"]
    assert subsidy_pages.apply_options(world.ctx, principal(world, "a_member")).projects == ()
    for name, org in (("rev1", None), ("rev2", None), ("insider", "org_a")):
        add_staff(world, name, Role.REVIEWER, org)
    app_id = in_review(world, call_id, "rev1")
    page = subsidy_pages.application_page(world.ctx, principal(world, "root"), app_id)
    assert [u for u, _ in page.assignable] == ["rev2"]  # not rev1 (assigned), not insider
    assert [r.action for r in page.audit][-1] == "application.created"
    applicant = subsidy_pages.application_page(world.ctx, principal(world, "a_org_admin"), app_id)
    assert applicant.assignable == () and applicant.audit == () and applicant.assigned == ()
    assert not applicant.may_read_reviews
    with pytest.raises(NotFound):
        subsidy_pages.application_page(world.ctx, principal(world, "b_org_admin"), app_id)


def test_review_page_by_role(world: World) -> None:
    _, call_id = scheme_and_call(world)
    for name in ("rev1", "rev2", "rev3"):
        add_staff(world, name, Role.REVIEWER)
    app_id = in_review(world, call_id, "rev1", "rev2", "rev3")
    ok(coi(world, "rev1", app_id, conflicted=True))
    ok(coi(world, "rev2", app_id))
    ok(coi(world, "rev3", app_id))
    ok(score(world, "rev2", app_id), 201)
    with pytest.raises(NotFound):
        subsidy_pages.review_page(world.ctx, principal(world, "a_org_admin"), app_id)
    recused = subsidy_pages.review_page(world.ctx, principal(world, "rev1"), app_id)
    assert recused.reviews is None and not recused.scored
    early = subsidy_pages.review_page(world.ctx, principal(world, "rev3"), app_id)
    assert early.reviews is not None and early.reviews.reviews == () and not early.scored
    ok(score(world, "rev3", app_id, dict.fromkeys(("alignment", "compute", "merit", "team",
                                                    "impact"), 4)), 201)  # fmt: skip
    after = subsidy_pages.review_page(world.ctx, principal(world, "rev3"), app_id)
    assert after.scored and after.reviews is not None and len(after.reviews.reviews) == 2


def test_committee_queue_and_decision_form(world: World) -> None:
    _, call_id = scheme_and_call(world)
    add_staff(world, "rev1", Role.REVIEWER)
    add_staff(world, "chair", Role.COMMITTEE)
    app_id = in_review(world, call_id, "rev1")
    ok(coi(world, "rev1", app_id))
    ok(score(world, "rev1", app_id), 201)
    rows = subsidy_pages.committee_queue(world.ctx, principal(world, "chair"))
    assert [r.view.app.id for r in rows] == [app_id]
    assert rows[0].reviews.mean == Decimal("6.95")
    form = subsidy_pages.decision_form(world.ctx, principal(world, "chair"), app_id)
    assert (form.default_rate, form.max_rate) == (Decimal("0.70"), Decimal("0.90"))
    with pytest.raises(Forbidden):
        subsidy_pages.committee_queue(world.ctx, principal(world, "root"))
    with pytest.raises(NotFound):  # not found before not allowed: no existence leaks
        subsidy_pages.decision_form(world.ctx, principal(world, "b_org_admin"), app_id)
    with pytest.raises(Forbidden):
        subsidy_pages.decision_form(world.ctx, principal(world, "a_org_admin"), app_id)
    intake = subsidy_pages.intake(world.ctx, principal(world, "root"))
    assert [(r.project_ref, r.stage.application.state.value) for r in intake] == [
        ("org-a/proj-a", "committee")
    ]
    with pytest.raises(Forbidden):
        subsidy_pages.intake(world.ctx, principal(world, "chair"))
