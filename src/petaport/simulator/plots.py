"""PNG plots of a report (matplotlib, Agg backend): JCT CDF per policy, utilisation over time,
average wait per tenant. Reads only the report dictionary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

_META = {"Software": None}  # no version stamp: the same report gives the same bytes


def _jct_cdf(report: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, series in report["series"].items():
        points = series["jct_cdf"]
        ax.plot([max(p[0], 1.0) for p in points], [p[1] for p in points], label=name)
    ax.set_xscale("log")
    ax.set_xlabel("job completion time (s)")
    ax.set_ylabel("fraction of jobs")
    ax.set_title("JCT CDF per policy")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=_META)
    plt.close(fig)


def _utilisation(report: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, series in report["series"].items():
        points = series["utilisation"]
        ax.plot([p[0] / 24 for p in points], [p[1] for p in points], label=name)
    ax.set_xlabel("time since first submission (days)")
    ax.set_ylabel("GPU utilisation")
    ax.set_ylim(0, 1.05)
    ax.set_title("Utilisation over time")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=_META)
    plt.close(fig)


def _wait_per_tenant(report: dict[str, Any], path: Path) -> None:
    policies = report["policies"]
    tenants = sorted({t for p in policies.values() for t in p["tenants"]})
    width = 0.8 / max(len(policies), 1)
    fig, ax = plt.subplots(figsize=(max(7, 0.6 * len(tenants) + 2), 4.5))
    for k, (name, figures) in enumerate(policies.items()):
        waits = [figures["tenants"].get(t, {}).get("avg_wait_s", 0) / 3600 for t in tenants]
        ax.bar([i + k * width for i in range(len(tenants))], waits, width, label=name)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(tenants))], tenants, rotation=45)
    ax.set_ylabel("average wait (h)")
    ax.set_title("Average queueing delay per tenant")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=_META)
    plt.close(fig)


def write_plots(report: dict[str, Any], out_dir: Path) -> list[Path]:
    paths = [out_dir / "jct_cdf.png", out_dir / "utilisation.png", out_dir / "wait_per_tenant.png"]
    for draw, path in zip((_jct_cdf, _utilisation, _wait_per_tenant), paths, strict=True):
        draw(report, path)
    return paths
