"""``kill -9`` of a process in the middle of metering loses and duplicates nothing: the next
run stores exactly the records (and journal entries) the pure core says exist."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, exists, func, select, text

from petaport.app import build_context
from petaport.domain.ids import new_id
from petaport.domain.jobs import Allocation, Attempt, Job, JobSpec, JobState
from petaport.domain.tenancy import Org, OrgCategory, Project, User
from petaport.services.context import Context
from petaport.services.metering import charges_of, gpu_models, meter_due
from petaport.services.pricing import load_book
from petaport.settings import Settings
from petaport.storage.db import normalise_url
from petaport.storage.money_tables import JournalEntryRow, UsageRecordRow
from petaport.storage.repos.jobs import JobRepo
from petaport.storage.repos.ledger import LedgerRepo
from petaport.storage.repos.tenancy import TenancyRepo

T0 = datetime(2026, 5, 31, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=2)
ATTEMPTS = 800
METER = """
import sys
from datetime import datetime
from petaport.app import build_context
from petaport.services import metering
from petaport.settings import Settings
metering.BATCH = 10  # many small transactions, so the kill lands between two of them
settings = Settings(data_dir=sys.argv[1], database_url=sys.argv[2], backend="fake",
                    seed_demo=False, _env_file=None)
metering.meter_due(build_context(settings), datetime.fromisoformat(sys.argv[3]))
"""


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=url, backend="fake",
                    seed_demo=False, _env_file=None)  # type: ignore[call-arg]  # fmt: skip


def _seed(ctx: Context) -> list[tuple[Job, Attempt]]:
    org = Org(new_id("org"), "Crash", "crash", OrgCategory.ENTERPRISE, T0)
    project = Project(new_id("prj"), org.id, "p", "p", T0)
    user = User(new_id("usr"), "crash-user", "c@example.org", "C", frozenset(), True, T0)
    out = []
    with ctx.db.transaction() as s:
        tenancy = TenancyRepo(s)
        tenancy.add_org(org)
        s.flush()
        tenancy.add_project(project)
        tenancy.add_user(user, None)
        s.flush()
        jobs = JobRepo(s)
        for i in range(ATTEMPTS):
            spec = JobSpec(name="j", project_id=project.id, command=("true",), gpus=1 + i % 4,
                           cpus=2, memory_mb=4096)  # fmt: skip
            start = T0 + timedelta(minutes=7 * i)
            end = start + timedelta(seconds=600 + 97 * i)
            job = Job(new_id("job"), org.id, project.id, user.id, spec, JobState.COMPLETED, None,
                      0, start, end, start, end, 0, 1, "fake")  # fmt: skip
            jobs.add_job(job, idempotency_key=None, request_hash=None)
            s.flush()
            alloc = Allocation("fake-001", tuple(range(spec.gpus)), 2, 4096)
            attempt = Attempt(new_id("att"), job.id, 1, JobState.COMPLETED, (alloc,), start,
                              start, end, 0)  # fmt: skip
            jobs.add_attempt(attempt, "/tmp")
            s.flush()
            jobs.save_attempt(attempt)
            out.append((job, attempt))
    return out


def _counts(ctx: Context) -> tuple[int, int]:
    with ctx.db.transaction() as s:
        records = s.scalar(select(func.count()).select_from(UsageRecordRow)) or 0
        entries = s.scalar(select(func.count()).select_from(JournalEntryRow)) or 0
    return records, entries


def test_kill_9_during_metering_loses_and_duplicates_nothing(db_url: str, tmp_path: Path) -> None:
    settings = _settings(tmp_path, db_url)
    ctx = build_context(settings)
    seeded = _seed(ctx)
    book = load_book(ctx)
    models = gpu_models(ctx, [])  # what the metering process sees, from the same settings
    expected = {c.source_id: c for j, a in seeded for c in charges_of(j, a, book, NOW, models)}
    proc = subprocess.Popen(
        [sys.executable, "-c", METER, str(settings.data_dir), db_url, NOW.isoformat()],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    # A plain reader (the product's SQLite transactions take the write lock up front, and would
    # wait for the metering process's batches instead of seeing them).
    reader = create_engine(normalise_url(db_url))
    deadline = time.monotonic() + 120
    with reader.connect() as conn:
        while proc.poll() is None and time.monotonic() < deadline:
            if conn.execute(text("SELECT count(*) FROM usage_records")).scalar():
                break
            conn.rollback()
            time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.dispose()
    partial, _ = _counts(ctx)
    assert 0 < partial < len(expected), "the kill should land in the middle of metering"
    result = meter_due(ctx, NOW)
    assert result.records == len(expected) - partial
    with ctx.db.transaction() as s:
        stored = dict(s.execute(select(UsageRecordRow.source_id, UsageRecordRow.amount)).all())
    assert stored.keys() == expected.keys()
    wrong = [
        (k, stored[k], c.amount.amount) for k, c in expected.items() if stored[k] != c.amount.amount
    ]
    assert not wrong, wrong[:3]
    # Every record that moved money names a stored journal entry (one per org, month and
    # batch: design note 009), and the ledger holds exactly the records' amounts.
    with ctx.db.transaction() as s:
        posted = exists().where(JournalEntryRow.id == UsageRecordRow.entry_id)
        unposted = s.scalar(select(func.count()).select_from(UsageRecordRow)
                            .where(UsageRecordRow.amount != Decimal("0.00"), ~posted))  # fmt: skip
        ledger = LedgerRepo(s)
        income = sum(ledger.income(org_id, m) for m in {c.record.month for c in expected.values()}
                     for org_id in {c.record.org_id for c in expected.values()})  # fmt: skip
    assert unposted == 0
    assert income == sum(c.amount.amount for c in expected.values())
    assert 0 < _counts(ctx)[1] < len(expected)
    assert meter_due(ctx, NOW).records == 0
    ctx.db.dispose()
