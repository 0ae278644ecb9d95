"""The unprivileged Unix user Slurm jobs run as (``PETAPORT_SLURM__JOB_USER``).

Invariants:
- the job user is never root (uid 0): a job running as root ignores file permissions, so the
  catalogue's content would not be read-only to it;
- jobs run with the user's own primary group (``--gid``), never the server's (root's group);
- the job sees the user's own ``USER``, ``LOGNAME`` and ``HOME``, not the server's;
- an attempt's directory (batch script, ``work/``, logs) belongs to the job user before
  ``sbatch`` runs; an attempt directory the user cannot reach fails the attempt with a reason
  (Slurm would otherwise fail it without a word: it cannot open the log files).
"""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class JobUser:
    name: str
    uid: int
    gid: int  # the primary group: the job's group
    home: str
    groups: frozenset[int]  # every group the user is in (for reachability)

    @classmethod
    def lookup(cls, name: str) -> JobUser:
        """The Unix user ``name``; ValueError when it does not exist or is root."""
        try:
            entry = pwd.getpwnam(name)
        except KeyError as exc:
            raise ValueError(f"PETAPORT_SLURM__JOB_USER: no Unix user {name!r}") from exc
        if entry.pw_uid == 0:
            raise ValueError("PETAPORT_SLURM__JOB_USER must not be root: root ignores file modes")
        groups = frozenset(os.getgrouplist(name, entry.pw_gid))
        return cls(name, entry.pw_uid, entry.pw_gid, entry.pw_dir, groups)

    def sbatch_options(self) -> tuple[str, ...]:
        """Submit as this user and its own group (root or SlurmUser only may do this)."""
        return (f"--uid={self.name}", f"--gid={self.gid}")

    def environment(self) -> dict[str, str]:
        return {"USER": self.name, "LOGNAME": self.name, "HOME": self.home}

    def may_enter(self, info: os.stat_result) -> bool:
        """Whether this user may traverse a directory with this status (as the kernel decides:
        the owner's bits, else the group's, else the others')."""
        if info.st_uid == self.uid:
            return bool(info.st_mode & stat.S_IXUSR)
        if info.st_gid in self.groups:
            return bool(info.st_mode & stat.S_IXGRP)
        return bool(info.st_mode & stat.S_IXOTH)

    def blocked_at(self, directory: Path) -> Path | None:
        """The first directory on the way to ``directory`` (itself excluded) that this user may
        not enter, or None when it can reach it."""
        for ancestor in reversed(directory.absolute().parents):
            if not self.may_enter(os.stat(ancestor)):
                return ancestor
        return None

    def hand_over(self, directory: Path, names: Iterable[str]) -> None:
        """Give ``directory`` (an attempt's) and those of ``names`` in it that exist to this user
        and its group, so that the job can write its logs and work there."""
        for path in (directory, *(directory / name for name in names)):
            if path == directory or path.exists():
                os.chown(path, self.uid, self.gid, follow_symlinks=False)

    def unreachable(self, attempt_dir: Path) -> str | None:
        """Why this user's job could not use ``attempt_dir``, or None when it can."""
        blocked = self.blocked_at(attempt_dir)
        if blocked is None:
            return None
        mode = stat.filemode(os.stat(blocked).st_mode)
        return (
            f"the job user {self.name} cannot enter {blocked} ({mode}) on the way to the attempt"
            " directory: make the jobs directory reachable (chmod o+x each directory above it)"
        )
