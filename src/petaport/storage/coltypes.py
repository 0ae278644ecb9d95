"""Column types that keep the domain's invariants in every database.

``UtcDateTime`` stores timezone-aware UTC and always loads tz-aware UTC (SQLite drops the zone).
``Cents`` and ``ExactDecimal`` keep money and quantities exact (never a float) in both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

CENT = Decimal("0.01")
SCALE = Decimal("1e-12")


class UtcDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Cents(TypeDecorator[Decimal]):
    """Money in whole cents: NUMERIC(18, 2) in PostgreSQL, an INTEGER of cents in SQLite.

    SQLite has no exact decimal type (a NUMERIC column stores REAL), so amounts are kept as
    integers there; sums (and the ledger's balance trigger) stay exact in both databases.
    """

    impl = Numeric(18, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or value != value.quantize(CENT):
            raise ValueError(f"an amount of money is a Decimal in whole cents, not {value!r}")
        return int(value * 100) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-2)
        return Decimal(value).quantize(CENT)


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact Decimal (prices, quantities, limits): NUMERIC(28, 12) in PostgreSQL, text in
    SQLite (whose NUMERIC would round through a float)."""

    impl = Numeric(28, 12)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(48))
        return dialect.type_descriptor(Numeric(28, 12, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"an exact amount is a finite Decimal, not {value!r}")
        if value != value.quantize(SCALE):
            raise ValueError(f"{value} has more than 12 decimals")
        return format(value.normalize(), "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return plain(Decimal(value))


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and without an exponent (200, not 2E+2 or 200.000)."""
    out = value.normalize()
    return out.quantize(Decimal(1)) if out.as_tuple().exponent > 0 else out  # type: ignore[operator]
