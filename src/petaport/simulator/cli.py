"""``petaport simulate``: argument parsing and wiring, nothing else (``run_cli(argv)``).

Reads a trace and a cluster, replays every requested policy, writes report.json, report.md and
PNG plots into ``--out`` and prints a summary (or the JSON with ``--json``). Exit status 0 on
success, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from petaport.simulator import cluster as clusters
from petaport.simulator import traces
from petaport.simulator.model import ClusterSpec, Trace
from petaport.simulator.policies import (
    POLICY_NAMES,
    PolicyConfigError,
    PolicyPlan,
    load_plan,
    make_plan,
)
from petaport.simulator.progress import progress_bars, wanted
from petaport.simulator.report import to_json, write_report
from petaport.simulator.simulation import simulate

FORMATS = ("philly", "alibaba", "csv", "synthetic")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="petaport simulate", description=__doc__)
    p.add_argument("--trace", type=Path, help="trace file (a directory for alibaba)")
    p.add_argument("--format", choices=FORMATS, default="philly", dest="trace_format")
    p.add_argument("--columns", help="csv: field=column pairs, e.g. submit=ts,duration=d,gpus=g")
    p.add_argument("--limit", type=int, help="replay only the first N jobs")
    p.add_argument("--cluster", type=Path, help="cluster YAML (node pools)")
    p.add_argument("--load", type=float, default=0.8, help="size the cluster for this load")
    p.add_argument("--gpus-per-node", type=int, default=8)
    p.add_argument("--gpu-model", help="GPU model of a sized cluster")
    p.add_argument("--scale", default="1.0", help="capacity scale, e.g. x2.3")
    p.add_argument("--policy-config", type=Path, help="policy YAML")
    p.add_argument("--policies", default=",".join(POLICY_NAMES))
    p.add_argument("--walltime-factor", type=float, default=None)
    p.add_argument("--walltime-round", choices=("pow2", "none"), default=None)
    p.add_argument("--jobs", type=int, default=10_000, help="synthetic: number of jobs")
    p.add_argument("--seed", type=int, default=0, help="synthetic: random seed")
    p.add_argument("--gpus", type=int, default=512, help="synthetic: cluster GPUs")
    p.add_argument("--tenants", type=int, default=8, help="synthetic: tenants")
    p.add_argument("--out", type=Path, default=Path("simulation-report"))
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--json", action="store_true", help="print the report JSON to stdout")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    return p


def load_trace(args: argparse.Namespace) -> Trace:
    if args.trace_format == "synthetic":
        spec = traces.SyntheticSpec(args.jobs, args.seed, args.gpus, args.load, args.tenants)
        return traces.synthetic_trace(spec)
    if args.trace is None:
        raise FileNotFoundError("--trace is required for this format")
    if args.trace_format == "philly":
        return traces.load_philly(args.trace)
    if args.trace_format == "alibaba":
        return traces.load_alibaba(args.trace)
    return traces.load_generic_csv(args.trace, traces.parse_mapping(args.columns or ""))


def load_cluster(args: argparse.Namespace, trace: Trace) -> tuple[ClusterSpec, dict[str, Any]]:
    context: dict[str, Any] = {}
    if args.cluster is not None:
        spec = clusters.load_cluster(args.cluster)
    elif args.trace_format == "alibaba":
        spec = traces.load_alibaba_cluster(args.trace)
    elif args.trace_format == "synthetic":
        spec = clusters.homogeneous(
            "synthetic", -(-args.gpus // args.gpus_per_node), args.gpus_per_node, args.gpu_model
        )
    else:
        nodes, formula = clusters.nodes_for_load(trace, args.load, args.gpus_per_node)
        spec = clusters.homogeneous(
            f"sized-load-{args.load:g}", nodes, args.gpus_per_node, args.gpu_model
        )
        context["sizing"] = formula
    factor = clusters.parse_scale(args.scale)
    context["capacity_scale"] = factor
    return clusters.scale_cluster(spec, factor), context


def load_policies(args: argparse.Namespace) -> PolicyPlan:
    base = load_plan(args.policy_config) if args.policy_config else None
    names = tuple(n.strip() for n in args.policies.split(",") if n.strip())
    first = base.policies[0] if base else None
    return make_plan(
        tuple(p.name for p in base.policies)
        if base and args.policies == ",".join(POLICY_NAMES)
        else names,
        args.walltime_factor or (first.walltime_factor if first else 1.0),
        args.walltime_round or (first.walltime_round if first else "pow2"),
        first.core if first else None,
    )


def run_cli(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        trace = load_trace(args).head(args.limit)
        cluster, context = load_cluster(args, trace)
        plan = load_policies(args)
    except (OSError, ValueError, KeyError, PolicyConfigError) as bad:
        print(f"petaport simulate: {bad}", file=sys.stderr)
        return 2
    with progress_bars(wanted(args.progress)) as bar:
        sim = simulate(trace, cluster, plan, context, bar)
    write_report(sim.report, args.out, with_plots=not args.no_plots)
    if args.json:
        sys.stdout.write(to_json(sim.report))
    else:
        print(summary_text(sim.report, args.out))
    return 0


def summary_text(report: dict[str, Any], out: Path) -> str:
    lines = [
        f"{'policy':<15}{'avg JCT (s)':>14}{'p99 JCT (s)':>14}{'avg wait (s)':>14}"
        f"{'util':>7}{'Jain':>7}"
    ]
    for name, f in report["policies"].items():
        lines.append(
            f"{name:<15}{f['avg_jct_s']:>14,.0f}{f['p99_jct_s']:>14,.0f}"
            f"{f['avg_wait_s']:>14,.0f}{f['utilisation']:>7.3f}{f['jain_fairness']:>7.3f}"
        )
    return "\n".join([*lines, f"report: {out / 'report.md'}"])


def main() -> None:  # pragma: no cover - `python -m petaport.simulator.cli`
    raise SystemExit(run_cli())


if __name__ == "__main__":  # pragma: no cover
    main()
