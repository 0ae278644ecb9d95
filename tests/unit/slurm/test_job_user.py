"""Jobs as an unprivileged Unix user (``PETAPORT_SLURM__JOB_USER``), against scripted Slurm
answers: ``sbatch --uid/--gid``, the attempt directory handed over, the user's own environment,
and an attempt directory the user cannot reach refused with a reason."""

from __future__ import annotations

import os
import pwd
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from petaport.backends.slurm import SlurmBackend, SlurmRunner, submission
from petaport.backends.slurm.job_user import JobUser
from petaport.domain.jobs import JobState
from petaport.settings import Settings, SlurmSettings
from tests.unit.slurm.test_backend_unit import ScriptedSlurm, a_launch
from tests.unit.slurm.test_translation import launch

NOBODY = pwd.getpwnam("nobody")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="handing files to another user needs root")


def user(uid: int = 1500, gid: int = 1500, groups: tuple[int, ...] = (1500,)) -> JobUser:
    return JobUser("ppjob", uid, gid, "/home/ppjob", frozenset(groups))


def backend(slurm: ScriptedSlurm, job_user: JobUser) -> SlurmBackend:
    environ = {"PATH": "/usr/bin", "USER": "root", "HOME": "/root"}
    runner = SlurmRunner(run_process=slurm, environ={})
    return SlurmBackend(runner, environ=environ, job_user=job_user)


@pytest.fixture
def reachable() -> Iterator[Path]:
    """An attempt directory every user can reach (pytest's own temporary base is 0700)."""
    with tempfile.TemporaryDirectory(prefix="petaport-jobuser-") as top:
        os.chmod(top, 0o711)
        attempt = Path(top) / "job_9" / "1"
        attempt.mkdir(parents=True)
        yield attempt


def test_sbatch_runs_the_job_as_the_user_and_its_own_group() -> None:
    argv = submission.build_submission(
        launch(), base_env={}, partition="gpu", job_user=user(gid=1234)
    ).argv
    assert {"--uid=ppjob", "--gid=1234"} <= set(argv) and argv[-1].endswith("slurm-job.sh")
    plain = submission.build_submission(launch(), base_env={}, partition="gpu").argv
    assert not [a for a in plain if a.startswith(("--uid", "--gid"))]


@as_root
def test_launch_hands_the_attempt_directory_to_the_job_user(reachable: Path) -> None:
    slurm = ScriptedSlurm()
    nobody = JobUser.lookup("nobody")
    report = backend(slurm, nobody).launch(a_launch(reachable))

    assert report.state is JobState.RUNNING, report.detail
    sbatch = slurm.calls[-1]
    assert f"--uid={NOBODY.pw_name}" in sbatch and f"--gid={NOBODY.pw_gid}" in sbatch
    for path in (reachable, reachable / "work", reachable / "slurm-job.sh"):
        assert (os.stat(path).st_uid, os.stat(path).st_gid) == (NOBODY.pw_uid, NOBODY.pw_gid)
    script = (reachable / "slurm-job.sh").read_text()
    assert "export USER=nobody" in script and f"export HOME={NOBODY.pw_dir}" in script
    assert "/root" not in script


def test_an_attempt_directory_the_user_cannot_reach_fails_with_the_reason(
    reachable: Path,
) -> None:
    closed = reachable.parent  # job_9/, above the attempt's directory
    closed.chmod(0o700)
    slurm = ScriptedSlurm()
    report = backend(slurm, user()).launch(a_launch(reachable))

    assert report.state is JobState.FAILED
    assert f"cannot enter {closed} (drwx------)" in report.detail
    assert "sbatch" not in slurm.names()


@pytest.mark.parametrize(
    ("owner", "group", "mode", "allowed"),
    [
        (1500, 0, 0o700, True),  # its own directory
        (1500, 0, 0o077, False),  # the owner's bits decide, even if others may
        (0, 1500, 0o710, True),  # its group may
        (0, 1500, 0o701, False),  # the group's bits decide
        (0, 0, 0o711, True),  # anyone may
        (0, 0, 0o750, False),
    ],
)
def test_who_may_enter_a_directory(owner: int, group: int, mode: int, allowed: bool) -> None:
    info = os.stat_result((stat.S_IFDIR | mode, 1, 1, 2, owner, group, 0, 0, 0, 0))
    assert user().may_enter(info) is allowed


def test_root_or_an_unknown_user_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="must not be root"):
        JobUser.lookup("root")
    settings = Settings(backend="slurm", slurm=SlurmSettings(job_user="no-such-user-petaport"))
    with pytest.raises(ValueError, match="no Unix user"):
        SlurmBackend.from_settings(settings)


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETAPORT_SLURM__JOB_USER", "nobody")
    assert Settings().slurm.job_user == "nobody"
    monkeypatch.delenv("PETAPORT_SLURM__JOB_USER")
    assert Settings().slurm.job_user is None  # jobs run as the server's user
