"""AI Lab use cases: list templates, estimate a run's cost, launch a run, read its outputs.

A run is an ordinary job (``services.jobs.submit``) whose command is the template's program,
run by the server's own Python with this package importable (``PYTHONPATH``); its labels say
which template and version made it. Outputs are the JSON files the program writes under
``outputs/`` in the attempt's working directory.

Cost: the billing core's ``estimate`` with the stored price book (the default list is stored on
first start), so a run is estimated exactly as it would be billed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import petaport
from petaport.billing.estimate import estimate as price_estimate
from petaport.billing.prices import PriceBook
from petaport.domain.catalogue import parse_ref
from petaport.domain.errors import NotFound
from petaport.domain.jobs import Job, JobSpec
from petaport.domain.tenancy import Principal
from petaport.lab.templates import TEMPLATES, Template, Value, get_template
from petaport.services import inventory, jobs
from petaport.services.context import Context
from petaport.services.pricing import load_book
from petaport.storage.repos.jobs import JobRepo

OUTPUT_FILES = ("metrics.json", "assessment.json")
MPI_ENV = (("OMPI_ALLOW_RUN_AS_ROOT", "1"), ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"),
           ("OMPI_MCA_rmaps_base_oversubscribe", "1"))  # fmt: skip
UNPRICED = "No price book is stored yet: the estimate gives GPU-hours and CPU-hours only."


@dataclass(frozen=True)
class EstimateView:
    template: str
    walltime_s: int
    gpu_hours: Decimal
    cpu_hours: Decimal
    currency: str | None
    total: Decimal | None
    lines: tuple[tuple[str, Decimal, Decimal | None], ...]  # resource, quantity, amount
    note: str


def list_templates() -> list[Template]:
    return sorted(TEMPLATES.values(), key=lambda t: t.name)


def stored_price_book(ctx: Context) -> PriceBook | None:
    """The centre's stored price book (None only if it has none and cannot store one)."""
    try:
        return load_book(ctx)
    except NotFound:
        return None


def _values(ctx: Context, template: Template, params: Mapping[str, Value]) -> dict[str, Value]:
    values = template.resolve(params)
    if "centre_pflops" in values and not values["centre_pflops"]:
        values["centre_pflops"] = float(inventory.capacity(ctx).peak_pflops)
    return values


def build_spec(
    ctx: Context, template: Template, project: str, params: Mapping[str, Value],
    uses: tuple[str, ...] = (),
) -> JobSpec:  # fmt: skip
    values = _values(ctx, template, params)
    package_root = str(Path(petaport.__file__).resolve().parent.parent)
    env = [("PYTHONPATH", package_root)]
    if template.mpi_ranks_param is not None:
        env += list(MPI_ENV)
    return JobSpec(
        name=f"lab-{template.name}", project_id=project,
        command=template.command(sys.executable, values), environment=tuple(sorted(env)),
        gpus=template.gpus, cpus=template.cpus_for(values), memory_mb=template.memory_mb,
        walltime_s=template.walltime_s, uses=tuple(parse_ref(u) for u in uses),
        labels=(("lab.template", template.name), ("lab.version", template.version)),
    )  # fmt: skip


def estimate(ctx: Context, p: Principal, name: str, project: str,
             params: Mapping[str, Value]) -> EstimateView:  # fmt: skip
    """What a run would use (and cost, once prices are stored) if it ran its whole walltime."""
    template = get_template(name)
    spec = build_spec(ctx, template, project, params)
    hours = Decimal(template.walltime_s) / 3600
    gpu_hours, cpu_hours = hours * spec.total_gpus, hours * spec.cpus * spec.nodes
    book = stored_price_book(ctx)
    if book is None:
        lines: tuple[tuple[str, Decimal, Decimal | None], ...] = (
            ("gpu_hour", gpu_hours, None),
            ("cpu_core_hour", cpu_hours, None),
        )
        return EstimateView(name, template.walltime_s, gpu_hours, cpu_hours, None, None,
                            lines, UNPRICED)  # fmt: skip
    priced = price_estimate(spec, book, ctx.clock())
    priced_lines = tuple((x.resource.value, x.quantity, x.amount.amount) for x in priced.lines)
    total = priced.total
    note = "List prices of the stored price book."
    return EstimateView(name, template.walltime_s, gpu_hours, cpu_hours, total.currency,
                        total.amount, priced_lines, note)  # fmt: skip


def launch(
    ctx: Context, p: Principal, name: str, project: str, params: Mapping[str, Value],
    uses: tuple[str, ...] = (),
) -> Job:  # fmt: skip
    """Submit a run of template ``name`` in ``project`` (a job like any other)."""
    spec = build_spec(ctx, get_template(name), project, params, uses)
    return jobs.submit(ctx, p, spec, None).job


def outputs(ctx: Context, p: Principal, job_id: str) -> dict[str, object]:
    """The JSON outputs of a job's newest attempt (``{}`` before it wrote any)."""
    return job_outputs(ctx, jobs.get_job(ctx, p, job_id))


def job_outputs(ctx: Context, job: Job) -> dict[str, object]:
    with ctx.db.transaction() as s:
        return outputs_of(JobRepo(s), job)


def outputs_of(repo: JobRepo, job: Job) -> dict[str, object]:
    """The outputs of ``job``'s newest attempt, read inside the caller's transaction."""
    tries = repo.attempts_of(job.id)
    if not tries:
        return {}
    directory = Path(repo.attempt_dir(tries[-1].id))
    work = Path(job.spec.working_dir) if job.spec.working_dir else directory / "work"
    return read_outputs(work / "outputs")


def read_outputs(directory: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for name in OUTPUT_FILES:
        try:
            found[name.removesuffix(".json")] = json.loads((directory / name).read_text())
        except (OSError, ValueError):
            continue
    return found
