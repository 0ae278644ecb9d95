"""Speed measures of the replay that must not change anything: a prediction's PendingJob is
the one ``dataclasses.replace`` gives, and the collector's settings come back after a replay."""

from __future__ import annotations

import dataclasses
import gc
from datetime import timedelta

from petaport.domain.jobs import QosTier
from petaport.scheduler import PendingJob
from petaport.simulator.adapter import CoreAdapter
from petaport.simulator.batchgc import batch_gc
from petaport.simulator.engine import replay
from petaport.simulator.policies import SimPolicy
from tests.unit.simulator.builders import ORIGIN, one_node, trace


def test_predicted_job_is_the_replaced_one_field_by_field() -> None:
    job = PendingJob("j", "o", "p", 3, QosTier.PREEMPTIBLE, ORIGIN + timedelta(seconds=5), 2, 1,
                     4, 512, "A100", True, 0, frozenset({"A100", "H100"}), 90.0, None, 80.0,
                     "u", frozenset({"hk"}))  # fmt: skip
    for duration in (None, 10.0, 1e9):
        got = CoreAdapter.predicted(job, duration)
        want = dataclasses.replace(job, predicted_duration_s=duration)
        assert got == want
        assert [getattr(got, f.name) for f in dataclasses.fields(PendingJob)] == [
            getattr(want, f.name) for f in dataclasses.fields(PendingJob)
        ]


def test_batch_gc_restores_the_collector() -> None:
    before = gc.get_threshold(), gc.get_freeze_count()
    with batch_gc():
        assert gc.get_threshold()[0] >= 20_000
        with batch_gc():  # nested: nothing more frozen
            pass
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
    result = replay(trace((0, 10, 4, "a"), (1, 10, 8, "b")), one_node(), SimPolicy("default"))
    assert len(result.outcomes) == 2
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
