"""Job submission over HTTP: throughput, latency, and submit-to-RUNNING on a real server.

Starts its own ``python -m petaport serve`` on 127.0.0.1 (demo centre seeded, local backend by
default) over a scratch PostgreSQL database, then:

1. submit-to-RUNNING, on the idle server: ``--running-jobs`` jobs (``sleep 5``, 0 GPUs), one at
   a time; each is polled (GET /v1/jobs/{id}) until it has started, then cancelled and waited
   for. Reported from the API's own timestamps (``started_at - submitted_at``) and as the
   client saw it (POST sent -> first GET showing the job started);
2. throughput: ``--jobs`` jobs (``true``, 0 GPUs) from ``--concurrency`` concurrent clients,
   each submit with an ``Idempotency-Key`` as the SDK sends it. Reports submissions/s and the
   p50/p99 latency of one submit;
3. where ``sbatch`` is on PATH, the same count to Slurm (``sbatch --parsable --wrap true``) at
   the same concurrency, and the ratio; otherwise it says that Slurm is absent.

It stops by itself (``--timeout-s``), talks only to 127.0.0.1 (and to the database), and removes
the server process, its data directory and the scratch database, whatever happens.

    .venv/bin/python bench/submit.py                       # 2000 jobs, 32 clients
    .venv/bin/python bench/submit.py --jobs 500 --json     # one JSON object on stdout

Targets (issue): >= 500 submissions/s on 2 cores; submit-to-RUNNING p50 < 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from petaport.storage.db import normalise_url

DEFAULT_ADMIN_URL = os.environ.get(
    "PETAPORT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SUBMITTER = "harbour-u-alice"  # an org member, as most submitters are
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "PREEMPTED", "NODE_FAIL",
            "OUT_OF_MEMORY"}  # fmt: skip
POLL_S = 0.01


class BenchError(RuntimeError):
    """The benchmark could not run (server would not start, submissions refused, ...)."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# -- the database and the server -----------------------------------------------------------


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``admin_url``'s; dropped afterwards."""
    admin_url = normalise_url(admin_url)
    name = f"petaport_bench_{os.getpid()}_{secrets.token_hex(3)}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT",
                           connect_args={"connect_timeout": 5})  # fmt: skip
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """``python -m petaport serve`` in its own session, data directory and port."""

    database_url: str
    backend: str
    data_dir: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    credentials: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def start(self, timeout_s: float = 90) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PETAPORT_")}
        env.update(PETAPORT_DATA_DIR=str(self.data_dir), PETAPORT_PORT=str(self.port),
                   PETAPORT_HOST="127.0.0.1", PETAPORT_DATABASE_URL=self.database_url,
                   PETAPORT_BACKEND=self.backend, PETAPORT_USE_NVML="false",
                   PETAPORT_WORKERS=str(self.workers))  # fmt: skip
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "petaport", "serve"], env=env, stdout=out,
                stderr=subprocess.STDOUT, cwd=self.data_dir, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"the server exited:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2, trust_env=False).status_code == 200:
                    self._read_credentials()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise BenchError(f"the server did not become ready:\n{self.log_tail()}")

    def _read_credentials(self) -> None:
        path = self.data_dir / "demo-credentials.txt"
        if not path.exists():
            raise BenchError("no demo centre was seeded: is the database empty?")
        rows = path.read_text().splitlines()[1:]
        self.credentials = {r.split("\t")[0]: r.split("\t")[1] for r in rows if r}

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def token(self, username: str) -> str:
        login = {"username": username, "password": self.credentials[username]}
        r = httpx.post(self.url + "/v1/auth/login", json=login, trust_env=False, timeout=30)
        r.raise_for_status()
        return str(r.json()["token"])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextmanager
def running_server(database_url: str, backend: str, workers: int) -> Iterator[Server]:
    data_dir = Path(tempfile.mkdtemp(prefix="petaport-bench-"))
    server = Server(database_url, backend, data_dir, workers=workers)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


# -- the phases ----------------------------------------------------------------------------


def job_body(name: str, project: str, command: list[str], gpus: int = 0) -> dict[str, Any]:
    return {"name": name, "project": project, "command": command, "gpus": gpus, "cpus": 1,
            "memory_mb": 64, "walltime_s": 600}  # fmt: skip


async def fill_cluster(client: httpx.AsyncClient, project: str) -> None:
    """Take every GPU with one long job, so the measured submissions queue (a busy centre)."""
    gpus = int((await client.get("/v1/capacity")).json()["gpus"])
    r = await client.post("/v1/jobs", json=job_body("bench-fill", project, ["sleep", "600"], gpus))
    if r.status_code != 201:
        raise BenchError(f"could not fill the cluster: {r.status_code} {r.text}")
    await _wait_for(client, r.json()["id"], lambda j: j["state"] == "RUNNING", 30)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class StartLatency:
    api_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    not_started: int = 0


async def _wait_for(client: httpx.AsyncClient, job_id: str, done: Callable[[Any], Any],
                    timeout_s: float) -> dict[str, Any] | None:  # fmt: skip
    """Poll the job until ``done(job)``; None after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = await client.get(f"/v1/jobs/{job_id}")
        r.raise_for_status()
        job: dict[str, Any] = r.json()
        if done(job):
            return job
        await asyncio.sleep(POLL_S)
    return None


async def submit_to_running(
    client: httpx.AsyncClient, project: str, count: int, deadline: float
) -> StartLatency:
    """One job at a time on an idle server: how long until the scheduler has started it."""
    out = StartLatency()
    for i in range(count):
        if time.monotonic() > deadline:
            break
        sent = time.perf_counter()
        r = await client.post("/v1/jobs", json=job_body(f"start-{i}", project, ["sleep", "5"]),
                              headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
        if r.status_code != 201:
            raise BenchError(f"submit refused: {r.status_code} {r.text[:300]}")
        job_id = r.json()["id"]
        job = await _wait_for(client, job_id, lambda j: j["started_at"] or j["state"] in TERMINAL,
                              30)  # fmt: skip
        if job is None or not job["started_at"]:
            out.not_started += 1
        else:
            out.client_ms.append((time.perf_counter() - sent) * 1000)
            started = _at(job["started_at"]) - _at(job["submitted_at"])
            out.api_ms.append(started.total_seconds() * 1000)
        await client.post(f"/v1/jobs/{job_id}/cancel")
        await _wait_for(client, job_id, lambda j: j["state"] in TERMINAL, 30)
    return out


@dataclass
class Throughput:
    submitted: int = 0
    errors: int = 0
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    first_error: str = ""

    def record(self, sent: float, status: int, detail: str) -> None:
        self.latencies_ms.append((time.perf_counter() - sent) * 1000)
        if status == 201:
            self.submitted += 1
        else:
            self.errors += 1
            self.first_error = self.first_error or f"{status} {detail[:300]}"


class RawClient:
    """A minimal HTTP/1.1 keep-alive client: the load generator shares the CPUs with the
    server, and httpx costs several times more CPU per request than the server's own budget."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = (
            f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """POST /v1/jobs with a fresh Idempotency-Key; (status, body)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        extra = f"Idempotency-Key: {uuid.uuid4()}\r\nContent-Length: {len(body)}\r\n\r\n"
        self.writer.write(b"POST /v1/jobs HTTP/1.1\r\n" + self.head + extra.encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        length = {k.lower(): v.strip() for k, v in fields.items()}.get("content-length")
        if length is None:
            raise BenchError(f"response without Content-Length: {lines[0]}")
        return int(lines[0].split()[1]), await self.reader.readexactly(int(length))

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


Post = Callable[[bytes], Awaitable[tuple[int, bytes]]]


async def throughput(posts: list[Post], project: str, count: int, deadline: float) -> Throughput:
    """``count`` submissions, one worker per ``posts`` entry (its own connection)."""
    out = Throughput()
    numbers = iter(range(count))

    async def worker(post: Post) -> None:
        for i in numbers:
            if time.monotonic() > deadline:
                return
            body = json.dumps(job_body(f"bench-{i}", project, ["true"], gpus=1)).encode()
            sent = time.perf_counter()
            status, answer = await post(body)
            out.record(sent, status, answer.decode(errors="replace"))

    started = time.perf_counter()
    await asyncio.gather(*(worker(post) for post in posts))
    out.wall_s = time.perf_counter() - started
    return out


def httpx_post(client: httpx.AsyncClient) -> Post:
    async def post(body: bytes) -> tuple[int, bytes]:
        headers = {"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}
        r = await client.post("/v1/jobs", content=body, headers=headers)
        return r.status_code, r.content

    return post


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _tree(root: int) -> list[int]:
    """``root`` and its live descendants (the server's worker processes)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += frontier
    return tree


def cpu_seconds(pid: int | None = None) -> float | None:
    """User + system CPU time of a process and its descendants (Linux /proc), or of this one.

    The job supervisors are children too; in the throughput phase only the fill job runs, and
    it sleeps, so the sum is the server's own CPU.
    """
    if pid is None:
        return time.process_time()
    ticks = 0
    for member in _tree(pid):
        fields = _stat(member)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def sbatch_rate(count: int, concurrency: int) -> float | None:
    """Submissions/s of ``sbatch --parsable --wrap true``; None when Slurm is absent."""
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        return None

    def one(_: int) -> bool:
        argv = [sbatch, "--parsable", "--wrap", "true"]
        done = subprocess.run(argv, capture_output=True, timeout=60, check=False)
        return done.returncode == 0

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        ok = sum(pool.map(one, range(count)))
    wall = time.perf_counter() - started
    if ok < count:
        log(f"sbatch: {count - ok} of {count} submissions failed")
    return ok / wall if wall > 0 else None


# -- wiring --------------------------------------------------------------------------------


async def measure(server: Server, args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    token = server.token(SUBMITTER)
    limits = httpx.Limits(max_connections=args.concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, limits=limits, timeout=60,
                                 trust_env=False) as client:  # fmt: skip
        projects = (await client.get("/v1/projects")).json()["items"]
        if not projects:
            raise BenchError(f"{SUBMITTER} sees no project")
        project = projects[0]["id"]
        log(f"phase 1: submit-to-RUNNING, {args.running_jobs} jobs one at a time (idle server)")
        start = await submit_to_running(client, project, args.running_jobs, deadline)
        log(
            f"phase 2: {args.jobs} one-GPU submissions from {args.concurrency} concurrent clients"
            " to a full cluster (every GPU taken, so they queue as in a busy centre)"
        )
        await fill_cluster(client, project)
        server_cpu, client_cpu = cpu_seconds(server.pid), cpu_seconds()
        raw = [RawClient(server.port, token) for _ in range(args.concurrency)]
        posts: list[Post] = [c.post for c in raw]
        if args.client == "httpx":
            posts = [httpx_post(client)] * len(raw)
        try:
            tp = await throughput(posts, project, args.jobs, deadline)
        finally:
            await asyncio.gather(*(c.close() for c in raw))
        server_cpu = _delta(cpu_seconds(server.pid), server_cpu)
        client_cpu = _delta(cpu_seconds(), client_cpu)
    if tp.errors:
        log(f"{tp.errors} submissions failed; first: {tp.first_error}")
    done = max(tp.submitted, 1)
    return {
        "jobs": args.jobs, "concurrency": args.concurrency, "backend": args.backend,
        "workers": args.workers,
        "client": args.client, "cpus": os.cpu_count(), "submitted": tp.submitted,
        "errors": tp.errors, "wall_s": round(tp.wall_s, 3),
        "submissions_per_s": round(tp.submitted / tp.wall_s, 1) if tp.wall_s else None,
        "p50_ms": _round(percentile(tp.latencies_ms, 50)),
        "p99_ms": _round(percentile(tp.latencies_ms, 99)),
        "server_cpu_ms_per_submit": _round(server_cpu and server_cpu * 1000 / done),
        "client_cpu_ms_per_submit": _round(client_cpu and client_cpu * 1000 / done),
        "submit_to_running_p50_ms": _round(percentile(start.api_ms, 50)),
        "submit_to_running_p99_ms": _round(percentile(start.api_ms, 99)),
        "submit_to_running_client_p50_ms": _round(percentile(start.client_ms, 50)),
        "submit_to_running_samples": len(start.api_ms), "not_started": start.not_started,
    }  # fmt: skip


def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def print_report(r: dict[str, Any]) -> None:
    print(f"Petaport ({r['backend']} backend, PostgreSQL): {r['submitted']} of {r['jobs']} jobs "
          f"from {r['concurrency']} clients in {r['wall_s']:.2f} s")  # fmt: skip
    print(f"  submissions/s          {r['submissions_per_s']}   (target >= 500)")
    print(f"  submit latency         p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms")
    print(f"  CPU per submission     server {r['server_cpu_ms_per_submit']} ms, load "
          f"generator {r['client_cpu_ms_per_submit']} ms ({r['cpus']} CPUs in all)")  # fmt: skip
    print(f"  submit -> RUNNING      p50 {r['submit_to_running_p50_ms']} ms (target < 250), "
          f"p99 {r['submit_to_running_p99_ms']} ms from API timestamps over "
          f"{r['submit_to_running_samples']} jobs; client-observed p50 "
          f"{r['submit_to_running_client_p50_ms']} ms")  # fmt: skip
    if r["sbatch_per_s"] is None:
        print("  Slurm                  absent (no sbatch on PATH); no baseline")
    else:
        print(f"  sbatch/s               {r['sbatch_per_s']}   "
              f"(Petaport / sbatch = {r['ratio_vs_sbatch']})")  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=2000, help="submissions to time (default 2000)")
    p.add_argument("--concurrency", type=int, default=32, help="concurrent clients (default 32)")
    p.add_argument("--running-jobs", type=int, default=50,
                   help="jobs for the submit-to-RUNNING phase (default 50)")  # fmt: skip
    p.add_argument("--database-url", help="an EMPTY database to use and keep (default: a "
                   "scratch one next to $PETAPORT_BENCH_POSTGRES_URL, dropped after)")  # fmt: skip
    p.add_argument("--backend", choices=["local", "fake"], default="local",
                   help="the server's backend (fake: nothing is launched)")  # fmt: skip
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="server worker processes (PETAPORT_WORKERS; default 2, one per core)",
    )
    p.add_argument("--client", choices=["raw", "httpx"], default="raw",
                   help="throughput load generator (default: raw HTTP/1.1)")  # fmt: skip
    p.add_argument("--timeout-s", type=float, default=600, help="stop after this long")
    p.add_argument("--json", action="store_true", help="print one JSON object only")
    args = p.parse_args(argv)
    if args.jobs < 1 or args.concurrency < 1 or args.running_jobs < 0:
        p.error("--jobs and --concurrency must be >= 1, --running-jobs >= 0")
    return args


@contextmanager
def database(args: argparse.Namespace) -> Iterator[str]:
    if args.database_url:
        yield args.database_url
    else:
        with scratch_database(DEFAULT_ADMIN_URL) as url:
            yield url


def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + args.timeout_s
    with database(args) as url, running_server(url, args.backend, args.workers) as server:
        result = asyncio.run(measure(server, args, deadline))
    if time.monotonic() > deadline:
        raise BenchError(f"stopped after --timeout-s {args.timeout_s}")
    sbatch = sbatch_rate(args.jobs, args.concurrency)
    result["sbatch_per_s"] = None if sbatch is None else round(sbatch, 1)
    rate = result["submissions_per_s"]
    result["ratio_vs_sbatch"] = round(rate / sbatch, 2) if sbatch and rate else None
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop server, drop DB
    try:
        result = run(args)
    except BenchError as exc:
        log(f"bench/submit.py: {exc}")
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)
    return 0 if result["errors"] == 0 and result["submitted"] == args.jobs else 1


if __name__ == "__main__":
    sys.exit(main())
