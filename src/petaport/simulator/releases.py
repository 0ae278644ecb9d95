"""The running jobs' releases as the core's ``RunningIndex`` wants them, kept across cycles.

``releases`` is sorted by (expected end, id), as ``release_of`` gives them. The first
``due_count`` of them are those that end by ``due_s`` (the last time the engine asked for an
index; time never goes back), and ``due`` sums them per node as [whole GPUs, CPUs, MiB]: the
core then releases every overdue job at once instead of one by one each cycle. Starts and
stops keep all three exact; ``index`` only moves ``due_s`` forward.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Collection

from petaport.scheduler import RunningIndex, RunningJob
from petaport.scheduler.snapshot import MILLI, Release


class ReleaseBook:
    def __init__(self) -> None:
        self.releases: list[Release] = []
        self.due_s = float("-inf")
        self.due_count = 0
        self.due: dict[str, list[int]] = {}
        self._jobs_on: dict[str, int] = {}  # per node: due releases on it

    def add(self, release: Release) -> None:
        insort(self.releases, release)
        if release[0] <= self.due_s:
            self.due_count += 1
            self._count(release, 1)

    def remove(self, release: Release) -> None:
        releases = self.releases
        at = bisect_left(releases, release)
        if at < len(releases) and releases[at] == release:
            del releases[at]
            if release[0] <= self.due_s:
                self.due_count -= 1
                self._count(release, -1)

    def index(self, now_s: float, victims: Collection[RunningJob]) -> RunningIndex:
        """The core's index at ``now_s`` (not before the last one): it shares this book's
        list and mapping, valid until the next change."""
        releases, i = self.releases, self.due_count
        while i < len(releases) and releases[i][0] <= now_s:
            self._count(releases[i], 1)
            i += 1
        self.due_count, self.due_s = i, now_s
        return RunningIndex(releases, victims, now_s, i, self.due)

    def _count(self, release: Release, sign: int) -> None:
        _, _, allocations, milli, _ = release
        whole = not 0 < milli < MILLI
        due, jobs_on = self.due, self._jobs_on
        for a in allocations:
            name = a.node
            summed = due.get(name)
            if summed is None:
                summed = due[name] = [0, 0, 0]
            if whole:
                summed[0] += sign * len(a.gpu_indices)
            summed[1] += sign * a.cpus
            summed[2] += sign * a.memory_mb
            left = jobs_on[name] = jobs_on.get(name, 0) + sign
            if not left:
                del due[name], jobs_on[name]
