"""Putting money into a test database the way the hourly metering does: meter and rate real
attempts through the pure core, store the charges and post their journal entries."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from petaport.billing.ledger import BillingMode, charge_entry, plan_fee_entry
from petaport.billing.metering import AttemptUsage, meter, month_bounds
from petaport.billing.plans import OrgBilling, Plan
from petaport.billing.rating import Charge, rate
from petaport.domain.money import Money
from petaport.services.budgets import raise_alerts
from petaport.storage.db import Database
from petaport.storage.repos.billing import OrgBillingRepo, UsageRepo
from petaport.storage.repos.ledger import LedgerRepo
from tests.conftest import LiveServer
from tests.unit.billing.builders import book, usage

NOW = datetime(2026, 6, 1, tzinfo=UTC)  # after every month the tests bill


def post_usage(db: Database, *attempts: AttemptUsage, post: bool = True) -> list[Charge]:
    """Meter, rate, store and (if ``post``) post the charges of ``attempts``."""
    charges = list(rate([r for a in attempts for r in meter(a, book(), NOW)], book()))
    entries = [e for c in charges if (e := charge_entry(c, c.record.org_id,
                                                        BillingMode.POSTPAID))]  # fmt: skip
    with db.transaction() as s:
        UsageRepo(s).add(charges, NOW)
        if post:
            LedgerRepo(s).post(entries, NOW)
    return charges


def make_poc(db: Database, org_id: str, month: str, fee: str = "1800.00",
             *, post_fee: bool = True) -> OrgBilling:  # fmt: skip
    """Put ``org_id`` on the proof-of-concept plan from ``month`` and post that month's fee
    (as the lead's monthly job does: source id ``poc/<org>/<month>``)."""
    start = month_bounds(month)[0]
    billing = OrgBilling(org_id, BillingMode.POSTPAID, Plan.POC, start, None, Money.of(fee),
                         Decimal(100))  # fmt: skip
    with db.transaction() as s:
        OrgBillingRepo(s).save(billing, start)
        if post_fee:
            entry = plan_fee_entry(org_id, BillingMode.POSTPAID, Money.of(fee), start,
                                   f"poc/{org_id}/{month}")  # fmt: skip
            LedgerRepo(s).post([entry], start)
    return billing


def bill_live_org(server: LiveServer, slug: str, start: datetime, seconds: int = 7200) -> str:
    """Usage of 8 H800 GPUs for ``seconds`` from ``start`` in the first project of the org
    ``slug`` of a running demo server (written to its SQLite database); returns the org id."""
    with server.client("admin") as api:
        orgs = api.get("/v1/orgs", params={"limit": 200}).json()["items"]
        org = next(o for o in orgs if o["slug"] == slug)
        project = api.get("/v1/projects", params={"org_id": org["id"]}).json()["items"][0]
    db = Database(f"sqlite:///{server.data_dir / 'petaport.db'}")
    try:
        post_usage(db, usage(start, seconds, attempt=f"att_{slug}_{start:%Y%m%d%H}",
                             org=org["id"], project=project["id"]))  # fmt: skip
    finally:
        db.dispose()
    return str(org["id"])


def raise_live_alerts(server: LiveServer, now: datetime) -> None:
    """The budget alerts a running demo server's next metering run would raise, now."""
    db = Database(f"sqlite:///{server.data_dir / 'petaport.db'}")
    try:
        with db.transaction() as s:
            raise_alerts(s, now)
    finally:
        db.dispose()
