"""Permission rules in one place. Reads are filtered by Scope; actions check roles here.

A caller who cannot see an object gets NotFound (no existence leak); one who can see it but
lacks the role gets Forbidden.
"""

from __future__ import annotations

from petaport.domain.errors import Forbidden
from petaport.domain.jobs import Job
from petaport.domain.tenancy import Principal, Role, org_role_at_least


def require_scope(principal: Principal, scope: str) -> None:
    if not principal.has_scope(scope):
        raise Forbidden(f"this token lacks the '{scope}' scope")


def require_centre_admin(principal: Principal) -> None:
    require_scope(principal, "admin")
    if not principal.is_centre_admin:
        raise Forbidden("only a centre admin may do this")


def can_admin_org(principal: Principal, org_id: str) -> bool:
    if principal.is_centre_admin:
        return True
    role = principal.org_role(org_id)
    return role is not None and org_role_at_least(role, Role.ORG_ADMIN)


def require_org_admin(principal: Principal, org_id: str) -> None:
    require_scope(principal, "admin")
    if not can_admin_org(principal, org_id):
        raise Forbidden("only an org admin of this organisation may do this")


def require_submit(principal: Principal, org_id: str, project_id: str) -> None:
    require_scope(principal, "jobs:write")
    if principal.is_centre_admin:
        return
    role = principal.project_role(org_id, project_id)
    if role is None or not org_role_at_least(role, Role.MEMBER):
        raise Forbidden("viewers cannot submit jobs; ask an org admin for the member role")


def require_job_control(principal: Principal, job: Job) -> None:
    """Cancel/requeue: the job's owner, an org admin of its org, or a centre admin."""
    require_scope(principal, "jobs:write")
    if job.user_id == principal.user.id and principal.project_role(job.org_id, job.project_id):
        return
    if not can_admin_org(principal, job.org_id):
        raise Forbidden("only the job's owner or an org admin may do this")
