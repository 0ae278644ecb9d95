"""The dashboard, the jobs list, a job's page with its live log tail, submitting (with a live
cost estimate) and cancelling.

The log tail is an htmx fragment: each response holds the text read from the last offset and,
until the log is complete, an element that asks for the next chunk; once complete it ends with
an end marker and polling stops. The status panel polls the same way until the job has ended.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from petaport.domain.catalogue import AccessRequired
from petaport.domain.errors import Conflict, NotFound, ValidationFailed
from petaport.domain.jobs import JobState, QosTier
from petaport.schemas.status import status_of
from petaport.services import accounts, jobs, portal
from petaport.web import forms
from petaport.web.errors import PortalRoute
from petaport.web.pages import portal_of
from petaport.web.routes.billing import hkd
from petaport.web.visitor import Form, Member, Poster, Visitor, get_ctx

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
LOG_CHUNK = 64 * 1024
FORM_DEFAULTS = {
    "gpus": "1", "cpus": "1", "memory": "4G", "nodes": "1", "walltime": "1h",
    "qos": QosTier.ON_DEMAND.value, "gpu_model": "", "name": "", "command": "", "uses": "",
}  # fmt: skip


@router.get("/portal/")
def dashboard(request: Request, v: Member) -> Response:
    data = portal.dashboard(get_ctx(request), v.principal)
    return portal_of(request).render(request, v, "dashboard.html", d=data)


def _state(value: str) -> JobState | None:
    if not value:
        return None
    try:
        return JobState(value.upper())
    except ValueError:
        raise ValidationFailed(f"unknown job state {value!r}") from None


@router.get("/portal/jobs")
def job_list(
    request: Request, v: Member, state: Annotated[str, Query(max_length=20)] = "",
    before: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:  # fmt: skip
    chosen = _state(state)
    data = portal.job_list(get_ctx(request), v.principal, state=chosen, before=before)
    return portal_of(request).render(request, v, "jobs/list.html", data=data, chosen=chosen)


def _submit_page(request: Request, v: Visitor, values: dict[str, str], *, error: str | None,
                 status: int = 200) -> Response:  # fmt: skip
    options = portal.submit_options(get_ctx(request), v.principal)
    values = {**values, "idempotency_key": secrets.token_urlsafe(16)}
    return portal_of(request).render(request, v, "jobs/new.html", status=status, options=options,
                                     values=values, error=error)  # fmt: skip


@router.get("/portal/jobs/new")
def new_job(request: Request, v: Member,
            project_id: Annotated[str, Query(max_length=40)] = "",
            uses: Annotated[str, Query(max_length=1000)] = "") -> Response:  # fmt: skip
    values = {**FORM_DEFAULTS, "project_id": project_id, "uses": uses}
    return _submit_page(request, v, values, error=None)


@router.post("/portal/jobs/new")
def submit_job(request: Request, v: Poster, form: Form) -> Response:
    try:
        spec = forms.job_spec(form, v.gettext)
        done = jobs.submit(get_ctx(request), v.principal, spec, form.get("idempotency_key") or None)
    except (ValidationFailed, AccessRequired, Conflict) as exc:  # Conflict: a corrupt version
        return _submit_page(request, v, form, error=exc.detail, status=status_of(exc))
    return RedirectResponse(f"/portal/jobs/{done.job.id}", status_code=303)


@router.post("/portal/jobs/estimate")
def estimate(request: Request, v: Poster, form: Form) -> Response:
    """The submit form's cost estimate (an htmx fragment): the same figure as
    ``POST /v1/jobs/estimate``; a problem with the form is shown in its place."""
    result, error = None, None
    try:
        spec = forms.job_spec(form, v.gettext, estimate=True)
        if spec.walltime_s is not None:
            result = accounts.estimate_job(get_ctx(request), v.principal, spec)
    except (ValidationFailed, NotFound) as exc:
        error = exc.detail
    return portal_of(request).render(request, v, "jobs/_estimate.html", result=result,
                                     error=error, hkd=hkd)  # fmt: skip


@router.get("/portal/jobs/{job_id}")
def job_detail(request: Request, v: Member, job_id: str) -> Response:
    page = portal.job_page(get_ctx(request), v.principal, job_id)
    return portal_of(request).render(request, v, "jobs/detail.html", page=page)


@router.get("/portal/jobs/{job_id}/status")
def job_status(request: Request, v: Member, job_id: str) -> Response:
    page = portal.job_page(get_ctx(request), v.principal, job_id)
    return portal_of(request).render(request, v, "jobs/_status.html", page=page)


@router.get("/portal/jobs/{job_id}/log")
def job_log(
    request: Request, v: Member, job_id: str,
    stream: Annotated[str, Query(pattern="^(stdout|stderr)$")] = "stdout",
    attempt: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    offset: Annotated[int, Query(ge=0, le=2**40)] = 0,  # beyond what a log file can hold
) -> Response:  # fmt: skip
    tail = portal.log_tail(get_ctx(request), v.principal, job_id, stream=stream,
                           attempt=attempt, offset=offset, limit=LOG_CHUNK)  # fmt: skip
    more = tail.chunk.next_offset - offset >= LOG_CHUNK - 4  # a full chunk: ask again at once
    return portal_of(request).render(request, v, "jobs/_log.html", tail=tail, job_id=job_id,
                                     stream=stream, more=more)  # fmt: skip


@router.post("/portal/jobs/{job_id}/cancel")
def cancel_job(request: Request, v: Poster, job_id: str) -> Response:
    jobs.cancel(get_ctx(request), v.principal, job_id)
    return RedirectResponse(f"/portal/jobs/{job_id}", status_code=303)
