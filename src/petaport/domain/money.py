"""Money: an exact amount in whole cents of one currency (HKD by default). Never a float.

Invariants:
- ``Money.amount`` is a finite ``Decimal`` with exactly two decimal places (cents);
- building Money from a float, or from a value with more than two decimals, raises: the one
  place where an exact value is rounded to cents is ``round_to_cents`` (ROUND_HALF_EVEN,
  "banker's rounding", which has no upward bias over many records);
- arithmetic between two currencies raises ``CurrencyMismatch``; Money times an ``int`` is
  Money, Money times anything else is refused (price x quantity goes through
  ``round_to_cents``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from petaport.domain.errors import ValidationFailed

HKD = "HKD"
CENT = Decimal("0.01")
ROUNDING = ROUND_HALF_EVEN


class CurrencyMismatch(ValidationFailed):
    code = "currency_mismatch"
    title = "Amounts in different currencies"


def _as_decimal(value: object) -> Decimal:
    if isinstance(value, (bool, float)):
        raise TypeError("money is never a float: give a Decimal, an int or a string")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        return Decimal(value)
    raise TypeError(f"cannot make money from {type(value).__name__}")


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str = HKD

    def __post_init__(self) -> None:
        amount = _as_decimal(self.amount)
        if not amount.is_finite():
            raise ValidationFailed("an amount of money must be finite")
        cents = amount.quantize(CENT)
        if cents != amount:
            raise ValidationFailed(f"{amount} has more than two decimals; round it first")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValidationFailed("currency must be a three-letter ISO 4217 code")
        object.__setattr__(self, "amount", cents)

    @classmethod
    def _exact(cls, amount: Decimal, currency: str) -> Money:
        """Money from an amount already in whole cents (sums and differences of Money)."""
        out = object.__new__(cls)
        object.__setattr__(out, "amount", amount)
        object.__setattr__(out, "currency", currency)
        return out

    @classmethod
    def zero(cls, currency: str = HKD) -> Money:
        found = _ZEROS.get(currency)
        if found is None:  # Money is immutable: one zero per currency serves every caller
            found = _ZEROS[currency] = cls(Decimal(0), currency)
        return found

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str = HKD) -> Money:
        return cls(_as_decimal(amount), currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money._exact(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money._exact(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money._exact(-self.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money times a non-integer must go through round_to_cents")
        return Money._exact(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    @property
    def cents(self) -> int:
        return int(self.amount * 100)

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,}"


_ZEROS: dict[str, Money] = {}


def total(amounts: Iterable[Money], currency: str = HKD) -> Money:
    """The sum of ``amounts`` (zero in ``currency`` when empty); mixed currencies raise."""
    cents = Decimal(0)
    for amount in amounts:
        if amount.currency != currency:
            raise CurrencyMismatch(f"cannot add {amount.currency} to {currency}")
        cents += amount.amount
    return Money._exact(cents.quantize(CENT), currency)


def round_to_cents(exact: Fraction | Decimal | int, currency: str = HKD) -> Money:
    """The one rounding of an exact value to cents: half to even (ROUND_HALF_EVEN)."""
    if isinstance(exact, float):
        raise TypeError("money is never a float")
    if isinstance(exact, Decimal):  # exact already: the same rule, by the decimal module
        return Money._exact(exact.quantize(CENT, rounding=ROUNDING), currency)
    value = exact if isinstance(exact, Fraction) else Fraction(exact)
    cents, rest = divmod(value.numerator * 100, value.denominator)
    if 2 * rest > value.denominator or (2 * rest == value.denominator and cents % 2):
        cents += 1  # half to even
    return Money._exact(Decimal(cents).scaleb(-2), currency)
