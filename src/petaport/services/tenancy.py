"""Organisations, projects, users and memberships: who may create and see what.

Centre admins manage organisations and node pools; org admins manage their org's projects,
users and memberships. Everybody else reads only within their own orgs/projects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from petaport.domain.errors import Conflict, NotFound, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.tenancy import (
    CENTRE_ROLES,
    ORG_ROLES,
    Membership,
    Org,
    OrgCategory,
    Principal,
    Project,
    Role,
    User,
    scope_of,
)
from petaport.services.auth import hash_password
from petaport.services.authz import require_centre_admin, require_org_admin
from petaport.services.context import Context
from petaport.storage.repos.tenancy import TenancyRepo

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_slug(slug: str, what: str) -> None:
    if not _SLUG.match(slug):
        raise ValidationFailed(f"{what} must be 1-63 lowercase letters, digits or '-'")


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200 or "\x00" in name:
        raise ValidationFailed("name must be 1-200 characters")
    return name


def create_org(ctx: Context, p: Principal, *, name: str, slug: str, category: OrgCategory) -> Org:
    require_centre_admin(p)
    _check_slug(slug, "slug")
    org = Org(new_id("org"), _check_name(name), slug, category, ctx.clock())
    with ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        if repo.find_org_by_slug(slug) is not None:
            raise Conflict(f"an organisation with slug '{slug}' exists", code="slug_taken")
        repo.add_org(org)
    return org


def get_org(ctx: Context, p: Principal, org_id: str) -> Org:
    with ctx.db.transaction() as s:
        return TenancyRepo(s).get_org(scope_of(p), org_id)


def list_orgs(ctx: Context, p: Principal, *, after: str | None, limit: int) -> list[Org]:
    with ctx.db.transaction() as s:
        return TenancyRepo(s).list_orgs(scope_of(p), after=after, limit=limit)


def create_project(
    ctx: Context, p: Principal, *, org_id: str, name: str, slug: str, description: str = ""
) -> Project:
    _check_slug(slug, "slug")
    with ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        repo.get_org(scope_of(p), org_id)
        require_org_admin(p, org_id)
        if repo.find_project_by_slug(org_id, slug) is not None:
            raise Conflict(f"the organisation has a project '{slug}' already", code="slug_taken")
        project = Project(
            new_id("prj"), org_id, _check_name(name), slug, ctx.clock(), description[:2000]
        )
        repo.add_project(project)
    return project


def get_project(ctx: Context, p: Principal, project_id: str) -> Project:
    with ctx.db.transaction() as s:
        return TenancyRepo(s).get_project(scope_of(p), project_id)


def list_projects(
    ctx: Context, p: Principal, *, org_id: str | None, after: str | None, limit: int
) -> list[Project]:
    with ctx.db.transaction() as s:
        return TenancyRepo(s).list_projects(scope_of(p), org_id=org_id, after=after, limit=limit)


@dataclass(frozen=True)
class NewUser:
    username: str
    email: str
    display_name: str
    password: str | None = None
    centre_roles: frozenset[Role] = frozenset()
    org_id: str | None = None
    org_role: Role | None = None


def create_user(ctx: Context, p: Principal, new: NewUser) -> User:
    """Centre admins create anyone; org admins create members of their own organisation."""
    _validate_new_user(new)
    if new.centre_roles or new.org_id is None:
        require_centre_admin(p)
    user = User(
        new_id("usr"),
        new.username,
        new.email,
        new.display_name.strip() or new.username,
        new.centre_roles,
        True,
        ctx.clock(),
    )
    pw_hash = hash_password(ctx, new.password) if new.password else None
    with ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        if new.org_id is not None:
            repo.get_org(scope_of(p), new.org_id)
            require_org_admin(p, new.org_id)
        if repo.find_user_by_username(new.username) is not None:
            raise Conflict(f"username '{new.username}' is taken", code="username_taken")
        repo.add_user(user, pw_hash)
        if new.org_id is not None:
            s.flush()
            repo.add_membership(
                Membership(
                    new_id("mem"), user.id, new.org_id, new.org_role or Role.MEMBER, ctx.clock()
                )
            )
    return user


def _validate_new_user(new: NewUser) -> None:
    if not _USERNAME.match(new.username):
        raise ValidationFailed("username must be 2-64 lowercase letters, digits, '.', '_', '-'")
    if not _EMAIL.match(new.email) or len(new.email) > 254:
        raise ValidationFailed("email is not a valid address")
    if not new.centre_roles <= CENTRE_ROLES:
        raise ValidationFailed("centre roles are centre_admin, reviewer and committee")
    if new.org_role is not None and new.org_role not in ORG_ROLES:
        raise ValidationFailed("org roles are org_admin, member and viewer")
    if new.org_role is not None and new.org_id is None:
        raise ValidationFailed("org_role needs org_id")


def get_user(ctx: Context, p: Principal, user_id: str) -> User:
    with ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        user = repo.find_user(user_id)
        if user is None or (user.id != p.user.id and not repo.user_visible(scope_of(p), user_id)):
            raise NotFound(f"user {user_id} not found")
        return user


def list_users(
    ctx: Context, p: Principal, *, org_id: str | None, after: str | None, limit: int
) -> list[User]:
    with ctx.db.transaction() as s:
        return TenancyRepo(s).list_users(scope_of(p), org_id=org_id, after=after, limit=limit)


def set_user_active(ctx: Context, p: Principal, user_id: str, active: bool) -> User:
    """Enable or disable a login. Nobody can disable themselves (no centre without an admin)."""
    require_centre_admin(p)
    if not active and user_id == p.user.id:
        raise Conflict("you cannot disable your own account", code="cannot_disable_self")
    with ctx.db.transaction() as s:
        TenancyRepo(s).set_active(user_id, active)
        user = TenancyRepo(s).find_user(user_id)
    ctx.forget_principals()
    assert user is not None
    return user


def add_membership(
    ctx: Context,
    p: Principal,
    *,
    org_id: str,
    user_id: str,
    role: Role,
    project_id: str | None = None,
) -> Membership:
    if role not in ORG_ROLES:
        raise ValidationFailed("membership roles are org_admin, member and viewer")
    with ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        repo.get_org(scope_of(p), org_id)
        require_org_admin(p, org_id)
        if project_id is not None and repo.get_project(scope_of(p), project_id).org_id != org_id:
            raise NotFound(f"project {project_id} not found")
        if repo.find_user(user_id) is None:
            raise NotFound(f"user {user_id} not found")
        if repo.find_membership(user_id, org_id, project_id) is not None:
            raise Conflict("the user already has a membership here", code="membership_exists")
        m = Membership(new_id("mem"), user_id, org_id, role, ctx.clock(), project_id)
        repo.add_membership(m)
        try:
            s.flush()
        except IntegrityError as exc:
            raise Conflict(
                "the user already has a membership here", code="membership_exists"
            ) from exc
    ctx.forget_principals()
    return m


def list_memberships(
    ctx: Context,
    p: Principal,
    *,
    org_id: str | None,
    project_id: str | None,
    after: str | None,
    limit: int,
) -> list[Membership]:
    with ctx.db.transaction() as s:
        return TenancyRepo(s).list_memberships(
            scope_of(p), org_id=org_id, project_id=project_id, after=after, limit=limit
        )


def remove_membership(ctx: Context, p: Principal, membership_id: str) -> None:
    with ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        m = repo.get_membership(scope_of(p), membership_id)
        require_org_admin(p, m.org_id)
        repo.delete_membership(membership_id)
    ctx.forget_principals()


def resolve_project(ctx: Context, p: Principal, ref: str) -> Project:
    """A project by id, or by ``org-slug/project-slug``."""
    with ctx.db.transaction() as s:
        return TenancyRepo(s).resolve_project(scope_of(p), ref)
