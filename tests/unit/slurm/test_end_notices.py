"""End notices: the batch script's ``exitcode`` file only makes Petaport look at Slurm sooner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from petaport.backends.slurm.end_notices import RELOOK_S, STALE_S, STATS_PER_S, EndNotices
from petaport.backends.slurm.submission import EXIT_FILE
from petaport.domain.jobs import JobState
from tests.unit.slurm.test_backend_unit import (
    ScriptedSlurm,
    a_launch,
    backend,
    ref,
    squeue_with,
)

T0 = 1_800_000_000.0


@pytest.fixture
def slurm() -> ScriptedSlurm:
    return ScriptedSlurm()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def notice(attempt_dir: Path, at: float) -> None:
    path = attempt_dir / EXIT_FILE
    path.write_text("0\n")
    os.utime(path, (at, at))


def test_an_attempt_is_due_once_its_notice_appears_then_looked_at_ever_more_rarely(
    tmp_path: Path,
) -> None:
    clock = Clock()
    notices = EndNotices(clock)
    notices.watch("att_1", tmp_path)
    assert notices.claim_due() == set()  # still running: no notice

    notice(tmp_path, T0)
    assert notices.claim_due() == {"att_1"}
    assert notices.claim_due() == set()  # just looked at (Slurm may still be completing it)
    clock.now += RELOOK_S * 1.5
    assert notices.claim_due() == {"att_1"}

    clock.now = T0 + 10.0  # a notice that Slurm keeps contradicting (written by the job?)
    assert notices.claim_due() == {"att_1"}
    clock.now += 4.0
    assert notices.claim_due() == set()  # next look only half its age later
    clock.now += 1.0
    assert notices.claim_due() == {"att_1"}


def test_a_stale_notice_brings_no_more_looks_and_a_forgotten_attempt_none(tmp_path: Path) -> None:
    clock = Clock()
    notices = EndNotices(clock)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    notices.watch("att_a", tmp_path / "a")
    notices.watch("att_b", tmp_path / "b")
    notice(tmp_path / "a", T0 - STALE_S - 1)
    notice(tmp_path / "b", T0)

    assert notices.claim_due() == {"att_b"}
    notices.forget(["att_b"])
    clock.now += 1.0
    assert notices.claim_due() == set()


def test_checks_space_out_when_thousands_of_attempts_run(tmp_path: Path) -> None:
    clock = Clock()
    notices = EndNotices(clock)
    for i in range(1000):
        notices.watch(f"att_{i}", tmp_path)
    notices.claim_due()
    notice(tmp_path, T0)

    clock.now += 0.9 * 1000 / STATS_PER_S
    assert notices.claim_due() == set()  # too soon to stat 1,000 directories again
    clock.now += 0.2 * 1000 / STATS_PER_S
    assert len(notices.claim_due()) == 1000


def test_the_backend_watches_what_it_launched_and_forgets_what_slurm_ended(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    b = backend(slurm)
    b.launch(a_launch(tmp_path))  # Slurm job 77
    assert b.noticed_ends() == set()

    notice(tmp_path, T0)  # the batch script says the command exited
    assert b.noticed_ends() == {"att_9"}
    slurm.squeue = squeue_with(77, "petaport-att_9", "COMPLETED")
    (report,) = b.poll([ref("77", tmp_path)])

    assert report.state is JobState.COMPLETED  # Slurm's word, not the file's
    assert b.noticed_ends() == set()


def test_a_notice_never_ends_an_attempt_that_slurm_still_runs(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    """A job can write the file itself: the poll it triggers reads Slurm's state."""
    b = backend(slurm)
    slurm.squeue = squeue_with(77, "petaport-att_9", "RUNNING")
    b.poll([ref("77", tmp_path)])  # watched from the first poll (after a restart, say)
    notice(tmp_path, T0)

    assert b.noticed_ends() == {"att_9"}
    (report,) = b.poll([ref("77", tmp_path)])
    assert report.state is JobState.RUNNING
