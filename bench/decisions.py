"""Digests of the scheduler's decisions, for speed work that must change none of them.

Two kinds of cases, under all four policies (and the default policy blind to walltimes):
- replays: Philly's first 3,000 and 20,000 jobs (clusters sized for load 0.8, as
  ``bench/policies.py``), a seeded synthetic trace, and a mixed trace with shares of a GPU, QoS
  tiers, preemption and missing walltimes: every job's starts, end, preemptions, lost GPU time
  and allocations, and the replay's totals;
- live cycles: ``bench/scale.py`` snapshots at its three sizes, several seeds: every start with
  its allocations, every preemption, every pending reason and every reservation.

    .venv/bin/python bench/decisions.py --save before.json   # on the old code
    .venv/bin/python bench/decisions.py --check before.json  # on the new: exit 1 on a difference
    .venv/bin/python bench/decisions.py --quick ...          # fewer cases (about 10 s)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from petaport import corebuild
from petaport.scheduler import Decisions, Snapshot, config_for, schedule
from petaport.simulator.cluster import homogeneous, nodes_for_load
from petaport.simulator.engine import Replay
from petaport.simulator.model import ClusterSpec, Trace, TraceJob, make_trace
from petaport.simulator.policies import POLICY_NAMES, SimPolicy, make_plan
from petaport.simulator.traces import SyntheticSpec, load_philly, synthetic_trace
from scale import SIZES, snapshot

PHILLY = Path(__file__).resolve().parents[2] / "shared/traces/philly_pollux/philly.csv"
SEEDS = ((0, 1, 2, 3, 7), (0, 3, 5), (0, 2, 4, 9))  # per scale.py size


@dataclass(frozen=True)
class RecordedWalltimes(SimPolicy):
    """The default policy as ``bench/policies.py`` runs it: only the trace's walltimes."""

    def walltime_s(self, duration_s: float, recorded_s: float | None) -> float | None:
        return recorded_s


def policies() -> Iterator[SimPolicy]:
    for p in make_plan(POLICY_NAMES).policies:
        yield p
        if p.name == "default":
            yield RecordedWalltimes(p.name, p.walltime_factor, p.walltime_round, p.core)


def mixed() -> Trace:
    base = synthetic_trace(SyntheticSpec(jobs=3000, seed=7, gpus=64, load=1.1, tenants=6))
    jobs = [
        TraceJob(
            j.id,
            j.submit_s,
            j.duration_s,
            j.gpus,
            j.tenant,
            gpu_milli=(250, 500, 600)[i % 3] if i % 7 == 0 and j.gpus == 1 else 1000,
            walltime_s=j.walltime_s if i % 5 else None,
            qos=("preemptible", "on-demand", "reserved")[i % 3],
        )
        for i, j in enumerate(base.jobs)
    ]
    return make_trace("mixed", base.start, jobs)


def traces(quick: bool) -> Iterator[tuple[str, Trace, ClusterSpec]]:
    philly = load_philly(PHILLY)
    for n in (3000,) if quick else (3000, 20000):
        head = philly.head(n)
        nodes, _ = nodes_for_load(head, 0.8, 8)
        yield f"philly{n}", head, homogeneous("p", nodes, 8)
    synthetic = synthetic_trace(SyntheticSpec(jobs=5000, seed=11, gpus=128, load=0.9, tenants=8))
    yield "synthetic", synthetic, homogeneous("s", 16, 8)
    yield "mixed", mixed(), homogeneous("m", 8, 8)


def replay_digest(trace: Trace, cluster: ClusterSpec, policy: SimPolicy) -> str:
    replay = Replay(trace, cluster, policy)
    result = replay.run()
    h = hashlib.sha256()
    for j in replay.jobs:
        h.update(repr((j.index, j.first_start_s, j.start_s, j.end_s, j.preemptions,
                       j.lost_gpu_s, j.unschedulable, j.allocs, j.milli)).encode())  # fmt: skip
    h.update(repr((result.busy_gpu_s, result.fragmented_gpu_s, result.queued_s,
                   result.series)).encode())  # fmt: skip
    return h.hexdigest()


def cycle_digest(d: Decisions) -> str:
    h = hashlib.sha256()
    for part in (d.starts, sorted(d.waits.items()), d.preemptions, d.reservations):
        h.update(repr(list(part)).encode() + b"|")
    return h.hexdigest()


def digests(quick: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, trace, cluster in traces(quick):
        for policy in policies():
            label = policy.name + ("/recorded" if isinstance(policy, RecordedWalltimes) else "")
            out[f"replay/{name}/{label}"] = replay_digest(trace, cluster, policy)
            print(f"replay/{name}/{label}", file=sys.stderr, flush=True)
    for size, seeds in zip(SIZES, SEEDS, strict=True):
        for seed in seeds[:1] if quick else seeds:
            snap = snapshot(size, seed)
            for name in POLICY_NAMES:
                config = config_for(name)
                s = Snapshot(snap.now, snap.nodes, snap.pending, snap.running, snap.quotas,
                             snap.usage, snap.exhausted_projects, config=config)  # fmt: skip
                out[f"cycle/{size.pending}/{seed}/{name}"] = cycle_digest(schedule(s))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--save", type=Path, help="write the digests to this file")
    p.add_argument("--check", type=Path, help="compare with digests saved before")
    p.add_argument("--quick", action="store_true", help="fewer cases")
    args = p.parse_args()
    found = digests(args.quick)
    print(f"{len(found)} cases, scheduler core {corebuild.describe()}")
    if args.save:
        args.save.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    if args.check:
        saved = json.loads(args.check.read_text())
        differ = sorted(k for k in found if saved.get(k) != found[k])
        for key in differ:
            print(f"DIFFERENT: {key}")
        print("decisions: " + ("identical" if not differ else f"{len(differ)} cases differ"))
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
