"""Jobs: submit (with Idempotency-Key), list, show, cancel, requeue, attempts, events, logs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response, status

from petaport.api import convert
from petaport.api.deps import CtxDep, Cursor, Limit, PrincipalDep, decode_cursor, next_cursor
from petaport.api.problems import declare
from petaport.domain.catalogue import parse_ref
from petaport.domain.jobs import JobSpec, JobState, QosTier
from petaport.domain.tenancy import Principal
from petaport.schemas import (
    AttemptPublic,
    JobCreate,
    JobEventPublic,
    JobPublic,
    JobStateName,
    LogChunkPublic,
    Page,
)
from petaport.services import jobs
from petaport.services.context import Context

router = APIRouter(tags=["jobs"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Same key and body: the same job. Same key, other body: 422.",
    ),
]


def spec_from(body: JobCreate) -> JobSpec:
    """The JobSpec of a request; the project reference is resolved by the submit service."""
    return JobSpec(
        name=body.name,
        project_id=body.project,
        command=tuple(body.command or ()),
        script=body.script,
        environment=tuple(sorted(body.environment.items())),
        working_dir=body.working_dir,
        gpus=body.gpus,
        gpu_milli=int(body.gpu_fraction * 1000) if body.gpu_fraction is not None else 0,
        gpu_model=body.gpu_model,
        cpus=body.cpus,
        memory_mb=body.memory_mb,
        nodes=body.nodes,
        walltime_s=body.walltime_s,
        qos=QosTier(body.qos),
        requeue_on_node_fail=body.requeue_on_node_fail,
        labels=tuple(sorted(body.labels.items())),
        uses=tuple(parse_ref(text) for text in body.uses),
    )


def _detail(ctx: Context, p: Principal, job_id: str) -> JobPublic:
    job = jobs.get_job(ctx, p, job_id)
    tries = jobs.attempts(ctx, p, job_id) if job.attempt_count else []
    return convert.job(job, tries[-1] if tries else None)


@router.post(
    "/jobs",
    status_code=status.HTTP_201_CREATED,
    response_model=JobPublic,
    responses={
        200: {"model": JobPublic, "description": "Replay: this Idempotency-Key made this job."},
        **declare(401, 403, 404, 409, 422),
    },
)
def submit(
    ctx: CtxDep,
    p: PrincipalDep,
    body: JobCreate,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Submit a job. The body is serialised once, here (the hot path of the API)."""
    result = jobs.submit(ctx, p, spec_from(body), idempotency_key)
    headers = {"Location": f"/v1/jobs/{result.job.id}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        convert.job(result.job).model_dump_json(),
        status_code=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED,
        media_type="application/json",
        headers=headers,
    )


@router.get("/jobs", responses=declare(401, 403, 422))
def list_jobs(
    ctx: CtxDep,
    p: PrincipalDep,
    state: Annotated[list[JobStateName] | None, Query(max_length=9)] = None,
    project_id: str | None = None,
    mine: bool = False,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[JobPublic]:
    states = frozenset(JobState(s) for s in state) if state else None
    rows = jobs.list_jobs(
        ctx,
        p,
        states=states,
        project_id=project_id,
        mine=mine,
        before=decode_cursor(cursor),
        limit=limit,
    )
    return Page(
        items=[convert.job(j) for j in rows], next_cursor=next_cursor([j.id for j in rows], limit)
    )


@router.get("/jobs/{job_id}", responses=declare(401, 403, 404))
def get_job(ctx: CtxDep, p: PrincipalDep, job_id: str) -> JobPublic:
    return _detail(ctx, p, job_id)


@router.post("/jobs/{job_id}/cancel", responses=declare(401, 403, 404, 409))
def cancel(ctx: CtxDep, p: PrincipalDep, job_id: str) -> JobPublic:
    jobs.cancel(ctx, p, job_id)
    return _detail(ctx, p, job_id)


@router.post("/jobs/{job_id}/requeue", responses=declare(401, 403, 404, 409))
def requeue(ctx: CtxDep, p: PrincipalDep, job_id: str) -> JobPublic:
    jobs.requeue(ctx, p, job_id)
    return _detail(ctx, p, job_id)


@router.get("/jobs/{job_id}/attempts", responses=declare(401, 403, 404))
def attempts(ctx: CtxDep, p: PrincipalDep, job_id: str) -> list[AttemptPublic]:
    return [convert.attempt(a) for a in jobs.attempts(ctx, p, job_id)]


@router.get("/jobs/{job_id}/events", responses=declare(401, 403, 404))
def events(ctx: CtxDep, p: PrincipalDep, job_id: str) -> list[JobEventPublic]:
    return [convert.job_event(e) for e in jobs.events(ctx, p, job_id)]


@router.get("/jobs/{job_id}/logs", responses=declare(401, 403, 404, 422))
def logs(
    ctx: CtxDep,
    p: PrincipalDep,
    job_id: str,
    stream: Literal["stdout", "stderr"] = "stdout",
    attempt: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    offset: Annotated[int, Query(ge=0, le=2**53)] = 0,
    limit: Annotated[int, Query(ge=1, le=jobs.MAX_LOG_CHUNK)] = 65536,
) -> LogChunkPublic:
    chunk = jobs.read_log(
        ctx, p, job_id, stream=stream, attempt=attempt, offset=offset, limit=limit
    )
    return LogChunkPublic(
        attempt=chunk.attempt,
        stream=stream,
        offset=chunk.offset,
        next_offset=chunk.next_offset,
        text=chunk.text,
        complete=chunk.complete,
    )
