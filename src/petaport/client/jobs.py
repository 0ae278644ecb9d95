"""Endpoints for jobs: submit, list, show, cancel, requeue, attempts, events and logs.

``submit_job`` always sends an ``Idempotency-Key`` (a fresh uuid4 unless given), so the
transport may retry it after a lost response without creating a second job. ``follow_logs``
polls from the last byte offset until the attempt's log is ``complete``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Literal

from petaport.client.transport import Params, Transport
from petaport.domain.jobs import TERMINAL_STATES
from petaport.schemas import (
    AttemptPublic,
    JobCreate,
    JobEventPublic,
    JobPublic,
    JobStateName,
    LogChunkPublic,
)

Stream = Literal["stdout", "stderr"]
TERMINAL: frozenset[str] = frozenset(s.value for s in TERMINAL_STATES)


def is_terminal(job: JobPublic) -> bool:
    return job.state in TERMINAL


class JobsApi(Transport):
    def submit_job(self, spec: JobCreate, *, idempotency_key: str | None = None) -> JobPublic:
        """Submit a job. Same key and body later: the same job back, never a duplicate."""
        key = idempotency_key or str(uuid.uuid4())
        return self.one(JobPublic, "POST", "/v1/jobs", body=spec.model_dump(mode="json"),
                        headers={"Idempotency-Key": key}, idempotent=True)  # fmt: skip

    def iter_jobs(
        self, *, states: list[JobStateName] | None = None, project_id: str | None = None,
        mine: bool = False, page_size: int = 100,
    ) -> Iterator[JobPublic]:  # fmt: skip
        """Jobs visible to the caller, newest first, fetched page by page as you iterate."""
        params: Params = {"state": [str(s) for s in states] if states else None,
                          "project_id": project_id, "mine": mine}  # fmt: skip
        return self.pages(JobPublic, "/v1/jobs", params, page_size)

    def list_jobs(
        self, *, states: list[JobStateName] | None = None, project_id: str | None = None,
        mine: bool = False, limit: int | None = None,
    ) -> list[JobPublic]:  # fmt: skip
        size = min(limit, 200) if limit else 100
        jobs = self.iter_jobs(states=states, project_id=project_id, mine=mine, page_size=size)
        return list(islice(jobs, limit))

    def get_job(self, job_id: str) -> JobPublic:
        return self.one(JobPublic, "GET", f"/v1/jobs/{job_id}", idempotent=True)

    def cancel_job(self, job_id: str) -> JobPublic:
        """Cancel (idempotent): a PENDING job ends now, a RUNNING one is asked to stop."""
        return self.one(JobPublic, "POST", f"/v1/jobs/{job_id}/cancel", idempotent=True)

    def requeue_job(self, job_id: str) -> JobPublic:
        return self.one(JobPublic, "POST", f"/v1/jobs/{job_id}/requeue")

    def job_attempts(self, job_id: str) -> list[AttemptPublic]:
        return self.many(AttemptPublic, f"/v1/jobs/{job_id}/attempts")

    def job_events(self, job_id: str) -> list[JobEventPublic]:
        return self.many(JobEventPublic, f"/v1/jobs/{job_id}/events")

    def log_chunk(
        self, job_id: str, *, stream: Stream = "stdout", attempt: int | None = None,
        offset: int = 0, limit: int = 65536,
    ) -> LogChunkPublic:  # fmt: skip
        """Up to ``limit`` bytes of an attempt's log from ``offset`` (newest attempt by default)."""
        params = {"stream": stream, "attempt": attempt, "offset": offset, "limit": limit}
        return self.one(LogChunkPublic, "GET", f"/v1/jobs/{job_id}/logs", params=params,
                        idempotent=True)  # fmt: skip

    def read_log(
        self, job_id: str, *, stream: Stream = "stdout", attempt: int | None = None
    ) -> Iterator[str]:
        """The log as written so far, in chunks; does not wait for more."""
        offset = 0
        while True:
            chunk = self.log_chunk(job_id, stream=stream, attempt=attempt, offset=offset)
            if chunk.text:
                yield chunk.text
            if chunk.next_offset == offset or chunk.complete:
                return
            offset = chunk.next_offset

    def follow_logs(
        self, job_id: str, stream: Stream = "stdout", *, attempt: int | None = None,
        poll_s: float = 1.0,
    ) -> Iterator[str]:  # fmt: skip
        """Yield log text as it is written until the attempt ends and its log is read."""
        offset = 0
        while True:
            chunk = self.log_chunk(job_id, stream=stream, attempt=attempt, offset=offset)
            attempt = chunk.attempt if attempt is None else attempt  # pin the attempt once known
            if chunk.text:
                yield chunk.text
            if chunk.complete:
                return
            if chunk.attempt is None and not self._may_start(job_id):
                return
            if chunk.next_offset == offset:
                time.sleep(poll_s)
            offset = chunk.next_offset

    def _may_start(self, job_id: str) -> bool:
        """For a job without attempts: False once it can no longer get one (ended unstarted)."""
        job = self.get_job(job_id)
        return job.attempt_count > 0 or not is_terminal(job)

    def wait_job(
        self, job_id: str, *, poll_s: float = 1.0, timeout_s: float | None = None,
        on_poll: Callable[[JobPublic], None] | None = None,
    ) -> JobPublic:  # fmt: skip
        """Poll until the job reaches a terminal state; ``TimeoutError`` after ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            job = self.get_job(job_id)
            if on_poll is not None:
                on_poll(job)
            if is_terminal(job):
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job.state} after {timeout_s}s")
            time.sleep(poll_s)
