"""Money: Decimal cents, never float, one currency at a time, half-even rounding in one place."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from petaport.domain.errors import ValidationFailed
from petaport.domain.money import CurrencyMismatch, Money, round_to_cents, total


def test_money_is_cents_of_a_currency() -> None:
    assert Money.of("12.5") == Money(Decimal("12.50"), "HKD")
    assert str(Money.of(1800)) == "HKD 1,800.00"
    assert Money.of("0.10").cents == 10


@pytest.mark.parametrize("bad", [1.5, 0.1, True])
def test_money_from_a_float_or_bool_raises(bad: object) -> None:
    with pytest.raises(TypeError):
        Money(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["0.001", "NaN", "Infinity"])
def test_money_refuses_sub_cent_and_non_finite_amounts(bad: str) -> None:
    with pytest.raises(ValidationFailed):
        Money.of(bad)


def test_arithmetic_refuses_mixing_currencies() -> None:
    with pytest.raises(CurrencyMismatch):
        Money.of(1) + Money.of(1, "USD")
    with pytest.raises(CurrencyMismatch):
        _ = Money.of(1) < Money.of(2, "USD")


def test_money_times_only_an_integer() -> None:
    assert Money.of("1.25") * 3 == Money.of("3.75")
    with pytest.raises(TypeError):
        Money.of("1.25") * Decimal("1.5")  # type: ignore[operator]


@pytest.mark.parametrize(
    ("exact", "cents"),
    [
        (Fraction(1, 200), "0.00"),  # 0.005 -> half to even: 0.00
        (Fraction(3, 200), "0.02"),  # 0.015 -> 0.02
        (Fraction(-1, 200), "0.00"),
        (Decimal("2.675"), "2.68"),  # exact Decimal, not the float 2.67499...
        (Fraction(2, 3), "0.67"),
    ],
)
def test_round_to_cents_is_half_even(exact: Fraction | Decimal, cents: str) -> None:
    assert round_to_cents(exact) == Money.of(cents)


def test_total_of_nothing_is_zero_and_of_mixed_currencies_raises() -> None:
    assert total([]) == Money.zero()
    with pytest.raises(CurrencyMismatch):
        total([Money.of(1), Money.of(1, "USD")])
