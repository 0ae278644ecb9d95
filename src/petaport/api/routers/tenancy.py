"""Organisations, projects, users and memberships."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from petaport.api import convert
from petaport.api.deps import CtxDep, Cursor, Limit, PrincipalDep, decode_cursor, next_cursor
from petaport.api.problems import declare
from petaport.domain.tenancy import OrgCategory, Role
from petaport.schemas import (
    MembershipCreate,
    MembershipPublic,
    OrgCreate,
    OrgPublic,
    Page,
    ProjectCreate,
    ProjectPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from petaport.services import tenancy

router = APIRouter(tags=["tenancy"])


@router.post("/orgs", status_code=status.HTTP_201_CREATED, responses=declare(401, 403, 409, 422))
def create_org(ctx: CtxDep, p: PrincipalDep, body: OrgCreate) -> OrgPublic:
    org = tenancy.create_org(
        ctx, p, name=body.name, slug=body.slug, category=OrgCategory(body.category)
    )
    return convert.org(org)


@router.get("/orgs", responses=declare(401, 422))
def list_orgs(
    ctx: CtxDep, p: PrincipalDep, cursor: Cursor = None, limit: Limit = 50
) -> Page[OrgPublic]:
    rows = tenancy.list_orgs(ctx, p, after=decode_cursor(cursor), limit=limit)
    return Page(
        items=[convert.org(o) for o in rows], next_cursor=next_cursor([o.id for o in rows], limit)
    )


@router.get("/orgs/{org_id}", responses=declare(401, 404))
def get_org(ctx: CtxDep, p: PrincipalDep, org_id: str) -> OrgPublic:
    return convert.org(tenancy.get_org(ctx, p, org_id))


@router.post(
    "/projects", status_code=status.HTTP_201_CREATED, responses=declare(401, 403, 404, 409, 422)
)
def create_project(ctx: CtxDep, p: PrincipalDep, body: ProjectCreate) -> ProjectPublic:
    project = tenancy.create_project(
        ctx, p, org_id=body.org_id, name=body.name, slug=body.slug, description=body.description
    )
    return convert.project(project)


@router.get("/projects", responses=declare(401, 422))
def list_projects(
    ctx: CtxDep,
    p: PrincipalDep,
    org_id: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ProjectPublic]:
    rows = tenancy.list_projects(ctx, p, org_id=org_id, after=decode_cursor(cursor), limit=limit)
    return Page(
        items=[convert.project(x) for x in rows],
        next_cursor=next_cursor([x.id for x in rows], limit),
    )


@router.get("/projects/{project_id}", responses=declare(401, 404))
def get_project(ctx: CtxDep, p: PrincipalDep, project_id: str) -> ProjectPublic:
    return convert.project(tenancy.get_project(ctx, p, project_id))


@router.post(
    "/users", status_code=status.HTTP_201_CREATED, responses=declare(401, 403, 404, 409, 422)
)
def create_user(ctx: CtxDep, p: PrincipalDep, body: UserCreate) -> UserPublic:
    new = tenancy.NewUser(
        username=body.username,
        email=body.email,
        display_name=body.display_name,
        password=body.password,
        centre_roles=frozenset(Role(r) for r in body.centre_roles),
        org_id=body.org_id,
        org_role=Role(body.org_role) if body.org_role else None,
    )
    return convert.user(tenancy.create_user(ctx, p, new))


@router.get("/users", responses=declare(401, 422))
def list_users(
    ctx: CtxDep,
    p: PrincipalDep,
    org_id: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[UserPublic]:
    rows = tenancy.list_users(ctx, p, org_id=org_id, after=decode_cursor(cursor), limit=limit)
    return Page(
        items=[convert.user(u) for u in rows], next_cursor=next_cursor([u.id for u in rows], limit)
    )


@router.get("/users/{user_id}", responses=declare(401, 404))
def get_user(ctx: CtxDep, p: PrincipalDep, user_id: str) -> UserPublic:
    return convert.user(tenancy.get_user(ctx, p, user_id))


@router.patch("/users/{user_id}", responses=declare(401, 403, 404, 409, 422))
def update_user(ctx: CtxDep, p: PrincipalDep, user_id: str, body: UserUpdate) -> UserPublic:
    tenancy.get_user(ctx, p, user_id)
    return convert.user(tenancy.set_user_active(ctx, p, user_id, body.is_active))


@router.post(
    "/memberships", status_code=status.HTTP_201_CREATED, responses=declare(401, 403, 404, 409, 422)
)
def add_membership(ctx: CtxDep, p: PrincipalDep, body: MembershipCreate) -> MembershipPublic:
    m = tenancy.add_membership(
        ctx,
        p,
        org_id=body.org_id,
        user_id=body.user_id,
        role=Role(body.role),
        project_id=body.project_id,
    )
    return convert.membership(m)


@router.get("/memberships", responses=declare(401, 422))
def list_memberships(
    ctx: CtxDep,
    p: PrincipalDep,
    org_id: str | None = None,
    project_id: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[MembershipPublic]:
    rows = tenancy.list_memberships(
        ctx, p, org_id=org_id, project_id=project_id, after=decode_cursor(cursor), limit=limit
    )
    return Page(
        items=[convert.membership(m) for m in rows],
        next_cursor=next_cursor([m.id for m in rows], limit),
    )


@router.delete(
    "/memberships/{membership_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=declare(401, 403, 404),
)
def remove_membership(ctx: CtxDep, p: PrincipalDep, membership_id: str) -> Response:
    tenancy.remove_membership(ctx, p, membership_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
