"""Reading Linux ``/proc``: process identity, liveness, and the processes and memory of a job.

Used by the supervisor (so it imports only the standard library and stays cheap to start) and by
the backend.

Invariants:
- a process is identified by ``(pid, start ticks)`` (field 22 of ``/proc/PID/stat``), never by
  pid alone, because pids are reused;
- a zombie (``Z``) or dead (``X``) process counts as gone: on these machines init may never reap
  orphans, so a dead orphan can linger as a zombie indefinitely. The state letter read from
  ``/proc/PID/stat`` is the one ``/proc/PID/status`` shows as ``State:``;
- readers never raise for a process that vanished mid-read; it is reported as gone.
"""

from __future__ import annotations

import os
import signal
from typing import NamedTuple

_GONE_STATES = frozenset({"Z", "X", "x"})
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class ProcStat(NamedTuple):
    pid: int
    state: str
    ppid: int
    pgrp: int
    start_ticks: int
    rss_bytes: int

    @property
    def gone(self) -> bool:
        return self.state in _GONE_STATES


def parse_stat(pid: int, data: bytes) -> ProcStat | None:
    """Parse one ``/proc/PID/stat`` line; the command name may hold spaces and parentheses."""
    _, sep, rest = data.rpartition(b")")
    fields = rest.split()
    if not sep or len(fields) < 22:
        return None
    try:
        return ProcStat(
            pid=pid,
            state=fields[0].decode("ascii", "replace"),
            ppid=int(fields[1]),
            pgrp=int(fields[2]),
            start_ticks=int(fields[19]),
            rss_bytes=int(fields[21]) * PAGE_SIZE,
        )
    except ValueError:
        return None


def read_stat(pid: int) -> ProcStat | None:
    """The process's stat, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return parse_stat(pid, data)


def start_ticks(pid: int) -> int | None:
    stat = read_stat(pid)
    return None if stat is None else stat.start_ticks


def is_alive(pid: int, ticks: int) -> bool:
    """True when the process ``pid`` started at ``ticks`` exists and is not a zombie."""
    stat = read_stat(pid)
    return stat is not None and stat.start_ticks == ticks and not stat.gone


def signal_process(pid: int, ticks: int, signum: int) -> bool:
    """Signal the process ``(pid, ticks)`` if it is alive; never a process that reused the pid.

    A pidfd pins the process while its identity is checked, so the signal cannot reach a newcomer.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except OSError:  # no pidfd support: check, then signal by pid (a tiny reuse window remains)
        return is_alive(pid, ticks) and _kill(pid, signum)
    try:
        if not is_alive(pid, ticks):
            return False
        signal.pidfd_send_signal(pidfd, signum)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(pidfd)


def _kill(pid: int, signum: int) -> bool:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return False
    return True


def scan() -> list[ProcStat]:
    """Every process visible in ``/proc`` right now."""
    out: list[ProcStat] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if name.isdigit():
            stat = read_stat(int(name))
            if stat is not None:
                out.append(stat)
    return out


def job_processes(pgid: int, root_pid: int | None = None) -> list[ProcStat]:
    """Live processes in group ``pgid`` or descended from ``root_pid`` (root itself excluded)."""
    procs = scan()
    members = {p.pid: p for p in procs if p.pgrp == pgid}
    if root_pid is not None:
        children: dict[int, list[ProcStat]] = {}
        for proc in procs:
            children.setdefault(proc.ppid, []).append(proc)
        seen, todo = {root_pid}, [root_pid]
        while todo:
            for proc in children.get(todo.pop(), ()):
                if proc.pid not in seen:
                    seen.add(proc.pid)
                    members[proc.pid] = proc
                    todo.append(proc.pid)
    return [p for p in members.values() if not p.gone and p.pid != root_pid]


def signal_processes(pgid: int, procs: list[ProcStat], signum: int) -> None:
    """Send ``signum`` to the group and to each listed process; ignore those already gone."""
    targets = [("group", pgid)] + [("pid", p.pid) for p in procs if p.pgrp != pgid]
    for kind, ident in targets:
        try:
            if kind == "group":
                os.killpg(ident, signum)
            else:
                os.kill(ident, signum)
        except (ProcessLookupError, PermissionError):
            continue


def kill_orphaned_group(pgid: int, leader_ticks: int | None) -> bool:
    """SIGKILL a job's process group whose supervisor is gone; True if anything was signalled.

    The group is ours when its leader is the original process (same start ticks), or when the
    leader is gone but members remain: Linux does not reuse a pid while it names a live group.
    """
    leader = read_stat(pgid)
    if leader is not None and not leader.gone and leader.start_ticks != leader_ticks:
        return False  # the pid now belongs to someone else
    members = [p for p in scan() if p.pgrp == pgid and not p.gone]
    if not members:
        return False
    signal_processes(pgid, members, signal.SIGKILL)
    return True
