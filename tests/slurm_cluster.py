"""The single-host Slurm test cluster as a session fixture (``scripts/slurm-test-cluster.sh``).

The script installs and starts Slurm 22.05 (slurmdbd on MariaDB, nodes gpu1 and gpu2 with 8 fake
H800 GPUs each, cpu1 without GPUs), or reuses the cluster it already started. When it cannot
start, slurm tests are skipped on a developer machine but FAIL under CI (``CI=true``) or
``PETAPORT_REQUIRE_SLURM=1`` (``make test`` sets it): the slurm run is required there.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "slurm-test-cluster.sh"
STATE_DIR = Path(os.environ.get("PETAPORT_SLURM_DIR", "/tmp/petaport-slurm"))
REQUIRE_SLURM = os.environ.get("CI") == "true" or os.environ.get("PETAPORT_REQUIRE_SLURM") == "1"
GPU_NODES = ("gpu1", "gpu2")
CPU_NODE = "cpu1"
GPUS_PER_NODE = 8
GPU_MODEL = "H800"
SLURM_CONF = STATE_DIR / "etc" / "slurm.conf"


@dataclass(frozen=True)
class SlurmCluster:
    conf: Path  # SLURM_CONF for every client command

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *argv: str) -> str:
        """Run a Slurm client command against the test cluster; its stdout."""
        done = subprocess.run(
            argv, env=self.env(), capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout


@pytest.fixture(scope="session")
def slurm_cluster() -> SlurmCluster:
    """The test cluster, started (or reused) by the script; skipped or failed when impossible."""
    problem = ""
    if os.geteuid() != 0 and subprocess.run(["sudo", "-n", "true"], check=False).returncode:
        problem = "starting the Slurm test cluster needs root or passwordless sudo"
    else:
        done = subprocess.run(
            [str(SCRIPT), "start"], capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode:
            problem = f"the Slurm test cluster did not start:\n{done.stdout}\n{done.stderr}"
    if problem:
        if REQUIRE_SLURM:
            pytest.fail(problem)
        pytest.skip(problem)
    return SlurmCluster(conf=SLURM_CONF)
