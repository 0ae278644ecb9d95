"""The slurm backend and its runner against scripted Slurm answers (no cluster needed)."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from petaport.backends.slurm import (
    SlurmBackend,
    SlurmCommandFailed,
    SlurmRunner,
    listing,
    node_watch,
)
from petaport.domain.errors import RetryLater
from petaport.domain.jobs import Allocation, JobSpec, JobState
from petaport.services.ports import AttemptLaunch, AttemptRef, launch_concurrency
from petaport.settings import Settings

SAMPLES = Path(__file__).parent / "samples"
SINFO = (SAMPLES / "sinfo-22.05.json").read_text()
EMPTY_SQUEUE = ""


class ScriptedSlurm:
    """Answers Slurm commands from a table; records every command it was asked to run."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.squeue = EMPTY_SQUEUE
        self.sacct = ""
        self.sbatch: tuple[int, str, str] = (0, "77\n", "")
        self.scancel: tuple[int, str, str] = (0, "", "")
        self.envs: list[dict[str, str]] = []

    def _squeue(self, args: Sequence[str]) -> tuple[int, str, str]:
        """Like squeue 22.05's text output: only the jobs ``--jobs``/``--name`` ask for; a
        single unknown id is an error."""
        wanted = {a.split("=", 1)[0]: a.split("=", 1)[1].split(",") for a in args if "=" in a}
        lines = [line for line in self.squeue.splitlines() if line]
        if "--jobs" in wanted:
            lines = [line for line in lines if line.split("|")[0] in wanted["--jobs"]]
            if not lines and len(wanted["--jobs"]) == 1:
                return 1, "", "slurm_load_jobs error: Invalid job id specified"
        if "--name" in wanted:
            lines = [line for line in lines if line.split("|")[1] in wanted["--name"]]
        return 0, "".join(f"{line}\n" for line in lines), ""

    def __call__(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(tuple(argv))
        self.envs.append(dict(kwargs.get("env") or {}))
        name = Path(argv[0]).name
        rc, out, err = {
            "sinfo": (0, SINFO, ""),
            "squeue": self._squeue(argv[1:]),
            "sacct": (0, self.sacct, ""),
            "sbatch": self.sbatch,
            "scancel": self.scancel,
        }[name]
        return subprocess.CompletedProcess(argv, rc, out, err)

    def names(self) -> list[str]:
        return [Path(c[0]).name for c in self.calls]


@pytest.fixture
def slurm() -> ScriptedSlurm:
    return ScriptedSlurm()


def backend(slurm: ScriptedSlurm, **runner: Any) -> SlurmBackend:
    return SlurmBackend(SlurmRunner(run_process=slurm, environ={}, **runner), environ={})


def a_launch(tmp_path: Path, node: str = "gpu2") -> AttemptLaunch:
    spec = JobSpec(name="t", project_id="prj", command=("true",), gpus=1)
    return AttemptLaunch("att_9", "job_9", 1, spec, (Allocation(node, (4,), 1, 1024),), tmp_path)


def squeue_with(
    job_id: int, name: str, state: str, exit_code: int = 0, reason: str = "None"
) -> str:
    """One line as ``squeue -h --Format=JobID:|,Name:|,...`` prints it."""
    return f"{job_id}|{name}|{state}|{reason}|1795266896|1795266898|gpu2|{exit_code}|\n"


def test_launch_writes_the_script_and_submits_once(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    report = backend(slurm).launch(a_launch(tmp_path))

    assert (report.state, report.backend_ref) == (JobState.RUNNING, "77")
    assert slurm.names() == ["sinfo", "sbatch"]  # no script yet: it cannot have been submitted
    sbatch = slurm.calls[-1]
    assert "--partition=gpu" in sbatch and "--nodelist=gpu2" in sbatch
    assert "(exec true)\n" in (tmp_path / "slurm-job.sh").read_text()
    assert (tmp_path / "work").is_dir()


def test_launch_adopts_a_job_submitted_before_a_crash(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    slurm.squeue = squeue_with(55, "petaport-att_9", "RUNNING")
    (tmp_path / "slurm-job.sh").write_text("#!/bin/bash\n")  # written before the crash

    report = backend(slurm).launch(a_launch(tmp_path))

    assert (report.state, report.backend_ref) == (JobState.RUNNING, "55")
    assert "sbatch" not in slurm.names()


def test_a_second_launch_of_the_same_attempt_looks_it_up_in_accounting_too(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    slurm.sacct = "56|petaport-att_9|COMPLETED|0:0|1795266896|1795266898|gpu2|None\n"
    (tmp_path / "slurm-job.sh").write_text("#!/bin/bash\n")

    report = backend(slurm).launch(a_launch(tmp_path))

    assert (report.state, report.backend_ref) == (JobState.COMPLETED, "56")
    assert slurm.names() == ["squeue", "sacct"]


def test_a_refused_submission_is_a_failed_attempt(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    slurm.sbatch = (1, "", "sbatch: error: Invalid account or account/partition combination")

    report = backend(slurm).launch(a_launch(tmp_path))

    assert report.state is JobState.FAILED
    assert "Invalid account" in report.detail


def test_an_unreachable_controller_is_retry_later(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    slurm.sbatch = (
        1,
        "",
        "sbatch: error: Batch job submission failed: Unable to contact slurm controller",
    )

    with pytest.raises(RetryLater):
        backend(slurm).launch(a_launch(tmp_path))


def test_a_node_slurm_does_not_have_fails_the_attempt(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    report = backend(slurm).launch(a_launch(tmp_path, node="gpu9"))

    assert report.state is JobState.FAILED and "no node gpu9" in report.detail
    assert "sbatch" not in slurm.names()


def ref(backend_ref: str, tmp_path: Path, attempt_id: str = "att_9") -> AttemptRef:
    return AttemptRef(attempt_id, tmp_path, backend_ref, None, datetime(2026, 1, 1, tzinfo=UTC))


def test_poll_finds_an_unrecorded_job_by_name(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    slurm.squeue = squeue_with(55, "petaport-att_9", "FAILED", exit_code=3 << 8)
    (tmp_path / "slurm-job.sh").write_text("#!/bin/bash\n")

    (report,) = backend(slurm).poll([ref("", tmp_path)])

    assert (report.state, report.backend_ref, report.exit_code) == (JobState.FAILED, "55", 3)


def test_a_job_slurm_forgot_is_node_fail_and_is_cancelled(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    slurm.sacct = "55|petaport-att_9|RUNNING|0:0|1795266896|Unknown|gpu2|None\n"

    (report,) = backend(slurm).poll([ref("55", tmp_path)])

    assert report.state is JobState.NODE_FAIL
    assert "lost job 55" in report.detail
    assert slurm.calls[-1] == ("scancel", "55")


def test_a_job_nobody_knows_is_node_fail(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    (unknown, never) = backend(slurm).poll([ref("55", tmp_path), ref("", tmp_path, "att_8")])

    assert unknown.state is JobState.NODE_FAIL and "no record of job 55" in unknown.detail
    assert never.state is JobState.NODE_FAIL and "never reached Slurm" in never.detail


def test_an_attempt_whose_sbatch_may_still_run_is_not_given_up(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    (tmp_path / "slurm-job.sh").write_text("#!/bin/bash\n")  # written just now

    (report,) = backend(slurm).poll([ref("", tmp_path)])

    assert report.state is JobState.RUNNING and report.detail == "being submitted to Slurm"


def test_a_cancel_before_the_job_id_is_known_reaches_the_job_later(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    b = backend(slurm)
    b.cancel(ref("", tmp_path))  # the launch is still under way: nothing found by name
    slurm.squeue = squeue_with(55, "petaport-att_9", "RUNNING")

    b.poll([ref("55", tmp_path)])
    b.poll([ref("55", tmp_path)])

    assert [c for c in slurm.calls if Path(c[0]).name == "scancel"] == [("scancel", "55")]


def test_a_job_held_back_on_a_down_node_is_cancelled_and_node_fail(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    slurm.squeue = squeue_with(55, "petaport-att_9", "PENDING", reason="ReqNodeNotAvail")

    (report,) = backend(slurm).poll([ref("55", tmp_path)])

    assert report.state is JobState.NODE_FAIL and "ReqNodeNotAvail" in report.detail
    assert slurm.calls[-1] == ("scancel", "55")


def test_cancel_of_an_ended_job_is_harmless(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    slurm.scancel = (1, "", "scancel: error: Kill job error on job id 55: Invalid job id specified")

    backend(slurm).cancel(ref("55", tmp_path))

    assert slurm.names() == ["scancel"]


def test_inventory_leaves_out_drained_nodes_and_lists_gpu_nodes_first(
    slurm: ScriptedSlurm,
) -> None:
    nodes = backend(slurm).inventory()

    assert [(n.name, n.gpu_model, n.gpu_indices) for n in nodes] == [
        ("gpu2", "H800", tuple(range(8))),
        ("cpu1", None, ()),
    ]


def test_dry_run_prints_sbatch_and_runs_only_reading_commands(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    out = io.StringIO()
    b = backend(slurm, dry_run=True, out=out, bin_dir=Path("/opt/slurm/bin"))

    report = b.launch(a_launch(tmp_path))
    b.cancel(ref(report.backend_ref, tmp_path))

    assert report.state is JobState.RUNNING and report.backend_ref == "dry-run"
    assert "sbatch" not in slurm.names()
    assert out.getvalue().startswith("[dry-run] /opt/slurm/bin/sbatch --parsable ")
    assert all(c[0].startswith("/opt/slurm/bin/") for c in slurm.calls)


def test_the_runner_passes_slurm_conf_and_never_petaport_secrets(slurm: ScriptedSlurm) -> None:
    seen: dict[str, Any] = {}

    def record(argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.update(kwargs)
        return subprocess.CompletedProcess(argv, 0, "", "")

    runner = SlurmRunner(
        conf=Path("/etc/x/slurm.conf"),
        environ={"PETAPORT_SECRET_KEY": "s", "PATH": "/bin"},
        run_process=record,
    )
    runner.run("squeue", "--json")

    assert seen["env"] == {
        "PATH": "/bin",
        "SLURM_CONF": "/etc/x/slurm.conf",
        "SLURM_TIME_FORMAT": "%s",
    }


def test_the_runner_turns_a_timeout_into_retry_later() -> None:
    def hang(argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(argv, 1)

    with pytest.raises(RetryLater, match="did not answer"):
        SlurmRunner(run_process=hang).run("squeue", "--json")


def test_the_runner_reports_other_failures_with_slurms_message() -> None:
    def no(argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 1, "", "sbatch: error: Invalid qos")

    with pytest.raises(SlurmCommandFailed, match="Invalid qos"):
        SlurmRunner(run_process=no).run("sbatch", "x")


def test_poll_reads_exactly_the_attempts_jobs_with_one_text_squeue(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    count = listing.ONE_BY_ONE + 1
    slurm.squeue = "".join(
        squeue_with(100 + i, f"petaport-att_{i}", "RUNNING") for i in range(count)
    )
    slurm.squeue += squeue_with(56, "petaport-att_x", "COMPLETED")
    slurm.squeue += squeue_with(57, "someone-else", "RUNNING")
    refs = [ref(str(100 + i), tmp_path, f"att_{i}") for i in range(count)]

    reports = backend(slurm).poll([*refs, ref("56", tmp_path, "att_x")])

    assert [r.state for r in reports] == [JobState.RUNNING] * count + [JobState.COMPLETED]
    (squeue,) = slurm.calls
    ids = ",".join(str(100 + i) for i in range(count))
    assert squeue[-1] == f"--jobs={ids},56" and "--json" not in squeue


def test_a_few_jobs_are_asked_for_one_by_one(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    """A single id makes slurmctld pack that one job, not every job it holds."""
    slurm.squeue = squeue_with(55, "petaport-att_9", "RUNNING")
    slurm.squeue += squeue_with(56, "petaport-att_8", "FAILED", exit_code=3 << 8)

    reports = backend(slurm).poll(
        [ref("55", tmp_path), ref("56", tmp_path, "att_8"), ref("58", tmp_path, "att_7")]
    )

    assert sorted(c[-1] for c in slurm.calls if "squeue" in c[0]) == [
        "--jobs=55", "--jobs=56", "--jobs=58"
    ]  # fmt: skip
    assert [r.state for r in reports[:2]] == [JobState.RUNNING, JobState.FAILED]
    assert reports[1].exit_code == 3
    assert reports[2].state == JobState.NODE_FAIL  # neither squeue nor sacct knows job 58


def test_poll_looks_an_unrecorded_attempt_up_by_name_only(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    slurm.squeue = squeue_with(55, "petaport-att_9", "RUNNING")
    (tmp_path / "slurm-job.sh").write_text("#!/bin/bash\n")

    (report,) = backend(slurm).poll([ref("", tmp_path)])

    assert (report.state, report.backend_ref) == (JobState.RUNNING, "55")
    assert [c[-1] for c in slurm.calls] == ["--name=petaport-att_9"]


def test_sbatch_sees_only_path_and_slurm_variables_of_the_server(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    environ = {"PATH": "/usr/bin", "PETAPORT_SECRET_KEY": "s", "AWS_SECRET": "x",
               "SLURM_CONF": "/etc/slurm/slurm.conf", "HOME": "/root"}  # fmt: skip
    b = SlurmBackend(SlurmRunner(run_process=slurm, environ=environ), environ={})

    b.launch(a_launch(tmp_path))

    sbatch_env = slurm.envs[slurm.names().index("sbatch")]
    assert sbatch_env == {"PATH": "/usr/bin", "SLURM_CONF": "/etc/slurm/slurm.conf"}
    assert "--export=ALL" in slurm.calls[-1]  # the job inherits that, nothing more
    assert slurm.envs[0]["SLURM_TIME_FORMAT"] == "%s"  # reads still get epoch seconds


def test_launches_may_run_concurrently_up_to_the_setting() -> None:
    settings = Settings(backend="slurm", slurm={"launch_concurrency": 3})

    assert launch_concurrency(SlurmBackend.from_settings(settings)) == 3


def test_a_job_held_back_by_a_node_still_finishing_its_jobs_waits(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    reason = "ReqNodeNotAvail, UnavailableNodes:gpu2"  # gpu2 is up in the sinfo sample
    slurm.squeue = squeue_with(55, "petaport-att_9", "PENDING", reason=reason)

    (report,) = backend(slurm).poll([ref("55", tmp_path)])

    assert report.state is JobState.RUNNING and reason in report.detail
    assert "scancel" not in slurm.names() and "sinfo" in slurm.names()


def test_a_job_held_back_by_a_drained_node_is_node_fail(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    reason = "ReqNodeNotAvail, UnavailableNodes:gpu[1-2]"  # gpu1 is DRAIN in the sample
    slurm.squeue = squeue_with(55, "petaport-att_9", "PENDING", reason=reason)

    (report,) = backend(slurm).poll([ref("55", tmp_path)])

    assert report.state is JobState.NODE_FAIL and slurm.calls[-1] == ("scancel", "55")


def test_a_job_held_back_too_long_is_given_up(
    slurm: ScriptedSlurm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = "ReqNodeNotAvail, UnavailableNodes:gpu2"
    slurm.squeue = squeue_with(55, "petaport-att_9", "PENDING", reason=reason)
    b = backend(slurm)
    (first,) = b.poll([ref("55", tmp_path)])
    monkeypatch.setattr(node_watch, "STUCK_GRACE_S", -1.0)  # the grace has passed

    (later,) = b.poll([ref("55", tmp_path)])

    assert first.state is JobState.RUNNING and later.state is JobState.NODE_FAIL
