"""The local backend: runs attempts on this machine, one supervisor process per attempt.

Invariants:
- ``launch`` never waits for the job: it writes ``launch.json``, starts the supervisor in a new
  session and returns RUNNING with ``backend_ref`` ``"<supervisor pid>:<start ticks>"``;
- ``poll`` needs nothing but the ``AttemptRef``, so it works from a new backend object in a new
  process: a terminal ``status.json`` is the truth; else a live supervisor (same pid, same start
  ticks, not a zombie) means RUNNING; else NODE_FAIL: the orphaned job's process group is killed
  and NODE_FAIL is written to ``status.json`` so that every later poll agrees;
- ``cancel`` is idempotent: it leaves a ``cancel`` marker and, once the supervisor has shown it is
  ready (``status.json`` exists), sends it SIGTERM; a finished attempt is left alone;
- supervisors this object started are reaped on every call, so none lingers as a zombie;
- the job inherits only the variables named in ``inherit_env`` from the server (never secrets
  such as ``PETAPORT_SECRET_KEY``), plus what ``environment.job_environment`` adds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import petaport
from petaport.backends.environment import cuda_visible_devices, job_environment
from petaport.backends.local import inventory, procfs, records, views
from petaport.domain.errors import RetryLater
from petaport.domain.jobs import JobState
from petaport.services.ports import AttemptLaunch, AttemptRef, AttemptReport, NodeInfo
from petaport.settings import Settings

DEFAULT_INHERITED_ENV = (
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM",
    "SHELL", "TMPDIR", "LD_LIBRARY_PATH", "CUDA_HOME",
)  # fmt: skip
_FALLBACK_PATH = "/usr/local/bin:/usr/bin:/bin"
SUPERVISOR_MODULE = "petaport.backends.local.supervisor"


def parse_backend_ref(backend_ref: str) -> tuple[int, int] | None:
    """``"1234:98765"`` -> ``(1234, 98765)``; None for anything else."""
    pid, sep, ticks = backend_ref.partition(":")
    if not (sep and pid.isdigit() and ticks.isdigit()):
        return None
    return int(pid), int(ticks)


def _iso(when: datetime | None) -> str:
    return (when or datetime.now(UTC)).isoformat()


class LocalBackend:
    name = "local"

    def __init__(
        self,
        node_name: str = "local",
        *,
        cpus: int | None = None,
        memory_mb: int | None = None,
        declared_gpus: int = 0,
        declared_gpu_model: str | None = None,
        use_nvml: bool = True,
        cancel_grace_s: float = 5.0,
        inherit_env: Sequence[str] = DEFAULT_INHERITED_ENV,
        environ: Mapping[str, str] | None = None,
        python: str = sys.executable,
    ) -> None:
        source = os.environ if environ is None else environ
        self._node_name = node_name
        self._cpus, self._memory_mb = cpus, memory_mb
        self._declared = inventory.GpuSet(declared_gpu_model, declared_gpus)
        self._use_nvml = use_nvml
        self._grace_s = cancel_grace_s
        self._base_env = {key: source[key] for key in inherit_env if key in source}
        self._base_env.setdefault("PATH", _FALLBACK_PATH)
        self._supervisor_cmd = [python, "-S", "-m", SUPERVISOR_MODULE]  # no site: faster
        self._supervisor_env = _supervisor_environment(source)
        self._supervisors: dict[int, subprocess.Popen[bytes]] = {}
        self._node: NodeInfo | None = None
        self._unshare: list[str] | bool | None = False  # False: not probed yet

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalBackend:
        return cls(
            settings.local_node_name,
            cpus=settings.local_cpus,
            memory_mb=settings.local_memory_mb,
            declared_gpus=settings.gpus.count,
            declared_gpu_model=settings.gpus.model,
            use_nvml=settings.use_nvml,
            cancel_grace_s=settings.cancel_grace_s,
        )

    # -- Backend protocol ------------------------------------------------------------------

    def launch(self, launch: AttemptLaunch) -> AttemptReport:
        self._reap()
        attempt_dir = launch.attempt_dir.absolute()
        started_at = datetime.now(UTC)
        refusal = self._refusal(launch)
        if refusal:
            return self._refuse(launch, attempt_dir, started_at, refusal)
        self._write_launch(launch, attempt_dir, started_at)
        proc = self._start_supervisor(attempt_dir)
        ticks = procfs.start_ticks(proc.pid) or 0
        return AttemptReport(
            attempt_id=launch.attempt_id,
            state=JobState.RUNNING,
            backend_ref=f"{proc.pid}:{ticks}",
            pid=proc.pid,
            started_at=started_at,
        )

    def poll(self, refs: Sequence[AttemptRef]) -> list[AttemptReport]:
        self._reap()
        return [self._report(ref) for ref in refs]

    def cancel(self, ref: AttemptRef) -> None:
        self._reap()
        status = records.read_status(ref.attempt_dir)
        if records.is_final(status) or not ref.attempt_dir.is_dir():
            return
        (ref.attempt_dir / records.CANCEL_FILE).touch()
        ident = _supervisor_identity(ref, status)
        if ident is not None and procfs.is_alive(*ident):
            if status is not None:  # the supervisor handles SIGTERM once it wrote status.json
                procfs.signal_process(*ident, signal.SIGTERM)
            return
        status = records.read_status(ref.attempt_dir)
        if not records.is_final(status):
            self._kill_orphan(status)

    def inventory(self) -> list[NodeInfo]:
        if self._node is None:
            self._node = inventory.local_node(
                self._node_name,
                cpus=self._cpus,
                memory_mb=self._memory_mb,
                declared=self._declared,
                use_nvml=self._use_nvml,
            )
        return [self._node]

    def close(self) -> None:
        """Reap what has ended; running supervisors and their jobs are left running."""
        self._reap()
        self._supervisors.clear()

    # -- launching -------------------------------------------------------------------------

    def _refusal(self, launch: AttemptLaunch) -> str:
        if len(launch.allocations) > 1 or launch.spec.nodes > 1:
            return "the local backend runs single-node attempts only"
        working_dir = launch.spec.working_dir
        if working_dir is not None and not Path(working_dir).is_dir():
            return f"working directory {working_dir} does not exist"
        return ""

    def _refuse(
        self, launch: AttemptLaunch, attempt_dir: Path, started_at: datetime, detail: str
    ) -> AttemptReport:
        status = records.new_status(launch.attempt_id, _iso(started_at))
        records.mark_final(status, JobState.FAILED.value, None, detail)
        attempt_dir.mkdir(parents=True, exist_ok=True)
        records.write_status(attempt_dir, status)
        return _report_from_status(launch.attempt_id, "", status)

    def _write_launch(self, launch: AttemptLaunch, attempt_dir: Path, started_at: datetime) -> None:
        attempt_dir.mkdir(parents=True, exist_ok=True)
        cwd = launch.spec.working_dir or str(attempt_dir / "work")
        os.makedirs(cwd, exist_ok=True)
        argv = list(launch.spec.command)
        if launch.spec.script is not None:
            script = attempt_dir / records.SCRIPT_FILE
            script.write_text(launch.spec.script, encoding="utf-8")
            script.chmod(0o700)
            argv = ["/bin/bash", str(script)]
        allocation = launch.allocations[0] if launch.allocations else None
        view_root = None
        if launch.spec.uses:  # catalogue entries: read-only views, named by variables
            argv = views.prepare(launch.spec, attempt_dir, argv, self._mount_prefix())
            view_root = str(views.view_root(attempt_dir))
        record = records.LaunchRecord(
            version=records.FORMAT_VERSION,
            attempt_id=launch.attempt_id,
            job_id=launch.job_id,
            argv=argv,
            env=job_environment(launch, allocation, self._base_env, view_root),
            cwd=cwd,
            cuda_visible_devices=cuda_visible_devices(allocation),
            memory_limit_mb=launch.spec.memory_mb,
            walltime_s=launch.spec.walltime_s,
            grace_s=self._grace_s,
            started_at=_iso(started_at),
        )
        records.write_json_atomic(attempt_dir / records.LAUNCH_FILE, record)

    def _mount_prefix(self) -> list[str] | None:
        if self._unshare is False:
            self._unshare = views.unshare_prefix()
        return self._unshare if isinstance(self._unshare, list) else None

    def _start_supervisor(self, attempt_dir: Path) -> subprocess.Popen[bytes]:
        try:
            with open(attempt_dir / records.SUPERVISOR_LOG, "ab") as log:
                proc = subprocess.Popen(
                    [*self._supervisor_cmd, str(attempt_dir)],
                    cwd=attempt_dir,
                    env=self._supervisor_env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                    close_fds=True,
                )
        except OSError as exc:
            raise RetryLater(f"could not start the attempt supervisor: {exc}") from exc
        self._supervisors[proc.pid] = proc
        return proc

    # -- polling ---------------------------------------------------------------------------

    def _report(self, ref: AttemptRef) -> AttemptReport:
        status = records.read_status(ref.attempt_dir)
        if status is not None and records.is_final(status):
            return _report_from_status(ref.attempt_id, ref.backend_ref, status)
        ident = _supervisor_identity(ref, status)
        if ident is not None and procfs.is_alive(*ident):
            return _running_report(ref, status, ident[0])
        status = records.read_status(ref.attempt_dir)  # it may have ended since the first read
        if status is not None and records.is_final(status):
            return _report_from_status(ref.attempt_id, ref.backend_ref, status)
        return self._record_vanished(ref, status)

    def _record_vanished(
        self, ref: AttemptRef, status: records.StatusRecord | None
    ) -> AttemptReport:
        killed = self._kill_orphan(status)
        record = status or records.new_status(ref.attempt_id, _iso(ref.started_at))
        detail = "supervisor vanished" + ("; its job was killed" if killed else "")
        records.mark_final(record, JobState.NODE_FAIL.value, None, detail)
        with contextlib.suppress(OSError):  # a vanished attempt_dir: report, nothing to record
            records.write_status(ref.attempt_dir, record)
        return _report_from_status(ref.attempt_id, ref.backend_ref, record)

    def _kill_orphan(self, status: records.StatusRecord | None) -> bool:
        if status is None or status["child_pid"] is None:
            return False
        return procfs.kill_orphaned_group(status["child_pid"], status["child_start_ticks"])

    def _reap(self) -> None:
        for pid, proc in list(self._supervisors.items()):
            if proc.poll() is not None:
                self._supervisors.pop(pid, None)


def _supervisor_identity(
    ref: AttemptRef, status: records.StatusRecord | None
) -> tuple[int, int] | None:
    """``(pid, start ticks)`` of the attempt's supervisor: from the ref, else from status.json.

    The fallback covers a service that crashed after launching but before storing the ref.
    """
    ident = parse_backend_ref(ref.backend_ref)
    if ident is None and status is not None:
        pid, ticks = status["supervisor_pid"], status["supervisor_start_ticks"]
        ident = None if pid is None or ticks is None else (pid, ticks)
    return ident


def _supervisor_environment(source: Mapping[str, str]) -> dict[str, str]:
    """The server's environment, with this package importable however it was installed.

    The supervisor runs with ``python -S`` (no site: it starts faster), so ``PYTHONPATH`` names
    the directory holding ``petaport``.
    """
    env = dict(source)
    package_root = str(Path(petaport.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def _running_report(
    ref: AttemptRef, status: records.StatusRecord | None, supervisor_pid: int
) -> AttemptReport:
    if status is None:  # the supervisor is still starting: launch.json has the start time
        launch = records.read_launch(ref.attempt_dir)
        started_at = records.parse_time(launch["started_at"]) if launch else ref.started_at
    else:
        started_at = records.parse_time(status["started_at"])
    child_pid = status["child_pid"] if status else None
    return AttemptReport(
        attempt_id=ref.attempt_id,
        state=JobState.RUNNING,
        backend_ref=ref.backend_ref,
        pid=child_pid or supervisor_pid,
        started_at=started_at,
    )


def _report_from_status(
    attempt_id: str, backend_ref: str, status: records.StatusRecord
) -> AttemptReport:
    return AttemptReport(
        attempt_id=attempt_id,
        state=JobState(status["state"]),
        backend_ref=backend_ref,
        pid=status["child_pid"] or status["supervisor_pid"],
        started_at=records.parse_time(status["started_at"]),
        ended_at=records.parse_time(status["ended_at"]),
        exit_code=status["exit_code"],
        detail=status["detail"],
    )
