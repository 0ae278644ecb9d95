"""Cross-check: FIFO average JCT of our simulator against the Helios artifact simulator.

The Helios SC'21 artifact (S-Lab-System-Group/HeliosArtifact, "QSSF Service") has an
independent trace-driven simulator with a Philly configuration. This script gives both
simulators the same problem and prints both FIFO average JCTs, their difference and both
replay speeds. Helios runs as a subprocess under its own interpreter (`--python`, a venv with
pandas); its code is imported from the extracted tree given with `--helios`, never copied here.

    # once: fetch and extract the artifact, and a venv for it (outside the repository)
    git clone --depth 1 https://github.com/S-Lab-System-Group/HeliosArtifact /tmp/helios
    python3.11 -m venv /tmp/helios-venv
    /tmp/helios-venv/bin/pip install pandas==2.2.3 numpy==1.26.4

    .venv/bin/python bench/helios.py --helios /tmp/helios --python /tmp/helios-venv/bin/python
    .venv/bin/python bench/helios.py ... --limit 5000 --json

The common problem (see bench/README.md, "Cross-check with the Helios simulator"):

- jobs: philly.csv rows of the VCs that Helios configures (its `data/philly_vc.csv`: 11 VCs;
  the 18 jobs of the 4 others are left out of both), written once as Helios' `cluster_log.csv`
  (`submit_time, duration, gpu_num, vc, jobname, user, state`), which both simulators read.
  Timestamps are shifted by one constant so the first job is at 2017-10-01 00:00:00, because
  Helios' Philly loader keeps only jobs from that instant on; durations are whole seconds >= 1
  (Helios advances a 1 s clock and ends a job when the clock *equals* its end); jobs larger
  than their VC are left out (Helios' FIFO would wait for them forever);
- cluster: one partition per VC, 8 GPUs per node, the node counts of `philly_vc.csv`
  (x `--scale`); ours replays each VC as its own homogeneous cluster;
- policy: strict FIFO, no backfill (Helios `fifo` + `consolidate` placer; our `fifo`);
- JCT: end - submit (queueing included), averaged over all jobs of all VCs in both.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from petaport.simulator.cluster import homogeneous
from petaport.simulator.engine import replay
from petaport.simulator.model import Trace, TraceJob
from petaport.simulator.outcome import JobOutcome
from petaport.simulator.policies import make_plan
from petaport.simulator.traces.generic import load_generic_csv

PHILLY = Path(__file__).resolve().parents[2] / "shared/traces/philly_pollux/philly.csv"
SERVICE = "framework/QSSF Service"  # the simulator inside the artifact tree
HELIOS_START = datetime(2017, 10, 1)  # utils.trace_philly_process drops jobs before this
GPUS_PER_NODE = 8  # Helios' consolidate placer supports only 8-GPU nodes
COLUMNS = "submit=submit_time,duration=duration,gpus=gpu_num,tenant=vc,id=jobname"

HOW_TO_FETCH = """\
bench/helios.py needs an extracted HeliosArtifact tree (--helios) and a Python with pandas
for it (--python). It never downloads anything itself. Once, outside the repository:

    git clone --depth 1 https://github.com/S-Lab-System-Group/HeliosArtifact /tmp/helios
    python3.11 -m venv /tmp/helios-venv
    /tmp/helios-venv/bin/pip install pandas==2.2.3 numpy==1.26.4

then: bench/helios.py --helios /tmp/helios --python /tmp/helios-venv/bin/python
(only its "framework/QSSF Service" directory is used; Helios' large CSVs are not needed)."""

# Our driver for Helios, run by --python inside the artifact's simulator directory. It calls
# Helios' own loader, cluster, FIFO policy, consolidate placer and log concatenation, as its
# simulator.py does for 'Philly', except that the date range is an argument (simulator.py
# hard-codes October-November 2017) and the VC configuration is ours.
DRIVER = r"""
import json, multiprocessing, os, sys, time
service, data, logs, processes, end = sys.argv[1:6]
sys.path.insert(0, service)
os.chdir(service)
import pandas as pd
import cluster, utils

began = time.perf_counter()
trace_df, start_ts = utils.trace_philly_process(data, ("2017-10-01 00:00:00", end))
trace = utils.trace_parser(trace_df)
vc_dict = pd.read_pickle(data + "/vc_dict_homo.pkl")
CLUSTER = cluster.Cluster(vc_dict, 8, 96)
logger = utils.logger_init(file=logs + "/helios")
loaded = time.perf_counter()
with multiprocessing.Pool(processes=int(processes)) as pool:
    runs = [pool.apply_async(utils.simulate_vc,
                             (trace, vc, "consolidate", logs, "fifo", logger, start_ts))
            for vc in CLUSTER.vc_list]
    [r.get() for r in runs]
simulated = time.perf_counter()
utils.cluster_concatenate("fifo", "consolidate", logs, data)
log = pd.read_csv(logs + "/all/fifo_consolidate_all_log.csv", dtype={"vc": str, "jobname": str})
order = {vc: pd.read_csv(f"{logs}/{vc}/fifo_consolidate_{vc}_log.csv",
                         dtype={"jobname": str})["jobname"].tolist() for vc in vc_dict}
log[["jobname", "vc", "submit_time", "start_time", "end_time", "jct"]].to_csv(
    logs + "/jobs.csv", index=False)
print(json.dumps({
    "jobs": int(len(log)),
    "avg_jct_s": float(log["jct"].mean()),
    "avg_queue_s": float(log["queue"].mean()),
    "load_s": loaded - began,
    "replay_wall_s": simulated - loaded,
    "order": order,
}))
"""


@dataclass(frozen=True)
class Prepared:
    directory: Path  # Helios' trace dir: cluster_log.csv and vc_dict_homo.pkl
    nodes: dict[str, int]  # VC -> nodes of 8 GPUs
    jobs: int
    dropped: dict[str, int]  # why -> jobs left out of both
    rounded: int  # durations changed by the whole-second rule
    shift_s: float


def arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--helios", type=Path, help="extracted HeliosArtifact tree")
    p.add_argument("--python", type=Path, help="interpreter of a venv with pandas for Helios")
    p.add_argument("--trace", type=Path, default=PHILLY)
    p.add_argument("--limit", type=int, help="only the first N jobs (submission order)")
    p.add_argument(
        "--scale", type=float, default=1.0, help="multiply every VC's node count (more queueing)"
    )
    p.add_argument("--processes", type=int, help="Helios worker processes (default: its own)")
    p.add_argument("--workdir", type=Path, help="keep inputs and Helios logs here")
    p.add_argument("--timeout-s", type=float, default=3600.0, help="limit for the Helios run")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p.parse_args()


def service_dir(tree: Path) -> Path:
    for candidate in (tree / SERVICE, tree):
        if (candidate / "policies/fifo.py").is_file() and (candidate / "utils.py").is_file():
            return candidate
    raise SystemExit(f"{tree}: not a HeliosArtifact tree (no '{SERVICE}/policies/fifo.py')\n")


def helios_vcs(service: Path, scale: float) -> dict[str, int]:
    """Helios' Philly VC layout (VC -> 8-GPU nodes), from its data/philly_vc.csv."""
    with (service / "data/philly_vc.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {r["vc"]: max(1, math.floor(int(r["node num"]) * scale + 0.5)) for r in rows}


def prepare(trace: Path, nodes: dict[str, int], limit: int | None, out: Path) -> Prepared:
    """Write Helios' cluster_log.csv and vc_dict_homo.pkl for the common problem."""
    with trace.open(newline="") as handle:
        rows = [
            (datetime.fromisoformat(r["timestamp"]), i, r)
            for i, r in enumerate(csv.DictReader(handle))
        ]
    rows.sort(key=lambda x: (x[0], x[1]))  # submission order, file order on ties
    rows = rows[:limit] if limit is not None else rows
    shift = HELIOS_START - rows[0][0]
    dropped: dict[str, int] = defaultdict(int)
    rounded, kept = 0, []
    for submitted, number, r in rows:
        vc, gpus = r["cluster"], int(r["num_gpus"])
        duration = max(1, round(float(r["duration"])))
        if vc not in nodes:
            dropped["vc_not_in_helios_layout"] += 1
        elif gpus > nodes[vc] * GPUS_PER_NODE:
            dropped["larger_than_its_vc"] += 1
        elif gpus < 1:
            dropped["no_gpu"] += 1
        else:
            rounded += duration != float(r["duration"])
            at = (submitted + shift).isoformat(sep=" ")
            kept.append((at, duration, gpus, vc, f"philly-{number}", "u", "Pass"))
    out.mkdir(parents=True, exist_ok=True)
    with (out / "cluster_log.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("submit_time", "duration", "gpu_num", "vc", "jobname", "user", "state"))
        writer.writerows(kept)
    used = {vc: n for vc, n in nodes.items() if any(k[3] == vc for k in kept)}
    with (out / "vc_dict_homo.pkl").open("wb") as handle:
        pickle.dump(used, handle, protocol=4)
    return Prepared(out, used, len(kept), dict(dropped), rounded, shift.total_seconds())


def run_helios(
    python: Path, service: Path, prep: Prepared, work: Path, processes: int, timeout: float
) -> dict[str, Any]:
    logs = work / "helios-log"
    logs.mkdir(parents=True, exist_ok=True)
    script = work / "helios_driver.py"
    script.write_text(DRIVER)
    end = (HELIOS_START + timedelta(days=3650)).isoformat(sep=" ")
    argv = [str(python), str(script), str(service), str(prep.directory), str(logs)]
    env = {**os.environ, "TZ": "UTC", "PYTHONHASHSEED": "0"}  # Helios reads naive times as local
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    with (work / "helios.stderr").open("w") as err:
        done = subprocess.run(
            [*argv, str(processes), end],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        tail = (work / "helios.stderr").read_text()[-2000:]
        raise SystemExit(f"Helios failed (exit {done.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["cpu_s"] = cpu  # the driver and its worker processes
    with (logs / "jobs.csv").open(newline="") as handle:
        result["per_job"] = {r["jobname"]: r for r in csv.DictReader(handle)}
    return result


def run_ours(prep: Prepared, order: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Replay each VC on its own cluster with our fifo; ``order``: per VC, the job order to
    use among equal submission times (default: file order)."""
    began = time.perf_counter()
    trace = load_generic_csv(
        prep.directory / "cluster_log.csv",
        dict(p.split("=") for p in COLUMNS.split(",")),
    )
    loaded, cpu0 = time.perf_counter(), time.process_time()
    by_vc: dict[str, list[TraceJob]] = defaultdict(list)
    for job in trace.jobs:
        by_vc[job.tenant].append(job)
    policy = make_plan(("fifo",)).policies[0]
    outcomes: list[JobOutcome] = []
    unschedulable, per_vc = 0, {}
    for vc, jobs in sorted(by_vc.items()):
        if order is not None:  # stable on submit time: only ties are reordered
            position = {name: i for i, name in enumerate(order.get(vc, []))}
            jobs.sort(key=lambda j: (j.submit_s, position.get(j.id, -1)))
        part = Trace(f"{trace.name}:{vc}", trace.start, tuple(jobs), trace.citation)
        cluster = homogeneous(f"helios-vc-{vc}", prep.nodes[vc], GPUS_PER_NODE)
        result = replay(part, cluster, policy)
        outcomes.extend(result.outcomes)
        unschedulable += result.unschedulable + result.unfinished
        per_vc[vc] = sum(o.jct_s for o in result.outcomes) / max(1, len(result.outcomes))
    wall, cpu = time.perf_counter() - loaded, time.process_time() - cpu0
    return {
        "jobs": len(outcomes),
        "avg_jct_s": sum(o.jct_s for o in outcomes) / len(outcomes),
        "avg_queue_s": sum(o.wait_s for o in outcomes) / len(outcomes),
        "unschedulable_or_unfinished": unschedulable,
        "load_s": loaded - began,
        "replay_wall_s": wall,
        "cpu_s": cpu,
        "per_vc": per_vc,
        "order": {vc: [j.id for j in jobs] for vc, jobs in by_vc.items()},
        "per_job": {o.id: o for o in outcomes},
    }


def compare(helios: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """Per-job agreement: same start, same end; and where the tie order differs."""
    h, o = helios["per_job"], ours["per_job"]
    same_start = sum(1 for k, v in o.items() if k in h and float(h[k]["start_time"]) == v.start_s)
    order = sum(
        1
        for vc, ids in ours["order"].items()
        for a, b in zip(ids, helios["order"].get(vc, []), strict=False)
        if a != b
    )
    h_vc: dict[str, list[float]] = defaultdict(list)
    for k, r in h.items():  # Helios' own concatenation reads VC "6214e9" back as a float
        if k in o:
            h_vc[o[k].tenant].append(float(r["jct"]))
    return {
        "jobs_both": len(set(h) & set(o)),
        "jobs_same_start": same_start,
        "tie_order_differences": order,
        "per_vc_avg_jct_s": {
            vc: {"helios": sum(h_vc[vc]) / len(h_vc[vc]), "ours": ours["per_vc"][vc]}
            for vc in sorted(ours["per_vc"])
            if h_vc.get(vc)
        },
    }


def main() -> int:
    args = arguments()
    if args.helios is None or args.python is None:
        sys.stderr.write(HOW_TO_FETCH + "\n")
        return 2
    service = service_dir(args.helios)
    nodes = helios_vcs(service, args.scale)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="petaport-helios-"))
    prep = prepare(args.trace, nodes, args.limit, work / "input")
    processes = args.processes or min(len(prep.nodes), os.cpu_count() or 1)
    helios = run_helios(args.python, service, prep, work, processes, args.timeout_s)
    ours = run_ours(prep)
    check = compare(helios, ours)
    if check["jobs_same_start"] < check["jobs_both"] and check["tie_order_differences"]:
        # isolate the effect of Helios' (unstable) tie order: ours again, in its order
        again = run_ours(prep, helios["order"])
        again_check = compare(helios, again)
        check["ours_in_helios_tie_order"] = {
            "avg_jct_s": again["avg_jct_s"],
            "difference_pct": (again["avg_jct_s"] / helios["avg_jct_s"] - 1) * 100,
            "jobs_same_start": again_check["jobs_same_start"],
        }
    diff = (ours["avg_jct_s"] / helios["avg_jct_s"] - 1) * 100
    speed = {
        name: {
            "jobs_per_s_wall": r["jobs"] / r["replay_wall_s"],
            "jobs_per_s_wall_end_to_end": r["jobs"] / (r["load_s"] + r["replay_wall_s"]),
            "jobs_per_cpu_s": r["jobs"] / r["cpu_s"],
            "replay_wall_s": r["replay_wall_s"],
            "load_s": r["load_s"],
            "cpu_s": r["cpu_s"],
        }
        for name, r in (("helios", helios), ("ours", ours))
    }
    speed["helios"]["subprocess_wall_s"] = helios["wall_s"]
    summary = {
        "jobs": prep.jobs,
        "dropped": prep.dropped,
        "durations_rounded": prep.rounded,
        "vcs": prep.nodes,
        "cluster_gpus": sum(prep.nodes.values()) * GPUS_PER_NODE,
        "helios_processes": processes,
        "helios_avg_jct_s": helios["avg_jct_s"],
        "ours_avg_jct_s": ours["avg_jct_s"],
        "helios_avg_queue_s": helios["avg_queue_s"],
        "ours_avg_queue_s": ours["avg_queue_s"],
        "ratio": ours["avg_jct_s"] / helios["avg_jct_s"],
        "difference_pct": diff,
        "within_2pct": abs(diff) <= 2.0,
        "ours_unschedulable_or_unfinished": ours["unschedulable_or_unfinished"],
        "speed": speed,
        **check,
        "workdir": str(work),
    }
    if args.json:
        print(json.dumps(summary, sort_keys=True))
        return 0
    report(summary)
    return 0


def report(s: dict[str, Any]) -> None:
    print(
        f"jobs: {s['jobs']:,} (left out of both: {s['dropped'] or 'none'}; "
        f"durations rounded: {s['durations_rounded']})"
    )
    print(f"cluster: {len(s['vcs'])} VCs, {s['cluster_gpus']:,} GPUs in 8-GPU nodes: {s['vcs']}")
    print(f"{'vc':<10}{'nodes':>7}{'Helios avg JCT':>16}{'ours avg JCT':>16}{'diff %':>9}")
    for vc, row in s["per_vc_avg_jct_s"].items():
        pct = (row["ours"] / row["helios"] - 1) * 100
        print(f"{vc:<10}{s['vcs'][vc]:>7}{row['helios']:>16,.0f}{row['ours']:>16,.0f}{pct:>9.2f}")
    print(
        f"FIFO avg JCT: Helios {s['helios_avg_jct_s']:,.1f} s, ours {s['ours_avg_jct_s']:,.1f} s"
        f"  -> ours/Helios {s['ratio']:.4f} ({s['difference_pct']:+.2f} %, "
        f"{'within' if s['within_2pct'] else 'NOT within'} 2 %)"
    )
    print(
        f"avg queueing: Helios {s['helios_avg_queue_s']:,.1f} s, "
        f"ours {s['ours_avg_queue_s']:,.1f} s"
    )
    print(
        f"per job: {s['jobs_same_start']:,} of {s['jobs_both']:,} start at the same second; "
        f"positions where Helios orders equal submission times otherwise: "
        f"{s['tie_order_differences']}"
    )
    if "ours_in_helios_tie_order" in s:
        t = s["ours_in_helios_tie_order"]
        print(
            f"ours again in Helios' tie order: avg JCT {t['avg_jct_s']:,.1f} s "
            f"({t['difference_pct']:+.2f} %), "
            f"{t['jobs_same_start']:,} jobs start at the same second"
        )
    for name, v in s["speed"].items():
        print(
            f"replay speed {name:<7} {v['jobs_per_s_wall']:>9,.0f} jobs/s wall "
            f"({v['replay_wall_s']:,.1f} s replay + {v['load_s']:,.1f} s loading); "
            f"{v['jobs_per_cpu_s']:,.0f} jobs per CPU second ({v['cpu_s']:,.1f} s CPU)"
        )
    print(f"Helios processes: {s['helios_processes']}; inputs and logs: {s['workdir']}")


if __name__ == "__main__":
    sys.exit(main())
