"""The stored price book: list prices in HKD, effective-dated versions.

A centre without a price book gets the default list below on first start, in force from
2020-01-01 (so that any usage can be priced). Operators add versions (``add_version``) that take
effect at a whole hour, now or later and after every stored version, and that price everything
the latest version prices; a version never changes once stored, so past charges never change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from petaport.billing.prices import (
    PreemptionCredit,
    PriceBook,
    PriceKey,
    PriceVersion,
    ResourceClass,
    unpriced,
)
from petaport.domain.errors import Conflict, NotFound, ValidationFailed
from petaport.domain.jobs import QosTier
from petaport.domain.tenancy import Principal
from petaport.services.authz import require_centre_admin
from petaport.services.context import Context
from petaport.storage.repos.billing import PriceRepo

DEFAULT_VERSION = "list-2020"
DEFAULT_FROM = datetime(2020, 1, 1, tzinfo=UTC)
# HKD per unit-hour, on-demand. Reserved capacity is 20% cheaper, preemptible 60% cheaper.
ON_DEMAND: dict[tuple[ResourceClass, str | None], Decimal] = {
    (ResourceClass.GPU_HOUR, None): Decimal("18.00"),
    (ResourceClass.GPU_HOUR, "H800"): Decimal("32.00"),
    (ResourceClass.GPU_HOUR, "H100"): Decimal("32.00"),
    (ResourceClass.GPU_HOUR, "A100"): Decimal("22.00"),
    (ResourceClass.CPU_CORE_HOUR, None): Decimal("0.30"),
    (ResourceClass.MEMORY_GIB_HOUR, None): Decimal("0.04"),
    (ResourceClass.STORAGE_TIB_MONTH, None): Decimal("180.00"),
}
TIER_FACTORS = {
    QosTier.RESERVED: Decimal("0.8"),
    QosTier.ON_DEMAND: Decimal(1),
    QosTier.PREEMPTIBLE: Decimal("0.4"),
}


def default_version() -> PriceVersion:
    prices = tuple(
        (PriceKey(resource, model, tier), (price * factor).quantize(Decimal("0.0001")))
        for (resource, model), price in ON_DEMAND.items()
        for tier, factor in TIER_FACTORS.items()
    )
    return PriceVersion(DEFAULT_VERSION, DEFAULT_FROM, prices)


def ensure_price_book(ctx: Context) -> None:
    """Store the default list if the centre has no price book yet (idempotent)."""
    with ctx.db.transaction() as s:
        repo = PriceRepo(s)
        if repo.versions():
            return
        try:
            with s.begin_nested():
                repo.add_version(default_version(), ctx.clock())
        except IntegrityError:
            pass  # another worker stored it first


def load_book(ctx: Context) -> PriceBook:
    """The stored price book (the default list is stored first if there is none)."""
    with ctx.db.transaction() as s:
        book = PriceRepo(s).book()
    if book is None:
        ensure_price_book(ctx)
        with ctx.db.transaction() as s:
            book = PriceRepo(s).book()
    if book is None:
        raise NotFound("the centre has no price book")
    return book


@dataclass(frozen=True)
class NewVersion:
    id: str
    effective_from: datetime
    prices: tuple[tuple[PriceKey, Decimal], ...]
    minimum_billable_s: int = 60
    preemption_credit: PreemptionCredit = PreemptionCredit.LAST_PARTIAL_HOUR


def add_version(ctx: Context, p: Principal, new: NewVersion) -> PriceVersion:
    """A new price version (centre admins). It takes effect now or later, after every stored
    version (so no past charge is ever repriced), and prices everything the latest version
    prices. Nothing is stored when a rule is broken."""
    require_centre_admin(p)
    version = PriceVersion(new.id, new.effective_from, new.prices, new.minimum_billable_s,
                           new.preemption_credit)  # fmt: skip
    ensure_price_book(ctx)  # the default list first: past usage stays priced
    now = ctx.clock()
    with ctx.db.transaction() as s:
        repo = PriceRepo(s)
        current = repo.book()
        if current is not None:
            _check_follows(current, version, now)
        try:
            with s.begin_nested():
                repo.add_version(version, now)
        except IntegrityError as exc:
            raise Conflict("a price version takes effect at that time already",
                           code="price_version_exists") from exc  # fmt: skip
    return version


def _check_follows(book: PriceBook, version: PriceVersion, now: datetime) -> None:
    latest = book.versions[-1]
    if any(v.id == version.id for v in book.versions):
        raise Conflict(f"price version {version.id} exists", code="price_version_exists")
    if version.effective_from < now:
        raise ValidationFailed("a new price version cannot take effect in the past",
                               code="price_version_in_past")  # fmt: skip
    if version.effective_from <= latest.effective_from:
        when = latest.effective_from.isoformat()
        raise ValidationFailed(
            f"a new price version takes effect after the latest one ({latest.id}, {when})",
            code="price_version_not_latest",
        )
    missing = unpriced(latest, version)
    if missing:
        names = [f"{k.resource}/{k.gpu_model + '/' if k.gpu_model else ''}{k.tier}"
                 for k in missing]  # fmt: skip
        raise ValidationFailed(f"the new version has no price for {', '.join(names)}",
                               code="price_version_incomplete", errors=names)  # fmt: skip
