"""Read models and small use cases for the web portal: one call per page.

Each function gathers what one page shows (a dashboard, a job with its attempts and events, a
project's members) under the caller's scope, so portal routes stay thin. Permissions are those
of the underlying services: another tenant's objects are "not found", and admin pages require a
centre admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from petaport.domain.errors import Forbidden, NotFound
from petaport.domain.inventory import Capacity, NodePool
from petaport.domain.jobs import Attempt, Job, JobEvent, JobState
from petaport.domain.tenancy import Membership, Org, Principal, Project, Role, User, scope_of
from petaport.services import auth, inventory, jobs, tenancy
from petaport.services.authz import (
    can_admin_org,
    require_centre_admin,
    require_job_control,
    require_org_admin,
)
from petaport.services.context import Context
from petaport.storage.repos.jobs import JobRepo
from petaport.storage.repos.tenancy import TenancyRepo

LOCALES = frozenset({"en", "zh_Hant"})
PAGE_LIMIT = 200


@dataclass(frozen=True)
class Dashboard:
    capacity: Capacity
    recent: list[Job]
    counts: dict[JobState, int]  # jobs the caller can see, by state
    projects: dict[str, Project]


@dataclass(frozen=True)
class JobList:
    jobs: list[Job]
    projects: dict[str, Project]


@dataclass(frozen=True)
class JobPage:
    job: Job
    project: Project
    attempts: list[Attempt]
    events: list[JobEvent]
    can_control: bool


@dataclass(frozen=True)
class LogTail:
    chunk: jobs.LogChunk
    done: bool  # nothing more will ever be written: stop polling


@dataclass(frozen=True)
class SubmitOptions:
    projects: list[Project]
    gpu_models: list[str]


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    user: User


@dataclass(frozen=True)
class MembersPage:
    project: Project
    org: Org
    members: list[MemberRow]
    can_admin: bool


@dataclass(frozen=True)
class UsersPage:
    users: list[User]
    orgs: list[Org]


@dataclass(frozen=True)
class OpenedSession:
    session: auth.WebSession
    locale: str


def _projects_by_id(ctx: Context, p: Principal) -> dict[str, Project]:
    rows = tenancy.list_projects(ctx, p, org_id=None, after=None, limit=PAGE_LIMIT)
    return {x.id: x for x in rows}


def dashboard(ctx: Context, p: Principal, *, recent: int = 8) -> Dashboard:
    """Centre capacity, the caller's newest jobs and visible jobs counted by state."""
    mine = jobs.list_jobs(ctx, p, states=None, project_id=None, mine=True, before=None,
                          limit=recent)  # fmt: skip
    with ctx.db.transaction() as s:
        counts = JobRepo(s).count_by_state(scope_of(p))
    return Dashboard(inventory.capacity(ctx), mine, counts, _projects_by_id(ctx, p))


def job_list(
    ctx: Context, p: Principal, *, state: JobState | None, before: str | None, limit: int = 100
) -> JobList:
    states = frozenset({state}) if state else None
    rows = jobs.list_jobs(ctx, p, states=states, project_id=None, mine=False, before=before,
                          limit=limit)  # fmt: skip
    return JobList(rows, _projects_by_id(ctx, p))


def _may_control(p: Principal, job: Job) -> bool:
    try:
        require_job_control(p, job)
    except Forbidden:
        return False
    return True


def job_page(ctx: Context, p: Principal, job_id: str) -> JobPage:
    job = jobs.get_job(ctx, p, job_id)
    project = tenancy.get_project(ctx, p, job.project_id)
    return JobPage(job, project, jobs.attempts(ctx, p, job_id), jobs.events(ctx, p, job_id),
                   _may_control(p, job))  # fmt: skip


def log_tail(
    ctx: Context, p: Principal, job_id: str, *, stream: str, attempt: int | None, offset: int,
    limit: int,
) -> LogTail:  # fmt: skip
    """The next chunk of a log; ``done`` once the attempt ended and was read to its end, or
    the job ended without ever starting."""
    chunk = jobs.read_log(ctx, p, job_id, stream=stream, attempt=attempt, offset=offset,
                          limit=limit)  # fmt: skip
    if chunk.complete:
        return LogTail(chunk, done=True)
    if chunk.attempt is None:
        return LogTail(chunk, done=jobs.get_job(ctx, p, job_id).state.is_terminal)
    return LogTail(chunk, done=False)


def submit_options(ctx: Context, p: Principal) -> SubmitOptions:
    """Projects the caller may submit to, and the GPU models the centre has."""
    projects = [
        x for x in _projects_by_id(ctx, p).values()
        if p.is_centre_admin or p.project_role(x.org_id, x.id) in (Role.MEMBER, Role.ORG_ADMIN)
    ]  # fmt: skip
    models = sorted({pool.gpu_model for pool in inventory.list_pools(ctx, p) if pool.gpu_model})
    return SubmitOptions(projects, models)


def project_list(ctx: Context, p: Principal) -> list[tuple[Project, Org]]:
    orgs = {o.id: o for o in tenancy.list_orgs(ctx, p, after=None, limit=PAGE_LIMIT)}
    projects = _projects_by_id(ctx, p).values()
    return [(x, orgs[x.org_id]) for x in projects if x.org_id in orgs]


def members_page(ctx: Context, p: Principal, project_id: str) -> MembersPage:
    """Members (org-wide and of this project) of a project's organisation, with their users."""
    project = tenancy.get_project(ctx, p, project_id)
    org = tenancy.get_org(ctx, p, project.org_id)
    memberships = tenancy.list_memberships(ctx, p, org_id=org.id, project_id=project.id,
                                           after=None, limit=PAGE_LIMIT)  # fmt: skip
    users = {u.id: u for u in tenancy.list_users(ctx, p, org_id=org.id, after=None,
                                                 limit=PAGE_LIMIT)}  # fmt: skip
    rows = [MemberRow(m, users[m.user_id]) for m in memberships if m.user_id in users]
    return MembersPage(project, org, rows, can_admin_org(p, org.id))


def add_member(ctx: Context, p: Principal, *, project_id: str, username: str,
               role: Role) -> Membership:  # fmt: skip
    """Give an existing user (found by username) a role in the project's whole organisation."""
    project = tenancy.get_project(ctx, p, project_id)
    require_org_admin(p, project.org_id)  # before the lookup: only admins may probe usernames
    with ctx.db.transaction() as s:
        found = TenancyRepo(s).find_user_by_username(username.strip())
    if found is None:
        raise NotFound(f"there is no user named '{username.strip()}'", code="user_not_found")
    return tenancy.add_membership(ctx, p, org_id=project.org_id, user_id=found[0].id, role=role)


def remove_member(ctx: Context, p: Principal, *, project_id: str, membership_id: str) -> None:
    """Remove a membership of the project's organisation (not one of another organisation)."""
    project = tenancy.get_project(ctx, p, project_id)
    with ctx.db.transaction() as s:
        membership = TenancyRepo(s).get_membership(scope_of(p), membership_id)
    if membership.org_id != project.org_id:
        raise NotFound(f"membership {membership_id} not found")
    tenancy.remove_membership(ctx, p, membership_id)


def open_session(ctx: Context, username: str, password: str, chosen_locale: str | None
                 ) -> OpenedSession:  # fmt: skip
    """Log in; a language chosen before logging in becomes the user's stored locale."""
    session = auth.start_session(ctx, username, password)
    locale = session.principal.user.locale
    if chosen_locale in LOCALES and chosen_locale != locale:
        auth.set_locale(ctx, session.principal, chosen_locale)
        locale = chosen_locale
    return OpenedSession(session, locale if locale in LOCALES else "en")


def admin_orgs(ctx: Context, p: Principal) -> list[Org]:
    require_centre_admin(p)
    return tenancy.list_orgs(ctx, p, after=None, limit=PAGE_LIMIT)


def admin_users(ctx: Context, p: Principal) -> UsersPage:
    require_centre_admin(p)
    return UsersPage(tenancy.list_users(ctx, p, org_id=None, after=None, limit=PAGE_LIMIT),
                     tenancy.list_orgs(ctx, p, after=None, limit=PAGE_LIMIT))  # fmt: skip


def admin_pools(ctx: Context, p: Principal) -> list[NodePool]:
    require_centre_admin(p)
    return inventory.list_pools(ctx, p)
