"""A synthetic month of a multi-tenant GPU centre, for ``bench/billing.py``.

``centre(records, orgs, seed)`` builds, deterministically from ``seed``, the rows a real centre
would hold after a Hong Kong month (``MONTH``): organisations by category (a few big tenants
and a long tail), their projects and plans (post-paid, prepaid, a few proof-of-concept), node
pools of several GPU models (and CPU nodes), and jobs whose attempts start across the month,
mostly whole GPUs on one or more nodes, some shares of one GPU, some CPU-only, in all three QoS
tiers; preemptible work is sometimes preempted and requeued, a node sometimes fails (requeued),
jobs started near the end still run at ``NOW``. It adds jobs until the attempts will yield
``records`` usage records, counted with plain arithmetic (hours touched x resources, plus the
preemption credits), independently of the metering code it is checked against.

``seed(ctx, centre)`` writes it into a migrated database with Core inserts (not timed).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table

from petaport.billing.ledger import BillingMode
from petaport.billing.metering import month_bounds
from petaport.billing.plans import OrgBilling, Plan
from petaport.domain.inventory import NodePool
from petaport.domain.jobs import Allocation, JobSpec, JobState, QosTier
from petaport.domain.money import Money
from petaport.domain.tenancy import Org, OrgCategory, Project, User
from petaport.services.context import Context
from petaport.storage.repos.billing import OrgBillingRepo
from petaport.storage.repos.inventory import InventoryRepo
from petaport.storage.repos.jobs import allocations_to_json, spec_to_json
from petaport.storage.repos.tenancy import TenancyRepo
from petaport.storage.tables import AttemptRow, JobRow

MONTH = "2026-03"
START, END = month_bounds(MONTH)
NOW = END + timedelta(days=1)  # the month has ended: its invoices may be issued
HOUR_S = 3600
CATEGORIES = (
    (OrgCategory.UNIVERSITY, 0.35), (OrgCategory.RESEARCH_INSTITUTE, 0.15),
    (OrgCategory.STARTUP, 0.30), (OrgCategory.ENTERPRISE, 0.15), (OrgCategory.PUBLIC_BODY, 0.05),
)  # fmt: skip
# name, GPU model, GPUs / CPUs / memory (MiB) per node, nodes
POOLS = (
    ("h800", "H800", 8, 128, 2_048_000, 64), ("h100", "H100", 8, 128, 2_048_000, 64),
    ("a100", "A100", 8, 96, 1_024_000, 48), ("l40s", "L40S", 4, 64, 512_000, 32),
    ("cpu", None, 0, 128, 512_000, 32),
)  # fmt: skip
TIERS = ((QosTier.RESERVED, 0.25), (QosTier.ON_DEMAND, 0.5), (QosTier.PREEMPTIBLE, 0.25))
GPU_SHAPES = ((1, 1), (1, 1), (2, 1), (4, 1), (8, 1), (8, 1), (8, 2), (8, 4))  # (per node, nodes)
T_ORG = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class Centre:
    orgs: list[Org] = field(default_factory=list)
    billing: list[OrgBilling] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    pools: list[NodePool] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    expected_records: int = 0
    preempted: int = 0
    node_fails: int = 0
    running: int = 0


def _weighted(rng: random.Random, options: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([o for o, _ in options], [w for _, w in options])[0]


def expected_records(start: int, end: int | None, resources: int, credited: bool) -> int:
    """Records of one attempt: each whole UTC hour it touched x resources (Hong Kong months
    start on a whole UTC hour, so they add no cut), plus a credit per resource when preempted
    preemptible work stopped inside an hour. A running attempt: whole hours before ``NOW``."""
    if end is None:
        end = int(NOW.timestamp()) // HOUR_S * HOUR_S
        if end <= start:
            return 0
    pieces = (end - 1) // HOUR_S - start // HOUR_S + 1
    credits = resources if credited and end % HOUR_S else 0
    return pieces * resources + credits


def _tenancy(c: Centre, rng: random.Random, orgs: int) -> None:
    pools = [p for p in POOLS]
    c.pools = [NodePool(f"np_{name}", name, model, g, cpu, mem, n, Decimal("0.9890"), "fp16",
                        "fake", T_ORG) for name, model, g, cpu, mem, n in pools]  # fmt: skip
    for i in range(orgs):
        org = Org(f"org_b{i:04d}", f"Org {i}", f"org-{i:04d}", _weighted(rng, CATEGORIES), T_ORG)
        c.orgs.append(org)
        c.users.append(User(f"usr_b{i:04d}", f"user-{i:04d}", f"u{i}@example.org", f"U {i}",
                            frozenset(), True, T_ORG))  # fmt: skip
        for j in range(rng.randint(1, 5)):
            c.projects.append(Project(f"prj_b{i:04d}_{j}", org.id, f"P {j}", f"p{j}", T_ORG))
        roll = rng.random()
        if roll < 0.04:
            c.billing.append(OrgBilling(org.id, BillingMode.POSTPAID, Plan.POC, START,
                                        None, Money.of("1800"), Decimal(100)))  # fmt: skip
        elif roll < 0.34:
            c.billing.append(OrgBilling(org.id, BillingMode.PREPAID, Plan.PAYG, T_ORG))


def _shape(rng: random.Random) -> tuple[int, int, int, int, int]:
    """(pool index, GPUs per node, nodes, GPU thousandths, CPUs per node)."""
    roll = rng.random()
    if roll < 0.05:
        return 4, 0, 1, 0, rng.choice((4, 16, 64))  # CPU-only
    if roll < 0.08:
        return 3, 0, 1, 500, 8  # half of one L40S
    per_node, nodes = rng.choice(GPU_SHAPES)
    pool = rng.choices((0, 1, 2, 3), (0.35, 0.3, 0.25, 0.1))[0]
    per_node = min(per_node, POOLS[pool][2])
    return pool, per_node, nodes, 0, 14 * per_node


def _allocations(rng: random.Random, pool: int, per_node: int, nodes: int, milli: int,
                 cpus: int) -> tuple[Allocation, ...]:  # fmt: skip
    name, _, _, _, _, count = POOLS[pool]
    first = rng.randrange(count - nodes + 1)
    gpus = tuple(range(per_node)) if not milli else (0,)
    mem = 65_536 * max(per_node, 1) if not milli else 16_384
    if pool == 4:
        mem = 4_096 * cpus
    return tuple(Allocation(f"{name}-{first + k + 1:03d}", gpus, cpus, mem) for k in range(nodes))


def _runs(rng: random.Random, tier: QosTier) -> Iterator[tuple[int, JobState]]:
    """(seconds, end state) of each attempt of one job: preempted or node-failed attempts are
    followed by a requeued one that runs to its end."""
    duration = min(72 * HOUR_S, max(30, int(rng.lognormvariate(math.log(3 * HOUR_S), 1.2))))
    roll = rng.random()
    if tier is QosTier.PREEMPTIBLE and roll < 0.3:
        yield max(30, int(duration * rng.uniform(0.1, 0.9))), JobState.PREEMPTED
    elif roll > 0.98:
        yield max(30, int(duration * rng.uniform(0.1, 0.9))), JobState.NODE_FAIL
    yield duration, rng.choices((JobState.COMPLETED, JobState.FAILED, JobState.TIMEOUT),
                                (0.9, 0.07, 0.03))[0]  # fmt: skip


def _job(c: Centre, rng: random.Random, n: int) -> None:
    project = rng.choice(c.projects) if rng.random() < 0.5 else c.projects[
        min(int(rng.paretovariate(1.1)) - 1, len(c.projects) - 1)]  # fmt: skip
    tier = _weighted(rng, TIERS)
    pool, per_node, nodes, milli, cpus = _shape(rng)
    spec = JobSpec(name=f"job-{n}", project_id=project.id, command=("train",), gpus=per_node,
                   gpu_model=POOLS[pool][1], cpus=cpus, memory_mb=65_536, nodes=nodes,
                   qos=tier, gpu_milli=milli)  # fmt: skip
    submitted = int(START.timestamp()) + rng.randrange(int((END - START).total_seconds()))
    at, job_id, state, number = submitted, f"job_b{n:08d}", JobState.PENDING, 0
    allocations = _allocations(rng, pool, per_node, nodes, milli, cpus)
    resources = (per_node > 0 or milli > 0) + (cpus > 0) + 1
    for number, (seconds, outcome) in enumerate(_runs(rng, tier), start=1):
        start, end = at + rng.randrange(10, 900), at + seconds
        end += start - at
        state = outcome if end <= int(NOW.timestamp()) else JobState.RUNNING
        ended = end if state is not JobState.RUNNING else None
        credited = state is JobState.PREEMPTED and tier is QosTier.PREEMPTIBLE
        c.expected_records += expected_records(start, ended, resources, credited)
        c.preempted += state is JobState.PREEMPTED
        c.node_fails += state is JobState.NODE_FAIL
        c.running += state is JobState.RUNNING
        c.attempts.append(_attempt_row(f"att_b{n:08d}_{number}", job_id, number, state,
                                       allocations, (at, start, ended), milli))  # fmt: skip
        at = end + rng.randrange(60, 1800)
        if state is JobState.RUNNING:
            break
    user = f"usr_b{int(project.org_id.removeprefix('org_b')):04d}"
    c.jobs.append({
        "id": job_id, "org_id": project.org_id, "project_id": project.id, "user_id": user,
        "name": spec.name, "spec": spec_to_json(spec), "gpus": per_node,
        "gpu_model": spec.gpu_model, "cpus": cpus, "memory_mb": spec.memory_mb, "nodes": nodes,
        "qos": tier.value, "walltime_s": None, "gpu_milli": milli, "state": state.value,
        "reason": None, "priority": 0, "submitted_at": _utc(submitted),
        "updated_at": _utc(at), "started_at": c.attempts[-number]["started_at"],
        "ended_at": c.attempts[-1]["ended_at"], "exit_code": None, "attempt_count": number,
        "backend": "fake", "idempotency_key": None, "request_hash": None,
    })  # fmt: skip


def _attempt_row(attempt_id: str, job_id: str, number: int, state: JobState,
                 allocations: tuple[Allocation, ...], times: tuple[int, int, int | None],
                 milli: int) -> dict[str, Any]:  # fmt: skip
    created, started, ended = times
    return {
        "id": attempt_id, "job_id": job_id, "number": number, "state": state.value,
        "allocations": allocations_to_json(allocations), "attempt_dir": "",
        "created_at": _utc(created), "started_at": _utc(started), "ended_at": _utc(ended),
        "exit_code": None, "pid": None, "backend_ref": None, "detail": "", "stop_intent": None,
        "borrowing": False, "gpu_milli": milli,
    }  # fmt: skip


def _utc(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def centre(records: int, orgs: int, seed: int) -> Centre:
    """A centre of ``orgs`` organisations whose month yields at least ``records`` records."""
    rng = random.Random(seed)
    c = Centre()
    _tenancy(c, rng, orgs)
    while c.expected_records < records:
        _job(c, rng, len(c.jobs))
    return c


def seed(ctx: Context, c: Centre) -> None:
    """Write the centre into ``ctx``'s (migrated, empty) database."""
    with ctx.db.transaction() as s:
        tenancy, inventory = TenancyRepo(s), InventoryRepo(s)
        for pool in c.pools:
            inventory.add_pool(pool)
        for org in c.orgs:
            tenancy.add_org(org)
        for user in c.users:
            tenancy.add_user(user, None)
        s.flush()
        for project in c.projects:
            tenancy.add_project(project)
        s.flush()
        for b in c.billing:
            OrgBillingRepo(s).save(b, T_ORG)
    jobs, attempts = cast(Table, JobRow.__table__), cast(Table, AttemptRow.__table__)
    for i in range(0, len(c.jobs), 5_000):
        with ctx.db.transaction() as s:
            s.connection().execute(jobs.insert(), c.jobs[i : i + 5_000])
    for i in range(0, len(c.attempts), 5_000):
        with ctx.db.transaction() as s:
            s.connection().execute(attempts.insert(), c.attempts[i : i + 5_000])
