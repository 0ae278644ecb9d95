"""Policy configuration: which policy runs and its knobs. Frozen; the default is the product
policy, which reduces to the foundation's behaviour when the snapshot carries no policy data
(no running-job ends, quotas, usage or predictions).

Policies:
- ``default``: multifactor order (QoS, fair share, predicted size, age), quotas with borrowing,
  EASY backfill on walltime or predicted duration, preemption of preemptible and borrowed work;
- ``fifo``: submission order, the first blocked job stops the queue (no backfill);
- ``fifo_backfill``: submission order, EASY backfill on walltime only (Slurm-like);
- ``sjf_oracle``: shortest true duration first, any job that fits starts (a reference only).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

DAY_S = 86_400.0


class Policy(enum.StrEnum):
    DEFAULT = "default"
    FIFO = "fifo"
    FIFO_BACKFILL = "fifo_backfill"
    SJF_ORACLE = "sjf_oracle"


class Blocked(enum.Enum):
    """What a blocked job does to the jobs behind it."""

    STOP = "stop"  # nobody passes it (strict order)
    RESERVE = "reserve"  # it gets a reservation; others pass only if they cannot delay it
    SKIP = "skip"  # others pass freely (greedy)


@dataclass(frozen=True)
class PolicyConfig:
    policy: Policy = Policy.DEFAULT
    backfill: bool = True  # default policy only: False makes a blocked job stop the queue
    preemption: bool = True  # default policy only
    half_life_s: float = 7 * DAY_S  # fair-share usage decay
    weight_qos: float = 100_000.0  # large: QoS tiers stay strict unless configured otherwise
    weight_fairshare: float = 1_000.0
    weight_size: float = 10_000.0  # shorter predicted GPU time first (QSSF); see ordering
    weight_age: float = 1_000.0
    max_age_s: float = 7 * DAY_S  # age factor reaches 1 here
    size_max_gpu_s: float = 1e7  # size factor 0 from here (~2,800 GPU-hours); log scale
    use_predictions: bool = True  # default policy: backfill on predictions where known
    max_preemptors: int = 16  # pending jobs that may trigger preemption per cycle

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", Policy(self.policy))  # accept "fifo" as well
        if self.max_age_s <= 0 or self.size_max_gpu_s <= 0:
            raise ValueError("max_age_s and size_max_gpu_s must be positive")
        if self.half_life_s < 0 or self.max_preemptors < 0:
            raise ValueError("half_life_s and max_preemptors may not be negative")
        weights = (self.weight_qos, self.weight_fairshare, self.weight_size, self.weight_age)
        if min(weights) < 0:
            raise ValueError("weights may not be negative")

    @property
    def blocked(self) -> Blocked:
        if self.policy is Policy.FIFO:
            return Blocked.STOP
        if self.policy is Policy.SJF_ORACLE:
            return Blocked.SKIP
        if self.policy is Policy.DEFAULT and not self.backfill:
            return Blocked.STOP
        return Blocked.RESERVE

    @property
    def preempts(self) -> bool:
        return self.policy is Policy.DEFAULT and self.preemption

    @property
    def predicts(self) -> bool:
        """May estimates other than walltime be used (for backfill and running jobs' ends)?"""
        return self.policy is Policy.DEFAULT and self.use_predictions


def config_for(policy: str | Policy) -> PolicyConfig:
    """The configuration of a named policy, e.g. ``config_for("fifo_backfill")``."""
    return PolicyConfig(policy=Policy(policy))
