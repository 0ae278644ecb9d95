"""Endpoints for organisations, projects, users and memberships.

``resolve_*`` helpers accept what people type (an org slug, a username, ``org/project``) as
well as ids, so scripts and the CLI need not look ids up first.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from petaport.client.errors import NotFound
from petaport.client.transport import Transport
from petaport.domain.ids import has_prefix
from petaport.schemas import (
    MembershipCreate,
    MembershipPublic,
    OrgCreate,
    OrgPublic,
    ProjectCreate,
    ProjectPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)


def _not_found(what: str) -> NotFound:
    return NotFound(404, "not_found", f"{what} not found", None)


class TenancyApi(Transport):
    def create_org(self, spec: OrgCreate) -> OrgPublic:
        return self.one(OrgPublic, "POST", "/v1/orgs", body=spec.model_dump(mode="json"))

    def iter_orgs(self) -> Iterator[OrgPublic]:
        return self.pages(OrgPublic, "/v1/orgs")

    def list_orgs(self, *, limit: int | None = None) -> list[OrgPublic]:
        return list(islice(self.iter_orgs(), limit))

    def get_org(self, org_id: str) -> OrgPublic:
        return self.one(OrgPublic, "GET", f"/v1/orgs/{org_id}", idempotent=True)

    def resolve_org(self, ref: str) -> OrgPublic:
        """An org by id or by slug."""
        if has_prefix(ref, "org"):
            return self.get_org(ref)
        found = next((o for o in self.iter_orgs() if o.slug == ref), None)
        if found is None:
            raise _not_found(f"organisation {ref}")
        return found

    def create_project(self, spec: ProjectCreate) -> ProjectPublic:
        return self.one(ProjectPublic, "POST", "/v1/projects", body=spec.model_dump(mode="json"))

    def iter_projects(self, *, org_id: str | None = None) -> Iterator[ProjectPublic]:
        return self.pages(ProjectPublic, "/v1/projects", {"org_id": org_id})

    def list_projects(
        self, *, org_id: str | None = None, limit: int | None = None
    ) -> list[ProjectPublic]:
        return list(islice(self.iter_projects(org_id=org_id), limit))

    def get_project(self, project_id: str) -> ProjectPublic:
        return self.one(ProjectPublic, "GET", f"/v1/projects/{project_id}", idempotent=True)

    def resolve_project(self, ref: str) -> ProjectPublic:
        """A project by id or by ``org-slug/project-slug``."""
        if has_prefix(ref, "prj"):
            return self.get_project(ref)
        org_slug, _, slug = ref.partition("/")
        org = self.resolve_org(org_slug)
        found = next((p for p in self.iter_projects(org_id=org.id) if p.slug == slug), None)
        if found is None:
            raise _not_found(f"project {ref}")
        return found

    def create_user(self, spec: UserCreate) -> UserPublic:
        return self.one(UserPublic, "POST", "/v1/users", body=spec.model_dump(mode="json"))

    def iter_users(self, *, org_id: str | None = None) -> Iterator[UserPublic]:
        return self.pages(UserPublic, "/v1/users", {"org_id": org_id})

    def list_users(
        self, *, org_id: str | None = None, limit: int | None = None
    ) -> list[UserPublic]:
        return list(islice(self.iter_users(org_id=org_id), limit))

    def get_user(self, user_id: str) -> UserPublic:
        return self.one(UserPublic, "GET", f"/v1/users/{user_id}", idempotent=True)

    def resolve_user(self, ref: str) -> UserPublic:
        """A user by id or by username."""
        if has_prefix(ref, "usr"):
            return self.get_user(ref)
        found = next((u for u in self.iter_users() if u.username == ref), None)
        if found is None:
            raise _not_found(f"user {ref}")
        return found

    def set_user_active(self, user_id: str, is_active: bool) -> UserPublic:
        body = UserUpdate(is_active=is_active).model_dump()
        return self.one(UserPublic, "PATCH", f"/v1/users/{user_id}", body=body, idempotent=True)

    def add_membership(self, spec: MembershipCreate) -> MembershipPublic:
        body = spec.model_dump(mode="json")
        return self.one(MembershipPublic, "POST", "/v1/memberships", body=body)

    def iter_memberships(
        self, *, org_id: str | None = None, project_id: str | None = None
    ) -> Iterator[MembershipPublic]:
        params = {"org_id": org_id, "project_id": project_id}
        return self.pages(MembershipPublic, "/v1/memberships", params)

    def list_memberships(
        self, *, org_id: str | None = None, project_id: str | None = None,
        limit: int | None = None,
    ) -> list[MembershipPublic]:  # fmt: skip
        return list(islice(self.iter_memberships(org_id=org_id, project_id=project_id), limit))

    def remove_membership(self, membership_id: str) -> None:
        self.request("DELETE", f"/v1/memberships/{membership_id}")
