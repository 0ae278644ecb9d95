"""The price book: list prices in HKD per unit, by resource class, GPU model and QoS tier.

A ``PriceBook`` is a sequence of effective-dated ``PriceVersion``s. A version is in force from
its ``effective_from`` until the next version's; usage is priced by the version in force when
the usage happened, so adding a version never alters a past charge.

Invariants (checked at construction):
- versions have distinct ids and strictly increasing ``effective_from`` (no overlap, no gap
  after the first), each tz-aware and on a whole UTC hour (metering splits usage at whole
  hours, so a record never straddles two versions);
- no unit price is negative; all prices are Decimal; one currency per book;
- ``PriceBook.with_version`` refuses a version that takes effect before ``now``: the past is
  never repriced.

Prices are per unit-hour for GPUs, CPU cores and memory GiB, and per TiB-month for storage.
A price keyed with ``gpu_model=None`` is the default for GPU models without their own price.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from petaport.domain.errors import NotFound, ValidationFailed
from petaport.domain.jobs import QosTier
from petaport.domain.money import HKD


class ResourceClass(enum.StrEnum):
    GPU_HOUR = "gpu_hour"
    CPU_CORE_HOUR = "cpu_core_hour"
    MEMORY_GIB_HOUR = "memory_gib_hour"
    STORAGE_TIB_MONTH = "storage_tib_month"


class PreemptionCredit(enum.StrEnum):
    """What preempted preemptible work is credited (see docs/design/008-billing-core.md)."""

    NONE = "none"  # preemption is the price of the cheap tier
    LAST_PARTIAL_HOUR = "last_partial_hour"  # the unfinished clock hour is not billed
    FULL = "full"  # the whole preempted attempt is free


class PriceNotFound(NotFound):
    code = "price_not_found"
    title = "No price for this resource"


@dataclass(frozen=True)
class PriceKey:
    resource: ResourceClass
    gpu_model: str | None
    tier: QosTier


@dataclass(frozen=True)
class PriceVersion:
    """One edition of the price list and its commercial terms, in force from ``effective_from``.

    ``minimum_billable_s``: an attempt the user ended (or that failed by itself) is billed for
    at least this many seconds; ``preemption_credit``: the rule for preempted preemptible work.
    """

    id: str
    effective_from: datetime
    prices: tuple[tuple[PriceKey, Decimal], ...]
    minimum_billable_s: int = 60
    preemption_credit: PreemptionCredit = PreemptionCredit.LAST_PARTIAL_HOUR
    currency: str = HKD

    def __post_init__(self) -> None:
        problems = version_problems(self)
        if problems:
            raise ValidationFailed("; ".join(problems), errors=problems)

    @cached_property
    def _table(self) -> dict[PriceKey, Decimal]:
        return dict(self.prices)

    def find_price(
        self, resource: ResourceClass, gpu_model: str | None, tier: QosTier
    ) -> Decimal | None:
        table = self._table
        exact = table.get(PriceKey(resource, gpu_model, tier))
        return exact if exact is not None else table.get(PriceKey(resource, None, tier))

    def get_price(self, resource: ResourceClass, gpu_model: str | None, tier: QosTier) -> Decimal:
        price = self.find_price(resource, gpu_model, tier)
        if price is None:
            model = f" ({gpu_model})" if gpu_model else ""
            raise PriceNotFound(
                f"price version {self.id} has no {tier} price for {resource}{model}"
            )
        return price


def version_problems(v: PriceVersion) -> list[str]:
    out: list[str] = []
    if v.effective_from.tzinfo is None:
        return ["effective_from must be timezone-aware"]
    if v.effective_from.timestamp() % 3600:
        out.append("a price version takes effect on a whole hour")
    keys = [k for k, _ in v.prices]
    if len(set(keys)) != len(keys):
        out.append("a price version lists each (resource, GPU model, tier) once")
    for key, price in v.prices:
        if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
            out.append(f"price of {key.resource} ({key.tier}) must be a Decimal of 0 or more")
    if v.minimum_billable_s < 0:
        out.append("minimum_billable_s must be 0 or more")
    return out


def price_version(
    version_id: str,
    effective_from: datetime,
    prices: Mapping[PriceKey, Decimal | str],
    **terms: object,
) -> PriceVersion:
    """A PriceVersion from a mapping; string prices are read as Decimal."""
    items = tuple((k, Decimal(v) if isinstance(v, str) else v) for k, v in prices.items())
    return PriceVersion(version_id, effective_from, items, **terms)  # type: ignore[arg-type]


def unpriced(current: PriceVersion, new: PriceVersion) -> list[PriceKey]:
    """Keys ``current`` prices that ``new`` prices neither exactly nor by its model default:
    usage of them after ``new`` takes effect could not be rated."""
    return [k for k, _ in current.prices if new.find_price(k.resource, k.gpu_model, k.tier) is None]


@dataclass(frozen=True)
class PriceBook:
    versions: tuple[PriceVersion, ...]

    def __post_init__(self) -> None:
        vs = self.versions
        if not vs:
            raise ValidationFailed("a price book has at least one version")
        if any(b.effective_from <= a.effective_from for a, b in itertools.pairwise(vs)):
            raise ValidationFailed("price versions must take effect in strictly increasing order")
        if len({v.id for v in vs}) != len(vs):
            raise ValidationFailed("price version ids must be unique")
        if len({v.currency for v in vs}) != 1:
            raise ValidationFailed("a price book has one currency")

    @classmethod
    def of(cls, versions: Iterable[PriceVersion]) -> PriceBook:
        return cls(tuple(sorted(versions, key=lambda v: v.effective_from)))

    @property
    def currency(self) -> str:
        return self.versions[0].currency

    def version_at(self, instant: datetime) -> PriceVersion:
        """The version in force at ``instant``; raises PriceNotFound before the first."""
        found = None
        for version in self.versions:
            if version.effective_from > instant:
                break
            found = version
        if found is None:
            raise PriceNotFound(f"no price version was in force at {instant.isoformat()}")
        return found

    def get_version(self, version_id: str) -> PriceVersion:
        for version in self.versions:
            if version.id == version_id:
                return version
        raise PriceNotFound(f"no price version {version_id}")

    def with_version(self, version: PriceVersion, now: datetime) -> PriceBook:
        """A new book with ``version`` added; it may not take effect before ``now``."""
        if version.effective_from < now:
            raise ValidationFailed("a new price version cannot take effect in the past")
        return PriceBook.of((*self.versions, version))
