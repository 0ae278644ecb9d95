"""Pure scheduling core: an immutable Snapshot in, Decisions out. No I/O, explicit ``now``.

The live service and the simulator call ``schedule`` with the same inputs and get the same
decisions. The policy and its knobs come in ``Snapshot.config``; every module holds one part:
``ordering`` (multifactor, FIFO, SJF), ``fairshare``, ``quotas``, ``placement`` (gangs,
packing, fractional GPUs), ``backfill`` (EASY), ``preemption``, ``prediction`` (durations).
"""

from petaport.scheduler.config import Policy, PolicyConfig, config_for
from petaport.scheduler.node_index import NodeIndex
from petaport.scheduler.policy import schedule
from petaport.scheduler.snapshot import (
    PREEMPT_RECLAIM,
    PREEMPT_TIER,
    Decisions,
    NodeState,
    PendingJob,
    PoolShape,
    Preemption,
    Quota,
    Reservation,
    RunningIndex,
    RunningJob,
    Snapshot,
    Start,
    Usage,
    release_of,
)

__all__ = [
    "PREEMPT_RECLAIM",
    "PREEMPT_TIER",
    "Decisions",
    "NodeIndex",
    "NodeState",
    "PendingJob",
    "Policy",
    "PolicyConfig",
    "PoolShape",
    "Preemption",
    "Quota",
    "Reservation",
    "RunningIndex",
    "RunningJob",
    "Snapshot",
    "Start",
    "Usage",
    "config_for",
    "release_of",
    "schedule",
]
