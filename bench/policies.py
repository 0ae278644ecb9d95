"""Policy benchmark on the Philly trace: the four policies of issue 2 in one run.

The cluster is sized so the trace's offered load is 0.8:
    GPUs = total gpu_time / trace span / 0.8, rounded up to whole 8-GPU nodes.
Prints average / p99 JCT, average wait, utilisation and Jain's fairness per policy, the ratios
the issue sets targets for, and the replay speed of the default policy (jobs per second of
CPU time of the process, trace loading excluded; per wall second too).

Philly records no walltimes; the simulator models one from each job's true duration (rounded
up to 15 min x 2^k) for the Slurm-like ``fifo_backfill``. The default policy is a product
policy and must not see the true duration, so here it gets only walltimes the trace records
(none on Philly): it orders and backfills on its own predictions, learnt from finished jobs.
``--default-walltimes`` gives it the modelled ones too (for comparison).

    .venv/bin/python bench/policies.py                 # full trace (82,247 jobs)
    .venv/bin/python bench/policies.py --limit 5000    # quick run on the first 5,000 jobs
    .venv/bin/python bench/policies.py --json          # one JSON object
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from petaport import corebuild
from petaport.simulator.cluster import homogeneous, nodes_for_load
from petaport.simulator.policies import POLICY_NAMES, PolicyPlan, SimPolicy, make_plan
from petaport.simulator.progress import progress_bars, wanted
from petaport.simulator.report import write_report
from petaport.simulator.simulation import simulate
from petaport.simulator.traces import load_philly

PHILLY = Path(__file__).resolve().parents[2] / "shared/traces/philly_pollux/philly.csv"
FIELDS = ("avg_jct_s", "p99_jct_s", "avg_wait_s", "utilisation", "jain_fairness")


def arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--trace", type=Path, default=PHILLY)
    p.add_argument("--limit", type=int, help="replay only the first N jobs")
    p.add_argument("--load", type=float, default=0.8)
    p.add_argument("--policies", default=",".join(POLICY_NAMES))
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", type=Path, help="also write the full report (JSON, Markdown, PNG)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument(
        "--default-walltimes",
        action="store_true",
        help="let the default policy see walltimes modelled from true durations",
    )
    return p.parse_args()


@dataclass(frozen=True)
class RecordedWalltimes(SimPolicy):
    """A policy that sees a walltime only where the trace records one."""

    def walltime_s(self, duration_s: float, recorded_s: float | None) -> float | None:
        return recorded_s


def honest(plan: PolicyPlan) -> PolicyPlan:
    """The plan with the default policy blind to modelled walltimes."""
    return PolicyPlan(
        tuple(
            RecordedWalltimes(p.name, p.walltime_factor, p.walltime_round, p.core)
            if p.name == "default"
            else p
            for p in plan.policies
        )
    )


def ratios(policies: dict[str, dict[str, float]]) -> list[str]:
    if "default" not in policies:
        return []
    d = policies["default"]
    out = []
    for name, target in (("sjf_oracle", "<= 1.3"), ("fifo", "<= 0.333"), ("fifo_backfill", "< 1")):
        if name in policies and policies[name]["avg_jct_s"]:
            ratio = d["avg_jct_s"] / policies[name]["avg_jct_s"]
            out.append(f"avg JCT default / {name:<14} {ratio:8.3f}   (target {target})")
    if "fifo_backfill" in policies:
        out.append(
            f"Jain default vs fifo_backfill   {d['jain_fairness']:.3f} vs "
            f"{policies['fifo_backfill']['jain_fairness']:.3f}   (target: higher)"
        )
    return out


def main() -> int:
    args = arguments()
    trace = load_philly(args.trace).head(args.limit)
    nodes, formula = nodes_for_load(trace, args.load, 8)
    cluster = homogeneous(f"philly-load-{args.load:g}", nodes, 8)
    plan = make_plan(tuple(n for n in args.policies.split(",") if n))
    if not args.default_walltimes:
        plan = honest(plan)
    with progress_bars(wanted(args.progress)) as bar:
        sim = simulate(trace, cluster, plan, {"sizing": formula}, bar)
    figures = {
        name: {k: sim.report["policies"][name][k] for k in FIELDS}
        for name in sim.report["policies"]
    }
    first = "default" if "default" in sim.wall_s else next(iter(sim.wall_s))
    speed = len(trace.jobs) / sim.cpu_s[first]
    speed_wall = len(trace.jobs) / sim.wall_s[first]
    if args.out:
        write_report(sim.report, args.out)
    if args.json:
        print(
            json.dumps(
                {
                    "replay_jobs_per_s": round(speed, 1),
                    "replay_jobs_per_s_wall": round(speed_wall, 1),
                    "policies": figures,
                    "jobs": len(trace.jobs),
                    "cluster_gpus": cluster.total_gpus,
                    "sizing": formula,
                    "default_walltimes": "modelled" if args.default_walltimes else "recorded",
                    "core": corebuild.describe(),
                },
                sort_keys=True,
            )
        )
        return 0
    print(f"trace: {args.trace} ({len(trace.jobs)} jobs)\nsizing: {formula}")
    print(f"scheduler core: {corebuild.describe()} (make core compiles it with mypyc)")
    seen = "modelled" if args.default_walltimes else "recorded only"
    print(f"walltimes: modelled (duration, 15 min x 2^k) for baselines; default sees {seen}")
    print(f"{'policy':<15}" + "".join(f"{k:>16}" for k in FIELDS) + f"{'replay s':>10}")
    for name, row in figures.items():
        cells = "".join(f"{row[k]:>16,.3f}" if row[k] < 10 else f"{row[k]:>16,.0f}" for k in FIELDS)
        print(f"{name:<15}{cells}{sim.wall_s[name]:>10.1f}")
    print("\n".join(ratios(figures)))
    print(
        f"replay speed ({first}): {speed:,.0f} jobs per CPU second "
        f"({speed_wall:,.0f} per wall second)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
