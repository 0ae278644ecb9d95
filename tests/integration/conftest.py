"""An in-process API over a real database (SQLite and PostgreSQL) and the fake backend.

``World`` builds two tenants (orgs ``a`` and ``b``), each with a project and an org admin, a
member and a viewer, plus a centre admin; ``world.client(name)`` is an HTTP client holding that
user's API token. Scheduling cycles run only when a test calls ``world.cycle()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from petaport.app import create_app
from petaport.backends.fake.backend import FakeBackend
from petaport.domain.ids import new_id
from petaport.domain.tenancy import Membership, Org, OrgCategory, Principal, Project, Role, User
from petaport.services import auth
from petaport.services.context import Context
from petaport.services.inventory import sync_backend_pool
from petaport.services.scheduling import SchedulerLoop
from petaport.settings import Settings
from petaport.storage.repos.tenancy import TenancyRepo


@dataclass
class World:
    http: TestClient
    ctx: Context
    loop: SchedulerLoop
    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def fake(self) -> FakeBackend:
        assert isinstance(self.ctx.backend, FakeBackend)
        return self.ctx.backend

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}

    def call(self, who: str | None, method: str, path: str, **kw: Any) -> Any:
        headers = {**self.headers(who), **kw.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kw)

    def cycle(self) -> None:
        self.loop.run_cycle()

    def submit(self, who: str, project: str, **kw: Any) -> dict[str, Any]:
        body = {"name": "job", "project": self.ids[project], "command": ["true"], **kw}
        r = self.call(who, "POST", "/v1/jobs", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())


def _add_user(
    repo: TenancyRepo, ctx: Context, name: str, roles: frozenset[Role] = frozenset()
) -> User:
    user = User(new_id("usr"), name, f"{name}@example.org", name, roles, True, ctx.clock())
    repo.add_user(user, auth.hash_password(ctx, "correct-horse-battery"))
    return user


def build_world(ctx: Context) -> tuple[dict[str, str], dict[str, User]]:
    ids: dict[str, str] = {}
    users: dict[str, User] = {}
    with ctx.db.transaction() as s:
        repo = TenancyRepo(s)
        users["root"] = _add_user(repo, ctx, "root", frozenset({Role.CENTRE_ADMIN}))
        for t in ("a", "b"):
            org = Org(new_id("org"), f"Org {t}", f"org-{t}", OrgCategory.STARTUP, ctx.clock())
            project = Project(new_id("prj"), org.id, f"Project {t}", f"proj-{t}", ctx.clock())
            repo.add_org(org)
            s.flush()
            repo.add_project(project)
            ids[f"org_{t}"], ids[f"prj_{t}"] = org.id, project.id
            for role in (Role.ORG_ADMIN, Role.MEMBER, Role.VIEWER):
                who = f"{t}_{role.value}"
                users[who] = _add_user(repo, ctx, who.replace("_", "-"))
                s.flush()
                m = Membership(new_id("mem"), users[who].id, org.id, role, ctx.clock())
                repo.add_membership(m)
                ids[f"mem_{who}"] = m.id
    for who, user in users.items():
        ids[f"usr_{who}"] = user.id
    return ids, users


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        backend="fake",
        seed_demo=False,
        argon2_memory_kib=64,
        argon2_time_cost=1,
        _env_file=None,
    )  # type: ignore[call-arg]
    with start_world(settings) as w:
        yield w


@contextmanager
def start_world(settings: Settings) -> Iterator[World]:
    """The app on ``settings`` (no scheduling thread), the two tenants, a token per user."""
    app = create_app(settings, run_scheduler=False)
    ctx: Context = app.state.ctx
    sync_backend_pool(ctx)
    ids, users = build_world(ctx)
    w = World(TestClient(app, raise_server_exceptions=False), ctx, app.state.loop, ids)
    for who, user in users.items():
        with ctx.db.transaction() as s:
            memberships = TenancyRepo(s).memberships_of(user.id)
        issued = auth.issue_token(
            ctx, Principal(user, memberships), name="t", scopes=frozenset({"*"}), ttl_days=1
        )
        w.tokens[who] = issued.secret
        ids[f"tok_{who}"] = issued.record.id
    with w.http:
        yield w
