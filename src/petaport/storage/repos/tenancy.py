"""Organisations, projects, users and memberships."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, or_, select
from sqlalchemy.orm import Session

from petaport.domain.errors import NotFound
from petaport.domain.tenancy import Membership, Org, OrgCategory, Project, Role, Scope, User
from petaport.storage.tables import MembershipRow, OrgRow, ProjectRow, UserRow


def org_from_row(row: OrgRow) -> Org:
    return Org(row.id, row.name, row.slug, OrgCategory(row.category), row.created_at)


def project_from_row(row: ProjectRow) -> Project:
    return Project(row.id, row.org_id, row.name, row.slug, row.created_at, row.description)


def user_from_row(row: UserRow) -> User:
    roles = frozenset(Role(r) for r in row.centre_roles.split(",") if r)
    return User(
        row.id,
        row.username,
        row.email,
        row.display_name,
        roles,
        row.is_active,
        row.created_at,
        row.locale,
    )


def membership_from_row(row: MembershipRow) -> Membership:
    return Membership(
        row.id, row.user_id, row.org_id, Role(row.role), row.created_at, row.project_id
    )


ORGS = cast(Table, OrgRow.__table__)
PROJECTS = cast(Table, ProjectRow.__table__)


class TenancyRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    # -- organisations
    def add_org(self, org: Org) -> None:
        self.s.add(
            OrgRow(
                id=org.id,
                name=org.name,
                slug=org.slug,
                category=org.category.value,
                created_at=org.created_at,
            )
        )

    def find_org_by_slug(self, slug: str) -> Org | None:
        row = self.s.scalar(select(OrgRow).where(OrgRow.slug == slug))
        return org_from_row(row) if row else None

    def get_org(self, scope: Scope, org_id: str) -> Org:
        row = self.s.get(OrgRow, org_id)
        if row is None or (
            not scope.allows(row.id, None) and not self._sees_any_project(scope, row.id)
        ):
            raise NotFound(f"organisation {org_id} not found")
        return org_from_row(row)

    def _sees_any_project(self, scope: Scope, org_id: str) -> bool:
        if not scope.project_ids:
            return False
        q = select(ProjectRow.id).where(
            ProjectRow.org_id == org_id, ProjectRow.id.in_(scope.project_ids)
        )
        return self.s.scalar(q.limit(1)) is not None

    def list_orgs(self, scope: Scope, *, after: str | None, limit: int) -> list[Org]:
        q = select(OrgRow).order_by(OrgRow.id)
        if not scope.everything:
            project_orgs = select(ProjectRow.org_id).where(ProjectRow.id.in_(scope.project_ids))
            q = q.where(or_(OrgRow.id.in_(scope.org_ids), OrgRow.id.in_(project_orgs)))
        if after:
            q = q.where(OrgRow.id > after)
        return [org_from_row(r) for r in self.s.scalars(q.limit(limit))]

    # -- projects
    def add_project(self, project: Project) -> None:
        self.s.add(
            ProjectRow(
                id=project.id,
                org_id=project.org_id,
                name=project.name,
                slug=project.slug,
                description=project.description,
                created_at=project.created_at,
            )
        )

    def get_project(self, scope: Scope, project_id: str) -> Project:
        row = self.s.get(ProjectRow, project_id)
        if row is None or not scope.allows(row.org_id, row.id):
            raise NotFound(f"project {project_id} not found")
        return project_from_row(row)

    def resolve_project(self, scope: Scope, ref: str) -> Project:
        """A project by id, or by ``org-slug/project-slug``; NotFound outside ``scope``."""
        p = PROJECTS.c
        q = select(p.id, p.org_id, p.name, p.slug, p.created_at, p.description)
        if ref.startswith("prj_"):
            q = q.where(p.id == ref)
        else:
            org_slug, _, project_slug = ref.partition("/")
            q = q.join(ORGS, ORGS.c.id == p.org_id).where(
                ORGS.c.slug == org_slug, p.slug == project_slug
            )
        row = self.s.connection().execute(q).first()
        if row is None or not scope.allows(row[1], row[0]):
            raise NotFound(f"project {ref} not found")
        return Project(*row)

    def find_project_by_slug(self, org_id: str, slug: str) -> Project | None:
        q = select(ProjectRow).where(ProjectRow.org_id == org_id, ProjectRow.slug == slug)
        row = self.s.scalar(q)
        return project_from_row(row) if row else None

    def list_projects(
        self, scope: Scope, *, org_id: str | None, after: str | None, limit: int
    ) -> list[Project]:
        q = select(ProjectRow).order_by(ProjectRow.id)
        if not scope.everything:
            q = q.where(
                or_(ProjectRow.org_id.in_(scope.org_ids), ProjectRow.id.in_(scope.project_ids))
            )
        if org_id:
            q = q.where(ProjectRow.org_id == org_id)
        if after:
            q = q.where(ProjectRow.id > after)
        return [project_from_row(r) for r in self.s.scalars(q.limit(limit))]

    # -- users
    def add_user(self, user: User, password_hash: str | None) -> None:
        self.s.add(
            UserRow(
                id=user.id,
                username=user.username,
                email=user.email,
                display_name=user.display_name,
                password_hash=password_hash,
                centre_roles=",".join(sorted(user.centre_roles)),
                is_active=user.is_active,
                locale=user.locale,
                created_at=user.created_at,
            )
        )

    def find_user(self, user_id: str) -> User | None:
        row = self.s.get(UserRow, user_id)
        return user_from_row(row) if row else None

    def find_user_by_username(self, username: str) -> tuple[User, str | None] | None:
        row = self.s.scalar(select(UserRow).where(UserRow.username == username))
        return (user_from_row(row), row.password_hash) if row else None

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        row = self.s.get(UserRow, user_id)
        if row is None:
            raise NotFound(f"user {user_id} not found")
        row.password_hash = password_hash

    def set_locale(self, user_id: str, locale: str) -> None:
        row = self.s.get(UserRow, user_id)
        if row is not None:
            row.locale = locale

    def set_active(self, user_id: str, active: bool) -> None:
        row = self.s.get(UserRow, user_id)
        if row is None:
            raise NotFound(f"user {user_id} not found")
        row.is_active = active

    def user_visible(self, scope: Scope, user_id: str) -> bool:
        """A user is visible to centre staff, and to anyone sharing an org or project."""
        if scope.everything:
            return True
        q = select(MembershipRow.id).where(
            MembershipRow.user_id == user_id,
            or_(
                MembershipRow.org_id.in_(scope.org_ids),
                MembershipRow.project_id.in_(scope.project_ids),
            ),
        )
        return self.s.scalar(q.limit(1)) is not None

    def list_users(
        self, scope: Scope, *, org_id: str | None, after: str | None, limit: int
    ) -> list[User]:
        q = select(UserRow).order_by(UserRow.id)
        if not scope.everything or org_id:
            members = select(MembershipRow.user_id)
            if not scope.everything:
                members = members.where(
                    or_(
                        MembershipRow.org_id.in_(scope.org_ids),
                        MembershipRow.project_id.in_(scope.project_ids),
                    )
                )
            if org_id:
                members = members.where(MembershipRow.org_id == org_id)
            q = q.where(UserRow.id.in_(members))
        if after:
            q = q.where(UserRow.id > after)
        return [user_from_row(r) for r in self.s.scalars(q.limit(limit))]

    # -- memberships
    def add_membership(self, m: Membership) -> None:
        self.s.add(
            MembershipRow(
                id=m.id,
                user_id=m.user_id,
                org_id=m.org_id,
                project_id=m.project_id,
                role=m.role.value,
                created_at=m.created_at,
            )
        )

    def memberships_of(self, user_id: str) -> tuple[Membership, ...]:
        q = select(MembershipRow).where(MembershipRow.user_id == user_id)
        return tuple(membership_from_row(r) for r in self.s.scalars(q))

    def find_membership(
        self, user_id: str, org_id: str, project_id: str | None
    ) -> Membership | None:
        q = select(MembershipRow).where(
            MembershipRow.user_id == user_id,
            MembershipRow.org_id == org_id,
            MembershipRow.project_id.is_(None)
            if project_id is None
            else MembershipRow.project_id == project_id,
        )
        row = self.s.scalar(q)
        return membership_from_row(row) if row else None

    def get_membership(self, scope: Scope, membership_id: str) -> Membership:
        row = self.s.get(MembershipRow, membership_id)
        if row is None or not scope.allows(row.org_id, row.project_id):
            raise NotFound(f"membership {membership_id} not found")
        return membership_from_row(row)

    def delete_membership(self, membership_id: str) -> None:
        row = self.s.get(MembershipRow, membership_id)
        if row is not None:
            self.s.delete(row)

    def list_memberships(
        self,
        scope: Scope,
        *,
        org_id: str | None,
        project_id: str | None,
        after: str | None,
        limit: int,
    ) -> list[Membership]:
        q = select(MembershipRow).order_by(MembershipRow.id)
        if not scope.everything:
            q = q.where(
                or_(
                    MembershipRow.org_id.in_(scope.org_ids),
                    MembershipRow.project_id.in_(scope.project_ids),
                )
            )
        if org_id:
            q = q.where(MembershipRow.org_id == org_id)
        if project_id:
            q = q.where(
                or_(MembershipRow.project_id == project_id, MembershipRow.project_id.is_(None))
            )
        if after:
            q = q.where(MembershipRow.id > after)
        return [membership_from_row(r) for r in self.s.scalars(q.limit(limit))]
