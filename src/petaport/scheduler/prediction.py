"""Duration prediction from the history of similar jobs of the same tenant (Helios' QSSF idea).

A job's predicted duration is the mean of the last ``window`` durations of the most similar
jobs the same project ran: first the same user at the same GPU demand, then anyone in the
project at the same GPU demand, then the project at any demand; None when the project has no
history.

The mean, not the median: the queue is ordered to minimise the average completion time, and
for jobs whose durations are only known in distribution the order that does so is by expected
duration (Smith's rule, SEPT), which a median underestimates wherever durations are
heavy-tailed (on Philly the median job runs 19 minutes, the mean one 3.6 hours). The history
is also biased short: the long jobs of a group are still running when its short ones have
finished. A window of 20 follows a tenant's changes within a day or so and still averages
over a sweep. Measured on the Philly replay: docs/design/005-backfill-and-prediction.md.

Predictions order the queue (shorter predicted GPU time first) and let backfill use a realistic
end instead of a padded walltime; they never stop a job. ``predict_duration_s`` and
``with_predictions`` are pure functions of the history passed in; ``DurationHistory`` is a
rolling accumulator with the same answers for callers that replay many jobs (the simulator).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import fmean

from petaport.scheduler.snapshot import PendingJob

WINDOW = 20
Key = tuple[str, str | None, int | None]


@dataclass(frozen=True)
class Finished:
    """One finished job of the history, oldest first in any sequence passed in."""

    project_id: str
    user: str | None
    demand_milli: int  # PendingJob.demand_milli of the job
    duration_s: float


def _keys(project: str, user: str | None, demand: int) -> tuple[Key, Key, Key]:
    """From most to least similar."""
    return (project, user, demand), (project, None, demand), (project, None, None)


class DurationHistory:
    """The last ``window`` durations per similarity key; O(1) to record, O(window) to predict."""

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self._recent: dict[Key, deque[float]] = {}

    def record(self, finished: Finished) -> None:
        self.add(finished.project_id, finished.user, finished.demand_milli, finished.duration_s)

    def add(self, project_id: str, user: str | None, demand_milli: int, duration_s: float) -> None:
        """``record`` a finished job given by its fields (no ``Finished`` built: the simulator
        records every job it replays)."""
        for key in dict.fromkeys(_keys(project_id, user, demand_milli)):  # the user-less key
            recent = self._recent.get(key)  # comes twice when user is None
            if recent is None:
                recent = self._recent[key] = deque(maxlen=self.window)
            recent.append(duration_s)

    def predict(self, job: PendingJob) -> float | None:
        for key in _keys(job.project_id, job.user, job.demand_milli):
            recent = self._recent.get(key)
            if recent:
                return fmean(recent)
        return None

    def fill(self, jobs: Iterable[PendingJob]) -> tuple[PendingJob, ...]:
        """The jobs with ``predicted_duration_s`` set where history allows."""
        out: list[PendingJob] = []
        for job in jobs:
            predicted = self.predict(job)
            if predicted is None or predicted == job.predicted_duration_s:
                out.append(job)
            else:
                out.append(job.with_prediction(predicted))
        return tuple(out)


def _history(finished: Iterable[Finished], window: int) -> DurationHistory:
    history = DurationHistory(window)
    for f in finished:
        history.record(f)
    return history


def predict_duration_s(
    finished: Iterable[Finished], job: PendingJob, window: int = WINDOW
) -> float | None:
    """Predicted duration of ``job`` from ``finished`` (oldest first), or None."""
    return _history(finished, window).predict(job)


def with_predictions(
    finished: Iterable[Finished], jobs: Iterable[PendingJob], window: int = WINDOW
) -> tuple[PendingJob, ...]:
    return _history(finished, window).fill(jobs)
