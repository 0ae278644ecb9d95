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

from petaport.scheduler.config import Blocked
from petaport.scheduler.cycle import Cycle
from petaport.scheduler.ordering import Entry
from petaport.scheduler.snapshot import PendingJob, Shape


class Lane(enum.Enum):
    """What considering a job says about the later jobs of its shape this cycle."""

    OPEN = "open"  # they may start
    CLOSED = "closed"  # it found no place on any of its models: neither will they
    SHORT_ONLY = "short only"  # it would have delayed the reservation: only jobs ending
    # before the reservation may still start


class Lanes:
    """Heaps of entries, one per job shape, and a heap of their open heads."""

    def __init__(self, groups: Iterable[list[Entry]]) -> None:
        """``groups``: the entries, grouped by the identity of their jobs' shapes (shapes are
        interned), no group empty."""
        self.lanes: dict[Shape, list[Entry]] = {}
        for lane in groups:
            shape = lane[0][6].shape
            if shape in self.lanes:  # equal, not identical (rare): one lane all the same
                self.lanes[shape].extend(lane)
            else:
                self.lanes[shape] = lane
        for lane in self.lanes.values():
            heapq.heapify(lane)
        self.heads = [lane[0] for lane in self.lanes.values()]
        heapq.heapify(self.heads)

    def pop(self) -> Entry:
        """The first open entry; its lane stays closed until ``reopen``."""
        head = heapq.heappop(self.heads)
        heapq.heappop(self.lanes[head[6].shape])
        return head

    def reopen(self, entry: Entry) -> None:
        lane = self.lanes[entry[6].shape]
        if lane:
            heapq.heappush(self.heads, lane[0])

    def restrict(self, shape: Shape, keep: Callable[[PendingJob], bool]) -> list[Entry]:
        """Keep only the entries of a (closed) lane that ``keep`` accepts; the others."""
        kept: list[Entry] = []
        dropped: list[Entry] = []
        for e in self.lanes[shape]:
            (kept if keep(e[6]) else dropped).append(e)
        heapq.heapify(kept)
        self.lanes[shape] = kept
        return dropped

    def rest(self) -> Iterator[Entry]:
        for lane in self.lanes.values():
            yield from lane


class Queues:
    def __init__(
        self, gpu: Iterable[list[Entry]], cpu: Iterable[list[Entry]], aside: list[Entry]
    ) -> None:
        """GPU and CPU entries grouped by shape (see ``Lanes``), the entries set aside."""
        self.gpu, self.cpu = Lanes(gpu), Lanes(cpu)
        heapq.heapify(aside)
        self.aside = aside

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
        if self.aside and first_blocked_matters and self.aside[0] < best.heads[0]:
            return heapq.heappop(self.aside)
        return best.pop()

    def done(
        self, entry: Entry, lane: Lane, short: Callable[[], Callable[[PendingJob], bool]]
    ) -> list[Entry]:
        """After ``entry`` was considered: reopen its lane (only for jobs that are short after
        a veto; ``short()`` gives that test) unless no job of its shape can fit; the entries
        dropped from the lane. (A shape is in one place only: GPU lanes, CPU lanes or aside.)"""
        dropped: list[Entry] = []
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
        heads = [lane[0] for lane in self.gpu.lanes.values() if lane]
        if self.aside:
            heads.append(self.aside[0])
        heapq.heapify(heads)
        while heads:
            head = heapq.heappop(heads)
            source = self.gpu.lanes.get(head[6].shape, self.aside)
            heapq.heappop(source)
            if source:
                heapq.heappush(heads, source[0])
            yield head

    def rest(self) -> list[Entry]:
        return [*self.gpu.rest(), *self.cpu.rest(), *self.aside]
