"""Which policies a simulation runs and how: names, walltime model, core knobs.

YAML shape (every key optional)::

    policies: [default, fifo, fifo_backfill, sjf_oracle]
    walltime_factor: 1.0     # walltime = duration x factor for jobs whose trace has none ...
    walltime_round: pow2     # ... rounded up to 15 min x 2^k (pow2) or kept exact (none)
    core: {half_life_s: 604800}   # PolicyConfig overrides for every policy

``default`` is the production policy; the other three are the baselines of issue 2: FIFO
without backfill, FIFO with EASY backfill on walltime (Slurm-like) and shortest-job-first with
perfect knowledge of durations (a reference, not a product policy). All four are implemented
by the scheduler core (``PolicyConfig.policy``); the simulator only feeds them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from petaport.simulator.adapter import core_config

POLICY_NAMES = ("default", "fifo", "fifo_backfill", "sjf_oracle")
ROUNDINGS = ("pow2", "none")
WALLTIME_STEP_S = 900.0  # pow2 rounding: 15 min, 30 min, 1 h, 2 h, ...


class PolicyConfigError(ValueError):
    """The policy configuration is malformed."""


@dataclass(frozen=True)
class SimPolicy:
    name: str
    walltime_factor: float = 1.0
    walltime_round: str = "pow2"
    core: dict[str, Any] = field(default_factory=dict)

    def walltime_s(self, duration_s: float, recorded_s: float | None) -> float | None:
        """The job's walltime: the trace's when it has one, else modelled from the duration
        (a subclass may return None: the policy sees no walltime).

        Users ask for round limits above what they need: duration x factor, rounded up to the
        next 15 min x 2^k (so 1x to 2x the duration with the default factor).
        """
        if recorded_s is not None:
            return recorded_s
        wanted = max(duration_s * self.walltime_factor, 1.0)
        if self.walltime_round == "none":
            return wanted
        steps = max(1.0, wanted / WALLTIME_STEP_S)
        return WALLTIME_STEP_S * 2.0 ** math.ceil(math.log2(steps) - 1e-12)


@dataclass(frozen=True)
class PolicyPlan:
    """The policies of one run, in the order they are reported."""

    policies: tuple[SimPolicy, ...]


def make_plan(
    names: tuple[str, ...] = POLICY_NAMES,
    walltime_factor: float = 1.0,
    walltime_round: str = "pow2",
    core: dict[str, Any] | None = None,
) -> PolicyPlan:
    unknown = [n for n in names if n not in POLICY_NAMES]
    if unknown:
        raise PolicyConfigError(f"unknown policies {unknown}; known: {list(POLICY_NAMES)}")
    if not names:
        raise PolicyConfigError("name at least one policy")
    if walltime_factor <= 0 or walltime_round not in ROUNDINGS:
        raise PolicyConfigError(f"walltime_factor must be > 0, walltime_round one of {ROUNDINGS}")
    options = dict(core or {})
    for name in names:
        core_config(name, options)  # raises ValueError on options the core does not have
    return PolicyPlan(tuple(SimPolicy(n, walltime_factor, walltime_round, options) for n in names))


def plan_from_dict(raw: dict[str, Any]) -> PolicyPlan:
    names = raw.get("policies", list(POLICY_NAMES))
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    try:
        return make_plan(
            tuple(str(n) for n in names),
            float(raw.get("walltime_factor", 1.0)),
            str(raw.get("walltime_round", "pow2")),
            dict(raw.get("core") or {}),
        )
    except (TypeError, ValueError) as bad:
        raise PolicyConfigError(str(bad)) from None


def load_plan(path: Path) -> PolicyPlan:
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise PolicyConfigError(f"{path}: expected a mapping at the top level")
    return plan_from_dict(raw)
