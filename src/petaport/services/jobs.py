"""Job use cases: submit (idempotent), read, cancel, requeue, events, attempts and logs.

State changes go through ``petaport.domain.jobs.check_transition``; each writes a JobEvent.
Cancelling or requeueing a RUNNING job records a stop intent on its attempt and asks the
backend to stop it; the job changes state when the backend reports the attempt's end.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from petaport.domain.errors import DomainError, IdempotencyMismatch, NotFound, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.jobs import (
    Attempt,
    Job,
    JobEvent,
    JobSpec,
    JobState,
    PendingReason,
    check_transition,
)
from petaport.domain.tenancy import Principal, Project, Scope, scope_of
from petaport.services.authz import require_job_control, require_scope, require_submit
from petaport.services.batching import Batcher
from petaport.services.catalogue_access import UseGate
from petaport.services.context import Context
from petaport.services.ports import AttemptRef
from petaport.storage.repos.jobs import JobRepo, spec_to_json
from petaport.storage.repos.tenancy import TenancyRepo

EVERYONE = Scope(everything=True)
STOP_CANCEL = "cancel"
STOP_REQUEUE = "requeue"
STOP_PREEMPT = "preempt"  # the scheduler stops it for another job; it is requeued


def request_hash(spec: JobSpec) -> str:
    canonical = json.dumps(spec_to_json(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def event(job_id: str, ctx: Context, kind: str, state: JobState | None, message: str) -> JobEvent:
    return JobEvent(new_id("evt"), job_id, ctx.clock(), kind, state, message)


@dataclass(frozen=True)
class Submitted:
    job: Job
    replayed: bool


@dataclass(frozen=True)
class SubmitRequest:
    principal: Principal
    spec: JobSpec
    key: str | None


def submit(ctx: Context, p: Principal, spec: JobSpec, idempotency_key: str | None) -> Submitted:
    """Store a new PENDING job, or answer with the job this Idempotency-Key already made.

    ``spec.project_id`` may be a project id or ``org-slug/project-slug``. Concurrent
    submissions are committed together (``batching.Batcher``): one transaction per batch.
    """
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise ValidationFailed("Idempotency-Key must be 1-255 characters")
    result = _batcher(ctx).call(SubmitRequest(p, spec, idempotency_key))
    if not result.replayed:
        ctx.poke_scheduler()
    return result


def _batcher(ctx: Context) -> Batcher[SubmitRequest, Submitted]:
    def build() -> Batcher[SubmitRequest, Submitted]:
        return Batcher(lambda batch: submit_batch(ctx, batch))

    return ctx.submissions(build)


def submit_batch(ctx: Context, batch: list[SubmitRequest]) -> list[Submitted | Exception]:
    """Admit every request of ``batch`` in one transaction; each gets a result or its error.

    If the batch collides with a concurrent one (the same Idempotency-Key committed by another
    worker meanwhile), each request is retried alone and then answers as a replay.
    """
    try:
        return _admit_all(ctx, batch)
    except IntegrityError:
        results: list[Submitted | Exception] = []
        for request in batch:
            try:
                results += _admit_all(ctx, [request])
            except IntegrityError:
                results += _admit_all(ctx, [request])
        return results


def _admit_all(ctx: Context, batch: list[SubmitRequest]) -> list[Submitted | Exception]:
    now = ctx.clock()
    results: list[Submitted | Exception] = []
    rows = _NewRows()
    with ctx.db.transaction() as s:
        repo, projects = JobRepo(s), _ProjectCache(TenancyRepo(s))
        rows.gate = UseGate(s, now)
        keyed = [(r.principal.user.id, r.key) for r in batch if r.key is not None]
        made = repo.find_by_idempotency_many(keyed)
        for request in batch:
            try:
                results.append(_admit(ctx, request, projects, made, rows, now))
            except DomainError as exc:
                results.append(exc)
        repo.add_jobs(rows.jobs)
        repo.add_events(rows.events)
        rows.gate.record([job for job, _, _ in rows.jobs])
    return results


@dataclass
class _NewRows:
    jobs: list[tuple[Job, str | None, str | None]] = field(default_factory=list)
    events: list[JobEvent] = field(default_factory=list)
    gate: UseGate | None = None  # catalogue entries the jobs use: checked and recorded


class _ProjectCache:
    """Projects resolved once per batch; visibility is still checked per caller."""

    def __init__(self, repo: TenancyRepo) -> None:
        self.repo = repo
        self.found: dict[str, Project] = {}

    def get(self, p: Principal, ref: str) -> Project:
        if ref not in self.found:
            self.found[ref] = self.repo.resolve_project(EVERYONE, ref)
        project = self.found[ref]
        if not scope_of(p).allows(project.org_id, project.id):
            raise NotFound(f"project {ref} not found")
        return project


def _admit(
    ctx: Context, r: SubmitRequest, projects: _ProjectCache,
    made: dict[tuple[str, str], tuple[Job, str | None]], rows: _NewRows, now: datetime,
) -> Submitted:  # fmt: skip
    project = projects.get(r.principal, r.spec.project_id)
    require_submit(r.principal, project.org_id, project.id)
    spec = replace(r.spec, project_id=project.id)
    digest = request_hash(spec)
    user_id = r.principal.user.id
    if r.key is not None and (user_id, r.key) in made:
        job, stored = made[(user_id, r.key)]
        if stored != digest:
            raise IdempotencyMismatch("this Idempotency-Key was used with a different request body")
        return Submitted(job, replayed=True)
    if rows.gate is not None:
        spec = rows.gate.admit(r.principal, project, spec)
    job = Job(new_id("job"), project.org_id, project.id, user_id, spec, JobState.PENDING,
              PendingReason.NONE, 0, now, now, backend=ctx.backend.name)  # fmt: skip
    rows.jobs.append((job, r.key, digest if r.key else None))
    rows.events.append(JobEvent(new_id("evt"), job.id, now, "submitted", JobState.PENDING,
                                f"submitted by {r.principal.user.username}"))  # fmt: skip
    if r.key is not None:
        made[(user_id, r.key)] = (job, digest)  # the same key again in this batch replays it
    return Submitted(job, replayed=False)


def get_job(ctx: Context, p: Principal, job_id: str) -> Job:
    require_scope(p, "jobs:read")
    with ctx.db.transaction() as s:
        return JobRepo(s).get_job(scope_of(p), job_id)


def list_jobs(
    ctx: Context,
    p: Principal,
    *,
    states: frozenset[JobState] | None,
    project_id: str | None,
    mine: bool,
    before: str | None,
    limit: int,
) -> list[Job]:
    require_scope(p, "jobs:read")
    with ctx.db.transaction() as s:
        return JobRepo(s).list_jobs(
            scope_of(p),
            states=states,
            project_id=project_id,
            user_id=p.user.id if mine else None,
            before=before,
            limit=limit,
        )


def cancel(ctx: Context, p: Principal, job_id: str) -> Job:
    """PENDING -> CANCELLED now; RUNNING -> stop requested. Cancelling twice is harmless."""
    return _stop(ctx, p, job_id, STOP_CANCEL)


def requeue(ctx: Context, p: Principal, job_id: str) -> Job:
    """A finished job goes back to PENDING; a running one is stopped and then requeued."""
    return _stop(ctx, p, job_id, STOP_REQUEUE)


def _stop(ctx: Context, p: Principal, job_id: str, intent: str) -> Job:
    ref: AttemptRef | None = None
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        job = repo.get_job(scope_of(p), job_id, for_update=True)
        require_job_control(p, job)
        if job.state == JobState.RUNNING:
            ref = request_stop(ctx, repo, job, intent, f"{intent} requested")
        elif intent == STOP_CANCEL and job.state == JobState.CANCELLED:
            return job
        else:
            job = _finish_stop_now(ctx, repo, job, intent)
    if ref is not None:
        ctx.backend.cancel(ref)
    ctx.poke_scheduler()
    return job


def request_stop(ctx: Context, repo: JobRepo, job: Job, intent: str, why: str) -> AttemptRef | None:
    """Record the intent to stop the job's running attempt (with an event); the caller then
    asks the backend, outside the transaction. None when nothing runs."""
    running = [a for a in repo.running_attempts() if a[0].job_id == job.id]
    if not running:
        return None
    attempt, attempt_dir, _ = running[0]
    repo.set_stop_intent(attempt.id, intent)
    kind = "preempted" if intent == STOP_PREEMPT else f"{intent}_requested"
    repo.add_event(event(job.id, ctx, kind, None, f"{why}; stopping attempt {attempt.number}"))
    return AttemptRef(
        attempt.id, Path(attempt_dir), attempt.backend_ref or "", attempt.pid, attempt.started_at
    )


def _finish_stop_now(ctx: Context, repo: JobRepo, job: Job, intent: str) -> Job:
    now = ctx.clock()
    if intent == STOP_CANCEL:
        check_transition(job.state, JobState.CANCELLED)
        job = replace(job, state=JobState.CANCELLED, reason=None, ended_at=now, updated_at=now)
        message = "cancelled before it started"
    else:
        check_transition(job.state, JobState.PENDING)
        job = replace(
            job,
            state=JobState.PENDING,
            reason=PendingReason.REQUEUED,
            ended_at=None,
            exit_code=None,
            updated_at=now,
        )
        message = "requeued"
    repo.save_job(job)
    repo.add_event(event(job.id, ctx, intent, job.state, message))
    return job


def events(ctx: Context, p: Principal, job_id: str) -> list[JobEvent]:
    require_scope(p, "jobs:read")
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        repo.get_job(scope_of(p), job_id)
        return repo.events_of(job_id)


def attempts(ctx: Context, p: Principal, job_id: str) -> list[Attempt]:
    require_scope(p, "jobs:read")
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        repo.get_job(scope_of(p), job_id)
        return repo.attempts_of(job_id)


@dataclass(frozen=True)
class LogChunk:
    attempt: int | None
    stream: str
    offset: int
    next_offset: int
    text: str
    complete: bool  # the attempt has ended and everything up to its end has been read


MAX_LOG_CHUNK = 1024 * 1024


def read_log(
    ctx: Context,
    p: Principal,
    job_id: str,
    *,
    stream: str,
    attempt: int | None,
    offset: int,
    limit: int = MAX_LOG_CHUNK,
) -> LogChunk:
    """A chunk of an attempt's stdout or stderr from byte ``offset`` (default: newest attempt)."""
    if stream not in ("stdout", "stderr"):
        raise ValidationFailed("stream must be stdout or stderr")
    if offset < 0 or not 1 <= limit <= MAX_LOG_CHUNK:
        raise ValidationFailed(f"offset must be >= 0 and limit 1..{MAX_LOG_CHUNK}")
    require_scope(p, "jobs:read")
    with ctx.db.transaction() as s:
        repo = JobRepo(s)
        repo.get_job(scope_of(p), job_id)
        tries = repo.attempts_of(job_id)
        chosen = _choose_attempt(tries, attempt)
        if chosen is None:
            return LogChunk(None, stream, offset, offset, "", complete=False)
        directory = Path(repo.attempt_dir(chosen.id))
    return _read_chunk(directory / f"{stream}.log", chosen, stream, offset, limit)


def _choose_attempt(tries: list[Attempt], number: int | None) -> Attempt | None:
    if number is None:
        return tries[-1] if tries else None
    for a in tries:
        if a.number == number:
            return a
    raise NotFound(f"attempt {number} not found")


def _read_chunk(path: Path, a: Attempt, stream: str, offset: int, limit: int) -> LogChunk:
    ended = a.state.is_terminal
    try:
        with path.open("rb") as f:
            f.seek(min(offset, os.fstat(f.fileno()).st_size))
            data = f.read(limit)
            at_end = f.read(1) == b""
    except FileNotFoundError:
        data, at_end = b"", True
    # Never split a UTF-8 sequence: an incomplete tail is left for the next read.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data, final=at_end and ended)
    cut = len(data) - len(decoder.getstate()[0])
    return LogChunk(a.number, stream, offset, offset + cut, text, complete=ended and at_end)
