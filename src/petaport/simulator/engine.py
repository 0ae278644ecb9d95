"""Discrete-event replay: a simulated clock and cluster around the production scheduler.

Events are job arrivals and completions. All events at one timestamp form a batch: completions
first, then arrivals, then a scheduling cycle that calls ``petaport.scheduler.schedule`` through
the adapter (again after preemptions, and for fifo while its whole head starts). Starts take
resources, preemptions requeue their victims (the work done is lost). The replay is
deterministic: it reads no clock and draws no random numbers; ties break on trace position.

What each cycle shows the core is chosen in ``selection`` (exact pruning, see there). For the
default policy the engine also keeps what the core needs from history: each project's decayed
usage (fair share) and the durations of finished jobs (the core's ``DurationHistory``, for
predictions). It also keeps, across cycles, what the core would otherwise derive every cycle:
the running jobs' releases sorted by expected end and the preemption candidates
(``RunningIndex``, see ``petaport.scheduler.snapshot``) and the nodes' frozen views.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Callable, Hashable
from typing import TypeVar

from petaport.domain.jobs import Allocation, QosTier
from petaport.scheduler import (
    NodeIndex,
    PendingJob,
    RunningJob,
    release_of,
)
from petaport.scheduler.prediction import DurationHistory
from petaport.simulator.adapter import (
    CoreAdapter,
    CoreDecision,
    CoreStart,
    job_shape,
    models_match,
)
from petaport.simulator.batchgc import batch_gc
from petaport.simulator.model import ClusterSpec, Trace
from petaport.simulator.outcome import JobOutcome, ReplayResult, SimJob
from petaport.simulator.policies import SimPolicy
from petaport.simulator.releases import ReleaseBook
from petaport.simulator.selection import Ask, pending_of, select
from petaport.simulator.state import ClusterState, Shape
from petaport.simulator.usage import UsageLedger

Progress = Callable[[int], None]
MAX_CYCLES_PER_INSTANT = 64  # a guard: cycles at one instant end long before this
Rank = tuple[float, int]
_Item = TypeVar("_Item", int, tuple[Rank, int])


class Replay:
    def __init__(
        self, trace: Trace, cluster: ClusterSpec, policy: SimPolicy, exact_reference: bool = False
    ) -> None:
        self.trace, self.policy, self.exact_reference = trace, policy, exact_reference
        self.adapter = CoreAdapter(trace.start, policy, cluster.entitlements, cluster.pools)
        self.state = ClusterState(cluster, models_match)
        self.jobs = [self._sim_job(i) for i in range(len(trace.jobs))]
        self.groups: dict[Hashable, list[tuple[Rank, int]]] = {}
        self.group_shape: dict[Hashable, Shape] = {}
        self.shape_count: dict[Shape, int] = {}
        self.fifo: list[int] = []  # pending job indices in submission order
        self.running: dict[int, RunningJob] = {}
        self.node_index = NodeIndex()  # every node's view, indexed for the core (``all_nodes``)
        self.victims = 0  # running jobs that a preemption could stop
        # kept for the core's RunningIndex: running jobs' releases sorted by expected end
        # (with those already due summed per node), and the running jobs a preemption could stop
        self.releases = ReleaseBook()
        self.victim_jobs: dict[int, RunningJob] = {}
        self.completions: list[tuple[float, int, int]] = []  # (end, index, attempt)
        self.history = DurationHistory() if self.adapter.predicts else None
        self._predicted: dict[str, dict[int, float | None]] = {}  # project -> GPU milli ->
        self._learned: dict[str, int] = {}  # project -> finished jobs recorded so far
        self.ledger = (
            UsageLedger(self.adapter.config.half_life_s) if self.adapter.fair_share else None
        )
        self.series: list[tuple[float, float]] = [(0.0, 0.0)]
        self.busy_gpu_s = self.frag_gpu_s = self.queued_s = 0.0
        self._frag, self._last_t, self._blocked_head = 0, 0.0, -1
        self._frag_key, self._need, self._shapes_changed = (-1, -1), dict[str, int](), 0
        self.done = self.events = 0

    def _sim_job(self, index: int) -> SimJob:
        tj = self.trace.jobs[index]
        models = frozenset(tj.gpu_models) if tj.gpu_models else None
        gpn = max((p.gpus_per_node for p in self.state.pools_for(models)), default=0)
        shape = job_shape(tj, gpn)
        walltime = self.policy.walltime_s(tj.duration_s, tj.walltime_s)
        pending = self.adapter.pending_job(index, tj, shape, walltime)
        group = self.adapter.group_of(pending, shape)
        return SimJob(index, tj, shape, pending, group, self.adapter.rank(pending, index))

    # -- the event loop ------------------------------------------------------------------
    def run(self, progress: Progress | None = None) -> ReplayResult:
        with batch_gc():  # see there: a batch computation
            return self._run(progress)

    def _run(self, progress: Progress | None) -> ReplayResult:
        jobs, arrivals, heap, n = self.jobs, 0, self.completions, len(self.jobs)
        while arrivals < n or heap:
            t = heap[0][0] if heap else jobs[arrivals].trace.submit_s
            if arrivals < n and jobs[arrivals].trace.submit_s < t:
                t = jobs[arrivals].trace.submit_s
            self._advance(t)
            freed = self._complete_at(t)
            new: list[int] = []
            while arrivals < n and jobs[arrivals].trace.submit_s == t:
                if self._enqueue(jobs[arrivals]):
                    new.append(arrivals)
                arrivals += 1
            self._cycle(t, freed, new)
            self.events += 1
            if progress is not None and self.events & 4095 == 0:
                progress(self.done)
        if progress is not None:
            progress(self.done)
        return self._result()

    def _advance(self, t: float) -> None:
        dt = t - self._last_t
        if dt > 0:
            self.busy_gpu_s += self.state.busy_milli / 1000 * dt
            self.frag_gpu_s += self._frag * dt
            if self.fifo:
                self.queued_s += dt
        self._last_t = t

    def _complete_at(self, t: float) -> bool:
        heap, freed = self.completions, False
        while heap and heap[0][0] == t:
            _, index, attempt = heapq.heappop(heap)
            job = self.jobs[index]
            if attempt == job.attempt:  # else: a preempted attempt's stale completion
                self._stop(t, job)
                job.end_s, freed = t, True
                self.done += 1
                self._learn(job)
        return freed

    def _learn(self, job: SimJob) -> None:
        if self.history is not None:
            p = job.pending
            self.history.add(p.project_id, p.user, p.demand_milli, job.trace.duration_s)
            self._predicted.pop(p.project_id, None)
            self._learned[p.project_id] = self._learned.get(p.project_id, 0) + 1

    def _enqueue(self, job: SimJob) -> bool:
        if not self.state.ever_fits(job.shape):
            job.unschedulable = True
            return False
        queue = self.groups.get(job.group)
        if queue is None:
            queue = self.groups[job.group] = []
            self.group_shape[job.group] = job.shape
        insort(queue, (job.rank, job.index))
        count = self.shape_count.get(job.shape, 0)
        self.shape_count[job.shape] = count + 1
        self._shapes_changed += not count
        insort(self.fifo, job.index)
        return True

    def _dequeue(self, job: SimJob) -> None:
        queue = self.groups[job.group]
        _remove(queue, (job.rank, job.index))
        if not queue:
            del self.groups[job.group]
        self.shape_count[job.shape] -= 1
        if not self.shape_count[job.shape]:
            del self.shape_count[job.shape]
            self._shapes_changed += 1
        _remove(self.fifo, job.index)

    # -- scheduling cycles -------------------------------------------------------------------
    def _cycle(self, t: float, freed: bool, new: list[int]) -> None:
        """Call the core until nothing more happens at ``t``: again after preemptions (the
        victims' resources are free in the next cycle) and, for fifo, while the whole head
        of the queue started."""
        stop = self.adapter.fifo_stop and not self.exact_reference
        for _ in range(MAX_CYCLES_PER_INSTANT):
            if stop and not freed and (not self.fifo or self.fifo[0] == self._blocked_head):
                break
            ask = select(self, freed, new)
            if ask is None:
                break
            decision = self._decide(t, ask)
            self._apply(t, decision.starts, decision.victims)
            whole_head = stop and len(decision.starts) == len(ask.indices)
            if not decision.victims and not whole_head:
                break
            freed = True
        self._blocked_head = self.fifo[0] if self.fifo else -1
        self._frag = self._fragmentation()
        busy = self.state.busy_milli / 1000
        if self.series[-1][1] != busy:
            self.series.append((t, busy))

    def _decide(self, t: float, ask: Ask) -> CoreDecision:
        fair = None
        if self.ledger is not None:
            fair = self.ledger.fair_share(t, self.adapter.at(t), self.adapter.shares)
        pending = pending_of(self, ask.indices)
        index = nodes = None
        if ask.whole:  # every running job and node is shown
            now_s = self.adapter.timestamp(t)  # the core's now
            index = self.releases.index(now_s, self.victim_jobs.values())
            nodes = self.node_index
        return self.adapter.decide(t, ask.nodes, pending, ask.running, fair, ask.whole, index,
                                   nodes)  # fmt: skip

    def pending_for_core(self, index: int) -> PendingJob:
        """The job as the core sees it now (with the current duration prediction)."""
        job = self.jobs[index]
        learned = self._learned.get(job.pending.project_id, 0)
        if self.history is None or job.learned == learned:
            return job.pending
        job.learned = learned
        known = self._predicted.setdefault(job.pending.project_id, {})
        milli = job.pending.demand_milli
        if milli not in known:
            known[milli] = self.history.predict(job.pending)
        job.pending = job.pending.with_prediction(known[milli])
        return job.pending

    def _apply(self, t: float, starts: list[CoreStart], victims: list[int]) -> None:
        for index in victims:
            self._preempt(t, self.jobs[index])
        for index, allocs, milli, borrowing in starts:
            self._start(t, self.jobs[index], allocs, milli, borrowing)

    def _start(
        self, t: float, job: SimJob, allocs: tuple[Allocation, ...], milli: int, borrowing: bool
    ) -> None:
        self.state.allocate(allocs, milli)
        job.allocs, job.milli, job.start_s = allocs, milli, t
        if job.first_start_s is None:
            job.first_start_s = t
        self._dequeue(job)
        heapq.heappush(self.completions, (t + job.trace.duration_s, job.index, job.attempt))
        running = self.adapter.running_job(job.pending, t, allocs, milli, borrowing)
        self.running[job.index] = running
        if running.borrowing or running.qos is QosTier.PREEMPTIBLE:
            self.victims += 1
            self.victim_jobs[job.index] = running
        release = release_of(running, self.adapter.predicts)
        if release is not None:
            self.releases.add(release)
        if self.ledger is not None:
            self.ledger.change(t, job.pending.org_id, job.pending.project_id, job.gpus)

    def _stop(self, t: float, job: SimJob) -> None:
        self.state.release(job.allocs, job.milli)
        running = self.running.pop(job.index)
        if self.victim_jobs.pop(job.index, None) is not None:
            self.victims -= 1
        release = release_of(running, self.adapter.predicts)
        if release is not None:
            self.releases.remove(release)
        if self.ledger is not None:
            self.ledger.change(t, job.pending.org_id, job.pending.project_id, -job.gpus)

    def _preempt(self, t: float, job: SimJob) -> None:
        """Requeue a running job; the work it did is lost (no checkpoints)."""
        self._stop(t, job)
        job.lost_gpu_s += (t - job.start_s) * job.gpus
        job.preemptions += 1
        job.attempt += 1
        self._enqueue(job)

    def _fragmentation(self) -> int:
        """Free GPUs that no pending job could use (recomputed only when something changed)."""
        if not self.shape_count:
            return 0
        key = (self.state.version, self._shapes_changed)
        if key == self._frag_key:
            return self._frag
        if key[1] != self._frag_key[1]:
            self._need = {}
            for gpus, _, _, _, models, milli in self.shape_count:
                need = 1 if milli else gpus
                for pool in self.state.pools_for(models) if need else ():
                    self._need[pool.name] = min(self._need.get(pool.name, need), need)
        self._frag_key = key
        return self.state.fragmented_gpus(self._need)

    def _result(self) -> ReplayResult:
        return ReplayResult(
            policy=self.policy.name,
            outcomes=tuple(JobOutcome.of(j) for j in self.jobs if j.end_s is not None),
            unschedulable=sum(1 for j in self.jobs if j.unschedulable),
            unfinished=sum(1 for j in self.jobs if j.end_s is None and not j.unschedulable),
            series=tuple(self.series),
            busy_gpu_s=self.busy_gpu_s,
            fragmented_gpu_s=self.frag_gpu_s,
            queued_s=self.queued_s,
            total_gpus=self.state.total_gpus,
            core_calls=self.adapter.calls,
            events=self.events,
        )


def _remove(items: list[_Item], item: _Item) -> None:
    at = bisect_left(items, item)
    if at < len(items) and items[at] == item:
        del items[at]


def replay(
    trace: Trace, cluster: ClusterSpec, policy: SimPolicy, progress: Progress | None = None
) -> ReplayResult:
    """Replay ``trace`` on ``cluster`` under ``policy``."""
    with batch_gc():  # building the jobs too
        return Replay(trace, cluster, policy).run(progress)
