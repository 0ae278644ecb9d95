"""Storage on both databases: migrations match models, times stay UTC-aware, scopes hide rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from petaport.domain.errors import Conflict, NotFound
from petaport.domain.ids import new_id
from petaport.domain.inventory import NodePool
from petaport.domain.jobs import Allocation, Attempt, Job, JobSpec, JobState, PendingReason
from petaport.domain.money import Money
from petaport.domain.subsidy import Grant, OnCap, Scheme
from petaport.domain.tenancy import Org, OrgCategory, Project, Scope, User
from petaport.storage.db import Database
from petaport.storage.repos.inventory import InventoryRepo
from petaport.storage.repos.jobs import JobRepo
from petaport.storage.repos.subsidy import AuditRecord, AuditRepo, GrantRepo, SchemeRepo
from petaport.storage.repos.tenancy import TenancyRepo
from petaport.storage.tables import Base

HKT = timezone(timedelta(hours=8))
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=HKT)


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def _tenant(db: Database, slug: str) -> tuple[Org, Project, User]:
    org = Org(new_id("org"), slug, slug, OrgCategory.UNIVERSITY, NOW)
    project = Project(new_id("prj"), org.id, "p", "p", NOW)
    user = User(new_id("usr"), f"u-{slug}", "u@example.org", "U", frozenset(), True, NOW)
    with db.transaction() as s:
        repo = TenancyRepo(s)
        repo.add_org(org)
        repo.add_user(user, None)
        s.flush()
        repo.add_project(project)
    return org, project, user


def test_times_round_trip_as_utc_aware(db: Database) -> None:
    org, project, user = _tenant(db, "t1")
    spec = JobSpec(name="j", project_id=project.id, command=("true",), gpus=2)
    job = Job(new_id("job"), org.id, project.id, user.id, spec, JobState.PENDING,
              PendingReason.NONE, 0, NOW, NOW)  # fmt: skip
    with db.transaction() as s:
        JobRepo(s).add_job(job, idempotency_key=None, request_hash=None)
    with db.transaction() as s:
        loaded = JobRepo(s).get_job(Scope(everything=True), job.id)
    assert loaded.submitted_at == NOW and loaded.submitted_at.tzinfo is not None
    assert loaded.submitted_at.utcoffset() == timedelta(0)
    assert loaded.spec == spec


def test_naive_datetimes_are_refused(db: Database) -> None:
    org = Org(new_id("org"), "n", "naive", OrgCategory.STARTUP, datetime(2026, 1, 1))
    with pytest.raises(Exception, match="naive"), db.transaction() as s:
        TenancyRepo(s).add_org(org)


def test_scopes_hide_other_tenants_rows(db: Database) -> None:
    org_a, prj_a, _ = _tenant(db, "a")
    org_b, prj_b, _ = _tenant(db, "b")
    only_a = Scope(org_ids=frozenset({org_a.id}))
    with db.transaction() as s:
        repo = TenancyRepo(s)
        assert repo.get_project(only_a, prj_a.id).id == prj_a.id
        with pytest.raises(NotFound):
            repo.get_project(only_a, prj_b.id)
        with pytest.raises(NotFound):
            repo.get_org(only_a, org_b.id)
        assert [o.id for o in repo.list_orgs(only_a, after=None, limit=10)] == [org_a.id]
        project_only = Scope(project_ids=frozenset({prj_b.id}))
        assert [o.id for o in repo.list_orgs(project_only, after=None, limit=10)] == [org_b.id]


def test_unique_rules_hold(db: Database) -> None:
    org, _, _ = _tenant(db, "u")
    with pytest.raises(IntegrityError), db.transaction() as s:
        TenancyRepo(s).add_project(Project(new_id("prj"), org.id, "again", "p", NOW))


def test_attempts_and_money_like_numbers_keep_their_exact_values(db: Database) -> None:
    org, project, user = _tenant(db, "x")
    spec = JobSpec(name="j", project_id=project.id, command=("true",))
    job = Job(new_id("job"), org.id, project.id, user.id, spec, JobState.PENDING, None, 0, NOW, NOW)
    alloc = (Allocation("n1", (0, 3), 4, 2048),)
    attempt = Attempt(new_id("att"), job.id, 1, JobState.RUNNING, alloc, NOW.astimezone(UTC))
    pool = NodePool(new_id("pool"), "h800", "H800", 8, 128, 2_000_000, 3, Decimal("0.9900"),
                    "BF16 dense", "local", NOW)  # fmt: skip
    with db.transaction() as s:
        JobRepo(s).add_job(job, idempotency_key="k", request_hash="h")
        s.flush()
        JobRepo(s).add_attempt(attempt, "/tmp/x")
        InventoryRepo(s).add_pool(pool)
    with db.transaction() as s:
        running = JobRepo(s).running_attempts()
        stored_pool = InventoryRepo(s).get_pool(pool.id)
    assert running[0][0].allocations == alloc
    assert stored_pool.pflops_per_gpu == Decimal("0.99")
    assert stored_pool.peak_pflops == Decimal("23.76")


def test_subsidy_schemes_and_grants_round_trip_exactly(db: Database) -> None:
    org, project, user = _tenant(db, "sub")
    scheme = Scheme("sch_rt", "AISS", "hk-gov", Decimal("0.70"), Decimal("0.90"),
                    frozenset({OrgCategory.UNIVERSITY, OrgCategory.STARTUP}),
                    {OrgCategory.UNIVERSITY: Decimal("0.75")})  # fmt: skip
    grant = Grant("grt_rt", scheme.id, "hk-gov", org.id, project.id, Decimal("0.7"), NOW,
                  NOW + timedelta(days=90), Money("12345.67"), Decimal("1000.5"),
                  frozenset({"H800"}), OnCap.STOP, application_id="app_1")  # fmt: skip
    with db.transaction() as s:
        SchemeRepo(s).save(scheme, NOW)
        GrantRepo(s).add(grant, user.id, NOW)
    with db.transaction() as s:
        assert SchemeRepo(s).get(scheme.id) == scheme
        assert GrantRepo(s).get(grant.id) == grant
        other = Scope(org_ids=frozenset({"org_other"}))
        assert GrantRepo(s).find(grant.id, other) is None
        assert GrantRepo(s).list_grants(other) == []
        assert GrantRepo(s).list_grants(project_id=project.id) == [grant]
    with pytest.raises(Conflict), db.transaction() as s:
        GrantRepo(s).add(replace(grant, id="grt_again"), user.id, NOW)


def test_the_subsidy_audit_trail_is_append_only(db: Database) -> None:
    org, _, user = _tenant(db, "aud")
    rec = AuditRecord("aud_1", NOW, user.id, "application.submitted", "application", "app_1",
                      application_id="app_1", org_id=org.id, details={"title": "LLM"})  # fmt: skip
    with db.transaction() as s:
        AuditRepo(s).record(rec)
    with db.transaction() as s:
        assert AuditRepo(s).list_records(application_id="app_1") == [rec]
        assert AuditRepo(s).list_records(grant_id="grt_x") == []
    for sql in ("UPDATE subsidy_audit SET action = 'x'", "DELETE FROM subsidy_audit"):
        with pytest.raises(DBAPIError), db.transaction() as s:
            s.execute(text(sql))
    with db.transaction() as s:
        assert AuditRepo(s).list_records() == [rec]
