"""Tenancy: organisations, projects, users, memberships and the roles that grant access.

Invariants: a project belongs to exactly one organisation; a membership ties one user to one
organisation (optionally narrowed to one project) with one role; centre roles (centre_admin,
reviewer, committee) are held on the user, not through an organisation.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


class OrgCategory(enum.StrEnum):
    UNIVERSITY = "university"
    RESEARCH_INSTITUTE = "research_institute"
    STARTUP = "startup"
    ENTERPRISE = "enterprise"
    PUBLIC_BODY = "public_body"


class Role(enum.StrEnum):
    CENTRE_ADMIN = "centre_admin"
    REVIEWER = "reviewer"
    COMMITTEE = "committee"
    ORG_ADMIN = "org_admin"
    MEMBER = "member"
    VIEWER = "viewer"


CENTRE_ROLES = frozenset({Role.CENTRE_ADMIN, Role.REVIEWER, Role.COMMITTEE})
ORG_ROLES = frozenset({Role.ORG_ADMIN, Role.MEMBER, Role.VIEWER})
# What a role lets its holder do inside the org it is held in.
_ORG_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ORG_ADMIN: 2}


def org_role_at_least(held: Role, needed: Role) -> bool:
    """True if ``held`` (an org role) grants at least what ``needed`` grants."""
    return _ORG_RANK.get(held, -1) >= _ORG_RANK[needed]


def _strongest(roles: Iterable[Role]) -> Role | None:
    ranked = [r for r in roles if r in _ORG_RANK]
    return max(ranked, key=_ORG_RANK.__getitem__) if ranked else None


@dataclass(frozen=True)
class Org:
    id: str
    name: str
    slug: str
    category: OrgCategory
    created_at: datetime


@dataclass(frozen=True)
class Project:
    id: str
    org_id: str
    name: str
    slug: str
    created_at: datetime
    description: str = ""


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str
    display_name: str
    centre_roles: frozenset[Role]
    is_active: bool
    created_at: datetime
    locale: str = "en"


@dataclass(frozen=True)
class Membership:
    id: str
    user_id: str
    org_id: str
    role: Role
    created_at: datetime
    project_id: str | None = None


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their memberships and (for tokens) the granted scopes."""

    user: User
    memberships: tuple[Membership, ...]
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({"*"}))
    token_id: str | None = None

    @property
    def is_centre_admin(self) -> bool:
        return Role.CENTRE_ADMIN in self.user.centre_roles

    def org_role(self, org_id: str) -> Role | None:
        """The strongest org-wide role held in ``org_id`` (project-narrowed ones excluded)."""
        return _strongest(
            m.role for m in self.memberships if m.org_id == org_id and m.project_id is None
        )

    def project_role(self, org_id: str, project_id: str) -> Role | None:
        """The strongest role that applies in a project: org-wide or narrowed to it."""
        return _strongest(
            m.role
            for m in self.memberships
            if m.org_id == org_id and m.project_id in (None, project_id)
        )

    def org_ids(self) -> frozenset[str]:
        return frozenset(m.org_id for m in self.memberships)

    def has_scope(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes


TOKEN_SCOPES = frozenset({"*", "jobs:read", "jobs:write", "admin"})


@dataclass(frozen=True)
class Scope:
    """What a caller may read. ``everything`` for centre staff; otherwise orgs and projects.

    Repositories filter every read by a Scope, so another tenant's row is simply not found.
    """

    everything: bool = False
    org_ids: frozenset[str] = frozenset()
    project_ids: frozenset[str] = frozenset()

    def allows(self, org_id: str, project_id: str | None = None) -> bool:
        if self.everything or org_id in self.org_ids:
            return True
        return project_id is not None and project_id in self.project_ids


def scope_of(principal: Principal) -> Scope:
    if principal.is_centre_admin:
        return Scope(everything=True)
    org_ids = frozenset(m.org_id for m in principal.memberships if m.project_id is None)
    project_ids = frozenset(m.project_id for m in principal.memberships if m.project_id is not None)
    return Scope(org_ids=org_ids, project_ids=project_ids)
