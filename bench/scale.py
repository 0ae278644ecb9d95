"""How one live scheduling cycle scales: p50/p95 of ``schedule(snapshot)`` at three sizes.

The largest size is the issue's target: 10,000 GPUs, 1,000 tenants, 100,000 pending jobs
(under 100 ms p95). Each size is a busy centre in steady state, as a 100,000-job queue implies:
8-GPU nodes of two models; about 99% of GPUs held by running jobs with walltimes and predicted
ends (a cycle sees what finished since the last one; EASY backfill computes a reservation); a
nominal quota per tenant with borrowing, borrowed and preemptible work running (so preemption
is considered); decayed usage for fair share; a few projects out of budget; a queue mixing 1-64
GPU jobs, fractional GPUs, CPU-only jobs and all QoS tiers, with walltimes and (70%)
predictions. Every cycle gets a fresh snapshot (other nodes free, time moved on); only
``schedule`` is timed, as wall time and as CPU time of this process (the second is what a
loaded machine distorts least).

The replay figures run the simulator (default policy) on the seeded synthetic trace
(``SyntheticSpec``, load 0.8, 100 tenants) on a homogeneous cluster of 8-GPU nodes: three small
sizes for how replay cost grows with jobs and GPUs, then the issue's million-job figure
(1,000,000 jobs on 25,000 GPUs, target under 5 minutes). The million-job replay stops after
``--replay-limit-s`` seconds of CPU time; ``million_job_replay_s`` is then null and
``million_job_done`` / ``million_job_cpu_s`` say how far it got (nothing is extrapolated).

    .venv/bin/python bench/scale.py            # tables
    .venv/bin/python bench/scale.py --json     # {"cycle_p95_ms": ..., "million_job_replay_s": ...}
    .venv/bin/python bench/scale.py --quick    # small sizes, no million-job replay (smoke run)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from petaport import corebuild
from petaport.domain.jobs import Allocation, QosTier
from petaport.scheduler import (
    NodeState,
    PendingJob,
    Quota,
    RunningJob,
    Snapshot,
    Usage,
    schedule,
)
from petaport.simulator.cluster import homogeneous
from petaport.simulator.engine import Replay
from petaport.simulator.policies import make_plan
from petaport.simulator.traces.synthetic import SyntheticSpec, synthetic_trace

T0 = datetime(2026, 3, 1, tzinfo=UTC)
GPN = 8
MODELS = ("H800", "H100 80GB HBM3")
QOS = (QosTier.RESERVED, QosTier.ON_DEMAND, QosTier.ON_DEMAND, QosTier.PREEMPTIBLE)
SHAPES = ((1, 1), (1, 1), (1, 1), (2, 1), (4, 1), (8, 1), (8, 2), (8, 4), (8, 8))
CPG = 8  # CPUs per GPU: a node's CPUs go with its GPUs
SPARE = 0.08  # nodes with one GPU free: about 1% of GPUs, what a 0.5 s cycle finds freed


@dataclass(frozen=True)
class Size:
    gpus: int
    tenants: int
    pending: int


SIZES = (Size(1_000, 100, 10_000), Size(5_000, 500, 50_000), Size(10_000, 1_000, 100_000))
QUICK_SIZES = (Size(200, 20, 2_000), Size(500, 50, 5_000), Size(1_000, 100, 10_000))
REPLAYS = ((2_000, 1_000), (4_000, 2_000), (8_000, 4_000))  # (jobs, GPUs)
QUICK_REPLAYS = ((200, 200), (400, 400), (800, 800))
MILLION = (1_000_000, 25_000)


def _tenant(rng: random.Random, tenants: int) -> tuple[str, str]:
    t = min(int(rng.paretovariate(1.2)) - 1, tenants - 1)  # a few big tenants, a long tail
    t = rng.randrange(tenants) if rng.random() < 0.5 else t
    return f"org_{t:04d}", f"prj_{t:04d}"


def _held(
    rng: random.Random, size: Size, now: datetime, name: str, gpus: tuple[int, ...]
) -> RunningJob:
    org, prj = _tenant(rng, size.tenants)
    walltime = rng.choice((3_600.0, 14_400.0, 86_400.0, 172_800.0))
    started = now - timedelta(seconds=rng.uniform(0, walltime))
    left = (started + timedelta(seconds=walltime) - now).total_seconds()
    take = len(gpus)
    return RunningJob(
        f"run_{name}_{gpus[0]}", org, prj, rng.choice(QOS), started,
        (Allocation(name, gpus, CPG * take, 32_000 * take),), walltime,
        now + timedelta(seconds=left * rng.uniform(0.2, 1.0)), borrowing=rng.random() < 0.3,
    )  # fmt: skip


def _running(
    rng: random.Random, size: Size, now: datetime
) -> tuple[list[NodeState], list[RunningJob]]:
    nodes: list[NodeState] = []
    running: list[RunningJob] = []
    for n in range(size.gpus // GPN):
        name, model = f"node-{n:05d}", MODELS[n % 2]
        free = list(range(GPN))
        while len(free) > (1 if rng.random() < SPARE else 0):
            take = min(len(free), rng.choice((1, 2, 4, 8)))
            running.append(_held(rng, size, now, name, tuple(free[:take])))
            free = free[take:]
        used = GPN - len(free)
        nodes.append(
            NodeState(name, "pool-" + model.split()[0], model, GPN, tuple(free), CPG * GPN,
                      CPG * len(free), 1_024_000, 1_024_000 - 32_000 * used)
        )  # fmt: skip
    return nodes, running


def _pending(rng: random.Random, size: Size, now: datetime) -> list[PendingJob]:
    jobs: list[PendingJob] = []
    for i in range(size.pending):
        org, prj = _tenant(rng, size.tenants)
        gpus, nodes = rng.choice(SHAPES)
        roll = rng.random()
        milli = rng.choice((250, 500)) if roll < 0.05 else 0  # 5% fractional
        gpus = 0 if 0.05 <= roll < 0.08 else gpus  # 3% CPU-only
        duration = rng.lognormvariate(8.0, 1.5)
        jobs.append(
            PendingJob(
                f"job_{i:07d}", org, prj, 0, rng.choice(QOS),
                now - timedelta(seconds=rng.uniform(0, 5 * 86_400)), gpus, nodes,
                CPG * max(gpus, 1), 32_000 * max(gpus, 1), rng.choice((None, None, "H800", "h100")),
                gpu_milli=milli, walltime_s=rng.choice((3_600.0, 14_400.0, 86_400.0)),
                predicted_duration_s=duration if rng.random() < 0.7 else None,
            )
        )  # fmt: skip
    return jobs


def snapshot(size: Size, seed: int) -> Snapshot:
    rng = random.Random(seed)
    now = T0 + timedelta(minutes=seed)
    nodes, running = _running(rng, size, now)
    share = size.gpus * 0.8 / size.tenants
    quotas = tuple(
        Quota(f"org_{t:04d}", f"prj_{t:04d}", None, round(share, 1), borrowing_limit_gpus=share * 4)
        for t in range(size.tenants)
    )
    usage = tuple(
        Usage(f"org_{t:04d}", f"prj_{t:04d}", rng.uniform(0, 1e6), now - timedelta(hours=1))
        for t in range(size.tenants)
    )
    broke = frozenset(f"prj_{t:04d}" for t in range(0, size.tenants, 97))
    return Snapshot(now, tuple(nodes), tuple(_pending(rng, size, now)), tuple(running), quotas,
                    usage, broke)  # fmt: skip


def measure(size: Size, cycles: int) -> dict[str, float]:
    wall: list[float] = []
    cpu: list[float] = []
    starts = preemptions = 0
    for seed in range(cycles):
        snap = snapshot(size, seed)
        began, began_cpu = time.perf_counter(), time.process_time()
        decisions = schedule(snap)
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
        starts += len(decisions.starts)
        preemptions += len(decisions.preemptions)
    return {
        "gpus": size.gpus,
        "tenants": size.tenants,
        "pending": size.pending,
        "cycle_p50_ms": round(statistics.median(wall), 1),
        "cycle_p95_ms": _p95(wall),
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "cpu_p95_ms": _p95(cpu),
        "starts_per_cycle": round(starts / cycles, 1),
        "preemptions_per_cycle": round(preemptions / cycles, 1),
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1)


class OutOfTime(Exception):
    """The replay ran past its CPU-time limit."""


def replay_row(jobs: int, gpus: int, limit_s: float = float("inf")) -> dict[str, float | None]:
    """Replay ``jobs`` synthetic jobs on ``gpus`` GPUs (default policy): CPU and wall seconds
    of the replay alone (trace generation excluded); ``replay_s`` is None past ``limit_s``."""
    trace = synthetic_trace(SyntheticSpec(jobs=jobs, seed=1, gpus=gpus, tenants=100))
    policy = make_plan(("default",)).policies[0]
    replay = Replay(trace, homogeneous(f"synthetic-{gpus}", gpus // GPN, GPN), policy)
    began, began_cpu = time.perf_counter(), time.process_time()
    done = [0]

    def tick(finished: int) -> None:
        done[0] = finished
        if time.process_time() - began_cpu > limit_s:
            raise OutOfTime

    finished = True
    try:
        result = replay.run(tick)
        done[0] = len(result.outcomes)
    except OutOfTime:
        finished = False
    cpu = time.process_time() - began_cpu
    wall = time.perf_counter() - began
    return {
        "jobs": jobs,
        "gpus": gpus,
        "replay_s": round(cpu, 1) if finished else None,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "jobs_done": done[0],
        "jobs_per_cpu_s": round(done[0] / cpu, 1) if cpu else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cycles", type=int, default=20, help="cycles per size")
    parser.add_argument("--quick", action="store_true", help="small sizes, no million-job run")
    parser.add_argument("--million-jobs", type=int, default=MILLION[0], help="0: skip it")
    parser.add_argument("--replay-limit-s", type=float, default=900.0,
                        help="CPU seconds after which the million-job replay stops")  # fmt: skip
    args = parser.parse_args(argv)
    sizes, replays = (QUICK_SIZES, QUICK_REPLAYS) if args.quick else (SIZES, REPLAYS)
    cycles = min(args.cycles, 3) if args.quick else args.cycles
    rows = [measure(size, cycles) for size in sizes]
    grow = [replay_row(jobs, gpus) for jobs, gpus in replays]
    million = None
    if args.million_jobs and not args.quick:
        million = replay_row(args.million_jobs, MILLION[1], args.replay_limit_s)
    load = os.getloadavg()[0]
    if args.json:
        out = {
            "cycle_p95_ms": rows[-1]["cycle_p95_ms"],
            "million_job_replay_s": million["replay_s"] if million else None,
        }
        if million:
            out |= {"million_job_done": million["jobs_done"], "million_job_cpu_s": million["cpu_s"]}
        extra = {
            "load_average": round(load, 2),
            "core": corebuild.describe(),
            "sizes": rows,
            "replays": grow,
            "million": million,
        }
        print(json.dumps(out | extra))
        return
    print(f"{'GPUs':>7} {'tenants':>8} {'pending':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'cpu p50':>8} {'cpu p95':>8} {'starts':>7} {'preempt':>8}")  # fmt: skip
    for r in rows:
        print(f"{r['gpus']:>7} {r['tenants']:>8} {r['pending']:>8} {r['cycle_p50_ms']:>8} "
              f"{r['cycle_p95_ms']:>8} {r['cpu_p50_ms']:>8} {r['cpu_p95_ms']:>8} "
              f"{r['starts_per_cycle']:>7} {r['preemptions_per_cycle']:>8}")  # fmt: skip
    print(f"\n{'jobs':>9} {'GPUs':>7} {'replay s':>9} {'wall s':>8} {'jobs/CPU s':>11}")
    for r in [*grow, *([million] if million else [])]:
        shown = "-" if r["replay_s"] is None else r["replay_s"]
        print(f"{r['jobs']:>9} {r['gpus']:>7} {shown:>9} {r['wall_s']:>8} "
              f"{r['jobs_per_cpu_s']:>11}")  # fmt: skip
    if million and million["replay_s"] is None:
        print(f"million-job replay stopped after {million['cpu_s']} CPU s with "
              f"{million['jobs_done']} jobs done (--replay-limit-s)")  # fmt: skip
    print(f"(load average {load:.2f} on {os.cpu_count()} CPUs while measuring; "
          f"scheduler core {corebuild.describe()})")  # fmt: skip


if __name__ == "__main__":
    main()
