"""The test cluster itself: nodes, fake GPUs, accounting, reuse."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.slurm_cluster import CPU_NODE, GPU_NODES, SCRIPT, SlurmCluster


def test_the_cluster_has_two_gpu_nodes_and_a_cpu_node(slurm_cluster: SlurmCluster) -> None:
    lines = slurm_cluster.run("sinfo", "-h", "-N", "-o", "%N %G").split("\n")
    nodes = dict(line.split(" ", 1) for line in lines if line)

    assert set(nodes) == {*GPU_NODES, CPU_NODE}
    assert all(nodes[n] == "gpu:H800:8" for n in GPU_NODES)
    assert nodes[CPU_NODE] == "(null)"


def test_accounting_knows_the_cluster(slurm_cluster: SlurmCluster) -> None:
    clusters = slurm_cluster.run("sacctmgr", "-n", "-P", "list", "cluster", "format=cluster")

    assert "petaport" in clusters.split()


@pytest.mark.slow
def test_start_again_reuses_the_running_cluster_quickly(slurm_cluster: SlurmCluster) -> None:
    began = time.monotonic()
    done = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, check=False)

    assert done.returncode == 0, done.stderr
    assert time.monotonic() - began < 5
    assert "up:" not in done.stderr  # nothing was started
