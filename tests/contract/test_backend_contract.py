"""The backend contract: what every backend must do, run against each one.

A test says what a job does (``Program``: its output, exit code, whether it runs until stopped,
which variables it prints) and asks the ``driver`` fixture to start it and wait for its end. Each
driver says that in its backend's terms: the fake driver plays the program through the fake's
controls and moves its clock; the local driver runs a real Python process and polls with a
deadline. A new backend (``slurm``) joins by writing a driver and adding it to ``DRIVERS``.
A backend that passes can be put behind the services without them noticing which it is.
"""

from __future__ import annotations

import itertools
import secrets
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from petaport.backends.fake import FakeBackend, ManualClock
from petaport.backends.local.backend import LocalBackend
from petaport.backends.slurm import SlurmBackend, SlurmRunner
from petaport.domain.jobs import Allocation, JobSpec, JobState
from petaport.services.ports import AttemptLaunch, AttemptRef, AttemptReport, Backend, NodeInfo
from tests.slurm_cluster import SLURM_CONF

WAIT_S = 20.0  # a deadline for real backends, never a sleep
POLL_INTERVAL_S = 0.02
LOCAL_GRACE_S = 0.3


@dataclass(frozen=True)
class Program:
    """What a contract job does, in backend-neutral words."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    print_env: tuple[str, ...] = ()  # each printed to stdout as ``NAME=[value]``
    forever: bool = False  # runs until cancelled or out of walltime


def env_line(name: str, value: str | None) -> str:
    return f"{name}=[{'<unset>' if value is None else value}]\n"


@dataclass(frozen=True)
class Started:
    launch: AttemptLaunch
    report: AttemptReport
    program: Program

    @property
    def ref(self) -> AttemptRef:
        return AttemptRef(
            attempt_id=self.launch.attempt_id,
            attempt_dir=self.launch.attempt_dir,
            backend_ref=self.report.backend_ref,
            pid=self.report.pid,
            started_at=self.report.started_at,
        )

    def logs(self) -> tuple[str, str]:
        return (
            self.launch.stdout_path.read_text(encoding="utf-8"),
            self.launch.stderr_path.read_text(encoding="utf-8"),
        )


class Driver(ABC):
    """Starts contract jobs on one backend and waits for them to end."""

    node: str
    id_prefix = ""  # attempt ids must be unique wherever the backend remembers old attempts

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[Started] = []
        self._ids = itertools.count(1)
        self.backend = self.fresh_backend()

    def start(
        self,
        program: Program,
        *,
        gpus: tuple[int, ...] = (),
        walltime_s: int | None = None,
        environment: tuple[tuple[str, str], ...] = (),
        extra_env: tuple[tuple[str, str], ...] = (),
    ) -> Started:
        n = next(self._ids)
        spec = JobSpec(
            name="contract",
            project_id="prj_contract",
            command=self.command(program),
            environment=environment,
            gpus=len(gpus),
            walltime_s=walltime_s,
        )
        launch = AttemptLaunch(
            attempt_id=f"att_{self.id_prefix}{n:04d}",
            job_id=f"job_{self.id_prefix}{n:04d}",
            number=1,
            spec=spec,
            allocations=(Allocation(self.node, gpus, spec.cpus, spec.memory_mb),),
            attempt_dir=self.tmp_path / f"att_{n:04d}",
            extra_env=extra_env,
        )
        started = Started(launch, self.backend.launch(launch), program)
        self.started.append(started)
        return started

    def poll(self, started: Started, backend: Backend | None = None) -> AttemptReport:
        (report,) = (backend or self.backend).poll([started.ref])
        return report

    @abstractmethod
    def command(self, program: Program) -> tuple[str, ...]: ...

    @abstractmethod
    def wait_done(self, started: Started, backend: Backend | None = None) -> AttemptReport:
        """Let the program run its course (or its walltime), then return the terminal report."""

    @abstractmethod
    def fresh_backend(self) -> Backend:
        """A new backend object on the same machine or cluster, as after a server restart."""

    def cleanup(self) -> None:
        for started in self.started:
            if not self.poll(started).state.is_terminal:
                self.backend.cancel(started.ref)
                self.wait_done(started)
        self.backend.close()


class FakeDriver(Driver):
    node = "fake-001"

    def __init__(self, tmp_path: Path) -> None:
        self.clock = ManualClock()
        node = NodeInfo(self.node, "H800", tuple(range(8)), cpus=64, memory_mb=512 * 1024)
        self.fake = FakeBackend([node], clock=self.clock)  # holds the controls
        super().__init__(tmp_path)

    def fresh_backend(self) -> Backend:
        return self.fake.restarted()

    def command(self, program: Program) -> tuple[str, ...]:
        return ("contract-program",)  # nothing runs; the driver plays the program

    def wait_done(self, started: Started, backend: Backend | None = None) -> AttemptReport:
        if self.poll(started, backend).state is JobState.RUNNING:
            self._play(started)
        report = self.poll(started, backend)
        assert report.state.is_terminal, f"the fake attempt is still {report.state}"
        return report

    def _play(self, started: Started) -> None:
        program, attempt_id = started.program, started.launch.attempt_id
        if program.forever:
            walltime_s = started.launch.spec.walltime_s
            assert walltime_s is not None, "a program that runs forever needs a walltime or cancel"
            self.clock.advance(walltime_s + 1)
            return
        env = self.fake.environment(attempt_id)
        printed = "".join(env_line(name, env.get(name)) for name in program.print_env)
        self.fake.finish(
            attempt_id, program.exit_code, stdout=program.stdout + printed, stderr=program.stderr
        )


class LocalDriver(Driver):
    node = "local"
    wait_s = WAIT_S
    poll_interval_s = POLL_INTERVAL_S

    def fresh_backend(self) -> Backend:
        return LocalBackend(
            self.node,
            declared_gpus=8,
            declared_gpu_model="H800",
            use_nvml=False,
            cancel_grace_s=LOCAL_GRACE_S,
        )

    def command(self, program: Program) -> tuple[str, ...]:
        code = "\n".join(
            [
                "import os, sys, time",
                f"sys.stdout.write({program.stdout!r})",
                f"sys.stderr.write({program.stderr!r})",
                f"for name in {program.print_env!r}:",
                "    value = os.environ.get(name)",
                "    sys.stdout.write(f\"{name}=[{'<unset>' if value is None else value}]\\n\")",
                "sys.stdout.flush(); sys.stderr.flush()",
                f"if {program.forever!r}: time.sleep(3600)",
                f"sys.exit({program.exit_code})",
            ]
        )
        return (sys.executable, "-c", code)

    def wait_done(self, started: Started, backend: Backend | None = None) -> AttemptReport:
        deadline = time.monotonic() + self.wait_s
        while time.monotonic() < deadline:
            report = self.poll(started, backend)
            if report.state.is_terminal:
                return report
            time.sleep(self.poll_interval_s)
        pytest.fail(f"{started.launch.attempt_id} did not end within {self.wait_s} s")


class SlurmDriver(LocalDriver):
    """Real jobs on the single-host test cluster (``slurm_cluster``), on node gpu1.

    Slurm counts time limits in whole minutes and checks them about every 30 s, so a job with a
    1 s walltime ends in TIMEOUT only after a minute or so: the deadline is longer here.
    """

    node = "gpu1"
    wait_s = 180.0
    poll_interval_s = 0.2

    def __init__(self, tmp_path: Path) -> None:
        self.id_prefix = secrets.token_hex(4) + "_"  # the cluster outlives tests and test runs
        super().__init__(tmp_path)

    def fresh_backend(self) -> Backend:
        return SlurmBackend(SlurmRunner(conf=SLURM_CONF), inherit_env=("PATH",))


DRIVERS: dict[str, Callable[[Path], Driver]] = {
    "fake": FakeDriver,
    "local": LocalDriver,
    "slurm": SlurmDriver,
}


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    if request.param == "slurm":
        request.getfixturevalue("slurm_cluster")  # started (or reused), else skipped/failed
    made = DRIVERS[request.param](tmp_path)
    try:
        yield made
    finally:
        made.cleanup()


FOREVER = Program(forever=True)


def test_backend_satisfies_the_protocol(driver: Driver) -> None:
    assert isinstance(driver.backend, Backend)
    assert driver.backend.name


def test_launch_reports_running_then_completed_with_exit_code_0(driver: Driver) -> None:
    started = driver.start(Program(stdout="done\n"))

    assert started.report.state is JobState.RUNNING
    assert started.report.backend_ref
    assert started.report.started_at is not None and started.report.started_at.tzinfo is not None
    final = driver.wait_done(started)

    assert final.state is JobState.COMPLETED
    assert final.exit_code == 0
    assert final.attempt_id == started.launch.attempt_id
    assert final.started_at == started.report.started_at
    assert final.ended_at is not None and final.ended_at >= final.started_at


def test_a_running_attempt_polls_as_running(driver: Driver) -> None:
    started = driver.start(FOREVER)

    assert driver.poll(started).state is JobState.RUNNING


@pytest.mark.parametrize("code", [1, 3, 42])
def test_nonzero_exit_is_failed_with_that_exit_code(driver: Driver, code: int) -> None:
    final = driver.wait_done(driver.start(Program(exit_code=code)))

    assert final.state is JobState.FAILED
    assert final.exit_code == code


def test_walltime_ends_in_timeout(driver: Driver) -> None:
    started = driver.start(FOREVER, walltime_s=1)

    final = driver.wait_done(started)

    assert final.state is JobState.TIMEOUT
    assert final.ended_at is not None and started.report.started_at is not None
    assert (final.ended_at - started.report.started_at).total_seconds() >= 1


def test_cancel_ends_in_cancelled(driver: Driver) -> None:
    started = driver.start(FOREVER)
    assert driver.poll(started).state is JobState.RUNNING

    driver.backend.cancel(started.ref)

    assert driver.wait_done(started).state is JobState.CANCELLED


def test_cancel_twice_right_after_launch_is_harmless(driver: Driver) -> None:
    started = driver.start(FOREVER)

    driver.backend.cancel(started.ref)
    driver.backend.cancel(started.ref)

    assert driver.wait_done(started).state is JobState.CANCELLED


def test_cancel_after_the_end_changes_nothing(driver: Driver) -> None:
    cancelled = driver.start(FOREVER)
    driver.backend.cancel(cancelled.ref)
    completed = driver.start(Program())
    before = [driver.wait_done(cancelled), driver.wait_done(completed)]

    driver.backend.cancel(cancelled.ref)
    driver.backend.cancel(completed.ref)

    assert driver.backend.poll([cancelled.ref, completed.ref]) == before
    assert [r.state for r in before] == [JobState.CANCELLED, JobState.COMPLETED]


def test_output_goes_to_stdout_log_and_stderr_log(driver: Driver) -> None:
    started = driver.start(Program(stdout="to-stdout\n", stderr="to-stderr\n", exit_code=1))

    driver.wait_done(started)

    stdout, stderr = started.logs()
    assert "to-stdout" in stdout and "to-stderr" not in stdout
    assert "to-stderr" in stderr and "to-stdout" not in stderr


@pytest.mark.parametrize(("gpus", "expected"), [((1, 3), "1,3"), ((0,), "0"), ((), "")])
def test_cuda_visible_devices_is_exactly_the_allocation(
    driver: Driver, gpus: tuple[int, ...], expected: str
) -> None:
    started = driver.start(
        Program(print_env=("CUDA_VISIBLE_DEVICES",)),
        gpus=gpus,
        environment=(("CUDA_VISIBLE_DEVICES", "7"),),  # a user cannot widen their allocation
    )

    driver.wait_done(started)

    assert env_line("CUDA_VISIBLE_DEVICES", expected) in started.logs()[0]


def test_job_sees_its_ids_its_environment_and_extra_env(driver: Driver) -> None:
    names = ("PETAPORT_JOB_ID", "PETAPORT_ATTEMPT_ID", "FROM_SPEC", "FROM_EXTRA")
    started = driver.start(
        Program(print_env=names),
        environment=(("FROM_SPEC", "spec value"),),
        extra_env=(("FROM_EXTRA", "extra value"),),
    )

    driver.wait_done(started)

    stdout = started.logs()[0]
    assert env_line("PETAPORT_JOB_ID", started.launch.job_id) in stdout
    assert env_line("PETAPORT_ATTEMPT_ID", started.launch.attempt_id) in stdout
    assert env_line("FROM_SPEC", "spec value") in stdout
    assert env_line("FROM_EXTRA", "extra value") in stdout


def test_poll_answers_one_report_per_ref_in_order(driver: Driver) -> None:
    first, second = driver.start(FOREVER), driver.start(Program())
    driver.wait_done(second)

    reports = driver.backend.poll([second.ref, first.ref])

    assert [r.attempt_id for r in reports] == [second.launch.attempt_id, first.launch.attempt_id]
    assert [r.state for r in reports] == [JobState.COMPLETED, JobState.RUNNING]
    assert driver.backend.poll([]) == []


def test_a_fresh_backend_sees_a_running_attempt_and_can_cancel_it(driver: Driver) -> None:
    started = driver.start(FOREVER)
    assert driver.poll(started).state is JobState.RUNNING

    restarted = driver.fresh_backend()
    seen = driver.poll(started, restarted)
    restarted.cancel(started.ref)
    final = driver.wait_done(started, restarted)

    assert seen.state is JobState.RUNNING
    assert seen.started_at == started.report.started_at
    assert final.state is JobState.CANCELLED
    assert driver.poll(started) == final


def test_a_fresh_backend_sees_how_an_attempt_ended(driver: Driver) -> None:
    started = driver.start(Program(exit_code=5))
    final = driver.wait_done(started)

    again = driver.poll(started, driver.fresh_backend())

    assert again == final
    assert again.state is JobState.FAILED and again.exit_code == 5


def test_inventory_lists_the_nodes_attempts_run_on(driver: Driver) -> None:
    nodes = driver.backend.inventory()

    assert nodes
    assert len({n.name for n in nodes}) == len(nodes)
    assert driver.node in {n.name for n in nodes}
    for node in nodes:
        assert node.cpus > 0 and node.memory_mb > 0
        assert list(node.gpu_indices) == sorted(set(node.gpu_indices))
        assert (node.gpu_model is None) == (not node.gpu_indices)
