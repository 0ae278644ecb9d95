"""The slurm backend's pure part: sbatch arguments and script, and reading Slurm's answers.

The samples under ``samples/`` were captured from the Slurm 22.05.8 test cluster
(``scripts/slurm-test-cluster.sh``).
"""

from __future__ import annotations

import json
import shlex
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from petaport.backends.slurm import nodes, states, submission
from petaport.domain.jobs import Allocation, JobSpec, JobState, PendingReason, QosTier
from petaport.services.ports import AttemptLaunch

SAMPLES = Path(__file__).parent / "samples"


def launch(
    *,
    command: tuple[str, ...] = ("python3", "train.py", "--lr", "0.1"),
    allocations: tuple[Allocation, ...] = (Allocation("gpu1", (1, 3), 4, 8192),),
    attempt_dir: Path = Path("/data/jobs/job_1/att_1"),
    **spec: object,
) -> AttemptLaunch:
    fields: dict[str, object] = {
        "name": "train",
        "project_id": "prj_1",
        "command": command,
        "gpus": 2,
        "cpus": 4,
        "memory_mb": 8192,
        "walltime_s": 3600,
    }
    fields.update(spec)
    return AttemptLaunch(
        attempt_id="att_1",
        job_id="job_1",
        number=2,
        spec=JobSpec(**fields),  # type: ignore[arg-type]
        allocations=allocations,
        attempt_dir=attempt_dir,
        extra_env=(("FROM_EXTRA", "x"),),
    )


def test_sbatch_arguments_for_a_single_node_gpu_job() -> None:
    sub = submission.build_submission(
        launch(gpu_model="H800", qos=QosTier.PREEMPTIBLE),
        base_env={"PATH": "/usr/bin"},
        partition="gpu",
        account="acme",
        qos="scavenger",
        gpu_type="H800",
    )

    assert sub.argv == (
        "--parsable",
        "--job-name=petaport-att_1",
        "--comment=petaport job job_1 attempt 2",
        "--no-requeue",
        "--export=ALL",
        "--chdir=/data/jobs/job_1/att_1/work",
        "--output=/data/jobs/job_1/att_1/stdout.log",
        "--error=/data/jobs/job_1/att_1/stderr.log",
        "--nodes=1",
        "--ntasks-per-node=1",
        "--cpus-per-task=4",
        "--mem=8192",
        "--nodelist=gpu1",
        "--partition=gpu",
        "--account=acme",
        "--qos=scavenger",
        "--time=60",
        "--gres=gpu:H800:2",
        "/data/jobs/job_1/att_1/slurm-job.sh",
    )
    assert sub.script_path == "/data/jobs/job_1/att_1/slurm-job.sh"
    assert sub.user_script is None


def test_the_batch_script_sets_the_environment_runs_the_argument_list_and_leaves_a_notice() -> None:
    sub = submission.build_submission(
        launch(environment=(("CUDA_VISIBLE_DEVICES", "7"), ("FROM_SPEC", "a b"))),
        base_env={"PATH": "/usr/bin"},
        partition="gpu",
    )

    assert sub.script == (
        "#!/bin/bash\n"
        "# Petaport attempt att_1 (job job_1); generated, do not edit.\n"
        "export FROM_EXTRA=x\n"
        "export FROM_SPEC='a b'\n"
        "export PATH=/usr/bin\n"
        "export PETAPORT_ATTEMPT_ID=att_1\n"
        "export PETAPORT_JOB_ID=job_1\n"
        'case "${SLURMD_NODENAME:-}" in\n'
        "  gpu1) export CUDA_VISIBLE_DEVICES=1,3 GPU_DEVICE_ORDINAL=1,3 ;;\n"
        "  *) export CUDA_VISIBLE_DEVICES= GPU_DEVICE_ORDINAL= ;;\n"
        "esac\n"
        "(exec python3 train.py --lr 0.1)\n"
        "petaport_status=$?\n"
        "printf '%s\\n' \"$petaport_status\" 2>/dev/null >/data/jobs/job_1/att_1/exitcode\n"
        'exit "$petaport_status"\n'
    )


NASTY = ("printf", "%s|", "$(touch /tmp/pwned)", "a'b\"c", "x y", "`id`", "line\nbreak", "*", "")


def test_no_argument_or_variable_is_ever_read_as_shell(tmp_path: Path) -> None:
    """The script really runs in bash: every argument and value arrives byte for byte."""
    sub = submission.build_submission(
        launch(command=NASTY, environment=(("EVIL", "$(touch /tmp/pwned);`id`'\""),), gpus=0),
        base_env={"PATH": "/usr/bin:/bin"},
        partition="cpu",
    )
    script = tmp_path / "job.sh"
    script.write_text(sub.script.replace("(exec printf", 'printf "%s|" "$EVIL"; (exec printf'))

    out = subprocess.run(["/bin/bash", str(script)], capture_output=True, text=True, check=True)

    assert out.stdout == "$(touch /tmp/pwned);`id`'\"|" + "".join(f"{a}|" for a in NASTY[2:])


def test_a_script_job_runs_the_script_file_and_a_gang_job_sruns_itself_per_node() -> None:
    sub = submission.build_submission(
        launch(
            command=(),
            script="echo hi\n",
            nodes=2,
            allocations=(Allocation("gpu1", (0, 1), 4, 8192), Allocation("gpu2", (6, 7), 4, 8192)),
        ),
        base_env={},
        partition="gpu",
        srun="/opt/slurm/bin/srun",
    )

    assert "--nodes=2" in sub.argv and "--nodelist=gpu1,gpu2" in sub.argv
    assert "--gres=gpu:2" in sub.argv  # per node
    assert sub.user_script == "echo hi\n"
    lines = sub.script.splitlines()
    assert 'if [ "${1:-}" != task ]; then' in lines
    first = lines.index('if [ "${1:-}" != task ]; then')
    assert lines[first + 1 : first + 4] == [
        "  /opt/slurm/bin/srun --export=ALL --kill-on-bad-exit=1 /bin/bash "
        "/data/jobs/job_1/att_1/slurm-job.sh task",
        "  petaport_status=$?",
        "  printf '%s\\n' \"$petaport_status\" 2>/dev/null >/data/jobs/job_1/att_1/exitcode",
    ]  # the batch step leaves the end notice once every node's task has ended
    assert "  gpu1) export CUDA_VISIBLE_DEVICES=0,1 GPU_DEVICE_ORDINAL=0,1 ;;" in lines
    assert "  gpu2) export CUDA_VISIBLE_DEVICES=6,7 GPU_DEVICE_ORDINAL=6,7 ;;" in lines
    assert lines[-1] == "exec /bin/bash /data/jobs/job_1/att_1/script.sh"  # each task


def test_slurm_gpu_binding_leaves_cuda_visible_devices_to_slurm() -> None:
    sub = submission.build_submission(launch(), base_env={}, partition="gpu", gpu_binding="slurm")

    assert "CUDA_VISIBLE_DEVICES" not in sub.script
    assert "--gres=gpu:2" in sub.argv


def test_a_gpu_fraction_asks_slurm_for_no_whole_gpu_but_sees_its_gpu() -> None:
    sub = submission.build_submission(
        launch(gpus=0, gpu_milli=500, allocations=(Allocation("gpu1", (5,), 1, 1024),)),
        base_env={},
        partition="gpu",
    )

    assert not any(a.startswith("--gres") for a in sub.argv)
    assert "  gpu1) export CUDA_VISIBLE_DEVICES=5 GPU_DEVICE_ORDINAL=5 ;;" in sub.script


def test_no_walltime_leaves_the_partition_default() -> None:
    sub = submission.build_submission(launch(walltime_s=None), base_env={}, partition=None)

    assert not any(a.startswith(("--time", "--partition", "--account", "--qos")) for a in sub.argv)


@pytest.mark.parametrize(
    ("walltime_s", "expected"), [(1, "1"), (60, "1"), (61, "2"), (3600, "60"), (None, None)]
)
def test_time_limits_are_whole_minutes_rounded_up(walltime_s: int | None, expected: str) -> None:
    assert submission.time_limit(walltime_s) == expected


@pytest.mark.parametrize(("out", "job_id"), [("42\n", "42"), ("42;petaport\n", "42")])
def test_the_job_id_from_sbatch_parsable(out: str, job_id: str) -> None:
    assert submission.parse_job_id(out) == job_id


def test_sbatch_output_without_a_job_id_is_an_error() -> None:
    with pytest.raises(ValueError, match="no job id"):
        submission.parse_job_id("sbatch: error: something\n")


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_squeue_text_states_reasons_times_and_exit_codes() -> None:
    jobs = states.parse_squeue((SAMPLES / "squeue-22.05.txt").read_text())

    seen = {j.name: (j.state, j.reported_exit_code) for j in jobs.values()}
    assert seen == {
        "petaport-att_fail": (JobState.FAILED, 3),  # exit 3
        "petaport-att_kill": (JobState.FAILED, 137),  # kill -9 $$
        "petaport-att_ok": (JobState.COMPLETED, 0),
        "petaport-att_run": (JobState.RUNNING, None),
        "petaport-att_c": (JobState.CANCELLED, None),  # scancel while running
        "petaport-att_pend": (JobState.RUNNING, None),  # pending in Slurm: admitted here
        "petaport-att_timeout": (JobState.TIMEOUT, None),  # --time=1, sleep 600
        "petaport-att_cpend": (JobState.CANCELLED, None),  # scancel while pending
    }
    pending = jobs["1160"]  # squeue prints its expected start and end: not times that happened
    assert (pending.slurm_state, pending.reason, pending.start, pending.end) == (
        "PENDING", "BeginTime", None, None,
    )  # fmt: skip
    assert pending.detail() == "slurm job 1160 PENDING (BeginTime)"
    assert jobs["1158"].start == at(1795283387) and jobs["1158"].end is None  # a limit, not an end
    assert jobs["1161"].end == at(1795283450) and jobs["1161"].nodes == "gpu1"
    assert jobs["1156"].detail() == "slurm job 1156 FAILED (killed by signal 9)"


def test_squeue_text_keeps_a_name_that_holds_the_separator() -> None:
    line = "7|odd|name|RUNNING|None|1795283387|1795286987|gpu1|0|\n"

    (job,) = states.parse_squeue(line).values()

    assert (job.job_id, job.name, job.slurm_state) == ("7", "odd|name", "RUNNING")
    assert job.nodes == "gpu1"


def test_squeue_is_asked_for_exactly_the_jobs_wanted_as_text() -> None:
    by_id = states.squeue_argv(job_ids=["55", "56"])
    by_name = states.squeue_argv(names=["petaport-att_1"])

    assert by_id[:3] == ("-h", "-t", "all") and by_id[-1] == "--jobs=55,56"
    assert by_name[-1] == "--name=petaport-att_1"
    assert "--json" not in by_id and by_id[3].startswith("--Format=JobID:|,Name:|,State:|")


def test_sacct_text_agrees_with_squeue_on_what_petaport_reports() -> None:
    """The same eight jobs, read from both (captured one after the other)."""
    ended = states.parse_sacct((SAMPLES / "sacct-22.05-same-jobs.txt").read_text())
    live = states.parse_squeue((SAMPLES / "squeue-22.05.txt").read_text())

    assert ended.keys() == live.keys()
    for job_id, b in live.items():
        a = ended[job_id]
        assert (a.name, a.state, a.reported_exit_code, a.end, a.detail()) == (
            b.name, b.state, b.reported_exit_code, b.end, b.detail(),
        ), job_id  # fmt: skip
    assert ended["1159"].slurm_state == "CANCELLED"  # "CANCELLED by 0"
    assert ended["1158"].is_live and ended["1160"].start is None


def test_why_not_sacct_json_in_22_05_its_exit_code_of_a_failed_job_is_0() -> None:
    data = json.loads((SAMPLES / "sacct-22.05-failed-exit-3.json").read_text())
    (job,) = data["jobs"]

    assert job["state"]["current"] == "FAILED"
    assert job["exit_code"]["return_code"] == 0  # sacct -P says 3:0 for the same job


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gpu2", ("gpu2",)),
        ("gpu[1-2],cpu1", ("gpu1", "gpu2", "cpu1")),
        ("n[008-010,2]", ("n008", "n009", "n010", "n2")),
        ("", ()),
    ],
)
def test_slurm_host_lists_expand(text: str, expected: tuple[str, ...]) -> None:
    assert nodes.expand_hostlist(text) == expected


def test_the_nodes_a_held_back_job_waits_for() -> None:
    reason = "ReqNodeNotAvail, UnavailableNodes:gpu[1-2]"

    assert states.unavailable_nodes(reason) == "gpu[1-2]"
    assert states.unavailable_nodes("ReqNodeNotAvail") == ""


def test_sinfo_json_nodes_gpus_partitions_and_drained_nodes() -> None:
    found = nodes.parse_sinfo_json(json.loads((SAMPLES / "sinfo-22.05.json").read_text()))

    by_name = {n.name: n for n in found}
    assert by_name["gpu2"] == nodes.SlurmNode("gpu2", 32, 256000, "H800", 8, ("gpu",), True)
    assert by_name["cpu1"] == nodes.SlurmNode("cpu1", 16, 64000, None, 0, ("cpu",), True)
    assert not by_name["gpu1"].usable  # DRAIN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gpu:H800:8", ("H800", 8)),
        ("gpu:H800:8(S:0-1)", ("H800", 8)),
        ("gpu:4", (None, 4)),
        ("", (None, 0)),
        ("shard:8,gpu:a100:2", ("a100", 2)),
    ],
)
def test_gres_strings(text: str, expected: tuple[str | None, int]) -> None:
    assert nodes.parse_gres(text) == expected


def test_the_partition_is_one_holding_every_chosen_node() -> None:
    partitions = {"gpu1": ["debug", "gpu"], "gpu2": ["gpu"], "cpu1": ["cpu"]}

    assert nodes.choose_partition(["gpu1", "gpu2"], partitions) == "gpu"
    assert nodes.choose_partition(["gpu1"], partitions) == "debug"
    assert nodes.choose_partition(["gpu1", "cpu1"], partitions) is None
    assert nodes.choose_partition(["nope"], partitions) is None


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("Priority", PendingReason.PRIORITY),
        ("Resources", PendingReason.RESOURCES),
        ("PartitionConfig", PendingReason.PARTITION_CONFIG),
        ("AssocGrpGRES", PendingReason.QUOTA_EXCEEDED),
        ("QOSMaxGRESPerJob", PendingReason.QUOTA_EXCEEDED),
        ("AssocGrpGRESMinutes", PendingReason.BUDGET_EXHAUSTED),
        ("JobHeldUser", PendingReason.HELD),
        ("ReqNodeNotAvail", PendingReason.RESOURCES),
    ],
)
def test_pending_reasons_in_petaport_words(reason: str, expected: PendingReason) -> None:
    assert states.pending_reason(reason) is expected


def test_job_names_carry_the_attempt_id() -> None:
    assert states.job_name("att_01HX") == "petaport-att_01HX"
    assert shlex.quote(states.job_name("att_1")) == "petaport-att_1"


@pytest.mark.parametrize(("command", "status"), [(("sh", "-c", "exit 3"), 3), (("true",), 0)])
def test_the_script_exits_with_the_commands_status_and_leaves_it_in_the_notice(
    tmp_path: Path, command: tuple[str, ...], status: int
) -> None:
    sub = submission.build_submission(
        launch(command=command, gpus=0, attempt_dir=tmp_path),
        base_env={"PATH": "/usr/bin:/bin"},
        partition="cpu",
    )
    Path(sub.script_path).write_text(sub.script)
    notice = tmp_path / submission.EXIT_FILE
    assert not notice.exists()

    done = subprocess.run(["/bin/bash", sub.script_path], capture_output=True, check=False)

    assert done.returncode == status
    assert notice.read_text() == f"{status}\n"


def test_a_command_named_like_a_shell_builtin_is_never_run_by_the_shell(tmp_path: Path) -> None:
    sub = submission.build_submission(
        launch(command=("exit", "0"), gpus=0, attempt_dir=tmp_path),
        base_env={"PATH": "/usr/bin:/bin"},
        partition="cpu",
    )
    Path(sub.script_path).write_text(sub.script)

    done = subprocess.run(["/bin/bash", sub.script_path], capture_output=True, check=False)

    assert done.returncode == 127  # no program called "exit": as with a plain ``exec``
