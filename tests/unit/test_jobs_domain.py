"""JobSpec validation, the transition table, and Slurm-style parsing of sizes and times."""

from __future__ import annotations

import pytest

from petaport.domain.errors import IllegalTransition, ValidationFailed
from petaport.domain.jobs import (
    TERMINAL_STATES,
    TRANSITIONS,
    JobSpec,
    JobState,
    check_transition,
    parse_memory_mb,
    parse_walltime_s,
)


def spec(**kw: object) -> JobSpec:
    base: dict[str, object] = {"name": "train", "project_id": "prj_x", "command": ("true",)}
    base.update(kw)
    return JobSpec(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "-bad"}, "name"),
        ({"command": ()}, "exactly one of command or script"),
        ({"script": "echo"}, "exactly one of command or script"),
        ({"gpus": 65}, "gpus"),
        ({"nodes": 0}, "nodes"),
        ({"walltime_s": 0}, "walltime"),
        ({"working_dir": "relative/dir"}, "absolute"),
        ({"environment": (("1BAD", "x"),)}, "environment"),
        ({"command": ("a\x00b",)}, "NUL"),
    ],
)
def test_invalid_specs_say_why(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        spec(**changes)


def test_valid_spec_totals() -> None:
    s = spec(gpus=4, nodes=2)
    assert s.total_gpus == 8


def test_terminal_states_only_go_back_to_pending() -> None:
    for state in TERMINAL_STATES:
        assert TRANSITIONS[state] == frozenset({JobState.PENDING})
    check_transition(JobState.PENDING, JobState.RUNNING)
    with pytest.raises(IllegalTransition):
        check_transition(JobState.PENDING, JobState.COMPLETED)
    with pytest.raises(IllegalTransition):
        check_transition(JobState.COMPLETED, JobState.RUNNING)


@pytest.mark.parametrize(
    ("text", "mb"),
    [
        ("512M", 512),
        ("16G", 16384),
        ("1T", 1048576),
        ("2048", 2048),
        ("1.5G", 1536),
        ("4GiB", 4096),
    ],
)
def test_memory_sizes(text: str, mb: int) -> None:
    assert parse_memory_mb(text) == mb


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 5400),
        ("1:30", 90),
        ("01:30:00", 5400),
        ("2-00:00:00", 172800),
        ("1-2", 93600),
        ("2h", 7200),
        ("45s", 45),
        ("3d", 259200),
    ],
)
def test_slurm_time_formats(text: str, seconds: int) -> None:
    assert parse_walltime_s(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1:2:3:4", "x-1", "-5"])
def test_bad_times_and_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_walltime_s(text)
    with pytest.raises(ValidationFailed):
        parse_memory_mb(text or "G")
