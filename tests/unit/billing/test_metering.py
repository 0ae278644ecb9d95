"""Metering and rating: hourly pieces, month and price splits, minimum, credits, exact amounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from petaport.billing.metering import RecordKind, attempt_usage, meter, month_of
from petaport.billing.prices import PreemptionCredit
from petaport.billing.rating import rate
from petaport.domain.jobs import Allocation, Attempt, Job, JobSpec, JobState
from petaport.domain.money import Money, total

from .builders import CPU, GPU, HK_FEB, MEM, OD, PE, T0, book, charges, metered, usage, version


def secs(records: tuple[object, ...]) -> list[int]:
    return [r.billable_s for r in records]  # type: ignore[attr-defined]


def test_a_run_is_cut_at_every_whole_hour() -> None:
    records = metered(usage(T0 + timedelta(minutes=30), 2 * 3600))
    assert secs(records) == [1800, 3600, 1800]
    assert {r.end - r.start for r in records} <= {timedelta(minutes=30), timedelta(hours=1)}


def test_a_run_over_the_hong_kong_month_end_is_split_there() -> None:
    records = metered(usage(HK_FEB - timedelta(minutes=10), 1200))
    assert [(r.month, r.billable_s) for r in records] == [("2026-01", 600), ("2026-02", 600)]
    assert records[1].start == HK_FEB  # midnight in Hong Kong is 16:00 UTC
    assert month_of(HK_FEB - timedelta(seconds=1)) == "2026-01"


def test_a_price_change_during_a_run_prices_each_side_at_its_own_version() -> None:
    b = book(version("v1"), version("v2", T0 + timedelta(hours=1), scale="2"))
    cs = charges(usage(T0, 2 * 3600), b)
    assert [(c.record.price_version, c.amount) for c in cs] == [
        ("v1", Money.of("204.00")),  # 8 GPUs x 25.50
        ("v2", Money.of("408.00")),
    ]


def test_each_resource_has_its_own_record_and_unique_source_id() -> None:
    records = metered(usage(T0, 1800, cpus=16, mem_mib=2048, gpus="0.5"))
    assert [(r.resource, r.quantity) for r in records] == [
        (GPU, Decimal("0.5")),
        (CPU, Decimal(16)),
        (MEM, Decimal(2)),
    ]
    assert len({r.source_id for r in records}) == 3


def test_a_running_attempt_is_metered_for_its_whole_hours_only() -> None:
    u = usage(T0 + timedelta(minutes=30), None)
    assert meter(u, book(), T0 + timedelta(minutes=59)) == ()
    at_3h = meter(u, book(), T0 + timedelta(hours=3, minutes=5))
    assert secs(at_3h) == [1800, 3600, 3600]
    ended = metered(usage(T0 + timedelta(minutes=30), 4 * 3600))
    assert ended[: len(at_3h)] == at_3h  # nothing metered while running changes at the end


def test_re_metering_is_idempotent() -> None:
    u = usage(T0, 5000)
    assert metered(u) == metered(u)
    assert rate(metered(u), book()) == rate(reversed(metered(u)), book())


@pytest.mark.parametrize(
    ("seconds", "state", "billed_s"),
    [
        (10, JobState.COMPLETED, 60),
        (10, JobState.FAILED, 60),
        (10, JobState.CANCELLED, 60),
        (10, JobState.NODE_FAIL, 10),  # the centre's fault: no minimum
        (10, JobState.PREEMPTED, 10),
        (0, JobState.COMPLETED, 60),
        (0, JobState.NODE_FAIL, 0),
        (90, JobState.COMPLETED, 90),
    ],
)
def test_the_minimum_applies_to_attempts_the_user_ended(
    seconds: int, state: JobState, billed_s: int
) -> None:
    assert sum(secs(metered(usage(T0, seconds, state=state)))) == billed_s


def test_the_minimum_tops_up_the_last_piece() -> None:
    records = metered(usage(T0 - timedelta(seconds=20), 30))
    assert secs(records) == [20, 40]


@pytest.mark.parametrize(
    ("rule", "credited_s", "billed"),
    [
        (PreemptionCredit.NONE, [], "119.00"),  # 8 x 12.75 x 4,200 s / 3,600
        (PreemptionCredit.LAST_PARTIAL_HOUR, [-600], "102.00"),  # the 10 minutes are free
        (PreemptionCredit.FULL, [-3600, -600], "0.00"),
    ],
)
def test_preempted_preemptible_work_is_credited_per_the_rule(
    rule: PreemptionCredit, credited_s: list[int], billed: str
) -> None:
    b = book(version(credit=rule))
    records = metered(usage(T0, 4200, tier=PE, state=JobState.PREEMPTED), b)
    assert secs(tuple(r for r in records if r.kind is RecordKind.CREDIT)) == credited_s
    assert total(c.amount for c in rate(records, b)) == Money.of(billed)


def test_only_preempted_preemptible_work_is_credited() -> None:
    b = book(version(credit=PreemptionCredit.FULL))
    for tier, state in ((PE, JobState.COMPLETED), (OD, JobState.PREEMPTED)):
        records = metered(usage(T0, 600, tier=tier, state=state), b)
        assert all(r.kind is RecordKind.USAGE for r in records)


def test_a_preemption_on_the_hour_leaves_no_partial_hour_to_credit() -> None:
    records = metered(usage(T0, 3600, tier=PE, state=JobState.PREEMPTED))
    assert all(r.kind is RecordKind.USAGE for r in records)


def test_a_tiny_amount_is_rounded_once_not_dropped() -> None:
    # half an A100 for 3 s at 16.00/h: 0.00666... -> 0.01 (half-even rounding to cents)
    cs = charges(usage(T0, 3, gpus="0.5", model="A100", state=JobState.NODE_FAIL))
    assert total(c.amount for c in cs) == Money.of("0.01")


def test_cumulative_rounding_gives_the_run_its_exact_total() -> None:
    # rounded piece by piece, 1 s at 16.00/h is 0.00 twice (48.00 in all); the run is
    # 10,802 s x 16.00 / 3,600 = 48.0088... -> 48.01, and so is the sum of its records.
    cs = charges(usage(T0 + timedelta(seconds=3599), 3 * 3600 + 2, gpus="1", model="A100"))
    assert len(cs) == 5  # 1 s, three whole hours, 1 s
    assert [c.amount for c in cs] == [
        Money.of(x) for x in ("0.00", "16.00", "16.00", "16.00", "0.01")
    ]
    assert total(c.amount for c in cs) == Money.of("48.01")


def test_attempt_usage_reads_a_stored_attempt() -> None:
    spec = JobSpec(name="train", project_id="prj_a", command=("python",), gpus=4, nodes=2, cpus=8,
                   memory_mb=4096)  # fmt: skip
    job = Job("job_1", "org_a", "prj_a", "usr_1", spec, JobState.RUNNING, None, 0, T0, T0)
    allocations = (Allocation("n1", (0, 1, 2, 3), 8, 4096), Allocation("n2", (0, 1, 2, 3), 8, 4096))
    attempt = Attempt("att_1", "job_1", 1, JobState.RUNNING, allocations, T0, T0)
    u = attempt_usage(job, attempt, "H800")
    assert (u.gpus, u.cpus, u.memory_mib, u.ended_at) == (Decimal(8), 16, 8192, None)
    done = Attempt(
        "att_1", "job_1", 1, JobState.TIMEOUT, allocations, T0, T0, T0 + timedelta(hours=1)
    )
    assert attempt_usage(job, done, "H800").end_state is JobState.TIMEOUT


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        meter(usage(datetime(2026, 1, 1), 60), book(), T0)


def test_times_are_truncated_to_the_second() -> None:
    records = metered(usage(T0 + timedelta(microseconds=900_000), 120))
    assert records[0].start == T0 and secs(records) == [120]
    assert records[0].start.tzinfo is UTC
