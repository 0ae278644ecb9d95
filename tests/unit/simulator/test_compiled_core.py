"""The compiled scheduler core decides exactly as its sources (``petaport.corebuild``).

The same replays run twice in fresh processes: once as installed (compiled where built) and
once from a copy of the package without the compiled files (interpreted). Every job's start,
end, preemptions and allocations must be equal. Replays cover the four policies, a Philly slice,
an Alibaba slice (GPU models, fractional GPUs) and a mixed trace with QoS tiers and preemption.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from petaport import corebuild

SRC = Path(corebuild.__file__).resolve().parents[1]

DRIVER = """
import hashlib, json, sys
from pathlib import Path
from petaport import corebuild
from petaport.simulator.cluster import homogeneous
from petaport.simulator.engine import Replay
from petaport.simulator.model import TraceJob, make_trace
from petaport.simulator.policies import POLICY_NAMES, SimPolicy
from petaport.simulator.traces import (
    SyntheticSpec, load_alibaba, load_alibaba_cluster, load_philly, synthetic_trace,
)

philly_csv, alibaba_dir = Path(sys.argv[1]), Path(sys.argv[2])
jobs = synthetic_trace(SyntheticSpec(jobs=400, seed=5, gpus=16, load=1.3, tenants=5))
mixed = make_trace("mixed", jobs.start, [
    TraceJob(j.id, j.submit_s, j.duration_s, j.gpus, j.tenant, walltime_s=j.walltime_s,
             qos=("preemptible", "on-demand", "reserved")[i % 3])
    for i, j in enumerate(jobs.jobs)
])
cases = [
    ("philly", load_philly(philly_csv, max_rows=1500), homogeneous("philly", 6, 8)),
    ("alibaba", load_alibaba(alibaba_dir, max_rows=1500), load_alibaba_cluster(alibaba_dir)),
    ("mixed", mixed, homogeneous("sixteen", 2, 8)),
]
out = {"core": corebuild.describe()}
for name, trace, cluster in cases:
    for policy in POLICY_NAMES:
        result = Replay(trace, cluster, SimPolicy(policy)).run()
        digest = hashlib.sha256(repr(result.outcomes).encode()).hexdigest()
        out[f"{name}/{policy}"] = [len(result.outcomes), result.core_calls, digest]
print(json.dumps(out))
"""


def _replays(pythonpath: Path | None) -> dict[str, object]:
    from tests.unit.simulator.builders import ALIBABA, PHILLY

    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(PHILLY), str(ALIBABA)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _sources_only(tmp_path: Path) -> Path:
    """A copy of the ``petaport`` package with every compiled file left out."""
    root = tmp_path / "src"
    shutil.copytree(SRC / "petaport", root / "petaport", ignore=shutil.ignore_patterns("*.so"))
    return root


def test_compiled_core_decides_exactly_as_its_sources(tmp_path: Path) -> None:
    if corebuild.describe() != "compiled":
        pytest.skip(f"the core is {corebuild.describe()} here (make core compiles it)")
    compiled = _replays(None)
    interpreted = _replays(_sources_only(tmp_path))
    assert compiled.pop("core") == "compiled"
    assert interpreted.pop("core") == "interpreted"
    assert compiled == interpreted
    assert all(entry[0] > 0 for entry in compiled.values())  # type: ignore[index]


def test_a_changed_source_makes_its_compiled_copy_stale(tmp_path: Path) -> None:
    """``stale()`` compares each compiled copy with its source's digest at build time."""
    package = tmp_path / "petaport"
    (package / "scheduler").mkdir(parents=True)
    (package / "simulator").mkdir()
    module = package / "scheduler" / "policy.py"
    module.write_text("X = 1\n")
    stamp = {"sources": {"petaport.scheduler.policy": corebuild.digest_file(module)}}
    (package / ".core-build.json").write_text(json.dumps(stamp))
    (package / "scheduler" / "policy.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    assert corebuild.stale(package) == []
    module.write_text("X = 2\n")
    assert corebuild.stale(package) == ["petaport.scheduler.policy"]
