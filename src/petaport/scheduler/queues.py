"""The queue of one cycle, shaped so that most of a long queue is never walked job by job.

- GPU jobs that might fit the largest free hole now, and CPU-only jobs, sit in *lanes*: one
  heap per job shape, and a heap of the lanes' heads. Free capacity only shrinks during a
  cycle, so once a job finds no place at all, no later job of the same shape can: its lane is
  closed and the rest of it waits with Resources, unwalked.
- Jobs that want more than any node or shared GPU has free sit *aside*: this cycle they can
  only wait. They are walked only while the first blocked job is still to come, so that it is
  the one that gets the reservation or stops the queue.

``next`` yields entries in policy order from what can still matter; ``done`` says whether the
lane of the entry stays open. ``in_order`` walks everything left, for late preemptions.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable, Iterable, Iterator
from itertools import count
from operator import itemgetter
from typing import cast

from petaport.scheduler.config import Blocked
from petaport.scheduler.cycle import Cycle
from petaport.scheduler.ordering import Bound, Bounder, Entry
from petaport.scheduler.snapshot import PendingJob


class Lane(enum.Enum):
    """What considering a job says about the later jobs of its shape this cycle."""

    OPEN = "open"  # they may start
    CLOSED = "closed"  # it found no place on any of its models: neither will they
    SHORT_ONLY = "short only"  # it would have delayed the reservation: only jobs ending
    # before the reservation may still start


class Lanes:
    """Heaps of entries, one per job shape, and a heap of their open heads.

    A lane's jobs come in groups (``snapshot.order_class`` plus the tier); with a ``bound``
    (ordering.py) a group gets its keys only when nothing keyed in its lane comes before the
    group's bound, so the head of a lane is always its first job in order and a lane closed
    early never keys most of its jobs. Without a bound every job is keyed at once."""

    def __init__(
        self,
        groups: Iterable[Groups],
        key: Callable[[PendingJob, int], Entry],
        bound: Bounder | None,
    ) -> None:
        """``groups``: per shape (by identity: shapes are interned), the jobs per group
        (``snapshot.order_class`` plus tier); without a bound, one list for all groups."""
        self.key, self.bound = key, bound
        self.count = count()  # entry indexes (ids are unique: they never decide the order)
        self.lanes: dict[ShapeRef, list[Entry]] = {}
        # per lane, its groups not yet keyed, by bound (none without a bound)
        self.waiting: dict[ShapeRef, list[tuple[Bound, int, list[PendingJob]]]] = {}
        if bound is None:
            self._key_all(groups)
        else:
            for tiers in groups:
                shape: ShapeRef = None  # read (and boxed) once per shape, not per group
                for group, jobs in enumerate(tiers):
                    if jobs:
                        if shape is None:
                            shape = jobs[0].shape
                        self._add(shape, jobs, bound(group))
            for shape, lane in self.lanes.items():
                heapq.heapify(lane)
                self.waiting[shape].sort(key=_FIRST)
                self._settle(shape)
        self.heads = [lane[0] for lane in self.lanes.values() if lane]
        heapq.heapify(self.heads)

    def _key_all(self, groups: Iterable[Groups]) -> None:
        key, index, lanes = self.key, self.count, self.lanes
        for tiers in groups:
            jobs = tiers[0]  # one list for all groups
            if jobs:
                entries = [key(j, next(index)) for j in jobs]
                lane = lanes.get(jobs[0].shape)
                if lane is None:
                    lanes[jobs[0].shape] = entries
                else:  # equal shapes that are not identical (rare) share a lane
                    lane.extend(entries)
        for lane in lanes.values():
            heapq.heapify(lane)

    def _add(self, shape: ShapeRef, jobs: list[PendingJob], bound: Bound | None) -> None:
        lane = self.lanes.get(shape)
        waiting = self.waiting.get(shape)
        if lane is None or waiting is None:  # equal shapes not identical (rare) share a lane
            lane = self.lanes[shape] = []
            waiting = self.waiting[shape] = []
        if bound is None:
            key, index = self.key, self.count
            lane.extend([key(j, next(index)) for j in jobs])
        else:
            waiting.append((bound, len(waiting), jobs))

    def _settle(self, shape: ShapeRef) -> None:
        """Key the groups of the lane whose bound comes before its head (or all, in order,
        until one does not), so that the head is the lane's first entry."""
        waiting = self.waiting.get(shape)
        if not waiting:
            return
        lane = self.lanes[shape]
        while waiting and (not lane or waiting[0][0] < lane[0]):
            jobs = waiting.pop(0)[2]
            key, index = self.key, self.count
            lane.extend([key(j, next(index)) for j in jobs])
            heapq.heapify(lane)

    def first(self, shape: ShapeRef) -> Entry | None:
        self._settle(shape)
        lane = self.lanes[shape]
        return lane[0] if lane else None

    def pop(self) -> Entry:
        """The first open entry; its lane stays closed until ``reopen``."""
        head = heapq.heappop(self.heads)
        heapq.heappop(self.lanes[head[6].shape])
        return head

    def remove_first(self, shape: ShapeRef) -> None:
        heapq.heappop(self.lanes[shape])

    def reopen(self, entry: Entry) -> None:
        head = self.first(entry[6].shape)
        if head is not None:
            heapq.heappush(self.heads, head)

    def restrict(self, shape: ShapeRef, keep: Callable[[PendingJob], bool]) -> list[PendingJob]:
        """Keep only the jobs of a (closed) lane that ``keep`` accepts; the others."""
        # entries as boxed tuples: compiled code would unbox each fixed-length Entry (floats
        # and all) and box it afresh into ``kept`` (a veto may restrict 10,000 entries)
        kept: list[Boxed] = []
        dropped: list[PendingJob] = []
        for e in cast("list[Boxed]", self.lanes[shape]):
            job = cast(PendingJob, e[6])
            if keep(job):
                kept.append(e)
            else:
                dropped.append(job)
        heapq.heapify(kept)
        self.lanes[shape] = cast("list[Entry]", kept)
        waiting = []
        for bound, n, jobs in self.waiting.get(shape, ()):
            mine: list[PendingJob] = []
            for j in jobs:
                (mine if keep(j) else dropped).append(j)
            if mine:  # a group's bound bounds any part of it
                waiting.append((bound, n, mine))
        if waiting or shape in self.waiting:
            self.waiting[shape] = waiting
        return dropped

    def rest(self) -> Iterator[PendingJob]:
        for lane in self.lanes.values():
            for e in lane:
                yield e[6]
        for waiting in self.waiting.values():
            for _, _, jobs in waiting:
                yield from jobs


Groups = list[list[PendingJob]]  # a shape's jobs by group (snapshot.order_class)
# a Shape (snapshot.py) as a plain object: compiled code keeps it boxed, where a fixed-length
# tuple would be boxed afresh (8 fields) at every dict look-up
ShapeRef = object
Boxed = tuple[object, ...]  # an Entry, read without unboxing it (see ``restrict``)
_FIRST = itemgetter(0, 1)


class Queues:
    def __init__(
        self,
        groups: tuple[Iterable[Groups], Iterable[Groups], Iterable[Groups]],
        key: Callable[[PendingJob, int], Entry],
        bound: Bounder | None,
    ) -> None:
        """GPU jobs, CPU-only jobs and jobs set aside, grouped by shape and tier (see
        ``Lanes``); the policy's key and, if keys may wait, its bound (ordering.py). The
        lanes set aside are never closed: they are one queue, in order."""
        self.gpu, self.cpu, self.aside = (Lanes(g, key, bound) for g in groups)

    def next(self, cycle: Cycle) -> Entry | None:
        """The first job in order that could still start or change what others may do."""
        if cycle.stopped:
            return None
        strict = cycle.blocked is Blocked.STOP
        best: Lanes | None = None
        if self.gpu.heads and (strict or not cycle.cap.exhausted):
            best = self.gpu
        if self.cpu.heads and (best is None or self.cpu.heads[0] < best.heads[0]):
            best = self.cpu
        if best is None:
            return None
        first_blocked_matters = strict or (
            cycle.blocked is Blocked.RESERVE and not cycle.reserve_tried
        )
        aside = self.aside
        if aside.heads and first_blocked_matters and aside.heads[0] < best.heads[0]:
            entry = aside.pop()
            aside.reopen(entry)
            return entry
        return best.pop()

    def done(
        self, entry: Entry, lane: Lane, short: Callable[[], Callable[[PendingJob], bool]]
    ) -> list[PendingJob]:
        """After ``entry`` was considered: reopen its lane (only for jobs that are short after
        a veto; ``short()`` gives that test) unless no job of its shape can fit; the jobs
        dropped from the lane. (A shape is in one place only: GPU lanes, CPU lanes or aside.)"""
        dropped: list[PendingJob] = []
        if lane is Lane.CLOSED:
            return dropped
        for lanes in (self.gpu, self.cpu):
            if entry[6].shape in lanes.lanes:
                if lane is Lane.SHORT_ONLY:
                    dropped = lanes.restrict(entry[6].shape, short())
                lanes.reopen(entry)
        return dropped

    def in_order(self) -> Iterator[Entry]:
        """Every GPU job left (lanes and aside), in order, each removed as it is yielded."""
        sources = {shape: lanes for lanes in (self.gpu, self.aside) for shape in lanes.lanes}
        heads = [h for h in (ls.first(shape) for shape, ls in sources.items()) if h is not None]
        heapq.heapify(heads)
        while heads:
            head = heapq.heappop(heads)
            lanes = sources[head[6].shape]
            lanes.remove_first(head[6].shape)
            after = lanes.first(head[6].shape)
            if after is not None:
                heapq.heappush(heads, after)
            yield head

    def rest(self) -> list[PendingJob]:
        """Every job not yet taken out."""
        return [*self.gpu.rest(), *self.cpu.rest(), *self.aside.rest()]
