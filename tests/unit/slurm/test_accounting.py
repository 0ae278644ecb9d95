"""Metering input, pure parts: sacct usage lines -> records, and which records a read keeps
and how far the watermark moves (read once, none missed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from petaport.backends.slurm.accounting import memory_mb, parse_usage, usage_argv
from petaport.domain.usage import MeasuredUsage
from petaport.services.slurm_accounting import plan_ingest

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SACCT = "\n".join(
    [
        "41|petaport-att_a|COMPLETED|0:0|1795275214|1795275224|gpu1|None|10|"
        "billing=3,cpu=3,gres/gpu=2,mem=1500M,node=1|1",
        "42|petaport-att_b|FAILED|3:0|1795275214|1795275216|gpu2|None|2|cpu=1,mem=2G,node=1|1",
        "43|petaport-att_c|CANCELLED by 0|0:15|None|1795275230|None assigned|None|0||0",
        "44|petaport-att_d|RUNNING|0:0|1795275214|Unknown|gpu1|None|5|cpu=1,mem=1G,node=1|1",
        "45|someone-else|COMPLETED|0:0|1795275214|1795275224|cpu1|None|10|cpu=1,node=1|1",
        "46|petaport-att_e|TIMEOUT|0:15|1795275100|1795275200|gpu1,gpu2|None|100|"
        "cpu=64,gres/gpu=16,mem=500G,node=2|2",
    ]
)


def test_sacct_lines_become_records_of_ended_petaport_jobs_only() -> None:
    records = {r.attempt_id: r for r in parse_usage(SACCT)}

    assert set(records) == {"att_a", "att_b", "att_c", "att_e"}  # not running, not foreign
    a = records["att_a"]
    assert (a.slurm_job_id, a.state, a.exit_code, a.elapsed_s) == ("41", "COMPLETED", 0, 10)
    assert (a.gpus, a.cpus, a.memory_mb, a.nodes) == (2, 3, 1500, 1)
    assert a.start == datetime.fromtimestamp(1795275214, UTC)
    assert (records["att_b"].exit_code, records["att_b"].memory_mb) == (3, 2048)
    c = records["att_c"]  # cancelled while pending: never started, held nothing
    assert (c.state, c.start, c.elapsed_s, c.gpus, c.exit_code) == ("CANCELLED", None, 0, 0, None)
    e = records["att_e"]
    assert (e.gpus, e.nodes, e.memory_mb, e.exit_code) == (16, 2, 512000, None)


@pytest.mark.parametrize(
    ("text", "mb"), [("1500M", 1500), ("2G", 2048), ("1.5G", 1536), ("1T", 1048576), ("", 0),
                     ("512K", 0), ("300", 300), ("junkM", 0)],
)  # fmt: skip
def test_memory_in_mebibytes(text: str, mb: int) -> None:
    assert memory_mb(text) == mb


def test_the_sacct_window_starts_at_since_for_every_user() -> None:
    argv = usage_argv(T0)

    assert "--allusers" in argv and "-X" in argv and "-P" in argv
    assert f"--starttime={T0.astimezone().strftime('%Y-%m-%dT%H:%M:%S')}" in argv


def record(attempt: str, end_s: int, job: str = "1") -> MeasuredUsage:
    end = T0 + timedelta(seconds=end_s)
    return MeasuredUsage(attempt, job, "COMPLETED", 0, end - timedelta(seconds=5), end, 5,
                         1, 1, 1024, 1)  # fmt: skip


def test_a_read_keeps_new_records_of_known_ended_attempts_and_moves_the_watermark() -> None:
    records = [record("att_a", 10), record("att_b", 20, "2"), record("att_x", 30, "9")]
    known = {"att_a": ("COMPLETED", "1"), "att_b": ("FAILED", "2")}

    ingest = plan_ingest(records, known, stored=(), watermark=None)

    assert [r.attempt_id for r in ingest.store] == ["att_a", "att_b"]  # att_x: another server's
    assert ingest.watermark == T0 + timedelta(seconds=30)


def test_a_record_read_again_is_not_kept_twice() -> None:
    records = [record("att_a", 10), record("att_a", 10)]
    known = {"att_a": ("COMPLETED", "1")}

    assert plan_ingest(records, known, stored=(), watermark=None).store == (records[0],)
    assert plan_ingest(records, known, stored={"att_a"}, watermark=None).store == ()


def test_the_watermark_waits_for_an_attempt_petaport_still_thinks_is_running() -> None:
    records = [record("att_a", 10), record("att_b", 20, "2"), record("att_c", 30, "3")]
    known = {"att_a": ("COMPLETED", "1"), "att_b": ("RUNNING", "2"), "att_c": ("COMPLETED", "3")}

    first = plan_ingest(records, known, stored=(), watermark=None)

    assert [r.attempt_id for r in first.store] == ["att_a", "att_c"]
    assert first.watermark == T0 + timedelta(seconds=20)  # att_b is read again next time
    known["att_b"] = ("COMPLETED", "2")
    second = plan_ingest(records, known, stored={"att_a", "att_c"}, watermark=first.watermark)
    assert [r.attempt_id for r in second.store] == ["att_b"]
    assert second.watermark == T0 + timedelta(seconds=30)


def test_the_watermark_never_moves_back_and_a_job_petaport_gave_up_is_not_kept() -> None:
    late = [record("att_a", -5, job="7")]  # another Slurm job of att_a, in the overlap
    ingest = plan_ingest(late, {"att_a": ("NODE_FAIL", "1")}, stored=(), watermark=T0)

    assert ingest.store == ()
    assert ingest.watermark == T0
