"""The embedded SQLite database is private to Petaport's user: jobs may run as another."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from petaport.storage.db import Database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "petaport.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.transaction() as s:
            s.execute(text("CREATE TABLE t (x INTEGER)"))
            s.execute(text("INSERT INTO t VALUES (1)"))
        assert _mode(path) == 0o600
        assert _mode(path.with_name("petaport.db-wal")) == 0o600  # SQLite copies the mode
    finally:
        db.dispose()


def test_an_existing_world_readable_database_loses_what_others_may_do(tmp_path: Path) -> None:
    path = tmp_path / "petaport.db"
    first = Database(f"sqlite:///{path}")
    with first.transaction() as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
    first.dispose()
    path.chmod(0o644)
    again = Database(f"sqlite:///{path}")
    try:
        assert _mode(path) == 0o640
        with again.transaction() as s:
            assert s.execute(text("SELECT count(*) FROM t")).scalar() == 0  # nothing lost
    finally:
        again.dispose()
