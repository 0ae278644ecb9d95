"""The per-attempt supervisor: ``python -m petaport.backends.local.supervisor <attempt_dir>``.

The local backend starts one supervisor per attempt in a new session, so it outlives the server
(``kill -9`` included), like Slurm's slurmstepd or containerd's shim. It reads ``launch.json``,
starts the job, watches it and records the outcome in ``status.json`` (see ``records``).

Invariants:
- the job is started with ``posix_spawn`` in its own session and process group (pgid == job
  pid), stdin from /dev/null, every signal at its default action; the supervisor is a child
  subreaper where the kernel allows, so the job's orphaned descendants stay its children and are
  reaped rather than left as zombies;
- ``status.json`` is written RUNNING right after the job is spawned, and a terminal state exactly
  once, after the job's main process is reaped and its leftover processes are killed;
- outcomes: memory over the limit (summed RSS of the job's processes, polled every ~100 ms)
  -> SIGKILL, OUT_OF_MEMORY; walltime reached -> SIGTERM, SIGKILL after the grace, TIMEOUT;
  SIGTERM to the supervisor or a ``cancel`` marker -> the same, CANCELLED; otherwise exit code 0
  -> COMPLETED, else FAILED. A signal death is exit code 128 + signum, as shells report it.

Standard library and the two sibling modules only (no ``subprocess``, no ``pathlib``): the
backend runs it as ``python -S -m``, and the job should start within ~50 ms of ``launch``.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

from petaport.backends.local import procfs, records

POLL_S = 0.1  # memory sampling period; also the longest the loop sleeps
DRAIN_S = 2.0  # how long to wait for leftover processes after SIGKILL
MIB = 1024 * 1024
_PR_SET_CHILD_SUBREAPER = 36
# The job starts with every signal at its default action and none blocked.
_DEFAULT_SIGNALS = frozenset(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}


class _Signals:
    """SIGTERM/SIGINT ask to cancel; SIGCHLD and every handled signal wake ``wait``."""

    def __init__(self) -> None:
        self.terminate = False
        self._read_fd, write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(write_fd, False)
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._on_terminate)
        signal.signal(signal.SIGINT, self._on_terminate)
        signal.signal(signal.SIGHUP, self._on_wake)
        signal.signal(signal.SIGCHLD, self._on_wake)

    def _on_terminate(self, signum: int, frame: object) -> None:
        self.terminate = True

    def _on_wake(self, signum: int, frame: object) -> None:
        return None

    def wait(self, timeout_s: float) -> None:
        """Sleep up to ``timeout_s``, returning early when any handled signal arrives."""
        if timeout_s > 0:
            select.select([self._read_fd], [], [], timeout_s)
        try:
            while os.read(self._read_fd, 512):
                pass
        except BlockingIOError:
            return


def _become_subreaper() -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _exit_code(wait_status: int) -> int:
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code


def _failure_detail(code: int) -> str:
    if code > 128 and code - 128 in signal.valid_signals():
        return f"killed by signal {signal.Signals(code - 128).name} (exit code {code})"
    return f"exited with code {code}"


class Supervisor:
    def __init__(self, attempt_dir: str) -> None:
        self.dir = os.path.abspath(attempt_dir)
        self.signals = _Signals()
        self.child: int | None = None  # the job's pid, which is also its process group
        self.wait_status: int | None = None
        self.reason: str | None = None  # CANCELLED, TIMEOUT or OUT_OF_MEMORY once decided
        self.reason_detail = ""
        self.deadline: float | None = None
        self.kill_at: float | None = None
        self.next_memory_check = 0.0
        self.peak_rss_bytes = 0
        self.status: records.StatusRecord | None = None

    def run(self) -> int:
        _become_subreaper()
        launch = records.read_launch(self.dir)
        if launch is None:
            self._write_orphan_failure("launch.json is missing or unreadable")
            return 1
        self.status = self._initial_status(launch)
        if self._cancel_requested():
            self._end("CANCELLED", None, "cancelled before it started")
            return 0
        try:
            self.child = self._spawn(launch)
        except OSError as exc:
            code = 127 if isinstance(exc, FileNotFoundError) else 126
            self._end("FAILED", code, f"could not start: {exc}")
            return 0
        try:
            self._watch(launch)
        except Exception as exc:
            self._abandon(exc)
            raise
        return 0

    def _initial_status(self, launch: records.LaunchRecord) -> records.StatusRecord:
        status = records.new_status(launch["attempt_id"], launch["started_at"])
        status["supervisor_pid"] = os.getpid()
        status["supervisor_start_ticks"] = procfs.start_ticks(os.getpid())
        return status

    def _spawn(self, launch: records.LaunchRecord) -> int:
        """Start the job in a new session, in its working directory, with its output logged."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        out_fd = os.open(os.path.join(self.dir, "stdout.log"), flags, 0o644)
        err_fd = os.open(os.path.join(self.dir, "stderr.log"), flags, 0o644)
        try:
            os.chdir(launch["cwd"])  # the supervisor's own directory does not matter
            os.environ["PATH"] = launch["env"].get("PATH", os.defpath)  # what spawnp searches
            child = os.posix_spawnp(
                launch["argv"][0],
                launch["argv"],
                launch["env"],
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, out_fd, 1),
                    (os.POSIX_SPAWN_DUP2, err_fd, 2),
                ],
                setsid=True,
                setsigmask=(),
                setsigdef=_DEFAULT_SIGNALS,
            )
        finally:
            os.close(out_fd)
            os.close(err_fd)
        assert self.status is not None
        self.status["child_pid"] = child
        self.status["child_start_ticks"] = procfs.start_ticks(child)
        self.status["spawned_at"] = records.utc_now_iso()
        records.write_status(self.dir, self.status)
        return child

    def _watch(self, launch: records.LaunchRecord) -> None:
        start = time.monotonic()
        walltime_s = launch["walltime_s"]
        self.deadline = None if walltime_s is None else start + walltime_s
        limit_bytes = launch["memory_limit_mb"] * MIB
        while True:
            self._reap()
            if self.wait_status is not None:
                break
            now = time.monotonic()
            self._step(now, launch, limit_bytes)
            self.signals.wait(self._sleep_s(now))
        self._kill_leftovers()
        self._finish(launch, limit_bytes)

    def _reap(self) -> None:
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.child:
                self.wait_status = wait_status

    def _step(self, now: float, launch: records.LaunchRecord, limit_bytes: int) -> None:
        if self.reason is None and self._cancel_requested():
            self._stop("CANCELLED", "cancelled", now, launch["grace_s"])
        if self.reason is None and self.deadline is not None and now >= self.deadline:
            detail = f"walltime of {launch['walltime_s']} s reached"
            self._stop("TIMEOUT", detail, now, launch["grace_s"])
        if now >= self.next_memory_check:
            self.next_memory_check = now + POLL_S
            self._check_memory(launch, limit_bytes)
        if self.kill_at is not None and now >= self.kill_at:
            self.kill_at = None
            self._signal_job(signal.SIGKILL)

    def _cancel_requested(self) -> bool:
        return self.signals.terminate or os.path.exists(os.path.join(self.dir, records.CANCEL_FILE))

    def _stop(self, reason: str, detail: str, now: float, grace_s: float) -> None:
        self.reason, self.reason_detail = reason, detail
        self._signal_job(signal.SIGTERM)
        self.kill_at = now + grace_s

    def _check_memory(self, launch: records.LaunchRecord, limit_bytes: int) -> None:
        rss = sum(p.rss_bytes for p in self._job_processes())
        self.peak_rss_bytes = max(self.peak_rss_bytes, rss)
        if rss <= limit_bytes:
            return
        if self.reason is None:
            self.reason = "OUT_OF_MEMORY"
            self.reason_detail = (
                f"memory use {rss // MIB} MiB exceeded the limit of {launch['memory_limit_mb']} MiB"
            )
        self._signal_job(signal.SIGKILL)

    def _sleep_s(self, now: float) -> float:
        wake = [self.next_memory_check]
        if self.reason is None and self.deadline is not None:
            wake.append(self.deadline)
        if self.kill_at is not None:
            wake.append(self.kill_at)
        return max(0.0, min(POLL_S, min(wake) - now))

    def _job_processes(self) -> list[procfs.ProcStat]:
        assert self.child is not None
        return procfs.job_processes(self.child, os.getpid())

    def _signal_job(self, signum: int) -> None:
        assert self.child is not None
        procfs.signal_processes(self.child, self._job_processes(), signum)

    def _kill_leftovers(self) -> None:
        """The main process is gone: SIGKILL what it left behind and reap it (bounded).

        During a stop, leftovers first get the rest of the grace to exit on their SIGTERM.
        """
        while self.kill_at is not None and time.monotonic() < self.kill_at:
            self._reap()
            if not self._job_processes():
                return
            self.signals.wait(min(POLL_S, self.kill_at - time.monotonic()))
        give_up = time.monotonic() + DRAIN_S
        while time.monotonic() < give_up:
            self._reap()
            leftovers = self._job_processes()
            if not leftovers:
                return
            assert self.child is not None
            procfs.signal_processes(self.child, leftovers, signal.SIGKILL)
            self.signals.wait(0.01)

    def _finish(self, launch: records.LaunchRecord, limit_bytes: int) -> None:
        assert self.wait_status is not None
        code = _exit_code(self.wait_status)
        if self.reason is not None:
            self._end(self.reason, code, self.reason_detail)
        elif code == 128 + signal.SIGKILL and self.peak_rss_bytes * 10 >= limit_bytes * 9:
            detail = (
                f"killed by SIGKILL at {self.peak_rss_bytes // MIB} MiB, near the memory limit "
                f"of {launch['memory_limit_mb']} MiB"
            )
            self._end("OUT_OF_MEMORY", code, detail)
        elif code == 0:
            self._end("COMPLETED", 0, "")
        else:
            self._end("FAILED", code, _failure_detail(code))

    def _end(self, state: str, exit_code: int | None, detail: str) -> None:
        assert self.status is not None
        records.mark_final(self.status, state, exit_code, detail)
        self.status["peak_rss_bytes"] = self.peak_rss_bytes
        records.write_status(self.dir, self.status)

    def _abandon(self, exc: Exception) -> None:
        """A supervisor bug: kill the job rather than leave it unwatched, and say so."""
        if self.child is not None:
            self._signal_job(signal.SIGKILL)
        self._end("NODE_FAIL", None, f"supervisor error: {exc!r}")

    def _write_orphan_failure(self, detail: str) -> None:
        now = records.utc_now_iso()
        self.status = records.new_status(os.path.basename(self.dir), now)
        self.status["supervisor_pid"] = os.getpid()
        self._end("FAILED", None, detail)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m petaport.backends.local.supervisor ATTEMPT_DIR", file=sys.stderr)
        return 2
    return Supervisor(args[0]).run()


if __name__ == "__main__":
    sys.exit(main())
