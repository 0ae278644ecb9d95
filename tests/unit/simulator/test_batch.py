"""Speed measures of the replay that must not change anything: the collector's settings come
back after a replay."""

from __future__ import annotations

import gc

from petaport.simulator.batchgc import batch_gc
from petaport.simulator.engine import replay
from petaport.simulator.policies import SimPolicy
from tests.unit.simulator.builders import one_node, trace


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
