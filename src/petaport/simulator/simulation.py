"""One simulation: every policy of a plan replayed over the same trace and cluster, one report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from petaport.simulator.adapter import core_summary
from petaport.simulator.engine import replay
from petaport.simulator.model import ClusterSpec, Trace
from petaport.simulator.outcome import ReplayResult
from petaport.simulator.policies import PolicyPlan
from petaport.simulator.progress import Bar
from petaport.simulator.report import build_report


@dataclass(frozen=True)
class Simulation:
    report: dict[str, Any]
    results: tuple[ReplayResult, ...]
    wall_s: dict[str, float]  # replay seconds per policy (kept out of the report)
    cpu_s: dict[str, float]  # CPU seconds of this process per policy (steadier on a busy host)


def simulate(
    trace: Trace,
    cluster: ClusterSpec,
    plan: PolicyPlan,
    context: dict[str, Any] | None = None,
    bar: Bar | None = None,
) -> Simulation:
    results, wall, cpu = [], {}, {}
    for policy in plan.policies:
        tick = bar(policy.name, len(trace.jobs)) if bar else None
        began, began_cpu = time.perf_counter(), time.process_time()
        results.append(replay(trace, cluster, policy, tick))
        wall[policy.name] = time.perf_counter() - began
        cpu[policy.name] = time.process_time() - began_cpu
    context = {**(context or {}), "core": core_summary()}
    report = build_report(trace, cluster, plan, results, context)
    return Simulation(report, tuple(results), wall, cpu)
