"""Petaport on Slurm against plain ``sbatch``, in one run on the Slurm test cluster.

Starts (or reuses) the cluster of ``scripts/slurm-test-cluster.sh``, then:

1. **Petaport**: ``python -m petaport serve`` with ``PETAPORT_BACKEND=slurm`` (demo centre,
   SQLite in a scratch directory); ``--jobs`` short jobs (``date +%s.%N``: the job prints the
   moment it starts, 1 CPU, 256 MB, no GPU) are submitted over HTTP as ``harbour-u-alice`` from
   ``--concurrency`` clients; Petaport's scheduler admits and places each, ``sbatch`` runs it;
2. **sbatch**: the same number of the same jobs straight to Slurm with ``sbatch --parsable``
   from the same number of concurrent clients.

With ``--rounds N`` the two runs alternate N times (Petaport first in odd rounds, sbatch first
in even ones) and the figures are medians over the rounds, the ratio the median of each
round's own ratio: on a shared, noisy host the load drifts between runs, and a ratio taken
from two runs minutes apart measures the drift as much as Petaport.

For each job, submit-to-RUNNING is the moment the job's own command ran (its stdout) minus the
moment the client sent the submission; jobs/s is the count over the time from the first
submission to the moment every job has left the queue (Petaport: every job ended in its API;
sbatch: none of them left in ``squeue``). Prints a table, or with ``--json`` one JSON object
with ``petaport_jobs_per_s``, ``sbatch_jobs_per_s``, ``petaport_submit_to_running_p50_ms``,
``sbatch_submit_to_running_p50_ms``, p90s and the ratios (Petaport / sbatch).

    .venv/bin/python bench/slurm.py                  # 500 jobs each way
    .venv/bin/python bench/slurm.py --jobs 100 --json
    .venv/bin/python bench/slurm.py --rounds 3 --json   # alternating, medians
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from submit import BenchError, Server, log, percentile

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / "scripts" / "slurm-test-cluster.sh"
SLURM_CONF = (
    Path(os.environ.get("PETAPORT_SLURM_DIR", "/tmp/petaport-slurm")) / "etc" / "slurm.conf"
)
STAMP = ["date", "+%s.%N"]  # the job's whole work: say when it started
POLL_S = 0.25


def submit_all(count: int, concurrency: int, one: Callable[[int], float]) -> list[float]:
    """Run ``one(i)`` for every job from ``concurrency`` threads; the send times it returns."""
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(count)))


def wait_until(done: Callable[[], bool], deadline: float, what: str) -> float:
    while not done():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(POLL_S)
    return time.time()


def summary(sent: list[float], started: list[float], finished_at: float) -> dict[str, float]:
    waits = [(b - a) * 1000 for a, b in zip(sent, started, strict=True)]
    return {
        "jobs_per_s": round(len(sent) / (finished_at - min(sent)), 1),
        "p50_ms": round(percentile(waits, 50) or 0.0, 1),
        "p90_ms": round(percentile(waits, 90) or 0.0, 1),
    }


# -- Petaport -------------------------------------------------------------------------------


def petaport_run(count: int, concurrency: int, deadline: float) -> dict[str, float]:
    scratch = Path(tempfile.mkdtemp(prefix="petaport-bench-slurm-"))
    server = Server(f"sqlite:///{scratch / 'bench.db'}", "slurm", scratch / "data")
    server.data_dir.mkdir()
    try:
        server.start()
        token = server.token("harbour-u-alice")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60, trust_env=False) as c:
            ids: dict[int, str] = {}

            def one(i: int) -> float:
                body = {"name": f"bench-{i}", "project": "harbour-u/llm-pretrain",
                        "command": STAMP, "memory_mb": 256, "cpus": 1}  # fmt: skip
                sent = time.time()
                r = c.post("/v1/jobs", json=body)
                if r.status_code != 201:
                    raise BenchError(f"submission refused: {r.status_code} {r.text}")
                ids[i] = r.json()["id"]
                return sent

            sent = submit_all(count, concurrency, one)
            log(f"petaport: {count} jobs submitted")
            finished = wait_until(lambda: _all_ended(c), deadline, "Petaport's jobs")
            started = [_stamp(c, ids[i]) for i in range(count)]
        return summary(sent, started, finished)
    finally:
        server.stop()
        _cancel_named("petaport-")  # nothing should be left; never leave any behind
        shutil.rmtree(scratch, ignore_errors=True)


def _all_ended(c: httpx.Client) -> bool:
    """No job left PENDING or RUNNING: one small request (listing every job four times a
    second would spend the server's CPU on the probe, where ``squeue --name`` costs Slurm
    next to nothing)."""
    page = c.get("/v1/jobs", params={"state": ["PENDING", "RUNNING"], "limit": 1}).json()
    return not page["items"]


def _stamp(c: httpx.Client, job_id: str) -> float:
    job = c.get(f"/v1/jobs/{job_id}").json()
    if job["state"] != "COMPLETED":
        raise BenchError(f"job {job_id} ended {job['state']}: {job.get('reason')}")
    return float(c.get(f"/v1/jobs/{job_id}/logs", params={"stream": "stdout"}).json()["text"])


# -- plain sbatch ---------------------------------------------------------------------------


def sbatch_run(count: int, concurrency: int, deadline: float) -> dict[str, float]:
    scratch = Path(tempfile.mkdtemp(prefix="petaport-bench-sbatch-"))
    name = f"bench-sbatch-{secrets.token_hex(3)}"
    sbatch = shutil.which("sbatch") or "sbatch"
    try:

        def one(i: int) -> float:
            argv = [sbatch, "--parsable", f"--job-name={name}", "--cpus-per-task=1", "--mem=256",
                    f"--output={scratch / f'{i}.out'}", f"--chdir={scratch}", "--wrap",
                    " ".join(STAMP)]  # fmt: skip
            sent = time.time()
            subprocess.run(argv, check=True, capture_output=True, timeout=60)
            return sent

        sent = submit_all(count, concurrency, one)
        log(f"sbatch: {count} jobs submitted")
        finished = wait_until(lambda: not _queued(name), deadline, "the sbatch jobs")
        started = [float((scratch / f"{i}.out").read_text()) for i in range(count)]
        return summary(sent, started, finished)
    finally:
        _cancel_named(name)
        shutil.rmtree(scratch, ignore_errors=True)


def _queued(name: str) -> bool:
    out = subprocess.run(["squeue", "-h", f"--name={name}", "-o", "%i"], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return bool(out.strip())


def _cancel_named(prefix: str) -> None:
    out = subprocess.run(["squeue", "-h", "-o", "%i %j"], capture_output=True, text=True,
                         check=False).stdout  # fmt: skip
    ids = [line.split()[0] for line in out.splitlines() if line.split()[-1].startswith(prefix)]
    if ids:
        subprocess.run(["scancel", *ids], check=False, capture_output=True)


# -- the run --------------------------------------------------------------------------------


@contextmanager
def cluster() -> Iterator[None]:
    done = subprocess.run([str(CLUSTER), "start"], capture_output=True, text=True, check=False)
    if done.returncode:
        raise BenchError(f"the Slurm test cluster did not start:\n{done.stderr}")
    os.environ["SLURM_CONF"] = str(SLURM_CONF)  # the server and every Slurm command read it
    yield


def run(args: argparse.Namespace) -> dict[str, Any]:
    rounds: list[tuple[dict[str, float], dict[str, float]]] = []
    with cluster():
        for i in range(args.rounds):
            deadline = time.monotonic() + args.timeout_s
            if i % 2 == 0:
                ours = petaport_run(args.jobs, args.concurrency, deadline)
                theirs = sbatch_run(args.jobs, args.concurrency, deadline)
            else:
                theirs = sbatch_run(args.jobs, args.concurrency, deadline)
                ours = petaport_run(args.jobs, args.concurrency, deadline)
            rounds.append((ours, theirs))
            log(f"round {i + 1}: {ours['jobs_per_s']} against {theirs['jobs_per_s']} jobs/s")
    return report(args, rounds)


def report(
    args: argparse.Namespace, rounds: list[tuple[dict[str, float], dict[str, float]]]
) -> dict[str, Any]:
    """Medians over the rounds (one round: its figures); ratios per round, then the median."""

    def median(side: int, key: str) -> float:
        return round(statistics.median(r[side][key] for r in rounds), 1)

    def ratio(key: str) -> float:
        return round(statistics.median(ours[key] / theirs[key] for ours, theirs in rounds), 2)

    return {
        "jobs": args.jobs,
        "concurrency": args.concurrency,
        "rounds": len(rounds),
        "petaport_jobs_per_s": median(0, "jobs_per_s"),
        "sbatch_jobs_per_s": median(1, "jobs_per_s"),
        "jobs_per_s_ratio": ratio("jobs_per_s"),
        "jobs_per_s_ratios": [round(o["jobs_per_s"] / t["jobs_per_s"], 2) for o, t in rounds],
        "petaport_submit_to_running_p50_ms": median(0, "p50_ms"),
        "sbatch_submit_to_running_p50_ms": median(1, "p50_ms"),
        "submit_to_running_p50_ratio": ratio("p50_ms"),
        "petaport_submit_to_running_p90_ms": median(0, "p90_ms"),
        "sbatch_submit_to_running_p90_ms": median(1, "p90_ms"),
    }


def print_report(r: dict[str, Any]) -> None:
    print(f"{r['jobs']} short jobs each way, {r['concurrency']} concurrent clients, "
          f"{r['rounds']} round(s), medians")  # fmt: skip
    print(f"jobs/s ratio per round: {r['jobs_per_s_ratios']}")
    print(f"{'':28}{'Petaport':>12}{'sbatch':>12}{'ratio':>8}")
    print(f"{'jobs/s':28}{r['petaport_jobs_per_s']:>12}{r['sbatch_jobs_per_s']:>12}"
          f"{r['jobs_per_s_ratio']:>8}")  # fmt: skip
    print(f"{'submit-to-RUNNING p50 ms':28}{r['petaport_submit_to_running_p50_ms']:>12}"
          f"{r['sbatch_submit_to_running_p50_ms']:>12}"
          f"{r['submit_to_running_p50_ratio']:>8}")  # fmt: skip
    print(f"{'submit-to-RUNNING p90 ms':28}{r['petaport_submit_to_running_p90_ms']:>12}"
          f"{r['sbatch_submit_to_running_p90_ms']:>12}")  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=500, help="jobs each way (500)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent submitters (8)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds (1)")
    parser.add_argument("--timeout-s", type=float, default=900, help="bound on each round (900)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop the server, scancel
    try:
        result = run(args)
    except BenchError as exc:
        log(f"bench/slurm.py: {exc}")
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
