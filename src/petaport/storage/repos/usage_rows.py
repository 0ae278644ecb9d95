"""Rated usage records written in bulk: the rows of a metering batch, one statement (SQLite)
or one COPY (PostgreSQL) per batch.

Every value still goes through its column's own type (``UtcDateTime``, ``Cents``,
``ExactDecimal``: the bind processors SQLAlchemy would call), so the checks on money and time
hold and the stored values are the ones an ``insert()`` stores; what is skipped is the
per-row, per-column work around them. A batch repeats the same few values (hour starts,
prices, quantities, whole-hour amounts), so each column's encoding is worked out once per
distinct value and reused.

PostgreSQL loads the rows with ``COPY ... FROM STDIN`` (psycopg 3), which checks the primary
key, foreign keys and ``NOT NULL`` and fires row triggers like ``INSERT``; a source id already
stored fails the COPY and so the batch's transaction, as a second ``INSERT`` of it would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

from petaport.billing.metering import UsageRecord
from petaport.billing.prices import ResourceClass
from petaport.billing.rating import Charge
from petaport.storage.money_tables import UsageRecordRow

USAGE = cast(Table, UsageRecordRow.__table__)
COLUMNS = tuple(c.name for c in USAGE.c)
# Column names from the table model, no outside input.
INSERT_SQL = (f"INSERT INTO usage_records ({', '.join(COLUMNS)}) "  # noqa: S608
              f"VALUES ({', '.join('?' * len(COLUMNS))})")  # fmt: skip
COPY_SQL = f"COPY usage_records ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
# PostgreSQL's type of each column, for COPY's binary format, by its compiled SQL type.
PG_TYPES = {"VARCHAR": "varchar", "NUMERIC": "numeric", "TIMESTAMP": "timestamptz",
            "INTEGER": "int4", "BIGINT": "int8"}  # fmt: skip
Row = list[Any]


def record_row(c: Charge, now: datetime, entry_id: str | None) -> Row:
    """The values of one record, in ``COLUMNS`` order (before the column types encode them)."""
    r = c.record
    gpu_milli = gpu_milli_s(r) if r.resource is ResourceClass.GPU_HOUR else 0
    return [
        r.source_id, r.kind.value, r.org_id, r.project_id, r.job_id, r.attempt_id,
        r.resource.value, r.gpu_model, r.tier.value, r.quantity, r.start, r.end, r.billable_s,
        r.price_version, r.month, c.unit_price, c.amount.amount, gpu_milli, now, entry_id,
    ]  # fmt: skip


def gpu_milli_s(r: UsageRecord) -> int:
    """GPU-milliseconds of a GPU record (exact: GPU shares are whole thousandths)."""
    if r.resource is not ResourceClass.GPU_HOUR:
        return 0
    value = r.unit_seconds * 1000
    if value != value.to_integral_value():
        raise ValueError(f"{r.source_id}: GPUs must be whole thousandths")
    return int(value)


def _encoder(dialect: Dialect) -> Callable[[Row], tuple[Any, ...]]:
    """A function encoding a row with the columns' bind processors, each once per value."""
    processors: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = []
    for i, column in enumerate(USAGE.c):
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((i, process, {}))

    def encode(row: Row) -> tuple[Any, ...]:
        for i, process, seen in processors:
            value = row[i]
            try:
                row[i] = seen[value]
            except KeyError:
                row[i] = seen[value] = process(value)
        return tuple(row)

    return encode


def insert_usage(
    conn: Connection, charges: Sequence[Charge], now: datetime, entries: Mapping[str, str]
) -> None:
    """Insert the records of ``charges`` (``entries``: source id -> its journal entry id)."""
    if not charges:
        return
    encode = _encoder(conn.dialect)
    entry_of = entries.get
    rows = [encode(record_row(c, now, entry_of(c.source_id))) for c in charges]
    if conn.dialect.name == "postgresql":
        _copy(conn, rows)
    else:
        conn.exec_driver_sql(INSERT_SQL, rows)


def _copy(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    driver = conn.connection.driver_connection  # psycopg's, in this transaction
    assert driver is not None
    compiled = (conn.dialect.type_compiler_instance.process(c.type) for c in USAGE.c)
    types = [PG_TYPES[sql.split("(")[0].split()[0]] for sql in compiled]
    with driver.cursor() as cur, cur.copy(COPY_SQL) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
