"""Metering: every started attempt -> usage records -> charges -> ledger, exactly once.

``meter_due`` runs in the scheduling loop (the one process that holds the scheduler lease)
every ``metering_interval_s``. Per attempt not yet final it meters and rates *all* its records
with the pure core (``billing.metering.meter`` then ``billing.rating.rate``), keeps the ones
whose source id is new, stores them and posts their journal entries, and marks the attempt
metered through ``now`` (final once it ended). A batch is one transaction: a crash (even
``kill -9``) leaves either all of a batch or none of it, and the next run produces the same
records with the same source ids, so nothing is billed twice and nothing is dropped.

The new records of a batch are posted one journal entry per org and Hong Kong month
(``billing.ledger.usage_entries``: each account gets exactly what one entry per record would
give it), and every record names its entry (``usage_records.entry_id``): three rows per record
in the ledger cost more than the metering itself (design note 009, bench/billing.py).

Running attempts yield records for whole hours only (a record, once emitted, never changes);
the partial hour is covered by the budget reservation. Proof-of-concept orgs' monthly fees
are posted here too (one entry per org and Hong Kong month, by source id).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from petaport.billing.ledger import BillingMode, JournalEntry, plan_fee_entry, usage_entries
from petaport.billing.metering import attempt_usage, meter, month_bounds, usage_of
from petaport.billing.plans import OrgBilling, Plan
from petaport.billing.prices import PriceBook
from petaport.billing.rating import Charge, rate
from petaport.domain.errors import RetryLater
from petaport.domain.inventory import NodePool
from petaport.domain.jobs import Attempt, Job
from petaport.services.budgets import raise_alerts
from petaport.services.context import Context
from petaport.services.drawdown import split_new
from petaport.services.grant_watch import check_grants
from petaport.services.pricing import load_book
from petaport.storage.repos.billing import MeteringRepo, OrgBillingRepo, UsageRepo
from petaport.storage.repos.inventory import InventoryRepo
from petaport.storage.repos.ledger import LedgerRepo
from petaport.storage.repos.usage_attempts import DueAttempt, attempts_due

BATCH = 200
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeteringResult:
    attempts: int  # attempts looked at
    records: int  # new usage records stored
    entries: int  # new journal entries posted


def gpu_models(ctx: Context, pools: list[NodePool]) -> dict[str, str | None]:
    """Node name -> GPU model, from the backend's inventory (pools' node names as fallback)."""
    models = {node: pool.gpu_model for pool in pools for node in pool.node_names()}
    try:
        models.update({n.name: n.gpu_model for n in ctx.backend.inventory()})
    except RetryLater:
        log.warning("backend inventory unavailable: GPU models from the node pools")
    return models


def _model(job: Job, attempt: Attempt, models: dict[str, str | None]) -> str | None:
    return _gpu_model(attempt, job.spec.gpu_model, models)


def _gpu_model(attempt: Attempt, asked: str | None, models: dict[str, str | None]) -> str | None:
    """The GPU model of the first node the attempt holds GPUs on, else the one the job asked."""
    for alloc in attempt.allocations:
        if alloc.gpu_indices and models.get(alloc.node):
            return models[alloc.node]
    return asked


def charges_of(
    job: Job, attempt: Attempt, book: PriceBook, now: datetime, models: dict[str, str | None]
) -> tuple[Charge, ...]:
    """Every charge of one attempt known at ``now`` (pure: the same inputs, the same output)."""
    if attempt.started_at is None:
        return ()
    usage = attempt_usage(job, attempt, _model(job, attempt, models))
    return rate(meter(usage, book, now), book)


def _charges_due(
    d: DueAttempt, book: PriceBook, now: datetime, models: dict[str, str | None]
) -> tuple[Charge, ...]:
    """``charges_of`` for an attempt read by ``attempts_due`` (the same usage, so the same
    charges)."""
    a = d.attempt
    if a.started_at is None:
        return ()
    usage = usage_of(
        a, a.job_id, d.org_id, d.project_id, d.tier, _gpu_model(a, d.gpu_model, models)
    )
    return rate(meter(usage, book, now), book)


def meter_due(ctx: Context, now: datetime | None = None) -> MeteringResult:
    """Meter every attempt that is not final yet, in batches of one transaction each."""
    now = now or ctx.clock()
    book = load_book(ctx)
    looked = records = entries = 0
    with ctx.db.transaction() as s:
        pools = InventoryRepo(s).list_pools()
    models = gpu_models(ctx, pools)
    with ctx.db.transaction() as s:
        billing = OrgBillingRepo(s).all()
        entries += _post_plan_fees(LedgerRepo(s), billing, now)
    last: str | None = None
    while True:
        with ctx.db.transaction() as s:
            batch = attempts_due(s, BATCH, last)
            if not batch:
                break
            new_records, new_entries = _meter_batch(s, batch, book, now, models, billing)
        looked += len(batch)
        records += new_records
        entries += new_entries
        last = batch[-1].attempt.id
        if len(batch) < BATCH:
            break
    if records:
        ctx.metrics.usage_records.inc(records)
    return MeteringResult(looked, records, entries)


def _meter_batch(
    s: Session,
    batch: list[DueAttempt],
    book: PriceBook,
    now: datetime,
    models: dict[str, str | None],
    billing: dict[str, OrgBilling],
) -> tuple[int, int]:
    """Store the batch's new records and post them: one journal entry per org and Hong Kong
    month (``usage_entries``; design note 009), which each record names."""
    usage, progress = UsageRepo(s), MeteringRepo(s)
    ids = [d.attempt.id for d in batch]
    known = usage.known_source_ids(ids)
    by_org: dict[str, list[Charge]] = {}
    new_records: list[Charge] = []  # in batch order: the order grants are drawn down in
    ran_on: dict[str, str | None] = {}  # attempt id -> GPU model, for the co-pay split
    for d in batch:
        new = [c for c in _charges_due(d, book, now, models) if c.source_id not in known]
        by_org.setdefault(d.org_id, []).extend(new)
        new_records += new
        ran_on[d.attempt.id] = _gpu_model(d.attempt, d.gpu_model, models)
    progress.mark_many(ids, now, {d.attempt.id for d in batch if d.attempt.state.is_terminal})
    splits = split_new(s, new_records, ran_on)
    entries: list[JournalEntry] = []
    entry_of: dict[str, str] = {}
    for org_id, charges in by_org.items():
        mode = billing[org_id].mode if org_id in billing else BillingMode.POSTPAID
        for entry, source_ids in usage_entries(charges, org_id, mode, splits.copays):
            entries.append(entry)
            entry_of.update(dict.fromkeys(source_ids, entry.id))
    usage.add(new_records, now, entry_of)  # new source ids only: a second run's insert fails
    splits.store(s, now)  # beside their usage records (stored just above)
    return len(new_records), LedgerRepo(s).append(entries, now)


def _post_plan_fees(ledger: LedgerRepo, billing: dict[str, OrgBilling], now: datetime) -> int:
    """The monthly fee of every proof-of-concept org, once per Hong Kong month (the month
    the plan starts in is charged in full)."""
    entries = [
        plan_fee_entry(b.org_id, b.mode, b.plan_fee, month_bounds(month)[0],
                       f"poc/{b.org_id}/{month}")
        for b in billing.values()
        if b.plan is Plan.POC and b.plan_fee is not None
        for month in b.fee_months(now)
    ]  # fmt: skip
    return ledger.post(entries, now) if entries else 0


def meter_and_alert(ctx: Context) -> None:
    """One metering run then the budget alerts it may raise; a failure is logged (metering
    must not stop the scheduling loop) and the next run catches up."""
    try:
        meter_due(ctx)
        with ctx.db.transaction() as s:
            raise_alerts(s, ctx.clock())
            check_grants(s, ctx.clock())
    except Exception:
        log.exception("metering failed")
