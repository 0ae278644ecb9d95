"""Sealing a catalogue version's content: only Petaport's own Unix user (and root) may change it.

A version is immutable, and jobs must not be able to write it (on Slurm they run as an
unprivileged job user; docs/catalogue.md, "Who may write the content"). Registration seals:

- every directory on the path from ``/`` to the content must be changeable only by root or
  Petaport's user: owned by one of them, and without write permission for group or others
  (unless sticky, as ``/tmp``: then nobody else can rename or delete what they do not own).
  Otherwise someone else could swap the content for other files under the same path. This is
  checked first, and nothing is changed when it fails;
- then the content itself is taken: each file and directory is owned by Petaport's user (its
  group is kept), loses write permission for group and others, and loses set-user-ID,
  set-group-ID and sticky bits. Read permission is left as the owner set it.

Only regular files and directories are accepted; symbolic links, special files and files with
more than one hard link (the same file could be changed through another name) are refused.
Files are opened with ``O_NOFOLLOW`` under directory descriptors (``os.fwalk``), so a path
swapped for a link while sealing is refused, never followed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH
SPECIAL_BITS = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class UnsealableContent(ValueError):
    """The content, or a directory above it, could be changed by someone else."""


def trusted_uids() -> frozenset[int]:
    return frozenset({0, os.geteuid()})


def writable_by_others(info: os.stat_result, trusted: frozenset[int]) -> bool:
    """Whether someone other than the ``trusted`` users could change entries of a directory."""
    if info.st_uid not in trusted:
        return True  # its owner may chmod it at will
    return bool(info.st_mode & OTHERS_WRITE) and not info.st_mode & stat.S_ISVTX


def check_ancestors(path: Path) -> None:
    """Refuse ``path`` when a directory above it could be changed by someone else."""
    trusted = trusted_uids()
    for ancestor in reversed(Path(os.path.abspath(path)).parents):
        info = os.stat(ancestor)
        if writable_by_others(info, trusted):
            raise UnsealableContent(
                f"{ancestor} ({stat.filemode(info.st_mode)}, owner uid {info.st_uid}) could be "
                "changed by others: it must be owned by root or Petaport's user and not "
                "writable by group or others (chmod go-w), or the content could be swapped"
            )


def sealed_mode(mode: int) -> int:
    return stat.S_IMODE(mode) & ~OTHERS_WRITE & ~SPECIAL_BITS


def _seal_fd(fd: int, shown: str, uid: int) -> None:
    info = os.fstat(fd)
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise UnsealableContent(f"{shown} is neither a regular file nor a directory")
    if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
        raise UnsealableContent(f"{shown} has other hard links: copy it instead")
    if info.st_uid != uid:
        try:
            os.fchown(fd, uid, -1)
        except PermissionError as exc:
            raise UnsealableContent(
                f"{shown} belongs to uid {info.st_uid}: Petaport cannot take it over unless "
                "it runs as root; have an administrator chown it to Petaport's user"
            ) from exc
        info = os.fstat(fd)  # a change of owner may have cleared bits
    if stat.S_IMODE(info.st_mode) != sealed_mode(info.st_mode):
        os.fchmod(fd, sealed_mode(info.st_mode))


def _seal_entry(name: str, dir_fd: int | None, shown: str, uid: int) -> None:
    before = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if not (stat.S_ISREG(before.st_mode) or stat.S_ISDIR(before.st_mode)):
        raise UnsealableContent(f"{shown} is a symbolic link or a special file")
    try:  # never opens a device; O_NOFOLLOW refuses a link swapped in since
        fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        raise UnsealableContent(f"cannot open {shown} safely: {exc.strerror}") from exc
    try:
        if not os.path.samestat(before, os.fstat(fd)):
            raise UnsealableContent(f"{shown} changed while it was being sealed")
        _seal_fd(fd, shown, uid)
    finally:
        os.close(fd)


def _raise(error: OSError) -> None:
    raise error


def seal(root: Path) -> None:
    """Check the directories above ``root``, then take and write-protect ``root`` (a file, or a
    directory and everything in it). Raises ``UnsealableContent``."""
    check_ancestors(root)
    uid = os.geteuid()
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode):
        _seal_entry(str(root), None, str(root), uid)
        return
    for top, dirs, files, top_fd in os.fwalk(root, onerror=_raise):
        _seal_fd(top_fd, top, uid)
        for name in files + dirs:  # a link listed among the directories is refused here
            _seal_entry(name, top_fd, os.path.join(top, name), uid)


def make_dirs(path: Path) -> None:
    """Create ``path`` and the directories missing above it, each without write permission for
    group or others whatever the umask (existing directories are left as they are), so that
    content under them can be sealed."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for each in reversed(missing):
        mode = os.lstat(each).st_mode
        if mode & OTHERS_WRITE:
            os.chmod(each, stat.S_IMODE(mode) & ~OTHERS_WRITE)
