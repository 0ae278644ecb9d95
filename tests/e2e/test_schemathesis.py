"""Schemathesis over the whole OpenAPI document of a real server process.

One ``python -m petaport serve`` per database (SQLite, then PostgreSQL), with the demo centre
seeded and ``PETAPORT_BACKEND=fake``, so the command lists hypothesis invents for ``POST /v1/jobs``
are never executed. The server's own ``/v1/openapi.json`` drives four passes:

- ``admin``: the centre admin, every operation, schemathesis' coverage phase (boundary and
  negative cases) plus fuzzing;
- ``objects``: the centre admin again, but path, query and body ids are drawn (mostly) from real
  objects made for the pass: a running and a finished job, a pool, a user with a membership and a
  token, so show / update / cancel / requeue / delete / logs do real work;
- ``member``: an org member, fuzzing only (role and tenancy checks: 403/404 where the admin
  got 2xx; the admin passes already cover validation);
- ``anonymous``: no token, a few examples per operation; schemathesis sends generated
  ``Authorization`` values.

Every response must pass: no 5xx, a documented status code, a documented content type, a body
that matches the response schema, documented response headers. The server log must hold no
traceback afterwards: the scheduler loop runs while the API is fuzzed, so a row it chokes on
shows up there. Runs are reproducible (fixed seed, ``derandomize``). Requests are counted per
server and printed; each server must get at least ``MIN_REQUESTS``.

Run: ``.venv/bin/pytest tests/e2e/test_schemathesis.py`` (about 2.5 minutes per database on 2
cores, some 14,000 requests; ``-k sqlite`` for one). ``PETAPORT_FUZZ_EXAMPLES`` sets the fuzzed
examples per operation of the admin and member passes (default 12; the anonymous pass gets a
quarter). The coverage phase (boundary and negative cases of every operation) always runs whole
and sends most requests; 25 examples sent 18,440 requests in 245 s, 12 send 14,030 in 136 s.
A failure prints a ``curl`` line that reproduces it against a server of your own.
"""

from __future__ import annotations

import os
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

EXAMPLES = int(os.environ.get("PETAPORT_FUZZ_EXAMPLES", "12"))
SMALL_EXAMPLES = max(EXAMPLES // 4, 3)
MIN_REQUESTS = 1000  # per server, all passes together
SEED = 20240601
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
FUZZ = settings(
    deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)  # fmt: skip
MEMBER = "harbour-u-alice"
# Subsidy attachments are uploaded as a raw PDF body: valid PDFs and arbitrary bytes (which the
# server must refuse with a problem, never a 5xx).
schemathesis.openapi.media_type(
    "application/pdf",
    st.one_of(st.just(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"),
              st.binary(max_size=512)),
)  # fmt: skip


# -- bookkeeping ---------------------------------------------------------------------------


@dataclass
class Tally:
    """Requests sent to one server, by pass and by status code."""

    database: str
    started: float = field(default_factory=time.monotonic)
    by_pass: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(self.by_pass.values())

    def record(self, pass_name: str, status: int) -> None:
        self.by_pass[pass_name] += 1
        self.statuses[status] += 1

    def summary(self) -> str:
        passes = ", ".join(f"{k}={v}" for k, v in sorted(self.by_pass.items()))
        codes = ", ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        took = time.monotonic() - self.started
        return (f"schemathesis[{self.database}]: {self.requests} requests in {took:.0f}s "
                f"({passes}); statuses {codes}")  # fmt: skip


SESSION_TOTAL: Counter[str] = Counter()


def _report(config: pytest.Config, tally: Tally) -> None:
    SESSION_TOTAL[tally.database] += tally.requests
    line = f"{tally.summary()}; session total {sum(SESSION_TOTAL.values())} requests"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else nullcontext():
        if reporter is not None:
            reporter.write_line(line)
        else:  # pragma: no cover
            print(line)


# -- the server ----------------------------------------------------------------------------


def _root_conftest(config: pytest.Config) -> ModuleType:
    """tests/conftest.py as pytest loaded it (``import conftest`` may find another one)."""
    module = config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert isinstance(module, ModuleType), "tests/conftest.py is not loaded"
    return module


@contextmanager
def _scratch_postgres(shared: ModuleType) -> Iterator[str]:
    """An empty PostgreSQL database of our own (the server migrates and seeds it), then dropped."""
    if not shared._pg_available():
        if shared.REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but does not answer at {shared.PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not available")
    admin_url = shared.normalise_url(shared.PG_ADMIN_URL)
    name = f"petaport_fuzz_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Target:
    server: Any  # conftest.LiveServer
    tally: Tally


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[Target]:  # fmt: skip
    """A seeded server on the fake backend; afterwards, its log and request count are checked."""
    shared = _root_conftest(request.config)
    failed_before = request.session.testsfailed
    database = request.param
    with _scratch_postgres(shared) if database == "postgresql" else nullcontext() as url:
        server = shared.make_live_server(tmp_path_factory.mktemp(f"fuzz-{database}"),
                                         database_url=url)  # fmt: skip
        server.env["PETAPORT_BACKEND"] = "fake"
        server.start()
        tally = Tally(database)
        try:
            yield Target(server, tally)
        finally:
            server.stop()
            _report(request.config, tally)
    log = (server.data_dir / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, f"the server logged a traceback:\n{log[-8000:]}"
    if request.session.testsfailed == failed_before and len(tally.by_pass) == 4:
        assert tally.requests >= MIN_REQUESTS, tally.summary()


# -- real objects for the "objects" pass ---------------------------------------------------


def _post(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _real_objects(api: httpx.Client) -> dict[str, list[str]]:
    """Objects the admin may touch, by kind: their ids become schemathesis dictionaries."""
    org = next(o for o in api.get("/v1/orgs").json()["items"] if o["slug"] == "harbour-u")
    projects = api.get("/v1/projects", params={"org_id": org["id"]}).json()["items"]
    name = f"fuzz-{secrets.token_hex(3)}"
    user = _post(api, "/v1/users", {
        "username": name, "email": f"{name}@example.org", "password": secrets.token_urlsafe(12),
        "org_id": org["id"], "org_role": "member",
    })  # fmt: skip
    memberships = api.get("/v1/memberships", params={"org_id": org["id"]}).json()["items"]
    token = _post(api, "/v1/tokens", {"name": name, "user_id": user["id"]})
    pool = _post(api, "/v1/node-pools", {
        "name": name, "gpu_model": "H800", "gpus_per_node": 8, "cpus_per_node": 64,
        "memory_mb_per_node": 512 * 1024, "node_count": 2,
    })  # fmt: skip
    project = f"{org['slug']}/{projects[0]['slug']}"
    # One job times out at once (it has attempts and logs), two keep running or waiting.
    jobs = [
        _post(api, "/v1/jobs", {"name": f"{name}-{i}", "project": project, "command": ["true"],
                                "walltime_s": walltime_s})
        for i, walltime_s in enumerate((1, 3600, 3600))
    ]  # fmt: skip
    return {
        "orgs": [org["id"]],
        "projects": [p["id"] for p in projects],
        "project_refs": [project, projects[0]["id"]],
        "users": [user["id"]],
        "memberships": [m["id"] for m in memberships if m["user_id"] == user["id"]],
        "tokens": [token["id"]],
        "pools": [pool["id"]],
        "jobs": [j["id"] for j in jobs],
    }


# Where each kind of id goes; drawn from the dictionary this often, generated otherwise.
BINDINGS = {
    "path.org_id": "orgs", "query.org_id": "orgs", "body.org_id": "orgs",
    "path.project_id": "projects", "query.project_id": "projects", "body.project_id": "projects",
    "body.project": "project_refs",
    "path.user_id": "users", "body.user_id": "users",
    "path.membership_id": "memberships", "path.token_id": "tokens", "path.pool_id": "pools",
    "path.job_id": "jobs",
}  # fmt: skip


# -- schemas -------------------------------------------------------------------------------


def _schema(target: Target, token: str | None, **extra: Any) -> Any:
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "headers": {"Authorization": f"Bearer {token}"} if token else {},
        "request-timeout": 30,
        "generation": {"deterministic": True, "database": "none"},
        **extra,
    })  # fmt: skip
    return schemathesis.openapi.from_url(target.server.url + "/v1/openapi.json", config=config)


@pytest.fixture(scope="module")
def admin_schema(target: Target) -> Any:
    return _schema(target, target.server.token("admin"))


@pytest.fixture(scope="module")
def objects_schema(target: Target) -> Any:
    token = target.server.token("admin")
    with httpx.Client(base_url=target.server.url, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as api:  # fmt: skip
        objects = _real_objects(api)
    return _schema(
        target, token,
        dictionaries={kind: {"values": ids} for kind, ids in objects.items()},
        parameters={key: {"dictionary": kind, "probability": 0.8}
                    for key, kind in BINDINGS.items()},
    )  # fmt: skip


@pytest.fixture(scope="module")
def member_schema(target: Target) -> Any:
    return _schema(target, target.server.token(MEMBER), phases={"coverage": {"enabled": False}})


@pytest.fixture(scope="module")
def anonymous_schema(target: Target) -> Any:
    return _schema(target, None, phases={"coverage": {"enabled": False}})


@pytest.fixture(autouse=True)
def _pytest9_node_id(request: pytest.FixtureRequest) -> None:
    """schemathesis' lazy schemas read ``node._nodeid``, which pytest 9 nodes no longer have."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def _call(case: Any, target: Target, pass_name: str) -> None:
    response = case.call()
    target.tally.record(pass_name, response.status_code)
    case.validate_response(response, checks=CHECKS)


# -- the passes ----------------------------------------------------------------------------

admin = schemathesis.pytest.from_fixture("admin_schema")
objects = schemathesis.pytest.from_fixture("objects_schema")
member = schemathesis.pytest.from_fixture("member_schema")
anonymous = schemathesis.pytest.from_fixture("anonymous_schema")


@admin.parametrize()
@settings(FUZZ, max_examples=EXAMPLES)
def test_api_as_centre_admin(case: Any, target: Target) -> None:
    _call(case, target, "admin")


@objects.parametrize()
@settings(FUZZ, max_examples=EXAMPLES)
def test_api_on_real_objects(case: Any, target: Target) -> None:
    _call(case, target, "objects")


@member.parametrize()
@settings(FUZZ, max_examples=EXAMPLES)
def test_api_as_org_member(case: Any, target: Target) -> None:
    _call(case, target, "member")


@anonymous.parametrize()
@settings(FUZZ, max_examples=SMALL_EXAMPLES)
def test_api_without_a_token(case: Any, target: Target) -> None:
    _call(case, target, "anonymous")
