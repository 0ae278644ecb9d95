"""The demo centre ``make run`` seeds on first start: one org per category, projects, users.

Seeding runs only when the database has no users; passwords are random and printed once
(and written to ``<data_dir>/demo-credentials.txt``, readable by the owner only).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from petaport.domain.ids import new_id
from petaport.domain.tenancy import Membership, Org, OrgCategory, Project, Role, User
from petaport.services.auth import hash_password
from petaport.services.catalogue_seed import seed_catalogue
from petaport.services.context import Context
from petaport.services.subsidy_schemes import seed_subsidy
from petaport.storage.repos.tenancy import TenancyRepo
from petaport.storage.tables import UserRow

PROJECT_NAMES = {
    "llm-pretrain": "LLM pre-training (Cantonese corpus)",
    "med-imaging": "Medical imaging segmentation",
    "speech": "Speech recognition",
    "vision-poc": "Warehouse vision proof of concept",
    "risk-llm": "Credit-risk language model",
    "translation": "Government document translation",
}
DEMO_ORGS = (
    ("harbour-u", "Harbour University", OrgCategory.UNIVERSITY, ("llm-pretrain", "med-imaging")),
    ("kowloon-rd", "Kowloon AI R&D Centre", OrgCategory.RESEARCH_INSTITUTE, ("speech",)),
    ("lantern-ai", "Lantern Robotics Ltd", OrgCategory.STARTUP, ("vision-poc",)),
    ("victoria-bank", "Victoria Harbour Bank", OrgCategory.ENTERPRISE, ("risk-llm",)),
    ("hk-data-office", "Public Data Office", OrgCategory.PUBLIC_BODY, ("translation",)),
)


@dataclass(frozen=True)
class SeededUser:
    username: str
    password: str
    what: str


def needs_seed(ctx: Context) -> bool:
    with ctx.db.transaction() as s:
        return (s.scalar(select(func.count()).select_from(UserRow)) or 0) == 0


def _user(
    repo: TenancyRepo, ctx: Context, username: str, name: str, roles: frozenset[Role] = frozenset()
) -> tuple[User, str]:
    password = secrets.token_urlsafe(9)
    user = User(new_id("usr"), username, f"{username}@example.org", name, roles, True, ctx.clock())
    repo.add_user(user, hash_password(ctx, password))
    return user, password


def seed_demo(ctx: Context) -> list[SeededUser]:
    out: list[SeededUser] = []
    admin_id = ""
    with ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        for username, name, role in (
            ("admin", "Centre Administrator", Role.CENTRE_ADMIN),
            ("reviewer", "Scheme Reviewer", Role.REVIEWER),
            ("committee", "Committee Member", Role.COMMITTEE),
        ):
            staff, pw = _user(repo, ctx, username, name, frozenset({role}))
            admin_id = staff.id if role is Role.CENTRE_ADMIN else admin_id
            out.append(SeededUser(username, pw, role.value))
        for slug, org_name, category, projects in DEMO_ORGS:
            org = Org(new_id("org"), org_name, slug, category, ctx.clock())
            repo.add_org(org)
            for p_slug in projects:
                repo.add_project(
                    Project(new_id("prj"), org.id, PROJECT_NAMES[p_slug], p_slug, ctx.clock())
                )
            s.flush()
            for suffix, role in (("admin", Role.ORG_ADMIN), ("alice", Role.MEMBER)):
                user, pw = _user(repo, ctx, f"{slug}-{suffix}", f"{org_name} {suffix}")
                s.flush()
                repo.add_membership(Membership(new_id("mem"), user.id, org.id, role, ctx.clock()))
                out.append(SeededUser(user.username, pw, f"{role.value} of {org_name}"))
    seed_catalogue(ctx, admin_id)
    seed_subsidy(ctx)
    _write_credentials(ctx, out)
    return out


def _write_credentials(ctx: Context, users: list[SeededUser]) -> None:
    path = ctx.settings.data_dir / "demo-credentials.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{u.username}\t{u.password}\t{u.what}" for u in users]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("username\tpassword\trole\n" + "\n".join(lines) + "\n")
