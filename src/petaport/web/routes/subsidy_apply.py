"""Subsidy applications in the portal, for applicants: the open calls and "my applications",
the application form (milestone rows added and removed by the form's own buttons, the
compute-request calculator as an htmx fragment whose button copies its GPU-hours into the
request), PDF attachments (multipart), submission, and the application's page, which every
reader of the application shows (the secretariat's and reviewers' parts are in
``subsidy_review``).

Who may do what is the services' rule (``services/subsidy_*``): another tenant's application
is the not-found page; a rule broken shows the form or page again with the problem's message.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from petaport.domain.compute_request import PEAK_FLOPS, FineTuning, Mode, Precision
from petaport.domain.errors import Conflict, Forbidden, ValidationFailed
from petaport.domain.subsidy_workflow import DECLARATIONS
from petaport.services import auth, subsidy_pages
from petaport.services import subsidy_applications as apps
from petaport.web import forms, subsidy_forms
from petaport.web.errors import PortalRoute
from petaport.web.pages import portal_of
from petaport.web.routes.billing import hkd
from petaport.web.visitor import CSRF_FIELD, Form, Member, Poster, Visitor, get_ctx

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
FIXABLE = (ValidationFailed, Conflict)
GPU_MODELS = tuple(sorted(PEAK_FLOPS))
ROW_OPS = ("add_milestone", "remove_milestone:")


def status_of(exc: Exception) -> int:
    return 409 if isinstance(exc, Conflict) else 422


def app_url(app_id: str) -> str:
    return f"/portal/subsidy/applications/{app_id}"


@router.get("/portal/subsidy")
def index(request: Request, v: Member) -> Response:
    ctx = get_ctx(request)
    return portal_of(request).render(
        request, v, "subsidy/index.html", options=subsidy_pages.apply_options(ctx, v.principal),
        views=subsidy_pages.my_applications(ctx, v.principal),
    )  # fmt: skip


def _form(request: Request, v: Visitor, values: dict[str, str], *, app_id: str | None = None,
          error: str | None = None, status: int = 200) -> Response:  # fmt: skip
    ctx = get_ctx(request)
    view = apps.get_application(ctx, v.principal, app_id) if app_id else None
    return portal_of(request).render(
        request, v, "subsidy/form.html", status=status, values=values, error=error, view=view,
        options=subsidy_pages.apply_options(ctx, v.principal), gpu_models=GPU_MODELS,
        declarations=DECLARATIONS, precisions=list(Precision), modes=list(Mode),
        fine_tunings=list(FineTuning), rows=subsidy_forms.row_count(values),
        action=f"{app_url(app_id)}/edit" if app_id else "/portal/subsidy/new",
    )  # fmt: skip


def _rows_op(form: dict[str, str]) -> str | None:
    op = forms.text(form, "op")
    return op if op.startswith(ROW_OPS) else None


@router.get("/portal/subsidy/new")
def new_form(request: Request, v: Member, call: str = "") -> Response:
    return _form(request, v, {"call_id": call, "rows": "1", "c-mfu": "40"})


@router.post("/portal/subsidy/new")
def create(request: Request, v: Poster, form: Form) -> Response:
    op = _rows_op(form)
    if op:
        return _form(request, v, subsidy_forms.with_rows(form, op))
    try:
        view = apps.create_draft(get_ctx(request), v.principal, forms.text(form, "call_id"),
                                 forms.text(form, "project"),
                                 subsidy_forms.proposal(form, v.gettext))  # fmt: skip
    except FIXABLE as exc:
        return _form(request, v, form, error=exc.detail, status=status_of(exc))
    return RedirectResponse(app_url(view.app.id), status_code=303)


@router.get("/portal/subsidy/applications/{app_id}/edit")
def edit_form(request: Request, v: Member, app_id: str) -> Response:
    view = apps.get_application(get_ctx(request), v.principal, app_id)
    return _form(request, v, subsidy_forms.proposal_fields(view.app.proposal), app_id=app_id)


@router.post("/portal/subsidy/applications/{app_id}/edit")
def save(request: Request, v: Poster, form: Form, app_id: str) -> Response:
    op = _rows_op(form)
    if op:
        return _form(request, v, subsidy_forms.with_rows(form, op), app_id=app_id)
    try:
        apps.update_draft(get_ctx(request), v.principal, app_id,
                          subsidy_forms.proposal(form, v.gettext))  # fmt: skip
    except FIXABLE as exc:
        return _form(request, v, form, app_id=app_id, error=exc.detail, status=status_of(exc))
    return RedirectResponse(app_url(app_id), status_code=303)


@router.post("/portal/subsidy/calculate")
def calculate(request: Request, v: Poster, form: Form, copy: bool = False) -> Response:
    """The calculator's result (an htmx fragment); ``copy`` also swaps the request's
    GPU-hours field for one holding the result (out of band)."""
    result, error, model = None, None, ""
    try:
        i = subsidy_forms.compute_input(form, v.gettext)
        result, model = apps.calculate(i), i.gpu_model.upper()
    except ValidationFailed as exc:
        error = exc.detail
    return portal_of(request).render(request, v, "subsidy/_calc.html", result=result,
                                     error=error, copy=copy and result is not None,
                                     model=model, gpu_models=GPU_MODELS)  # fmt: skip


def app_page(request: Request, v: Visitor, app_id: str, *, error: str | None = None,
             status: int = 200, values: dict[str, str] | None = None) -> Response:  # fmt: skip
    """The application's page, for every reader (with the parts the visitor's role uses)."""
    page = subsidy_pages.application_page(get_ctx(request), v.principal, app_id)
    return portal_of(request).render(
        request, v, "subsidy/application.html", status=status, page=page, view=page.view,
        app=page.view.app, error=error, values=values or {}, hkd=hkd,
    )  # fmt: skip


@router.get("/portal/subsidy/applications/{app_id}")
def application(request: Request, v: Member, app_id: str) -> Response:
    return app_page(request, v, app_id)


@router.post("/portal/subsidy/applications/{app_id}/submit")
def submit(request: Request, v: Poster, form: Form, app_id: str) -> Response:
    del form  # read for its CSRF token
    try:
        apps.submit(get_ctx(request), v.principal, app_id)
    except FIXABLE as exc:
        return app_page(request, v, app_id, error=exc.detail, status=status_of(exc))
    return RedirectResponse(app_url(app_id), status_code=303)


async def _upload(request: Request, v: Visitor) -> tuple[str, bytes]:
    """The posted file's name and bytes (at most the limit plus one, to tell it is over)."""
    limit = get_ctx(request).settings.subsidy_review.attachment_max_bytes
    async with request.form(max_files=1, max_fields=5) as form:
        token = form.get(CSRF_FIELD)
        assert v.session is not None
        if not auth.csrf_ok(v.session, token if isinstance(token, str) else None):
            raise Forbidden("the form's security token is missing or out of date", code="csrf")
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed(v.gettext("Choose a PDF file to attach."))
        return upload.filename, await upload.read(limit + 1)


@router.post("/portal/subsidy/applications/{app_id}/attachments")
async def attach(request: Request, v: Member, app_id: str) -> Response:
    try:
        filename, data = await _upload(request, v)
        await run_in_threadpool(apps.add_attachment, get_ctx(request), v.principal, app_id,
                                filename, data)  # fmt: skip
    except FIXABLE as exc:
        return await run_in_threadpool(app_page, request, v, app_id, error=exc.detail,
                                       status=status_of(exc))  # fmt: skip
    return RedirectResponse(app_url(app_id) + "#attachments", status_code=303)


@router.get("/portal/subsidy/applications/{app_id}/attachments/{attachment_id}")
def attachment(request: Request, v: Member, app_id: str, attachment_id: str) -> Response:
    a, data = apps.attachment_content(get_ctx(request), v.principal, app_id, attachment_id)
    name = a.filename.replace('"', "").encode("ascii", "replace").decode()
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
