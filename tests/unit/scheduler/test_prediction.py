"""Duration prediction from the tenant's history of similar jobs (QSSF-like)."""

from __future__ import annotations

import pytest

from petaport.scheduler.prediction import (
    DurationHistory,
    Finished,
    predict_duration_s,
    with_predictions,
)

from .builders import job

HISTORY = [
    Finished("prj_a", "ann", 1000, 100.0),
    Finished("prj_a", "ann", 1000, 300.0),
    Finished("prj_a", "ann", 1000, 200.0),
    Finished("prj_a", "bob", 1000, 1000.0),
    Finished("prj_a", "bob", 8000, 5000.0),
    Finished("prj_b", "cy", 1000, 7.0),
]


@pytest.mark.parametrize(
    ("user", "gpus", "project", "expected"),
    [
        ("ann", 1, "prj_a", 200.0),  # the same user at the same demand: mean
        ("dee", 1, "prj_a", 400.0),  # the project at the same demand (100, 300, 200, 1000)
        ("ann", 4, "prj_a", 1320.0),  # the project at any demand (5 jobs: 100..5000)
        ("bob", 8, "prj_a", 5000.0),
        ("ann", 1, "prj_c", None),  # no history
    ],
)
def test_prediction_falls_back_from_most_to_least_similar(
    user: str, gpus: int, project: str, expected: float | None
) -> None:
    j = job("j", gpus, project=project, user=user)
    assert predict_duration_s(HISTORY, j) == expected


def test_only_the_last_window_of_jobs_counts() -> None:
    history = [Finished("prj_a", None, 1000, d) for d in (9e9, 9e9, 1.0, 2.0, 3.0)]
    assert predict_duration_s(history, job("j", 1), window=3) == 2.0


def test_the_rolling_history_agrees_with_the_pure_function() -> None:
    rolling = DurationHistory()
    for f in HISTORY:
        rolling.record(f)
    jobs = [job(f"j{g}", g, user="ann") for g in (1, 2, 8)]
    assert rolling.fill(jobs) == with_predictions(HISTORY, jobs)
    assert [j.predicted_duration_s for j in rolling.fill(jobs)] == [200.0, 1320.0, 5000.0]


def test_the_prediction_is_the_mean_not_the_median() -> None:
    """Heavy tails: one long job in five makes the expected duration five times the median."""
    history = [Finished("prj_a", None, 1000, d) for d in (10.0, 10.0, 10.0, 10.0, 960.0)]
    assert predict_duration_s(history, job("j", 1)) == 200.0


def test_the_default_window_is_the_last_twenty_jobs() -> None:
    history = [Finished("prj_a", None, 1000, d) for d in [1e6] * 5 + [100.0] * 20]
    assert predict_duration_s(history, job("j", 1)) == 100.0
    assert predict_duration_s(history[:-1], job("j", 1)) != 100.0  # one 1e6 s job in view
