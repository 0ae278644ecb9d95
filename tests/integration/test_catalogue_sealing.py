"""Registering a version seals its content (both databases, fake backend): Petaport's user owns
it, nobody else may write it or a directory above it; content that others could swap, links and
hard links are refused, and a refused registration changes nothing."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path
from typing import Any

import pytest

from petaport.checksums import tree_digest
from tests.integration.catalogue_helpers import entry, storage, write_dataset
from tests.integration.conftest import World

NOBODY = pwd.getpwnam("nobody")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="files of another user need root")


def register(world: World, entry_id: str, path: Path, v: str = "1") -> Any:
    return world.call("a_member", "POST", f"/v1/catalogue/entries/{entry_id}/versions",
                      json={"version": v, "path": str(path)})  # fmt: skip


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_registering_seals_the_content(world: World) -> None:
    made = entry(world, "a_member", "rainfall")
    path = write_dataset(world, "org-a", "rainfall")
    (path / "sub").mkdir()
    (path / "sub" / "tool").write_text("#!/bin/sh\n")
    os.chmod(path / "sub" / "tool", 0o6777)  # set-user-ID, set-group-ID, writable by all
    os.chmod(path / "sub", 0o3777)
    os.chmod(path / "data.csv", 0o666)
    os.chmod(path, 0o777)

    r = register(world, made["id"], path)

    assert r.status_code == 201, r.text
    modes = {p.relative_to(path).as_posix(): mode(p) for p in (path, *path.rglob("*"))}
    assert modes == {".": 0o755, "README": 0o644, "data.csv": 0o644, "sub": 0o755,
                     "sub/tool": 0o755}  # fmt: skip
    assert {os.stat(p).st_uid for p in (path, *path.rglob("*"))} == {os.geteuid()}
    assert r.json()["sha256"] == tree_digest(path)[1]  # the sealed content is what was hashed


@as_root
def test_content_of_another_user_is_taken_over(world: World) -> None:
    made = entry(world, "a_member", "theirs")
    path = write_dataset(world, "org-a", "theirs")
    for p in (path, *path.iterdir()):
        os.chown(p, NOBODY.pw_uid, NOBODY.pw_gid)

    assert register(world, made["id"], path).status_code == 201

    for p in (path, *path.iterdir()):  # owner taken, the group kept
        assert (os.stat(p).st_uid, os.stat(p).st_gid) == (0, NOBODY.pw_gid)


@pytest.mark.parametrize("how", ["group-or-other-writable", "owned-by-another-user"])
def test_content_others_could_swap_is_refused_and_left_as_it_was(world: World, how: str) -> None:
    if how == "owned-by-another-user" and os.geteuid() != 0:
        pytest.skip("files of another user need root")
    made = entry(world, "a_member", "rainfall")
    path = write_dataset(world, "org-a", "rainfall")
    os.chmod(path / "data.csv", 0o666)
    datasets = storage(world, "org-a") / "datasets"
    if how == "owned-by-another-user":
        os.chown(datasets, NOBODY.pw_uid, -1)
    else:
        os.chmod(datasets, 0o775)

    refused = register(world, made["id"], path)

    assert refused.status_code == 422 and refused.json()["code"] == "content_writable"
    assert str(datasets) in refused.json()["detail"]
    assert mode(path / "data.csv") == 0o666  # nothing was changed
    os.chown(datasets, os.geteuid(), -1)
    os.chmod(datasets, 0o1777)  # sticky, as /tmp: nobody can rename what they do not own
    assert register(world, made["id"], path).status_code == 201


@pytest.mark.parametrize("kind", ["hard link", "symbolic link", "fifo"])
def test_links_and_special_files_in_the_content_are_refused(world: World, kind: str) -> None:
    made = entry(world, "a_member", "rainfall")
    path = write_dataset(world, "org-a", "rainfall")
    odd = path / "odd"
    if kind == "hard link":
        os.link(path / "data.csv", storage(world, "org-a") / "elsewhere.csv")
    elif kind == "symbolic link":
        odd.symlink_to(path / "data.csv")
    else:
        os.mkfifo(odd)

    refused = register(world, made["id"], path)

    assert refused.status_code == 422 and refused.json()["code"] == "content_writable"
    assert kind != "hard link" or "hard links" in refused.json()["detail"]
