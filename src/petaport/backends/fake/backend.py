"""An in-memory, deterministic backend for fast service tests and the contract suite.

Nothing runs. An attempt stays RUNNING until the test ends it (``finish``, ``end``,
``fail_node``) or its walltime passes on the injected clock. The truth lives in a ``FakeCluster``
shared by every ``FakeBackend`` built on it, so ``restarted()`` models a server restart.

Invariants:
- an attempt moves from RUNNING to one terminal state, once; after that it never changes;
- walltime is judged lazily against the clock: an attempt past it is TIMEOUT, ending exactly at
  ``started_at + walltime_s`` with exit code 143 (SIGTERM), whoever looks first;
- ``cancel`` is immediate (CANCELLED, exit code 143) and idempotent, and is recorded;
- a GPU is held by at most one RUNNING attempt, or shared by fractional attempts whose shares
  add up to at most one GPU: launching onto a held GPU raises ``FakeMisuseError``
  (a scheduler or service bug, never a transient failure);
- ``attempt_dir``, ``stdout.log`` and ``stderr.log`` are created at launch; text arrives only
  when the test writes it (``write_output`` or ``finish``);
- ``fail_next(n)`` makes the next ``n`` protocol calls raise ``RetryLater``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Concatenate, ParamSpec, TypeVar

from petaport.backends.environment import job_environment
from petaport.domain.errors import RetryLater
from petaport.domain.jobs import Allocation, JobState
from petaport.services.clock import Clock, utc_now
from petaport.services.ports import AttemptLaunch, AttemptRef, AttemptReport, NodeInfo

SIGTERM_EXIT = 128 + 15
DEFAULT_NODES = (
    NodeInfo(
        name="fake-001",
        gpu_model="H800",
        gpu_indices=tuple(range(8)),
        cpus=64,
        memory_mb=512 * 1024,
    ),
)


P = ParamSpec("P")
R = TypeVar("R")


def _locked(
    method: Callable[Concatenate[FakeBackend, P], R],
) -> Callable[Concatenate[FakeBackend, P], R]:
    """Run the method holding the cluster's lock."""

    def locked(self: FakeBackend, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.cluster.lock:
            return method(self, *args, **kwargs)

    functools.update_wrapper(locked, method)
    return locked


class FakeMisuseError(AssertionError):
    """The caller did something no real backend would accept (e.g. double-booked a GPU)."""


@dataclass
class FakeAttempt:
    """One attempt's mutable truth inside the fake cluster."""

    launch: AttemptLaunch
    pid: int
    started_at: datetime
    state: JobState = JobState.RUNNING
    ended_at: datetime | None = None
    exit_code: int | None = None
    detail: str = ""

    @property
    def gpus(self) -> set[tuple[str, int]]:
        return {(a.node, i) for a in self.launch.allocations for i in a.gpu_indices}


class FakeCluster:
    """What the fake backend knows; outlives any one ``FakeBackend`` object."""

    def __init__(self, nodes: Sequence[NodeInfo] | None = None, clock: Clock | None = None) -> None:
        self.nodes = tuple(nodes) if nodes is not None else DEFAULT_NODES
        self.clock: Clock = clock or utc_now
        self.attempts: dict[str, FakeAttempt] = {}
        self.launches: list[AttemptLaunch] = []
        self.cancel_requests: list[str] = []
        self.failures_to_inject = 0
        self.next_pid = 1000
        self.lock = threading.RLock()  # the dev server polls and cancels from several threads


class FakeBackend:
    name = "fake"

    def __init__(
        self,
        nodes: Sequence[NodeInfo] | None = None,
        *,
        clock: Clock | None = None,
        cluster: FakeCluster | None = None,
    ) -> None:
        if cluster is not None and (nodes is not None or clock is not None):
            raise ValueError("give either a cluster, or nodes and a clock")
        self.cluster = cluster if cluster is not None else FakeCluster(nodes, clock)

    def restarted(self) -> FakeBackend:
        """A new backend object on the same cluster, as after a server restart."""
        return FakeBackend(cluster=self.cluster)

    # -- Backend protocol ------------------------------------------------------------------

    @_locked
    def launch(self, launch: AttemptLaunch) -> AttemptReport:
        self._maybe_fail()
        if launch.attempt_id in self.cluster.attempts:
            raise FakeMisuseError(f"attempt {launch.attempt_id} was launched twice")
        refusal = self._refusal(launch)
        attempt = FakeAttempt(launch, self.cluster.next_pid, self.cluster.clock())
        if refusal:
            self._close(attempt, JobState.FAILED, None, refusal, attempt.started_at)
        else:
            self._check_gpus_free(attempt)
        self.cluster.next_pid += 1
        self.cluster.launches.append(launch)
        self.cluster.attempts[launch.attempt_id] = attempt
        launch.attempt_dir.mkdir(parents=True, exist_ok=True)
        launch.stdout_path.touch()
        launch.stderr_path.touch()
        return self._report(attempt)

    @_locked
    def poll(self, refs: Sequence[AttemptRef]) -> list[AttemptReport]:
        self._maybe_fail()
        return [self._poll_one(ref) for ref in refs]

    @_locked
    def cancel(self, ref: AttemptRef) -> None:
        self._maybe_fail()
        self.cluster.cancel_requests.append(ref.attempt_id)
        attempt = self.cluster.attempts.get(ref.attempt_id)
        if attempt is not None and self._settled(attempt).state is JobState.RUNNING:
            self._close(attempt, JobState.CANCELLED, SIGTERM_EXIT, "cancelled", None)

    def inventory(self) -> list[NodeInfo]:
        return list(self.cluster.nodes)

    def close(self) -> None:
        return None

    # -- test controls ---------------------------------------------------------------------

    def finish(
        self, attempt_id: str, exit_code: int = 0, *, stdout: str = "", stderr: str = ""
    ) -> AttemptReport:
        """The job writes ``stdout``/``stderr`` and exits: COMPLETED for 0, else FAILED."""
        self.write_output(attempt_id, stdout=stdout, stderr=stderr)
        if exit_code == 0:
            return self.end(attempt_id, JobState.COMPLETED, exit_code=0)
        return self.end(
            attempt_id, JobState.FAILED, exit_code=exit_code, detail=f"exited with code {exit_code}"
        )

    @_locked
    def end(
        self, attempt_id: str, state: JobState, *, exit_code: int | None = None, detail: str = ""
    ) -> AttemptReport:
        """End a running attempt in any terminal ``state``; one already ended keeps its end."""
        if not state.is_terminal:
            raise ValueError(f"{state.value} is not a terminal state")
        attempt = self._settled(self._get(attempt_id))
        if attempt.state is JobState.RUNNING:
            self._close(attempt, state, exit_code, detail, None)
        return self._report(attempt)

    @_locked
    def fail_node(self, node: str, detail: str = "node failed") -> list[str]:
        """Every attempt running on ``node`` ends NODE_FAIL; returns their ids."""
        failed = []
        for attempt in self.cluster.attempts.values():
            on_node = any(a.node == node for a in attempt.launch.allocations)
            if on_node and self._settled(attempt).state is JobState.RUNNING:
                self._close(attempt, JobState.NODE_FAIL, None, detail, None)
                failed.append(attempt.launch.attempt_id)
        return failed

    @_locked
    def write_output(self, attempt_id: str, *, stdout: str = "", stderr: str = "") -> None:
        launch = self._get(attempt_id).launch
        for path, text in ((launch.stdout_path, stdout), (launch.stderr_path, stderr)):
            if text:
                with open(path, "a", encoding="utf-8") as handle:
                    handle.write(text)

    def environment(self, attempt_id: str, node: str | None = None) -> dict[str, str]:
        """The variables the job would see on ``node`` (default: its first allocation's)."""
        launch = self._get(attempt_id).launch
        allocation = _allocation_on(launch.allocations, node)
        return job_environment(launch, allocation)

    def fail_next(self, calls: int = 1) -> None:
        """Make the next ``calls`` launch/poll/cancel calls raise ``RetryLater``."""
        self.cluster.failures_to_inject = calls

    @_locked
    def report(self, attempt_id: str) -> AttemptReport:
        return self._report(self._settled(self._get(attempt_id)))

    @_locked
    def running(self) -> list[str]:
        attempts = [self._settled(a) for a in self.cluster.attempts.values()]
        return [a.launch.attempt_id for a in attempts if a.state is JobState.RUNNING]

    @property
    def launches(self) -> list[AttemptLaunch]:
        return self.cluster.launches

    @property
    def cancel_requests(self) -> list[str]:
        return self.cluster.cancel_requests

    # -- internals -------------------------------------------------------------------------

    def _maybe_fail(self) -> None:
        if self.cluster.failures_to_inject > 0:
            self.cluster.failures_to_inject -= 1
            raise RetryLater("the fake backend was told to fail this call")

    def _get(self, attempt_id: str) -> FakeAttempt:
        attempt = self.cluster.attempts.get(attempt_id)
        if attempt is None:
            raise KeyError(f"no attempt {attempt_id} was launched on this fake cluster")
        return attempt

    def _refusal(self, launch: AttemptLaunch) -> str:
        nodes = {n.name: n for n in self.cluster.nodes}
        if len(launch.allocations) != launch.spec.nodes:
            return f"{launch.spec.nodes} node(s) asked, {len(launch.allocations)} allocated"
        for allocation in launch.allocations:
            node = nodes.get(allocation.node)
            if node is None:
                return f"node {allocation.node} is not in the inventory"
            if not set(allocation.gpu_indices) <= set(node.gpu_indices):
                return f"node {node.name} has no GPU {sorted(allocation.gpu_indices)}"
        return ""

    def _check_gpus_free(self, new: FakeAttempt) -> None:
        shares = new.launch.spec.gpu_milli
        for attempt in self.cluster.attempts.values():
            clash = attempt.gpus & new.gpus
            if not clash or self._settled(attempt).state is not JobState.RUNNING:
                continue
            milli = attempt.launch.spec.gpu_milli
            if new.launch.spec.gpu_milli and milli:
                shares += milli
                if shares <= 1000:
                    continue
            raise FakeMisuseError(
                f"GPUs {sorted(clash)} are held by running attempt {attempt.launch.attempt_id}"
            )

    def _settled(self, attempt: FakeAttempt) -> FakeAttempt:
        walltime_s = attempt.launch.spec.walltime_s
        if attempt.state is JobState.RUNNING and walltime_s is not None:
            deadline = attempt.started_at + timedelta(seconds=walltime_s)
            if self.cluster.clock() >= deadline:
                detail = f"walltime of {walltime_s} s reached"
                self._close(attempt, JobState.TIMEOUT, SIGTERM_EXIT, detail, deadline)
        return attempt

    def _close(
        self,
        attempt: FakeAttempt,
        state: JobState,
        exit_code: int | None,
        detail: str,
        at: datetime | None,
    ) -> None:
        attempt.state, attempt.exit_code, attempt.detail = state, exit_code, detail
        attempt.ended_at = at if at is not None else self.cluster.clock()

    def _poll_one(self, ref: AttemptRef) -> AttemptReport:
        attempt = self.cluster.attempts.get(ref.attempt_id)
        if attempt is None:
            return AttemptReport(
                attempt_id=ref.attempt_id,
                state=JobState.NODE_FAIL,
                backend_ref=ref.backend_ref,
                detail="the fake cluster never launched this attempt",
            )
        return self._report(self._settled(attempt))

    def _report(self, attempt: FakeAttempt) -> AttemptReport:
        return AttemptReport(
            attempt_id=attempt.launch.attempt_id,
            state=attempt.state,
            backend_ref=f"fake:{attempt.launch.attempt_id}",
            pid=attempt.pid,
            started_at=attempt.started_at,
            ended_at=attempt.ended_at,
            exit_code=attempt.exit_code,
            detail=attempt.detail,
        )


def _allocation_on(allocations: Sequence[Allocation], node: str | None) -> Allocation | None:
    for allocation in allocations:
        if node is None or allocation.node == node:
            return allocation
    return None
