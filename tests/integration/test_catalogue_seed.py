"""The demo centre's datasets are sealed as registration seals content: jobs (which may run as
another Unix user) cannot change them, whatever the server's umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from petaport.app import build_context, prepare
from petaport.sealing import OTHERS_WRITE
from petaport.settings import Settings


def test_seeded_datasets_are_sealed_under_a_permissive_umask(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", backend="fake", seed_demo=True,
                        argon2_memory_kib=64, argon2_time_cost=1,
                        _env_file=None)  # type: ignore[call-arg]  # fmt: skip
    before = os.umask(0o000)  # files and directories written group- and world-writable
    try:
        ctx = build_context(settings)
        try:
            prepare(ctx)
        finally:
            ctx.db.dispose()
    finally:
        os.umask(before)
    datasets = sorted(settings.storage_root.glob("*/datasets/*"))
    assert len(datasets) == 3
    for top in datasets:
        for path in (top, *top.rglob("*")):
            mode = os.lstat(path).st_mode
            assert not mode & OTHERS_WRITE, f"{path} {stat.filemode(mode)}"
            assert path.stat().st_uid == os.geteuid()
