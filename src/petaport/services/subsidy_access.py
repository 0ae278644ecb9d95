"""Who may do what in the subsidy workflow, the audit trail, and state changes
(docs/subsidy.md, docs/design/010-subsidy-review.md).

Roles: the **secretariat** is the centre admin (screens, assigns reviewers, requests changes,
reads the stage clock and the audit trail); **reviewers** (centre role) see only the
applications they are assigned to; the **committee** (centre role) sees every application and
decides; the applicant's **org admins** write and submit, and every member of that org reads
the application and its decision (never its reviews). Anyone else gets NotFound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from petaport.domain.errors import Forbidden, NotFound
from petaport.domain.ids import new_id
from petaport.domain.subsidy_workflow import Action, Application, Transition, next_state
from petaport.domain.tenancy import Principal, Role, Scope, scope_of
from petaport.services.authz import require_scope
from petaport.storage.repos.subsidy import AuditRecord, AuditRepo
from petaport.storage.repos.subsidy_workflow import ApplicationRepo, ReviewRepo

EVERYTHING = Scope(everything=True)


def is_secretariat(p: Principal) -> bool:
    return p.is_centre_admin


def is_committee(p: Principal) -> bool:
    return Role.COMMITTEE in p.user.centre_roles


def is_reviewer(p: Principal) -> bool:
    return Role.REVIEWER in p.user.centre_roles


def sees_all(p: Principal) -> bool:
    """The secretariat and the committee see every application and every review."""
    return is_secretariat(p) or is_committee(p)


def require_secretariat(p: Principal) -> None:
    require_scope(p, "admin")
    if not is_secretariat(p):
        raise Forbidden("only the scheme's secretariat (a centre admin) may do this")


def require_committee(p: Principal) -> None:
    require_scope(p, "jobs:write")
    if not is_committee(p):
        raise Forbidden("only a member of the committee may decide")


def visible_application(s: Session, p: Principal, app_id: str) -> Application:
    """The application if the caller may read it: staff who see all, its assigned reviewers,
    members of the applicant org; NotFound otherwise."""
    repo = ApplicationRepo(s)
    if sees_all(p):
        return repo.get(app_id, EVERYTHING)
    found = repo.find(app_id, scope_of(p))
    if found is not None:
        return found
    if is_reviewer(p) and ReviewRepo(s).assignments(application_id=app_id,
                                                    reviewer_id=p.user.id):  # fmt: skip
        return repo.get(app_id, EVERYTHING)
    raise NotFound(f"application {app_id} not found")


def is_applicant(p: Principal, app: Application) -> bool:
    """A member of the applicant org who is not also staff that sees all."""
    return not sees_all(p) and app.org_id in p.org_ids()


def applies_for(p: Principal, org_id: str) -> bool:
    """An org admin of ``org_id`` itself (the centre admin, as secretariat, does not apply)."""
    return p.org_role(org_id) is Role.ORG_ADMIN


def require_applicant_admin(p: Principal, org_id: str) -> None:
    require_scope(p, "jobs:write")
    if not applies_for(p, org_id):
        raise Forbidden("only an org admin of the applicant organisation may do this")


def audit(s: Session, p: Principal | None, action: str, app: Application, now: datetime,
          *, subject: tuple[str, str] | None = None, grant_id: str | None = None,
          details: Mapping[str, object] | None = None) -> None:  # fmt: skip
    """Record ``action`` on ``app`` (or on ``subject``: kind and id) in the audit trail."""
    kind, subject_id = subject or ("application", app.id)
    AuditRepo(s).record(AuditRecord(
        new_id("aud"), now, p.user.id if p else None, action, kind, subject_id,
        application_id=app.id, grant_id=grant_id, org_id=app.org_id,
        details=dict(details or {}),
    ))  # fmt: skip


def move(s: Session, p: Principal | None, app: Application, action: Action, now: datetime,
         note: str = "") -> Application:  # fmt: skip
    """``app`` after ``action`` (IllegalTransition if the table has no such move), with the
    transition stored for the stage clock."""
    to = next_state(app.state, action)
    ApplicationRepo(s).add_transition(
        Transition(app.id, app.state, to, now, p.user.id if p else None, note)
    )
    return replace(app, state=to, updated_at=now)
