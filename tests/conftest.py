"""Shared fixtures: both databases, service contexts, and a real server process.

PostgreSQL: ``PETAPORT_TEST_POSTGRES_URL`` (default: the server on 127.0.0.1:5432). When it does
not answer, PostgreSQL tests are skipped on a developer machine but FAIL under CI
(``CI=true``) or ``PETAPORT_REQUIRE_POSTGRES=1``: the PostgreSQL run is required there.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from petaport import corebuild
from petaport.storage.db import Database, normalise_url
from petaport.storage.migrate import upgrade
from petaport.storage.tables import Base
from tests.slurm_cluster import slurm_cluster  # noqa: F401 - the session fixture

PG_ADMIN_URL = os.environ.get(
    "PETAPORT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_PG = os.environ.get("CI") == "true" or os.environ.get("PETAPORT_REQUIRE_POSTGRES") == "1"
REQUIRE_COMPILED = os.environ.get("PETAPORT_REQUIRE_COMPILED") == "1"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to test compiled copies older than their sources (``petaport.corebuild``), and,
    under ``make test``, an interpreted core where it should be compiled."""
    stale = corebuild.stale()
    if stale:
        pytest.exit(f"compiled copies older than their sources: {', '.join(stale)}; "
                    "run `make core` (or scripts/build-core.py --clean)", returncode=3)  # fmt: skip
    state = corebuild.describe()
    if REQUIRE_COMPILED and state != "compiled":
        pytest.exit(f"PETAPORT_REQUIRE_COMPILED=1 but the core is {state}", returncode=3)


def _pg_available() -> bool:
    try:
        engine = create_engine(normalise_url(PG_ADMIN_URL), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    if not _pg_available():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but does not answer at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not available")
    name = f"petaport_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = normalise_url(PG_ADMIN_URL).rsplit("/", 1)[0]
    url = f"{base}/{name}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each storage/API test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    db = Database(url)
    _truncate(db)
    db.dispose()
    yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    upgrade(database)
    yield database
    database.dispose()


# -- a real server process --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """``python -m petaport serve`` in a subprocess, on its own data dir and port."""

    data_dir: Path
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    credentials: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60) -> None:
        log = (self.data_dir / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "petaport", "serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {(self.data_dir / 'server.log').read_text()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    self._read_credentials()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    def _read_credentials(self) -> None:
        path = self.data_dir / "demo-credentials.txt"
        if path.exists():
            rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line]
            self.credentials = {r[0]: r[1] for r in rows}

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def token(self, username: str = "admin") -> str:
        r = httpx.post(
            self.url + "/v1/auth/login",
            json={"username": username, "password": self.credentials[username]},
        )
        r.raise_for_status()
        return str(r.json()["token"])

    def client(self, username: str = "admin") -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            timeout=30,
            headers={"Authorization": f"Bearer {self.token(username)}"},
        )


def make_live_server(tmp_path: Path, database_url: str | None = None, gpus: int = 8) -> LiveServer:
    data_dir = tmp_path / "server"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PETAPORT_")}
    env.update(
        PETAPORT_DATA_DIR=str(data_dir),
        PETAPORT_PORT=str(free_port()),
        PETAPORT_USE_NVML="false",
        PETAPORT_GPUS__COUNT=str(gpus),
        PETAPORT_CANCEL_GRACE_S="2",
        PETAPORT_SCHEDULER_INTERVAL_S="0.2",
    )
    if database_url:
        env["PETAPORT_DATABASE_URL"] = database_url
    return LiveServer(data_dir, int(env["PETAPORT_PORT"]), env)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh server with the demo centre seeded, on SQLite, with 8 declared GPUs."""
    server = make_live_server(tmp_path)
    server.start()
    yield server
    server.stop()
