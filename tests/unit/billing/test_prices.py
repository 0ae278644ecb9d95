"""The price book: effective-dated versions, lookups at an instant, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from petaport.billing.prices import PriceBook, PriceKey, PriceNotFound, price_version
from petaport.domain.errors import ValidationFailed

from .builders import CPU, GPU, OD, PE, T0, book, version

JAN, FEB = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)


def test_the_version_in_force_is_the_latest_started() -> None:
    b = book(version("v1", JAN), version("v2", FEB, scale="2"))
    assert b.version_at(FEB - timedelta(seconds=1)).id == "v1"
    assert b.version_at(FEB).id == "v2"
    assert b.version_at(FEB).get_price(GPU, "H800", OD) == Decimal("51.00")


def test_no_price_before_the_first_version() -> None:
    with pytest.raises(PriceNotFound):
        book(version("v1", JAN)).version_at(JAN - timedelta(hours=1))


def test_a_gpu_model_without_its_own_price_takes_the_default() -> None:
    v = version()
    assert v.get_price(GPU, "A100", PE) == Decimal("8.00")
    assert v.get_price(GPU, "H800", PE) == Decimal("12.75")


def test_a_missing_price_is_not_found() -> None:
    v = price_version("v", JAN, {PriceKey(CPU, None, OD): "0.1"})
    with pytest.raises(PriceNotFound):
        v.get_price(CPU, None, PE)


@pytest.mark.parametrize(
    ("at", "prices", "problem"),
    [
        (JAN, {PriceKey(CPU, None, OD): "-1"}, "0 or more"),
        (JAN + timedelta(minutes=30), {}, "whole hour"),
        (datetime(2026, 1, 1), {}, "timezone-aware"),
    ],
)
def test_invalid_versions_are_refused(
    at: datetime, prices: dict[PriceKey, str], problem: str
) -> None:
    with pytest.raises(ValidationFailed, match=problem):
        price_version("v", at, prices)


def test_versions_may_not_overlap_or_share_ids() -> None:
    with pytest.raises(ValidationFailed, match="increasing"):
        PriceBook((version("v1", JAN), version("v2", JAN)))
    with pytest.raises(ValidationFailed, match="unique"):
        PriceBook.of((version("v1", JAN), version("v1", FEB)))


def test_a_new_version_cannot_reprice_the_past() -> None:
    b = book(version("v1", JAN))
    with pytest.raises(ValidationFailed, match="past"):
        b.with_version(version("v2", FEB), now=FEB + timedelta(hours=1))
    later = b.with_version(version("v2", FEB), now=T0)
    assert [v.id for v in later.versions] == ["v1", "v2"]
