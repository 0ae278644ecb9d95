"""Rating and invoicing a month of a 300-org centre, on SQLite and on PostgreSQL.

The synthetic month (``billing_centre.py``: about 1,000,000 usage records by default, seeded
and deterministic) is written into a fresh database (a temporary SQLite file; a scratch
PostgreSQL database next to ``$PETAPORT_BENCH_POSTGRES_URL``, dropped afterwards). Seeding is
not timed. Then, with the product's own code paths:

- **rate**: ``services.metering.meter_due`` meters every attempt into usage records and posts
  their journal entries (the database seals and checks every entry);
- **invoice**: ``services.invoices.issue_month`` drafts, checks against the ledger and issues
  the month's invoice of every org with usage.

Baseline, in the same database: the same usage rows (read back from ``usage_records``) written
with one plain ``INSERT ... executemany`` of the driver into a table with only a primary key:
no metering, rating, ledger or triggers. ``rate_ratio`` = rating time / baseline time.

Checked at the end (the run fails otherwise): the records stored equal the count the centre
predicts; every record with an amount names a stored journal entry; every active org got an invoice;
the invoices total the ledger's income for the month (revenue and credit notes, all orgs).

    .venv/bin/python bench/billing.py                          # both databases, a table
    .venv/bin/python bench/billing.py --json                   # one JSON object
    .venv/bin/python bench/billing.py --records 100000 --db sqlite
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import exists, func, select

from billing_centre import MONTH, NOW, Centre, centre, seed
from petaport.app import build_context
from petaport.domain.tenancy import Principal, Role, User
from petaport.services.context import Context
from petaport.services.invoices import issue_month
from petaport.services.metering import meter_due
from petaport.settings import Settings
from petaport.storage.drawdown_tables import DrawdownRow
from petaport.storage.money_tables import (
    InvoiceLineRow,
    InvoiceRow,
    JournalEntryRow,
    PostingRow,
    UsageRecordRow,
)
from petaport.storage.repos.ledger import cents_sum
from submit import scratch_database

PG_ADMIN = os.environ.get(
    "PETAPORT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ADMIN = Principal(
    User("usr_bench_admin", "bench-admin", "a@example.org", "Admin",
         frozenset({Role.CENTRE_ADMIN}), True, datetime(2025, 1, 1, tzinfo=UTC)), ()
)  # fmt: skip


class CheckFailed(Exception):
    """The product stored or invoiced something other than the centre implies."""


@contextmanager
def context(kind: str) -> Iterator[Context]:
    """A migrated, empty database of ``kind`` and a Context on it (fake backend)."""
    with tempfile.TemporaryDirectory(prefix="billbench-") as tmp:
        if kind == "sqlite":
            urls: Any = nullcontext(f"sqlite:///{tmp}/bench.db")
        else:
            urls = scratch_database(PG_ADMIN)
        with urls as url:
            settings = Settings(data_dir=Path(tmp) / "data", database_url=url, backend="fake",
                                seed_demo=False, argon2_memory_kib=64, argon2_time_cost=1,
                                _env_file=None)  # type: ignore[call-arg]  # fmt: skip
            ctx = build_context(settings)
            try:
                yield ctx
            finally:
                ctx.db.dispose()


@contextmanager
def nullcontext(value: str) -> Iterator[str]:
    yield value


def _timed(fn: Any, *args: Any) -> tuple[Any, float, float]:
    began, began_cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - began, time.process_time() - began_cpu


def runqueue_s() -> float | None:
    """Seconds this process has waited, runnable, for a CPU (Linux ``schedstat``): the part
    of wall time that is other processes' load, not ours."""
    try:
        return int(Path("/proc/self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def server_cpu_s(ctx: Context) -> float | None:
    """CPU seconds used so far by the PostgreSQL backends of this database, when the server
    runs on this machine (read from ``/proc``); None for SQLite or a remote server."""
    if ctx.db.dialect != "postgresql":
        return None
    with ctx.db.engine.connect() as conn:
        q = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        pids = conn.exec_driver_sql(q).scalars().all()
    try:
        fields = [Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split() for pid in pids]
    except OSError:
        return None
    return sum(int(f[11]) + int(f[12]) for f in fields) / os.sysconf("SC_CLK_TCK")


def _rate(ctx: Context) -> tuple[Any, dict[str, Any]]:
    """``meter_due`` timed: wall and CPU, and where the rest of the wall time went: waiting
    for a CPU (the machine's load) and, on PostgreSQL, the server's CPU."""
    wait, server = runqueue_s(), server_cpu_s(ctx)
    metered, rate_s, rate_cpu = _timed(meter_due, ctx, NOW)
    wait_after, server_after = runqueue_s(), server_cpu_s(ctx)
    out = {"rate_s": round(rate_s, 2), "rate_cpu_s": round(rate_cpu, 2)}
    if wait is not None and wait_after is not None:
        out["rate_runqueue_s"] = round(wait_after - wait, 2)
    if server is not None and server_after is not None:
        out["rate_server_cpu_s"] = round(server_after - server, 2)
    return metered, out


def check(ctx: Context, c: Centre, metered: Any, issued: Any) -> dict[str, Any]:
    """The end-of-run checks; returns the figures they compared."""
    with ctx.db.transaction() as s:
        stored = s.scalar(select(func.count()).select_from(UsageRecordRow)) or 0
        posted = exists().where(JournalEntryRow.id == UsageRecordRow.entry_id)
        unposted = (
            s.scalar(
                select(func.count())
                .select_from(UsageRecordRow)
                .where(UsageRecordRow.amount != Decimal("0.00"), ~posted)
            )
            or 0
        )
        charges = s.scalar(select(func.count()).select_from(JournalEntryRow)
                           .where(JournalEntryRow.kind == "charge")) or 0  # fmt: skip
        income = -cents_sum(s.scalar(
            select(func.sum(PostingRow.amount))
            .join(JournalEntryRow, JournalEntryRow.id == PostingRow.entry_id)
            .where(JournalEntryRow.month == MONTH,
                   PostingRow.account_kind.in_(["revenue", "credit_notes"]))))  # fmt: skip
        stored_total = cents_sum(s.scalar(select(func.sum(InvoiceRow.total))
                                          .where(InvoiceRow.month == MONTH)))  # fmt: skip
        active = s.scalar(select(func.count(UsageRecordRow.org_id.distinct()))
                          .where(UsageRecordRow.month == MONTH)) or 0  # fmt: skip
    invoiced = sum((v.invoice.total.amount for v in issued.issued), Decimal(0))
    problems = _problems(c, metered, issued, (stored, unposted, active),
                         (invoiced, stored_total, income))  # fmt: skip
    if problems:
        raise CheckFailed("; ".join(problems))
    return {"invoices": len(issued.issued), "invoiced_hkd": str(invoiced),
            "ledger_income_hkd": str(income), "journal_charges": charges}  # fmt: skip


def _problems(c: Centre, metered: Any, issued: Any, counts: tuple[int, int, int],
              sums: tuple[Decimal, Decimal, Decimal]) -> list[str]:  # fmt: skip
    (stored, unposted, active), (invoiced, stored_total, income) = counts, sums
    problems = []
    if stored != c.expected_records or metered.records != c.expected_records:
        problems.append(f"records: expected {c.expected_records}, metered {metered.records}, "
                        f"stored {stored}")  # fmt: skip
    if unposted:
        problems.append(f"{unposted} records with an amount name no stored journal entry")
    if issued.refused or len(issued.issued) < active:
        problems.append(f"{len(issued.issued)} invoices for {active} active orgs, refused: "
                        f"{[(r.org_id, r.code) for r in issued.refused][:3]}")  # fmt: skip
    if not invoiced == stored_total == income:
        problems.append(f"invoices total {invoiced} (stored {stored_total}), ledger {income}")
    return problems


def digest(ctx: Context) -> str:
    """SHA-256 of everything rating and invoicing stored, read back through the column types
    (so the same on both databases): every usage record, subsidy split, journal entry and
    posting in key order, and every invoice (by number, without its random id and issue
    time) with its lines; entries without their creation time (a plan credit's is when it was
    issued). Equal digests: the same money, to the cent."""
    h = hashlib.sha256()
    tables = ((UsageRecordRow, UsageRecordRow.source_id), (DrawdownRow, DrawdownRow.source_id),
              (JournalEntryRow, JournalEntryRow.id),
              (PostingRow, PostingRow.entry_id, PostingRow.seq))  # fmt: skip
    i, line = InvoiceRow, InvoiceLineRow
    invoices = (
        select(i.number, i.org_id, i.month, i.status, i.currency, i.total, i.subsidy_total,
               i.org_total, *[c for c in line.__table__.c if c.name != "invoice_id"])
        .join(line, line.invoice_id == i.id).order_by(i.number, line.seq)
    )  # fmt: skip
    with ctx.db.transaction() as s:
        for row, *key in tables:
            columns = [
                c for c in row.__table__.c if (row, c.name) != (JournalEntryRow, "created_at")
            ]
            for values in s.execute(select(*columns).order_by(*key)):
                h.update(repr(tuple(values)).encode())
        for values in s.execute(invoices):
            h.update(repr(tuple(values)).encode())
    return h.hexdigest()


def baseline(ctx: Context) -> tuple[int, float]:
    """The same usage rows with one plain driver-level INSERT ... executemany (timed) into a
    table with a primary key only; returns (rows, seconds)."""
    with ctx.db.engine.begin() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM usage_records").fetchall()
        conn.exec_driver_sql("CREATE TABLE bench_raw AS SELECT * FROM usage_records WHERE 1=0")
        conn.exec_driver_sql("CREATE UNIQUE INDEX bench_raw_pk ON bench_raw (source_id)")
    mark = "?" if ctx.db.dialect == "sqlite" else "%s"
    sql = f"INSERT INTO bench_raw VALUES ({', '.join([mark] * len(rows[0]))})"
    began = time.perf_counter()
    with ctx.db.engine.begin() as conn:
        conn.exec_driver_sql(sql, [tuple(r) for r in rows])
    return len(rows), time.perf_counter() - began


def run(kind: str, c: Centre, with_digest: bool = False) -> dict[str, Any]:
    with context(kind) as ctx:
        _, seed_s, _ = _timed(seed, ctx, c)
        metered, rating = _rate(ctx)
        issued, invoice_s, invoice_cpu = _timed(issue_month, ctx, ADMIN, MONTH)
        checked = check(ctx, c, metered, issued)
        if with_digest:
            checked["digest"] = digest(ctx)
        raw_rows, raw_s = baseline(ctx)
    return {
        "db": kind, "records": metered.records, "entries": metered.entries,
        "seed_s": round(seed_s, 2), **rating,
        "invoice_s": round(invoice_s, 2), "invoice_cpu_s": round(invoice_cpu, 2),
        "baseline_s": round(raw_s, 2), "baseline_rows": raw_rows,
        "rate_ratio": round(rating["rate_s"] / raw_s, 1) if raw_s else None,
        "records_per_s": round(metered.records / rating["rate_s"]) if rating["rate_s"] else None,
        **checked,
    }  # fmt: skip


def _table(rows: list[dict[str, Any]], c: Centre, load: tuple[float, ...]) -> None:
    print(f"{len(c.orgs)} orgs, {len(c.projects)} projects, {len(c.jobs)} jobs, "
          f"{len(c.attempts)} attempts ({c.preempted} preempted, {c.node_fails} node failures, "
          f"{c.running} still running), month {MONTH}")  # fmt: skip
    head = ("db", "records", "rate s", "rec/s", "invoice s", "invoices", "baseline s", "ratio")
    print("".join(f"{h:>12}" for h in head))
    for r in rows:
        cells = (r["db"], r["records"], r["rate_s"], r["records_per_s"], r["invoice_s"],
                 r["invoices"], r["baseline_s"], r["rate_ratio"])  # fmt: skip
        print("".join(f"{v:>12}" for v in cells))
    print(f"(load average {load[0]:.2f} before, {os.getloadavg()[0]:.2f} after, "
          f"on {os.cpu_count()} CPUs)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="usage records wanted")
    parser.add_argument("--orgs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--digest",
        action="store_true",
        help="add a SHA-256 of the stored records, ledger and invoices",
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()
    c = centre(args.records, args.orgs, args.seed)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    rows = [run(kind, c, args.digest) for kind in kinds]
    if not args.json:
        _table(rows, c, load)
        return 0
    by = {r["db"]: r for r in rows}
    out: dict[str, Any] = {"records": c.expected_records}
    for kind in ("sqlite", "postgres"):
        out[f"rate_s_{kind}"] = by[kind]["rate_s"] if kind in by else None
        out[f"invoice_s_{kind}"] = by[kind]["invoice_s"] if kind in by else None
    out |= {"orgs": len(c.orgs), "jobs": len(c.jobs), "attempts": len(c.attempts),
            "load_average": [round(x, 2) for x in load], "runs": rows}  # fmt: skip
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
