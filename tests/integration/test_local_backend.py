"""The local backend beyond the contract: supervisors, memory limits, process groups, restarts.

Real processes on this machine. Waits poll with a deadline; nothing sleeps a fixed time. Every
process a test starts is gone when it ends (the ``local`` fixture cancels and kills leftovers).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from petaport.backends.local import procfs, records
from petaport.backends.local.backend import LocalBackend, parse_backend_ref
from petaport.domain.jobs import Allocation, JobSpec, JobState
from petaport.services.ports import AttemptLaunch, AttemptRef, AttemptReport

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the local backend reads /proc")

WAIT_S = 20.0
GRACE_S = 0.3
SLEEP_FOREVER = (sys.executable, "-c", "import time; time.sleep(3600)")


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def alive(pid: int) -> bool:
    stat = procfs.read_stat(pid)
    return stat is not None and not stat.gone


def read_pid(path: Path) -> int:
    wait_for(lambda: path.exists() and path.read_text().strip().isdigit(), f"{path.name}")
    return int(path.read_text())


@dataclass
class Local:
    """A LocalBackend plus what the test launched on it, for waiting and cleaning up."""

    tmp_path: Path
    backend: LocalBackend
    refs: list[AttemptRef] = field(default_factory=list)
    strays: list[tuple[int, int]] = field(default_factory=list)  # (pid, start ticks)

    def launch(self, command: tuple[str, ...] = (), **spec_fields: object) -> AttemptRef:
        n = len(self.refs) + 1
        spec = JobSpec(name="it", project_id="prj_it", command=command, **spec_fields)  # type: ignore[arg-type]
        launch = AttemptLaunch(
            attempt_id=f"att_{n:03d}",
            job_id=f"job_{n:03d}",
            number=1,
            spec=spec,
            allocations=(Allocation("local", (), 1, spec.memory_mb),),
            attempt_dir=self.tmp_path / f"att_{n:03d}",
        )
        report = self.backend.launch(launch)
        ref = AttemptRef(
            launch.attempt_id, launch.attempt_dir, report.backend_ref, report.pid, report.started_at
        )
        self.refs.append(ref)
        return ref

    def poll(self, ref: AttemptRef, backend: LocalBackend | None = None) -> AttemptReport:
        (report,) = (backend or self.backend).poll([ref])
        return report

    def wait_done(self, ref: AttemptRef, backend: LocalBackend | None = None) -> AttemptReport:
        wait_for(lambda: self.poll(ref, backend).state.is_terminal, f"{ref.attempt_id} to end")
        return self.poll(ref, backend)

    def child_pid(self, ref: AttemptRef) -> int:
        wait_for(lambda: records.read_status(ref.attempt_dir) is not None, "status.json")
        status = records.read_status(ref.attempt_dir)
        assert status is not None and status["child_pid"] is not None
        self.strays.append((status["child_pid"], status["child_start_ticks"] or 0))
        return status["child_pid"]

    def stray(self, pid: int) -> int:
        self.strays.append((pid, procfs.start_ticks(pid) or 0))
        return pid

    def cleanup(self) -> None:
        for ref in self.refs:
            if not self.poll(ref).state.is_terminal:
                self.backend.cancel(ref)
                self.wait_done(ref)
        for pid, ticks in self.strays:
            procfs.signal_process(pid, ticks, signal.SIGKILL)
        self.backend.close()


def new_backend(**overrides: object) -> LocalBackend:
    options: dict[str, object] = {"use_nvml": False, "cancel_grace_s": GRACE_S}
    options.update(overrides)
    return LocalBackend("local", **options)  # type: ignore[arg-type]


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Local]:
    made = Local(tmp_path, new_backend())
    try:
        yield made
    finally:
        made.cleanup()


def test_memory_over_the_limit_is_out_of_memory(local: Local) -> None:
    hog = "import time; data = b'x' * (300 << 20); time.sleep(3600)"
    ref = local.launch((sys.executable, "-c", hog), memory_mb=64)

    final = local.wait_done(ref)

    assert final.state is JobState.OUT_OF_MEMORY
    assert final.exit_code == 128 + signal.SIGKILL
    assert "64 MiB" in final.detail


def test_an_attempt_outlives_the_server_that_launched_it(local: Local, tmp_path: Path) -> None:
    attempt_dir = tmp_path / "from_server"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT, str(attempt_dir)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    sent = json.loads(server.stdout.readline())
    server.kill()  # kill -9: the server gets no chance to clean up
    server.wait()
    ref = AttemptRef("att_srv", attempt_dir, sent["backend_ref"], sent["pid"], None)
    local.refs.append(ref)

    running = local.poll(ref)
    assert running.state is JobState.RUNNING
    assert running.started_at is not None and running.started_at.isoformat() == sent["started_at"]
    assert alive(local.child_pid(ref))
    local.backend.cancel(ref)
    assert local.wait_done(ref).state is JobState.CANCELLED


SERVER_SCRIPT = """
import json, sys, time
from pathlib import Path
from petaport.backends.local.backend import LocalBackend
from petaport.domain.jobs import Allocation, JobSpec
from petaport.services.ports import AttemptLaunch
command = (sys.executable, "-c", "import time; time.sleep(3600)")
spec = JobSpec(name="srv", project_id="prj", command=command)
allocation = Allocation("local", (), 1, 1024)
launch = AttemptLaunch("att_srv", "job_srv", 1, spec, (allocation,), Path(sys.argv[1]))
report = LocalBackend(use_nvml=False, cancel_grace_s=0.3).launch(launch)
sent = {"backend_ref": report.backend_ref, "pid": report.pid}
print(json.dumps({**sent, "started_at": report.started_at.isoformat()}), flush=True)
time.sleep(3600)
"""


def test_a_killed_supervisor_is_node_fail_and_its_job_is_stopped(local: Local) -> None:
    ref = local.launch(SLEEP_FOREVER)
    child = local.child_pid(ref)
    supervisor = parse_backend_ref(ref.backend_ref)
    assert supervisor is not None

    os.kill(supervisor[0], signal.SIGKILL)
    failed = local.wait_done(ref)

    assert failed.state is JobState.NODE_FAIL
    assert "supervisor vanished" in failed.detail
    wait_for(lambda: not alive(child), "the orphaned job to be killed", timeout_s=5)
    assert local.poll(ref, new_backend()) == failed  # recorded: every later poll agrees


def test_cancel_kills_the_whole_job_including_grandchildren(local: Local, tmp_path: Path) -> None:
    script = (
        f"bash -c \"trap '' TERM; exec sleep 3600\" & echo $! > {tmp_path}/in_group.pid\n"
        f"setsid sleep 3600 & echo $! > {tmp_path}/own_session.pid\n"
        "wait\n"
    )
    ref = local.launch(script=script)
    stubborn = local.stray(read_pid(tmp_path / "in_group.pid"))
    escaped = local.stray(read_pid(tmp_path / "own_session.pid"))

    local.backend.cancel(ref)
    final = local.wait_done(ref)

    assert final.state is JobState.CANCELLED
    assert not alive(stubborn), "a grandchild ignoring SIGTERM survived the grace"
    assert not alive(escaped), "a grandchild in its own session survived"


def test_processes_left_behind_by_a_finished_job_are_killed(local: Local, tmp_path: Path) -> None:
    ref = local.launch(script=f"sleep 3600 & echo $! > {tmp_path}/bg.pid\n")
    background = local.stray(read_pid(tmp_path / "bg.pid"))

    final = local.wait_done(ref)

    assert final.state is JobState.COMPLETED
    assert not alive(background)


def test_reattach_reports_the_original_start_time_and_pid(local: Local) -> None:
    ref = local.launch(SLEEP_FOREVER)
    child = local.child_pid(ref)
    first = local.poll(ref)

    again = local.poll(ref, new_backend())

    assert first.pid == child and again.pid == child
    assert again.started_at == first.started_at == ref.started_at
    assert again.backend_ref == ref.backend_ref


def test_status_json_records_the_run(local: Local) -> None:
    ref = local.launch((sys.executable, "-c", "raise SystemExit(3)"))
    final = local.wait_done(ref)

    status = records.read_status(ref.attempt_dir)

    assert status is not None
    assert status["state"] == "FAILED" and status["exit_code"] == 3
    assert status["supervisor_pid"] == ref.pid and status["child_pid"] == final.pid
    assert records.parse_time(status["started_at"]) == ref.started_at
    ended_at = records.parse_time(status["ended_at"])
    assert ended_at is not None and ended_at.tzinfo is not None


def test_scripts_run_under_bash_in_the_default_work_dir(local: Local) -> None:
    ref = local.launch(script='echo "cwd=$PWD"\necho "shell=$BASH"\nexit 4\n')

    final = local.wait_done(ref)

    stdout = (ref.attempt_dir / "stdout.log").read_text()
    assert (final.state, final.exit_code) == (JobState.FAILED, 4)
    assert f"cwd={ref.attempt_dir / 'work'}" in stdout
    assert "shell=/bin/bash" in stdout or "shell=/usr/bin/bash" in stdout


def test_a_given_working_dir_is_used(local: Local, tmp_path: Path) -> None:
    workdir = tmp_path / "project"
    workdir.mkdir()
    ref = local.launch(script='echo "cwd=$PWD"\n', working_dir=str(workdir))

    assert local.wait_done(ref).state is JobState.COMPLETED
    assert f"cwd={workdir}" in (ref.attempt_dir / "stdout.log").read_text()


def test_a_missing_working_dir_fails_at_launch(local: Local, tmp_path: Path) -> None:
    ref = local.launch(SLEEP_FOREVER, working_dir=str(tmp_path / "nowhere"))

    report = local.poll(ref)

    assert report.state is JobState.FAILED
    assert "does not exist" in report.detail


def test_a_command_that_does_not_exist_fails_with_127(local: Local) -> None:
    final = local.wait_done(local.launch(("/nonexistent/petaport-test-binary",)))

    assert (final.state, final.exit_code) == (JobState.FAILED, 127)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL, signal.SIGSEGV])
def test_a_signal_death_is_failed_with_128_plus_the_signal(local: Local, signum: int) -> None:
    suicide = f"import os; os.kill(os.getpid(), {int(signum)})"

    final = local.wait_done(local.launch((sys.executable, "-c", suicide)))

    assert (final.state, final.exit_code) == (JobState.FAILED, 128 + signum)


def test_cancel_right_after_launch_still_ends_in_cancelled(local: Local) -> None:
    ref = local.launch(SLEEP_FOREVER)
    local.backend.cancel(ref)

    assert local.wait_done(ref).state is JobState.CANCELLED


def test_finished_supervisors_are_reaped_by_poll(local: Local) -> None:
    ref = local.launch((sys.executable, "-c", "pass"))
    local.wait_done(ref)
    supervisor = parse_backend_ref(ref.backend_ref)
    assert supervisor is not None
    wait_for(lambda: not alive(supervisor[0]), "the supervisor to exit")  # a zombie till reaped

    local.poll(ref)

    assert procfs.read_stat(supervisor[0]) is None
    with pytest.raises(ChildProcessError):
        os.waitpid(supervisor[0], os.WNOHANG)


def test_the_job_does_not_inherit_server_secrets(tmp_path: Path) -> None:
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PETAPORT_SECRET_KEY": "s3cret"}
    local = Local(tmp_path, new_backend(environ=environ))
    show = "import os; print(os.environ.get('PETAPORT_SECRET_KEY', '<unset>'))"
    try:
        ref = local.launch((sys.executable, "-c", show))
        assert local.wait_done(ref).state is JobState.COMPLETED
    finally:
        local.cleanup()

    assert (ref.attempt_dir / "stdout.log").read_text().strip() == "<unset>"


def test_inventory_uses_declared_gpus_and_configured_sizes() -> None:
    backend = new_backend(declared_gpus=4, declared_gpu_model="H800", cpus=12, memory_mb=4096)

    (node,) = backend.inventory()

    assert (node.name, node.gpu_model, node.gpu_indices) == ("local", "H800", (0, 1, 2, 3))
    assert (node.cpus, node.memory_mb) == (12, 4096)


def test_inventory_defaults_to_the_machine() -> None:
    (node,) = new_backend().inventory()

    assert node.cpus == os.cpu_count()
    assert node.memory_mb > 0
    assert node.gpu_indices == () and node.gpu_model is None
