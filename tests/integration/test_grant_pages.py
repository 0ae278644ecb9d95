"""The read models of the portal's grant pages on both databases: drawdown per day equal to
what the grant has funded, the audit trail for the committee only, the next progress report
with its GPU-hours filled in, and another tenant's grant not found."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from petaport.domain.errors import Forbidden, NotFound
from petaport.domain.subsidy import Scheme
from petaport.domain.tenancy import Principal
from petaport.services import grant_pages, progress
from petaport.services.metering import meter_due
from petaport.storage.repos.tenancy import TenancyRepo
from tests.integration.conftest import World
from tests.integration.test_money import Clock
from tests.integration.test_subsidy_money import T0, clock, make_grant, run_for, scheme

__all__ = ["clock", "scheme"]  # fixtures used below


def principal(world: World, who: str) -> Principal:
    with world.ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        user = repo.find_user(world.ids[f"usr_{who}"])
        assert user is not None
        return Principal(user, repo.memberships_of(user.id))


def test_grant_page_and_report_draft(world: World, clock: Clock, scheme: Scheme) -> None:
    due = (T0 + timedelta(days=30)).isoformat()
    g = make_grant(world, cap="1000.00", milestones=[
        {"key": "m1", "title": "Baseline", "due": due, "gpu_hours": "7.5"}])  # fmt: skip
    run_for(world, clock, 2.5, gpus=2, walltime_s=4 * 3600)
    meter_due(world.ctx)
    admin = principal(world, "a_org_admin")
    page = grant_pages.grant_page(world.ctx, admin, g["id"])
    funded = page.row.view.funded.amount
    assert funded > 0 and page.history[0].funded == 0
    assert page.history[-1].funded == funded
    assert page.history[-1].gpu_hours == page.row.view.gpu_hours == Decimal("5.000")
    assert (page.row.org_name, page.row.project_name, page.row.scheme_name) == (
        "Org a", "Project a", "AISS")  # fmt: skip
    assert page.audit == () and page.may_report and not page.may_decide
    root = grant_pages.grant_page(world.ctx, principal(world, "root"), g["id"])
    assert [r.action for r in root.audit] == ["grant.created"] and root.may_decide
    assert root.actors[world.ids["usr_root"]] == "root"
    with pytest.raises(NotFound):
        grant_pages.grant_page(world.ctx, principal(world, "b_org_admin"), g["id"])

    draft = progress.draft_report(world.ctx, admin, g["id"])
    assert (draft.planned_gpu_hours, draft.actual_gpu_hours) == (Decimal("7.5"), Decimal("5.000"))
    assert not draft.late and [m.key for m in draft.milestones] == ["m1"]
    with pytest.raises(Forbidden):
        progress.draft_report(world.ctx, principal(world, "a_member"), g["id"])
    with pytest.raises(NotFound):
        progress.draft_report(world.ctx, principal(world, "b_org_admin"), g["id"])


def test_funders_for_the_committee_only(world: World, clock: Clock, scheme: Scheme) -> None:
    assert grant_pages.funders(world.ctx, principal(world, "root")) == ["hk-gov"]
    with pytest.raises(Forbidden):
        grant_pages.funders(world.ctx, principal(world, "a_org_admin"))
    rows = grant_pages.grant_rows(world.ctx, principal(world, "a_member"))
    assert rows == []
