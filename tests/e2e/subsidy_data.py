"""A subsidy grant with funded usage on a running demo server, set up as the centre would:
the scheme written to its database (schemes have no API yet), the grant made through the API
by a centre admin, and 16 GPU-hours of H800 usage metered, split by the co-pay core and posted
to the ledger exactly as the metering loop does (``services/metering._meter_batch``).

With the builders' price book the usage lists at HKD 408.00; at 70% the funder pays 285.60,
half the HKD cap of 571.20 and 80% of the 20 GPU-hour cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from petaport.billing.ledger import BillingMode, usage_entries
from petaport.billing.metering import meter
from petaport.billing.rating import rate
from petaport.domain.subsidy import Scheme
from petaport.services.drawdown import split_new
from petaport.storage.db import Database
from petaport.storage.repos.billing import UsageRepo
from petaport.storage.repos.ledger import LedgerRepo
from petaport.storage.repos.subsidy import SchemeRepo
from tests.conftest import LiveServer
from tests.unit.billing.builders import book, usage

FUNDER = "hk-gov"
SCHEME = "sch_e2e_aiss"
LIST_PRICE, FUNDER_SHARE, ORG_SHARE = "408.00", "285.60", "122.40"
HK = ZoneInfo("Asia/Hong_Kong")


@dataclass(frozen=True)
class FundedGrant:
    grant_id: str
    org_id: str
    project_id: str
    month: str  # the Hong Kong month of the usage


def _database(server: LiveServer) -> Database:
    return Database(f"sqlite:///{server.data_dir / 'petaport.db'}")


def add_scheme(server: LiveServer, now: datetime) -> None:
    db = _database(server)
    try:
        with db.transaction() as s:
            if SchemeRepo(s).find(SCHEME) is None:
                SchemeRepo(s).save(Scheme(SCHEME, "AI Subsidy Scheme", FUNDER), now)
    finally:
        db.dispose()


def _meter(server: LiveServer, org_id: str, project_id: str, start: datetime,
           now: datetime) -> None:  # fmt: skip
    attempt = f"att_grant_{project_id}_{start:%Y%m%d%H}"
    used = usage(start, 7200, attempt=attempt, org=org_id, project=project_id)
    charges = list(rate(meter(used, book(), now), book()))
    db = _database(server)
    try:
        with db.transaction() as s:  # as metering does (services/metering.py)
            splits = split_new(s, charges, {attempt: "H800"})
            posted = usage_entries(charges, org_id, BillingMode.POSTPAID, splits.copays)
            UsageRepo(s).add(charges, now, {sid: e.id for e, ids in posted for sid in ids})
            splits.store(s, now)
            LedgerRepo(s).append([e for e, _ in posted], now)
    finally:
        db.dispose()


def funded_grant(server: LiveServer, project: str) -> FundedGrant:
    """A grant on ``project`` (``org-slug/project-slug``) valid since 20 days ago, with two
    milestones (12 GPU-hours planned in the current reporting period) and 16 GPU-hours used
    two days ago."""
    now = datetime.now(UTC).replace(microsecond=0)
    add_scheme(server, now)
    start = (now - timedelta(days=20)).replace(minute=0, second=0)
    body = {
        "scheme_id": SCHEME, "project": project, "rate": "0.70", "cap": "571.20",
        "cap_gpu_hours": "20", "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(days=180)).isoformat(),
        "conditions": "Acknowledge the scheme in publications.",
        "milestones": [
            {"key": "m1", "title": "Baseline model", "due": (now + timedelta(days=10)).isoformat(),
             "gpu_hours": "12"},
            {"key": "m2", "title": "Evaluation", "due": (start + timedelta(days=120)).isoformat(),
             "gpu_hours": "30"},
        ],
    }  # fmt: skip
    with server.client("admin") as api:
        r = api.post("/v1/grants", json=body)
        assert r.status_code == 201, r.text
        grant = r.json()
    used_at = (now - timedelta(days=2)).replace(minute=0, second=0)
    _meter(server, grant["org_id"], grant["project_id"], used_at, now)
    month = f"{used_at.astimezone(HK):%Y-%m}"
    return FundedGrant(grant["id"], grant["org_id"], grant["project_id"], month)


def percent(part: str, whole: str) -> str:
    return f"{Decimal(part) * 100 / Decimal(whole):.1f}%"
