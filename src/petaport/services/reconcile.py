"""Step 1 of a scheduling cycle: ask the backend about every RUNNING attempt and record those
that ended.

Invariants:
- one ``poll`` per reconcile for all running attempts; every attempt the backend reports ended
  is recorded in one transaction (its end, the job's next state, an event, the GPU time folded
  into the project's decayed fair-share usage), so a cycle that sees many jobs end commits once;
- a job whose attempt was being preempted and did not complete is PREEMPTED and requeued; one
  that ended NODE_FAIL is requeued if its spec allows (at most ``MAX_AUTO_REQUEUES`` times);
  a cancel intent makes it CANCELLED;
- completed attempts feed the duration history (``Finished``);
- a backend with ``EndNotices`` says which attempts it has a hint of an end for: a reconcile
  may then poll only those (``only``), plus every attempt with a stop intent; what the poll
  reports is recorded exactly as in a full one (the hint itself decides nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from petaport.domain.jobs import (
    Attempt,
    Job,
    JobState,
    PendingReason,
    check_transition,
    demand_milli,
    held_gpus,
)
from petaport.scheduler.fairshare import add_usage
from petaport.scheduler.prediction import DurationHistory, Finished
from petaport.services.context import Context
from petaport.services.jobs import STOP_CANCEL, STOP_PREEMPT, STOP_REQUEUE, event
from petaport.services.ports import AttemptRef, AttemptReport
from petaport.storage.repos.job_batches import JobBatchRepo
from petaport.storage.repos.jobs import JobRepo
from petaport.storage.repos.quotas import UsageRepo

MAX_AUTO_REQUEUES = 3

Ending = tuple[Attempt, str | None, AttemptReport]  # the attempt, its stop intent, the report


@runtime_checkable
class EndNotices(Protocol):
    """A backend that learns cheaply that attempts have probably ended (the slurm backend: a
    file the batch script writes), so the loop can poll just those instead of waiting for the
    next full poll. A hint only: the poll's report decides."""

    def noticed_ends(self) -> set[str]:
        """Attempt ids to poll now (each is returned once per look the backend wants)."""
        ...


def end_notices(backend: object) -> EndNotices | None:
    return backend if isinstance(backend, EndNotices) else None


def reconcile(
    ctx: Context,
    history: DurationHistory | None = None,
    on_node_fail: Callable[[], None] | None = None,
    skip: Collection[str] = (),
    only: Collection[str] | None = None,
) -> int:
    """Record every attempt the backend says has ended (completed ones into ``history``),
    except the attempts in ``skip`` (still being launched); with ``only``, poll just those
    attempts and the ones being stopped. Calls ``on_node_fail`` when one ended NODE_FAIL.
    Returns how many ended."""
    with ctx.db.transaction() as s:
        running = [
            r
            for r in JobRepo(s).running_attempts()
            if r[0].id not in skip and (only is None or r[0].id in only or r[2] is not None)
        ]
    if not running:
        return 0
    refs = [
        AttemptRef(a.id, Path(d), a.backend_ref or "", a.pid, a.started_at) for a, d, _ in running
    ]
    reports = ctx.backend.poll(refs)
    ended = [
        (attempt, intent, report)
        for (attempt, _, intent), report in zip(running, reports, strict=True)
        if report.state.is_terminal
    ]
    for finished in record_ends(ctx, ended):
        if history is not None:
            history.record(finished)
    if on_node_fail is not None and any(r.state is JobState.NODE_FAIL for _, _, r in ended):
        on_node_fail()
    return len(ended)


def record_ends(ctx: Context, ended: Sequence[Ending]) -> list[Finished]:
    """Store each attempt's end and its job's next state, in one transaction; fold the GPU
    time into fair-share usage. Returns the duration-history entries of completed attempts."""
    if not ended:
        return []
    with ctx.db.transaction() as s:
        batch, usage = JobBatchRepo(s), UsageRepo(s)
        jobs = batch.get_jobs([attempt.job_id for attempt, _, _ in ended], for_update=True)
        stored, events = [], []
        for attempt, intent, report in ended:
            job, done = _end_of(ctx, jobs[attempt.job_id], attempt, intent, report)
            jobs[job.id] = job  # (one running attempt per job; kept right if ever two)
            gpu_s = _gpu_seconds(done)
            if gpu_s > 0 and done.ended_at is not None:
                _fold_usage(ctx, usage, job, gpu_s, done.ended_at)
            stored.append((job, done))
            events.append(event(job.id, ctx, "attempt_ended", job.state, _message(done, report)))
        batch.save_attempts([done for _, done in stored])
        batch.save_jobs(list({job.id: job for job, _ in stored}.values()))
        JobRepo(s).add_events(events)
    for _, done in stored:
        ctx.metrics.attempts_ended.labels(done.state.value).inc()
    return [f for f in (_finished(job, done) for job, done in stored) if f is not None]


def _end_of(
    ctx: Context, job: Job, attempt: Attempt, intent: str | None, report: AttemptReport
) -> tuple[Job, Attempt]:
    """The attempt as it ended and the job's next state."""
    state = report.state
    if intent == STOP_PREEMPT and state != JobState.COMPLETED:
        state = JobState.PREEMPTED  # stopped for another job; a job that finished first keeps it
    ended = replace(
        attempt,
        state=state,
        ended_at=report.ended_at or ctx.clock(),
        exit_code=report.exit_code,
        detail=report.detail,
    )
    return _job_after(job, ended, intent), ended


def _message(attempt: Attempt, report: AttemptReport) -> str:
    message = f"attempt {attempt.number} ended {report.state.value}"
    if report.exit_code is not None:
        message += f" (exit code {report.exit_code})"
    if report.detail:
        message += f": {report.detail}"
    return message


def _finished(job: Job, ended: Attempt) -> Finished | None:
    if ended.state != JobState.COMPLETED or ended.started_at is None or ended.ended_at is None:
        return None
    spec = job.spec
    demand = demand_milli(spec.gpus, spec.nodes, spec.gpu_milli)
    duration = (ended.ended_at - ended.started_at).total_seconds()
    return Finished(job.project_id, job.user_id, demand, max(0.0, duration))


def _gpu_seconds(attempt: Attempt) -> float:
    if attempt.started_at is None or attempt.ended_at is None:
        return 0.0
    held = held_gpus(attempt.allocations, attempt.gpu_milli)
    return held * max(0.0, (attempt.ended_at - attempt.started_at).total_seconds())


def _fold_usage(ctx: Context, usage: UsageRepo, job: Job, gpu_s: float, at: datetime) -> None:
    """Add an attempt's GPU-seconds to its project's decayed usage (counted at its end)."""
    half_life = ctx.settings.fairshare_half_life_s
    current = usage.get_for_update(job.project_id)
    if current is None:
        usage.put(job.org_id, job.project_id, gpu_s, at)
        return
    total, as_of = current
    if at < as_of:  # an attempt that ended before the last fold: decay it instead
        usage.put(job.org_id, job.project_id, add_usage(gpu_s, at, total, as_of, half_life), as_of)
    else:
        usage.put(job.org_id, job.project_id, add_usage(total, as_of, gpu_s, at, half_life), at)


def _job_after(job: Job, attempt: Attempt, intent: str | None) -> Job:
    if job.state != JobState.RUNNING:
        return job  # the job was already moved on (should not happen; keep what is stored)
    preempted = intent == STOP_PREEMPT and attempt.state == JobState.PREEMPTED
    requeue = (
        intent == STOP_REQUEUE
        or preempted
        or (
            attempt.state == JobState.NODE_FAIL
            and intent != STOP_CANCEL
            and job.spec.requeue_on_node_fail
            and job.attempt_count <= MAX_AUTO_REQUEUES
        )
    )
    end_at = attempt.ended_at
    if requeue:
        check_transition(job.state, JobState.PENDING)
        return replace(
            job,
            state=JobState.PENDING,
            reason=PendingReason.REQUEUED,
            updated_at=end_at or job.updated_at,
            exit_code=attempt.exit_code,
        )
    state = JobState.CANCELLED if intent == STOP_CANCEL else attempt.state
    check_transition(job.state, state)
    return replace(
        job,
        state=state,
        reason=None,
        ended_at=end_at,
        exit_code=attempt.exit_code,
        updated_at=end_at or job.updated_at,
    )
