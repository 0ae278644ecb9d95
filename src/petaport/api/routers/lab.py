"""The AI Lab: templates, cost estimates, runs and their outputs."""

from __future__ import annotations

from fastapi import APIRouter, status

from petaport.api import convert
from petaport.api.deps import CtxDep, PrincipalDep
from petaport.api.problems import declare
from petaport.lab.templates import Template, get_template
from petaport.schemas import JobPublic
from petaport.schemas.catalogue import (
    EstimateLinePublic,
    EstimatePublic,
    LabRunCreate,
    TemplateParamPublic,
    TemplatePublic,
)
from petaport.services import lab

router = APIRouter(prefix="/lab", tags=["lab"])


def template_public(t: Template) -> TemplatePublic:
    params = [TemplateParamPublic(name=x.name, kind=x.kind.__name__, default=x.default,
                                  minimum=x.minimum, maximum=x.maximum, help=x.help)
              for x in t.params]  # fmt: skip
    return TemplatePublic(name=t.name, version=t.version, title=t.title,
                          description=t.description, cpus=t.cpus, memory_mb=t.memory_mb,
                          gpus=t.gpus, walltime_s=t.walltime_s, params=params)  # fmt: skip


@router.get("/templates", responses=declare(401))
def list_templates(p: PrincipalDep) -> list[TemplatePublic]:
    """Ready-to-run job recipes, each with its parameters and resources."""
    return [template_public(t) for t in lab.list_templates()]


@router.get("/templates/{name}", responses=declare(401, 404))
def get_template_(p: PrincipalDep, name: str) -> TemplatePublic:
    return template_public(get_template(name))


@router.post("/templates/{name}/estimate", responses=declare(401, 404, 422))
def estimate(ctx: CtxDep, p: PrincipalDep, name: str, body: LabRunCreate) -> EstimatePublic:
    """What a run would use if it ran its whole walltime, and its cost once prices are stored."""
    e = lab.estimate(ctx, p, name, body.project, body.params)
    lines = [EstimateLinePublic(resource=r, quantity=str(q), amount=None if a is None else str(a))
             for r, q, a in e.lines]  # fmt: skip
    return EstimatePublic(template=e.template, walltime_s=e.walltime_s,
                          gpu_hours=str(e.gpu_hours), cpu_hours=str(e.cpu_hours),
                          priced=e.total is not None, currency=e.currency,
                          total=None if e.total is None else str(e.total), lines=lines,
                          note=e.note)  # fmt: skip


@router.post("/templates/{name}/runs", status_code=status.HTTP_201_CREATED,
             responses=declare(401, 403, 404, 409, 422))  # fmt: skip
def run(ctx: CtxDep, p: PrincipalDep, name: str, body: LabRunCreate) -> JobPublic:
    """Launch a run: a job in the project, labelled with the template and its version."""
    return convert.job(lab.launch(ctx, p, name, body.project, body.params, tuple(body.uses)))


@router.get("/runs/{job_id}/outputs", responses=declare(401, 403, 404))
def outputs(ctx: CtxDep, p: PrincipalDep, job_id: str) -> dict[str, object]:
    """The JSON files a run wrote under ``outputs/`` (``metrics``, ``assessment``)."""
    return lab.outputs(ctx, p, job_id)
