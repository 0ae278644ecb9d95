"""What the backend knows of the cluster's nodes between ``sinfo`` readings, and whether a
job Slurm holds back on its nodes is really stuck.

A node still finishing its last jobs makes Slurm say ``ReqNodeNotAvail`` for a moment: such a
job starts once the node is free, so it is given up only when a node it names is down,
drained or gone (a reading at most ``NODES_FRESH_S`` old), or after ``STUCK_GRACE_S``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from petaport.backends.slurm import states
from petaport.backends.slurm.nodes import SlurmNode, expand_hostlist, parse_sinfo_json
from petaport.backends.slurm.states import SlurmJob

STUCK_GRACE_S = 60.0  # a job Slurm holds back on nodes that look usable: given up after this
NODES_FRESH_S = 5.0  # how old a sinfo reading may be when it decides whether a job is stuck


class NodeWatch:
    def __init__(self, read_sinfo: Callable[[], Mapping[str, Any]]) -> None:
        self._read_sinfo = read_sinfo  # ``sinfo --json``, parsed
        self.nodes: dict[str, SlurmNode] = {}
        self._read_at = -math.inf
        self._stuck_since: dict[str, float] = {}  # Slurm job id -> first seen held back

    def refresh(self) -> list[SlurmNode]:
        nodes = parse_sinfo_json(self._read_sinfo())
        self.nodes = {n.name: n for n in nodes}
        self._read_at = time.monotonic()
        return nodes

    def unknown(self, names: Collection[str]) -> list[str]:
        """The names Slurm does not know, after a fresh reading if any was missing."""
        if any(name not in self.nodes for name in names):
            self.refresh()
        return [name for name in names if name not in self.nodes]

    def forget(self, job_ids: Collection[str]) -> None:
        """Forget held-back times of these jobs (polled, and no longer in the queue)."""
        for job_id in job_ids:
            self._stuck_since.pop(job_id, None)

    def cannot_start(self, job: SlurmJob) -> bool:
        """Whether a job Slurm holds back with a stuck-looking reason is really stuck."""
        named = expand_hostlist(states.unavailable_nodes(job.reason))
        if not named:
            return True  # NodeDown, BadConstraints, ... or no node named: nothing to wait for
        first = self._stuck_since.setdefault(job.job_id, time.monotonic())
        if time.monotonic() - first > STUCK_GRACE_S:
            return True
        if time.monotonic() - self._read_at > NODES_FRESH_S:
            self.refresh()
        return any(n not in self.nodes or not self.nodes[n].usable for n in named)
