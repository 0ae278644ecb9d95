"""Cluster YAML, capacity scaling, sizing for a load, policy YAML and the walltime model."""

from __future__ import annotations

from pathlib import Path

import pytest

from petaport.simulator.cluster import (
    ClusterConfigError,
    homogeneous,
    load_cluster,
    nodes_for_load,
    parse_memory_mb,
    parse_scale,
    scale_cluster,
)
from petaport.simulator.policies import PolicyConfigError, SimPolicy, load_plan, make_plan
from tests.unit.simulator.builders import trace

CLUSTER_YAML = """
name: centre
pools:
  - {name: h100, gpu_model: H100, gpus_per_node: 8, cpus: 112, memory: 2TiB, count: 10}
  - {name: l40, gpu_model: L40S, gpus_per_node: 4, cpus: 64, memory_mb: 524288, count: 3}
entitlements: {lab-a: 2, lab-b: 1}
"""


def test_cluster_yaml_reads_pools_units_and_entitlements(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER_YAML)
    spec = load_cluster(path)
    assert (spec.total_gpus, spec.total_nodes) == (92, 13)
    assert spec.pools[0].memory_mb == 2 * 1024 * 1024
    assert spec.entitlements == {"lab-a": 2.0, "lab-b": 1.0}


@pytest.mark.parametrize(
    "text", ["name: x\n", "pools:\n  - {name: a, gpus_per_node: 8}\n", "- just a list\n"]
)
def test_malformed_cluster_yaml_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    with pytest.raises(ClusterConfigError):
        load_cluster(path)


@pytest.mark.parametrize(
    ("text", "factor"), [("x2.3", 2.3), ("2.3x", 2.3), ("1", 1.0), ("150%", 1.5)]
)
def test_capacity_scale_spellings(text: str, factor: float) -> None:
    assert parse_scale(text) == pytest.approx(factor)


@pytest.mark.parametrize("text", ["x0", "-1", "lots"])
def test_bad_capacity_scales_are_refused(text: str) -> None:
    with pytest.raises(ClusterConfigError):
        parse_scale(text)


def test_scaling_multiplies_node_counts_and_keeps_every_pool(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER_YAML)
    spec = scale_cluster(load_cluster(path), 2.3)
    assert [p.count for p in spec.pools] == [23, 7]  # 3 x 2.3 = 6.9 -> 7
    assert [p.count for p in scale_cluster(spec, 0.01).pools] == [1, 1]


def test_sizing_for_a_load_follows_the_stated_formula() -> None:
    # 2 jobs: 8 GPUs x 1000 s and 4 GPUs x 500 s over a 100 s span: 10,000 GPU-s.
    jobs = trace((0, 1000, 8, "a"), (100, 500, 4, "b"))
    nodes, formula = nodes_for_load(jobs, 0.8, 8)
    assert nodes == 16  # 10,000 / 100 / 0.8 = 125 GPUs -> 16 nodes of 8
    assert "125.0" in formula and "16 nodes x 8 GPUs = 128 GPUs" in formula


def test_memory_sizes() -> None:
    assert parse_memory_mb("512GiB") == 524288
    assert parse_memory_mb(1024) == 1024
    with pytest.raises(ClusterConfigError):
        parse_memory_mb("a lot")


def test_homogeneous_cluster() -> None:
    assert homogeneous("x", 3, 4).total_gpus == 12


@pytest.mark.parametrize(
    ("duration", "rounding", "walltime"),
    [
        (100, "pow2", 900),
        (900, "pow2", 900),
        (901, "pow2", 1800),
        (5000, "pow2", 7200),
        (5000, "none", 5000),
    ],
)
def test_walltime_model(duration: float, rounding: str, walltime: float) -> None:
    assert SimPolicy("fifo", walltime_round=rounding).walltime_s(duration, None) == walltime
    assert SimPolicy("fifo").walltime_s(duration, 42.0) == 42.0  # the trace's own wins


def test_policy_yaml(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("policies: fifo, default\nwalltime_factor: 2\ncore: {half_life_s: 3600}\n")
    plan = load_plan(path)
    assert [p.name for p in plan.policies] == ["fifo", "default"]
    assert plan.policies[1].walltime_factor == 2.0
    assert plan.policies[1].core == {"half_life_s": 3600}
    path.write_text("policies: [lottery]\n")
    with pytest.raises(PolicyConfigError, match="lottery"):
        load_plan(path)


def test_core_options_must_be_policy_config_fields() -> None:
    assert make_plan(("default",), core={"half_life_s": 60.0}).policies[0].core == {
        "half_life_s": 60.0
    }
    with pytest.raises(ValueError, match="unknown core options"):
        make_plan(("default",), core={"wieght_age": 1.0})
