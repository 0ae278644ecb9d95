"""How usage is posted and summed in the database (design note 009, bench/billing.py), on
both databases: invoice lines summed by SQL equal the pure core's, and migration 0006 points
the records metered before it at their own journal entries without opening the table."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Column, MetaData, Table, create_engine, text
from sqlalchemy.exc import DBAPIError

from petaport.billing.invoices import build_invoice, invoice_from_totals, usage_totals
from petaport.billing.ledger import BillingMode, charge_entry
from petaport.billing.metering import AttemptUsage, meter
from petaport.billing.rating import Charge, rate
from petaport.domain.jobs import JobState, QosTier
from petaport.storage.db import Database, normalise_url
from petaport.storage.migrate import alembic_config
from petaport.storage.repos.billing import USAGE, UsageRepo, _record_values
from petaport.storage.repos.ledger import LedgerRepo
from tests.conftest import PG_ADMIN_URL, _pg_available
from tests.integration.conftest import World
from tests.integration.money import NOW, post_usage
from tests.unit.billing.builders import book, usage

JAN = datetime(2026, 1, 31, 12, 7, 13, tzinfo=UTC)  # 20:07 in Hong Kong: runs into February


def test_invoice_lines_summed_by_the_database_equal_the_cores(world: World) -> None:
    a = world.ids
    mine = {"org": a["org_a"], "project": a["prj_a"]}
    post_usage(world.ctx.db,
               usage(JAN, 9 * 3600 + 11, gpus="0.5", cpus=3, mem_mib=1536, **mine),
               usage(JAN, 4000, attempt="att_2", job="job_2", gpus="8", **mine),
               usage(JAN, 2 * 3600 + 5, attempt="att_3", job="job_3", tier=QosTier.PREEMPTIBLE,
                     state=JobState.PREEMPTED, gpus="2", model="A100", **mine),
               usage(JAN, 600, attempt="att_4", job="job_4", org=a["org_b"],
                     project=a["prj_b"]))  # fmt: skip
    for month in ("2026-01", "2026-02"):
        with world.ctx.db.transaction() as s:
            repo = UsageRepo(s)
            summed = repo.invoice_totals(a["org_a"], month)
            charges = repo.charges(org_id=a["org_a"], month=month)
        assert len(charges) > len(summed) > 1
        assert sorted(summed, key=lambda t: t.key) == sorted(usage_totals(charges),
                                                             key=lambda t: t.key)  # fmt: skip
        assert invoice_from_totals(a["org_a"], month, summed) == build_invoice(
            a["org_a"], month, charges
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (no migrations applied)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    if not _pg_available():
        pytest.skip("PostgreSQL not available")
    name = f"petaport_mig_{secrets.token_hex(4)}"
    admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{normalise_url(PG_ADMIN_URL).rsplit('/', 1)[0]}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _store_before_0006(db: Database, *attempts: AttemptUsage, post: bool = True) -> list[Charge]:
    """Records and (if ``post``) one entry each, as metering stored them before 0006."""
    charges = list(rate([r for a in attempts for r in meter(a, book(), NOW)], book()))
    rows = [{k: v for k, v in _record_values(c, NOW, None).items() if k != "entry_id"}
            for c in charges]  # fmt: skip
    entries = [e for c in charges if (e := charge_entry(c, "org_1", BillingMode.POSTPAID))]
    before = Table(
        "usage_records",
        MetaData(),
        *(Column(c.name, c.type) for c in USAGE.columns if c.name != "entry_id"),
    )
    with db.transaction() as s:
        s.connection().execute(before.insert(), rows)
        if post:
            LedgerRepo(s).post(entries, NOW)
    return charges


def test_0006_points_older_records_at_their_entries_and_keeps_them_append_only(
    empty_url: str,
) -> None:
    db = Database(empty_url)
    cfg = alembic_config(db)
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0005")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO orgs (id, name, slug, category, created_at) "
                    "VALUES ('org_1', 'O', 'o', 'startup', '2026-01-01 00:00:00')"
                )
            )
            conn.execute(text("INSERT INTO projects (id, org_id, name, slug, description, "
                              "created_at) VALUES ('prj_1', 'org_1', 'P', 'p', '', "
                              "'2026-01-01 00:00:00')"))  # fmt: skip
        mine = {"org": "org_1", "project": "prj_1"}
        posted = _store_before_0006(
            db,
            usage(JAN, 3 * 3600, gpus="1", **mine),
            usage(JAN, 1, attempt="att_z", gpus="0.001", model=None, **mine),
        )
        unposted = _store_before_0006(db, usage(JAN, 600, attempt="att_x", **mine), post=False)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        with db.engine.begin() as conn:
            rows = dict(conn.execute(text("SELECT source_id, entry_id FROM usage_records")).all())
        assert any(c.amount.is_zero for c in posted)  # a record that moved no money: no entry
        assert rows == {
            c.source_id: None if c.amount.is_zero else f"je_charge/{c.source_id}" for c in posted
        } | {c.source_id: None for c in unposted}
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text("UPDATE usage_records SET entry_id = NULL"))
    finally:
        db.dispose()
