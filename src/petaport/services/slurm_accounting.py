"""Exact metering input: each attempt's usage as Slurm's accounting recorded it.

``collect_usage`` reads ``sacct`` from the watermark (the latest end time read so far) minus an
overlap window, keeps one record per attempt, and makes the attempt's started_at, ended_at and
exit code the measured ones, so metering from attempts and from these records agrees.

Invariants:
- read once: a record whose attempt has one already is skipped (``attempt_id`` is unique);
- none missed: the watermark never moves past a record that was not taken yet (an attempt
  Petaport still thinks is running is taken on a later read), and every read looks back
  ``accounting_overlap_s`` behind it, so a record that reaches accounting late is still read;
- only this database's attempts are kept (other Petaport servers may share the cluster), and
  only the Slurm job Petaport recorded for the attempt;
- the watermark is stored with the records, in one transaction: a restart loses nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from petaport.domain.errors import RetryLater
from petaport.domain.tenancy import Principal, scope_of
from petaport.domain.usage import MeasuredUsage, MeteredAttempt
from petaport.services.context import Context
from petaport.services.slurm_ports import UsageSource
from petaport.storage.repos.slurm import SlurmUsageRepo

log = logging.getLogger(__name__)
STILL_RUNNING = frozenset({"PENDING", "RUNNING"})


@dataclass(frozen=True)
class Ingest:
    store: tuple[MeasuredUsage, ...]
    watermark: datetime | None


def plan_ingest(
    records: Iterable[MeasuredUsage],
    attempts: Mapping[str, tuple[str, str | None]],
    stored: Iterable[str],
    watermark: datetime | None,
) -> Ingest:
    """Which records to keep and the next watermark (pure).

    ``attempts``: state and backend ref of the attempts this database knows; ``stored``: the
    attempts that already have a record."""
    taken = set(stored)
    keep: list[MeasuredUsage] = []
    done: list[datetime] = []
    later: list[datetime] = []
    for r in sorted(records, key=lambda r: (r.end, r.slurm_job_id)):
        known = attempts.get(r.attempt_id)
        if known is not None and known[0] in STILL_RUNNING and r.attempt_id not in taken:
            later.append(r.end)  # Petaport has not recorded its end yet: take it next time
            continue
        done.append(r.end)
        if known is None or r.attempt_id in taken or (known[1] and known[1] != r.slurm_job_id):
            continue  # another server's attempt, read already, or a job Petaport gave up
        taken.add(r.attempt_id)
        keep.append(r)
    candidates = [max(done)] if done else []
    if watermark is not None:
        candidates.append(watermark)
    mark = max(candidates) if candidates else None
    if later:  # not past a record still to take (but never back)
        capped = min(later) if mark is None else min(mark, *later)
        mark = capped if watermark is None else max(capped, watermark)
    return Ingest(tuple(keep), mark)


def collect_usage(ctx: Context) -> list[MeasuredUsage]:
    """Read new accounting records; returns those kept (none when the backend has none)."""
    source = ctx.backend
    if not isinstance(source, UsageSource):
        return []
    settings = ctx.settings.slurm
    now = ctx.clock()
    with ctx.db.transaction() as s:
        watermark = SlurmUsageRepo(s).watermark(source.name)
    since = now - timedelta(days=settings.lookup_days)
    if watermark is not None:
        since = watermark - timedelta(seconds=settings.accounting_overlap_s)
    records = source.usage_since(since)
    ids = {r.attempt_id for r in records}
    with ctx.db.transaction() as s:
        repo = SlurmUsageRepo(s)
        ingest = plan_ingest(records, repo.attempts(ids), repo.stored(ids), watermark)
        for r in ingest.store:
            repo.add(r, now)
            repo.measure_attempt(r.attempt_id, r.start or r.end, r.end, r.exit_code)
        if ingest.watermark is not None and ingest.watermark != watermark:
            repo.set_watermark(source.name, ingest.watermark, now)
    return list(ingest.store)


def list_usage(
    ctx: Context, p: Principal, *, read_after: datetime | None = None, limit: int = 1000
) -> list[MeteredAttempt]:
    """Measured usage of the attempts the caller may see, in the order it was read."""
    with ctx.db.transaction() as s:
        return SlurmUsageRepo(s).list(scope_of(p), read_after=read_after, limit=limit)


class AccountingLoop:
    """Collects usage every ``accounting_interval_s`` in a background thread (scheduler leader
    only); a backend that is no ``UsageSource`` never starts it."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not isinstance(self.ctx.backend, UsageSource):
            return
        self._thread = threading.Thread(target=self._run, name="petaport-accounting", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.ctx.settings.slurm.accounting_interval_s):
            try:
                collect_usage(self.ctx)
            except RetryLater as exc:
                log.warning("accounting not read this time: %s", exc)
            except Exception:  # the loop must survive; the next read covers the same window
                log.exception("reading accounting failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
