"""Metering: an attempt's measured run time -> immutable usage records, hour by hour.

One attempt runs from ``started_at`` to ``ended_at`` (None: still running) and holds GPUs of one
model, CPU cores and memory. ``meter`` cuts that run into pieces at every whole UTC hour and at
every Hong Kong month start, and emits one ``UsageRecord`` per piece and resource.

Invariants:
- times are truncated to the whole second (per-second billing);
- a running attempt yields records only for pieces that ended at or before the last whole hour
  before ``now``; once emitted, a record never changes: re-metering the same attempt (a replay,
  a crash, the next hourly run) yields the same records with the same ``source_id``s plus,
  perhaps, new ones. The store keeps a record per ``source_id`` and inserts the new ones only;
- a record never straddles an hour, a Hong Kong month or a price version (versions start on a
  whole hour);
- the minimum billable time (of the price version in force at the attempt's last piece) is
  added to the last record of an ended attempt, unless it ended PREEMPTED or NODE_FAIL (the
  centre stopped it, not the user);
- a preempted *preemptible* attempt gets CREDIT records (negative seconds) mirroring the usage
  records the version's ``PreemptionCredit`` rule forgives: none, the last partial clock hour,
  or all of them. Credits come after the usage records of their attempt.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from zoneinfo import ZoneInfo

from petaport.billing.prices import PreemptionCredit, PriceBook, ResourceClass
from petaport.domain.jobs import Attempt, Job, JobState, QosTier

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
HOUR_S = 3600
NO_MINIMUM = frozenset({JobState.PREEMPTED, JobState.NODE_FAIL})


class RecordKind(enum.StrEnum):
    USAGE = "usage"
    CREDIT = "credit"


@dataclass(frozen=True)
class AttemptUsage:
    """What metering needs of one attempt: who, which tier, when, and what it held."""

    attempt_id: str
    job_id: str
    org_id: str
    project_id: str
    tier: QosTier
    started_at: datetime
    ended_at: datetime | None
    end_state: JobState | None
    gpus: Decimal  # GPUs held in all (0.5 for half a shared GPU)
    gpu_model: str | None
    cpus: int
    memory_mib: int

    def quantities(self) -> tuple[tuple[ResourceClass, str | None, Decimal], ...]:
        out = []
        if self.gpus > 0:
            out.append((ResourceClass.GPU_HOUR, self.gpu_model, self.gpus))
        if self.cpus > 0:
            out.append((ResourceClass.CPU_CORE_HOUR, None, Decimal(self.cpus)))
        if self.memory_mib > 0:
            out.append((ResourceClass.MEMORY_GIB_HOUR, None, Decimal(self.memory_mib) / 1024))
        return tuple(out)


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """An immutable measured amount of one resource used by one attempt over one piece.

    ``billable_s`` is the measured seconds plus any minimum top-up; negative for a CREDIT.
    ``month`` is the Hong Kong calendar month of ``start`` (``YYYY-MM``).
    """

    source_id: str
    kind: RecordKind
    org_id: str
    project_id: str
    job_id: str
    attempt_id: str
    resource: ResourceClass
    gpu_model: str | None
    tier: QosTier
    quantity: Decimal
    start: datetime
    end: datetime
    billable_s: int
    price_version: str
    month: str

    @property
    def unit_seconds(self) -> Decimal:
        """Quantity x billable seconds, exact (e.g. GPU-seconds)."""
        return self.quantity * self.billable_s

    @property
    def unit_hours(self) -> Fraction:
        return Fraction(self.unit_seconds) / HOUR_S


def attempt_usage(job: Job, attempt: Attempt, gpu_model: str | None) -> AttemptUsage:
    """Metering input from a stored job and attempt (``gpu_model`` of its node pool)."""
    return usage_of(attempt, job.id, job.org_id, job.project_id, job.spec.qos, gpu_model)


def usage_of(
    attempt: Attempt, job_id: str, org_id: str, project_id: str, tier: QosTier,
    gpu_model: str | None,
) -> AttemptUsage:  # fmt: skip
    """Metering input from a stored attempt and what metering needs of its job."""
    whole = sum(len(a.gpu_indices) for a in attempt.allocations)
    gpus = Decimal(attempt.gpu_milli) / 1000 if attempt.gpu_milli else Decimal(whole)
    ended = attempt.ended_at if attempt.state.is_terminal else None
    if attempt.started_at is None:
        raise ValueError(f"attempt {attempt.id} never started: nothing to meter")
    return AttemptUsage(
        attempt.id, job_id, org_id, project_id, tier, attempt.started_at, ended,
        attempt.state if ended else None, gpus, gpu_model,
        sum(a.cpus for a in attempt.allocations), sum(a.memory_mb for a in attempt.allocations),
    )  # fmt: skip


def _second(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError("metering needs timezone-aware times")
    return int(instant.timestamp() // 1)


@lru_cache(maxsize=16384)  # pure; pieces start and end on the same hours again and again
def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@lru_cache(maxsize=16384)
def _labels(seconds: int) -> tuple[str, str]:
    """The stamp of a piece starting at ``seconds`` (as in source ids) and its month."""
    start = _utc(seconds)
    return f"{start:%Y%m%dT%H%M%SZ}", month_of(start)


@lru_cache(maxsize=8192)  # pure; metering asks for the same hour starts again and again
def month_of(instant: datetime) -> str:
    """The Hong Kong calendar month of ``instant`` as ``YYYY-MM``."""
    return instant.astimezone(HONG_KONG).strftime("%Y-%m")


@lru_cache(maxsize=1024)
def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC start (inclusive) and end (exclusive) of a Hong Kong month ``YYYY-MM``."""
    year, mon = (int(p) for p in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=HONG_KONG)
    nxt = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=HONG_KONG)
    return start.astimezone(UTC), nxt.astimezone(UTC)


def _next_month_start(second: int) -> int:
    return _second(month_bounds(month_of(_utc(second)))[1])


def pieces(start_s: int, end_s: int) -> Iterator[tuple[int, int]]:
    """[start, end) cut at every whole UTC hour and every Hong Kong month start."""
    month_end = _next_month_start(start_s)
    at = start_s
    while at < end_s:
        if at >= month_end:
            month_end = _next_month_start(at)
        cut = min(end_s, (at // HOUR_S + 1) * HOUR_S, month_end)
        yield at, cut
        at = cut


def _spans(usage: AttemptUsage, now: datetime) -> list[tuple[int, int]]:
    start = _second(usage.started_at)
    if usage.ended_at is None:
        horizon = _second(now) // HOUR_S * HOUR_S  # only whole hours while it runs
        return list(pieces(start, horizon)) if horizon > start else []
    end = max(start, _second(usage.ended_at))
    return list(pieces(start, end)) or [(start, start)]


def meter(usage: AttemptUsage, book: PriceBook, now: datetime) -> tuple[UsageRecord, ...]:
    """Every usage (and credit) record of one attempt known at ``now``. Deterministic."""
    spans = _spans(usage, now)
    if not spans:
        return ()
    seconds = [b - a for a, b in spans]
    last_version = book.version_at(_utc(spans[-1][0]))
    if usage.ended_at is not None and usage.end_state not in NO_MINIMUM:
        seconds[-1] += max(0, last_version.minimum_billable_s - sum(seconds))
    quantities = [(r, r.value, model, qty) for r, model, qty in usage.quantities()]
    records = [
        _record(usage, piece, s, resource, name, model, qty)
        for span, s in zip(spans, seconds, strict=True)
        if s
        for piece in (_piece(book, span),)
        for resource, name, model, qty in quantities
    ]
    return (*records, *_credits(usage, last_version.preemption_credit, spans, records))


@dataclass(frozen=True, slots=True)
class _Piece:
    """What the records of one piece share: its times, stamp, price version and month."""

    start: datetime
    end: datetime
    stamp: str  # the start as in source ids
    month: str
    version_id: str


def _piece(book: PriceBook, span: tuple[int, int]) -> _Piece:
    start = _utc(span[0])
    return _Piece(start, _utc(span[1]), *_labels(span[0]), book.version_at(start).id)


def _record(
    usage: AttemptUsage,
    piece: _Piece,
    billable_s: int,
    resource: ResourceClass,
    name: str,
    gpu_model: str | None,
    quantity: Decimal,
) -> UsageRecord:
    return UsageRecord(
        f"{usage.attempt_id}/{name}/{piece.stamp}", RecordKind.USAGE, usage.org_id,
        usage.project_id, usage.job_id, usage.attempt_id, resource, gpu_model, usage.tier,
        quantity, piece.start, piece.end, billable_s, piece.version_id, piece.month,
    )  # fmt: skip


def _credits(
    usage: AttemptUsage,
    rule: PreemptionCredit,
    spans: Sequence[tuple[int, int]],
    records: Sequence[UsageRecord],
) -> list[UsageRecord]:
    preempted = usage.ended_at is not None and usage.end_state is JobState.PREEMPTED
    if not preempted or usage.tier is not QosTier.PREEMPTIBLE or rule is PreemptionCredit.NONE:
        return []
    if rule is PreemptionCredit.FULL:
        forgiven = list(records)
    elif spans[-1][1] % HOUR_S == 0:  # stopped on the hour: no partial hour to forgive
        forgiven = []
    else:
        last_start = _utc(spans[-1][0])
        forgiven = [r for r in records if r.start == last_start]
    return [_credit_of(r) for r in forgiven if r.billable_s]


def _credit_of(record: UsageRecord) -> UsageRecord:
    return UsageRecord(
        record.source_id + "/credit", RecordKind.CREDIT, record.org_id, record.project_id,
        record.job_id, record.attempt_id, record.resource, record.gpu_model, record.tier,
        record.quantity, record.start, record.end, -record.billable_s, record.price_version,
        record.month,
    )  # fmt: skip
