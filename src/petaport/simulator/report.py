"""The simulation report: one JSON document, a Markdown rendering and (optionally) PNG plots.

The JSON holds no wall-clock figures and its keys are sorted, so the same inputs and seed give
byte-identical files.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from petaport.simulator import metrics
from petaport.simulator.model import ClusterSpec, Trace
from petaport.simulator.outcome import ReplayResult
from petaport.simulator.policies import PolicyPlan

HEADLINE = (
    ("avg_jct_s", "avg JCT (s)"),
    ("median_jct_s", "median JCT (s)"),
    ("p95_jct_s", "p95 JCT (s)"),
    ("p99_jct_s", "p99 JCT (s)"),
    ("avg_wait_s", "avg wait (s)"),
    ("p99_wait_s", "p99 wait (s)"),
    ("avg_bounded_slowdown", "bounded slowdown"),
    ("utilisation", "utilisation"),
    ("makespan_s", "makespan (s)"),
    ("jain_fairness", "Jain fairness"),
    ("fragmented_gpus_avg", "fragmented GPUs (avg)"),
    ("preemptions", "preemptions"),
    ("gpu_hours_lost", "GPU-h lost"),
)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def build_report(
    trace: Trace,
    cluster: ClusterSpec,
    plan: PolicyPlan,
    results: list[ReplayResult],
    context: dict[str, Any],
) -> dict[str, Any]:
    """``context`` carries what the caller knows: capacity scale, sizing formula, features."""
    span = max(trace.span_s, 1.0)
    report = {
        "trace": {
            "name": trace.name,
            "jobs": len(trace.jobs),
            "tenants": len(trace.tenants),
            "start": trace.start.isoformat(),
            "span_s": trace.span_s,
            "total_gpu_hours": trace.total_gpu_s / 3600,
            "offered_load": trace.total_gpu_s / span / max(cluster.total_gpus, 1),
            "citation": trace.citation,
        },
        "cluster": {
            "name": cluster.name,
            "total_gpus": cluster.total_gpus,
            "nodes": cluster.total_nodes,
            "pools": [dataclasses.asdict(p) for p in cluster.pools],
        },
        "policy_config": {
            "walltime_factor": plan.policies[0].walltime_factor,
            "walltime_round": plan.policies[0].walltime_round,
            "core": plan.policies[0].core,
        },
        "context": context,
        "policies": {r.policy: metrics.summary(r, cluster.entitlements) for r in results},
        "series": {
            r.policy: {"utilisation": metrics.utilisation_series(r), "jct_cdf": metrics.jct_cdf(r)}
            for r in results
        },
    }
    return dict(_rounded(report))


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, sort_keys=True, indent=2) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return "-" if value is None else str(value)


def _policy_table(policies: dict[str, Any]) -> list[str]:
    names = list(policies)
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key, label in HEADLINE:
        lines.append(f"| {label} | " + " | ".join(_cell(policies[n][key]) for n in names) + " |")
    return lines


def _ratios(policies: dict[str, Any]) -> list[str]:
    if "default" not in policies:
        return []
    mine = policies["default"]["avg_jct_s"]
    out = ["", "Average JCT of `default` against each baseline:", ""]
    for name, figures in policies.items():
        if name != "default" and figures["avg_jct_s"]:
            out.append(f"- / `{name}`: {mine / figures['avg_jct_s']:.3f}")
    return out


def _tenant_table(name: str, tenants: dict[str, Any]) -> list[str]:
    lines = [
        f"### `{name}` per tenant",
        "",
        "| tenant | jobs | GPU-h | share | entitlement | share/entitlement | avg wait (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for tenant, row in tenants.items():
        cells = [
            row["jobs"],
            row["gpu_hours"],
            row["share"],
            row["entitlement"],
            row["share_vs_entitlement"],
            row["avg_wait_s"],
        ]
        lines.append(f"| {tenant} | " + " | ".join(_cell(c) for c in cells) + " |")
    return [*lines, ""]


def to_markdown(report: dict[str, Any], plots: list[str]) -> str:
    trace, cluster = report["trace"], report["cluster"]
    lines = [
        "# Simulation report",
        "",
        f"- Trace: `{trace['name']}`, {trace['jobs']} jobs, {trace['tenants']} tenants, "
        f"span {trace['span_s']:,.0f} s, offered load {trace['offered_load']:.3f}",
        f"- Cluster: `{cluster['name']}`, {cluster['nodes']} nodes, {cluster['total_gpus']} GPUs",
    ]
    lines += [f"- {k}: {v}" for k, v in sorted(report["context"].items())]
    lines += [f"- Citation: {trace['citation']}" if trace["citation"] else "", ""]
    lines += ["## Policies", "", *_policy_table(report["policies"]), *_ratios(report["policies"])]
    lines += ["", "## Tenants", ""]
    for name, figures in report["policies"].items():
        lines += _tenant_table(name, figures["tenants"])
    lines += ["## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out_dir: Path, with_plots: bool = True) -> list[Path]:
    """Write report.json, report.md and the PNG plots into ``out_dir``; the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots: list[Path] = []
    if with_plots:
        from petaport.simulator.plots import write_plots

        plots = write_plots(report, out_dir)
    (out_dir / "report.json").write_text(to_json(report))
    (out_dir / "report.md").write_text(to_markdown(report, [str(p) for p in plots]))
    return [out_dir / "report.json", out_dir / "report.md", *plots]
