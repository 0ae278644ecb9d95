"""The slurm backend: Petaport admits, Slurm places and runs (docs/backends/slurm.md).

Invariants:
- only attempts Petaport's scheduler admitted reach Slurm, on the nodes it chose
  (``--nodelist``) with the GPU count it chose (``--gres``);
- ``backend_ref`` is the Slurm job id; the job name is ``petaport-<attempt id>``;
- ``launch`` looks the name up before it submits, and after a failed or timed-out ``sbatch``:
  an attempt is never submitted twice;
- ``poll`` reads exactly the attempts' jobs: one ``squeue`` text call by job id (and one by
  name for attempts whose job id was never recorded), then ``sacct`` for those squeue no longer
  shows; it needs nothing but the refs: an empty ``backend_ref`` (the service crashed between
  ``sbatch`` and recording it) is found by name; an attempt not found is NODE_FAIL, unless its
  batch script was written so recently that an ``sbatch`` may still be under way; a job the
  controller no longer knows and accounting does not show as ended is NODE_FAIL, so Petaport
  requeues it if the spec allows;
  so is a job Slurm holds back because a node Petaport chose is down, drained or gone
  (checked with sinfo: a node only finishing its last jobs also holds a job back with
  ``ReqNodeNotAvail`` for a moment), or that has looked held back for ``STUCK_GRACE_S``
  (it is cancelled first: Petaport places it again);
- ``started_at`` is the launch time the service stored (as for every backend), ``ended_at``
  Slurm's end time, never before ``started_at``;
- ``cancel`` is ``scancel``; cancelling an ended or unknown job is harmless. It also leaves a
  ``cancel`` marker in the attempt directory, so an attempt cancelled while its ``sbatch`` is
  still under way (no job id yet) is cancelled as soon as ``launch`` or ``poll`` sees its id;
- ``launch`` may run from ``launch_concurrency`` threads at once (``ConcurrentLaunches``);
- every attempt launched or polled as still running is watched for its end notice
  (``end_notices.py``): ``noticed_ends`` says which to poll now, the poll of those few asks
  Slurm about each by its job id (a one-job ``squeue``: slurmctld packs only that job), and
  only Slurm's answer ends an attempt.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from petaport.backends.slurm import accounting, associations, states, submission
from petaport.backends.slurm.end_notices import EndNotices
from petaport.backends.slurm.job_user import JobUser
from petaport.backends.slurm.listing import SlurmListing, script_written
from petaport.backends.slurm.node_watch import NodeWatch
from petaport.backends.slurm.nodes import (
    choose_partition,
)
from petaport.backends.slurm.runner import SlurmCommandFailed, SlurmRunner
from petaport.backends.slurm.states import SlurmJob
from petaport.domain.errors import Conflict, RetryLater
from petaport.domain.jobs import JobState
from petaport.domain.usage import MeasuredUsage
from petaport.services.ports import AttemptLaunch, AttemptRef, AttemptReport, NodeInfo
from petaport.services.slurm_ports import Tenancy
from petaport.settings import Settings

DEFAULT_INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "USER", "LOGNAME")
_FALLBACK_PATH = "/usr/local/bin:/usr/bin:/bin"
DRY_RUN_REF = "dry-run"
SUBMIT_MARGIN_S = 15.0  # beyond the command timeout: Slurm's own message timeout is 10 s


CANCEL_FILE = "cancel"


def _mark_cancelled(attempt_dir: Path) -> None:
    with contextlib.suppress(OSError):
        attempt_dir.mkdir(parents=True, exist_ok=True)
        (attempt_dir / CANCEL_FILE).touch()


def _cancel_requested(attempt_dir: Path) -> bool:
    return (attempt_dir / CANCEL_FILE).exists()


class SlurmBackend:
    name = "slurm"

    def __init__(
        self,
        runner: SlurmRunner | None = None,
        *,
        partition: str | None = None,
        account: str | None = None,
        qos: Mapping[str, str] | None = None,
        gpu_binding: submission.GpuBinding = "petaport",
        default_gpu_model: str | None = None,
        inherit_env: Sequence[str] = DEFAULT_INHERITED_ENV,
        environ: Mapping[str, str] | None = None,
        lookup_days: int = 30,
        job_user: JobUser | None = None,
        launch_concurrency: int = 8,
    ) -> None:
        self.runner = runner or SlurmRunner()
        source = os.environ if environ is None else environ
        self._partition = partition
        self._account = account
        self._qos = dict(qos or {})
        self._gpu_binding = gpu_binding
        self._default_model = default_gpu_model
        self._base_env = {key: source[key] for key in inherit_env if key in source}
        self._base_env.setdefault("PATH", _FALLBACK_PATH)
        self._job_user = job_user  # None: jobs run as the server's user
        self._base_env.update(job_user.environment() if job_user else {})
        self.listing = SlurmListing(self.runner, lookup_days)
        self.launch_concurrency = launch_concurrency
        self._watch = NodeWatch(lambda: self._json("sinfo", "--json"))
        self._cancel_sent: set[str] = set()
        self._notices = EndNotices()

    @classmethod
    def from_settings(cls, settings: Settings) -> SlurmBackend:
        st = settings.slurm
        runner = SlurmRunner(
            bin_dir=st.bin_dir, conf=st.conf, timeout_s=st.command_timeout_s, dry_run=st.dry_run
        )
        return cls(
            runner,
            partition=st.partition,
            account=st.account,
            qos=st.qos,
            gpu_binding=st.gpu_binding,
            default_gpu_model=settings.gpus.model,
            lookup_days=st.lookup_days,
            job_user=JobUser.lookup(st.job_user) if st.job_user else None,
            launch_concurrency=st.launch_concurrency,
        )

    # -- Backend protocol ------------------------------------------------------------------

    def launch(self, launch: AttemptLaunch) -> AttemptReport:
        started_at = datetime.now(UTC)
        found = self.listing.find_by_name(launch.attempt_id, launch.attempt_dir)
        if found is not None:  # submitted before a crash: adopt it, never submit twice
            self._notices.watch(launch.attempt_id, launch.attempt_dir)
            return self._report(launch.attempt_id, found, started_at)
        try:
            sub = self._submission(launch)
        except ValueError as exc:
            return AttemptReport(
                launch.attempt_id, JobState.FAILED, "", started_at=started_at,
                ended_at=started_at, detail=str(exc),
            )  # fmt: skip
        self._write_files(launch, sub)
        try:
            out = self.runner.run("sbatch", *sub.argv)
        except SlurmCommandFailed as exc:
            return AttemptReport(
                launch.attempt_id, JobState.FAILED, "", started_at=started_at,
                ended_at=started_at, detail=f"sbatch refused the job: {exc.message}",
            )  # fmt: skip
        except RetryLater:
            # it may have been submitted after all
            found = self.listing.find_by_name(launch.attempt_id, launch.attempt_dir)
            if found is None:
                raise
            return self._report(launch.attempt_id, found, started_at)
        if self.runner.dry_run:
            return AttemptReport(
                launch.attempt_id, JobState.RUNNING, DRY_RUN_REF, started_at=started_at,
                detail="dry run: sbatch was printed, not run",
            )  # fmt: skip
        job_id = submission.parse_job_id(out)
        self._notices.watch(launch.attempt_id, launch.attempt_dir)
        if _cancel_requested(launch.attempt_dir):  # cancelled while sbatch ran
            self._scancel(job_id)
        return AttemptReport(
            launch.attempt_id,
            JobState.RUNNING,
            job_id,
            started_at=started_at,
            detail=f"slurm job {job_id} submitted",
        )

    def poll(self, refs: Sequence[AttemptRef]) -> list[AttemptReport]:
        if not refs:
            return []
        ids = {ref.attempt_id: ref.backend_ref for ref in refs if ref.backend_ref.isdigit()}
        live = self.listing.squeue(job_ids=sorted(set(ids.values())))
        unrecorded = [r for r in refs if not r.backend_ref and script_written(r.attempt_dir)]
        if unrecorded:  # the service died between sbatch and recording its job id
            live.update(
                self.listing.squeue(names=[states.job_name(r.attempt_id) for r in unrecorded])
            )
        for ref in unrecorded:
            found = self.listing.find_by_name(ref.attempt_id, ref.attempt_dir, live)
            if found is not None:
                ids[ref.attempt_id] = found.job_id
        missing = [job_id for job_id in ids.values() if job_id not in live]
        ended = self.listing.sacct(missing) if missing else {}
        reports = [self._poll_one(ref, ids.get(ref.attempt_id), live, ended) for ref in refs]
        self._watch.forget([job_id for job_id in ids.values() if job_id not in live])
        self._notices.forget(r.attempt_id for r in reports if r.state.is_terminal)
        for ref, report in zip(refs, reports, strict=True):
            if not report.state.is_terminal:
                self._notices.watch(ref.attempt_id, ref.attempt_dir)
        return reports

    def noticed_ends(self) -> set[str]:
        """Attempts whose batch script says the command exited (``EndNotices``): poll them."""
        return self._notices.claim_due()

    def _poll_one(
        self,
        ref: AttemptRef,
        job_id: str | None,
        live: Mapping[str, SlurmJob],
        ended: Mapping[str, SlurmJob],
    ) -> AttemptReport:
        if ref.backend_ref == DRY_RUN_REF:
            return AttemptReport(ref.attempt_id, JobState.RUNNING, DRY_RUN_REF)
        if job_id is None:
            if self._maybe_submitting(ref.attempt_dir):
                return AttemptReport(
                    ref.attempt_id, JobState.RUNNING, "", started_at=ref.started_at,
                    detail="being submitted to Slurm",
                )  # fmt: skip
            return self._lost(ref, "", "it never reached Slurm")
        if job_id in live:
            job = live[job_id]
            if states.is_stuck(job) and self._watch.cannot_start(job):
                why = f"Slurm cannot run job {job_id} where Petaport placed it ({job.reason})"
                return self._lost(ref, job_id, why)
            asked = job_id not in self._cancel_sent and _cancel_requested(ref.attempt_dir)
            if job.is_live and asked:  # cancelled before its job id was known
                self._scancel(job_id)
            return self._report(ref.attempt_id, job, ref.started_at)
        if job_id in ended and not ended[job_id].is_live:
            return self._report(ref.attempt_id, ended[job_id], ref.started_at)
        if job_id in ended:
            said = ended[job_id].slurm_state
            why = f"the controller lost job {job_id} (accounting says {said})"
            return self._lost(ref, job_id, why, ended[job_id].start)
        return self._lost(ref, job_id, f"Slurm has no record of job {job_id}")

    def cancel(self, ref: AttemptRef) -> None:
        _mark_cancelled(ref.attempt_dir)  # a launch still under way cancels what it submits
        job_id = ref.backend_ref
        if job_id == DRY_RUN_REF:
            return
        if not job_id.isdigit():
            found = self.listing.find_by_name(ref.attempt_id, ref.attempt_dir)
            if found is None:
                return
            job_id = found.job_id
        self._scancel(job_id)

    def inventory(self) -> list[NodeInfo]:
        """The nodes that can take work now (DOWN, DRAINED or failing nodes are left out)."""
        nodes = self._watch.refresh()
        usable = [n for n in nodes if n.usable]
        usable.sort(key=lambda n: (n.gpus == 0, n.name))  # GPU nodes first: the pool's shape
        return [
            NodeInfo(
                name=n.name,
                gpu_model=(n.gpu_type or self._default_model or "gpu") if n.gpus else None,
                gpu_indices=tuple(range(n.gpus)),
                cpus=n.cpus,
                memory_mb=n.memory_mb,
            )
            for n in usable
        ]

    def close(self) -> None:
        """Nothing held: Slurm keeps running the jobs."""

    # -- capabilities (services/slurm_ports.py) ----------------------------------------------

    def usage_since(self, since: datetime) -> list[MeasuredUsage]:
        """Ended Petaport jobs in Slurm's accounting that were running at or after ``since``."""
        return accounting.parse_usage(self.runner.run("sacct", *accounting.usage_argv(since)))

    def sync_associations(self, desired: Tenancy, *, dry_run: bool) -> list[tuple[str, ...]]:
        """Plan against what ``sacctmgr show`` says now, then run the plan (unless dry)."""
        reads = (associations.READ_ASSOCIATIONS, associations.READ_QOS, associations.READ_USERS)
        current = associations.parse_current(*(self.runner.run("sacctmgr", *r) for r in reads))
        commands = associations.plan(desired, current, self._qos)
        for argv in [] if dry_run else commands:
            try:
                self.runner.run("sacctmgr", *argv)
            except SlurmCommandFailed as exc:
                why = f"sacctmgr refused {' '.join(argv)}: {exc.message}"
                raise Conflict(why, code="slurm_sync_failed") from exc
        return [("sacctmgr", *argv) for argv in commands]

    # -- helpers ---------------------------------------------------------------------------

    def _scancel(self, job_id: str) -> None:
        try:
            self.runner.run("scancel", job_id)
        except SlurmCommandFailed as exc:
            if "invalid job id" in exc.message.lower() or "already" in exc.message.lower():
                return  # ended, or long gone: nothing to stop
            raise RetryLater(f"scancel {job_id}: {exc.message}") from exc
        self._cancel_sent.add(job_id)

    def _submission(self, launch: AttemptLaunch) -> submission.Submission:
        nodes = [a.node for a in launch.allocations]
        if unknown := self._watch.unknown(nodes):
            raise ValueError(f"Slurm has no node {', '.join(unknown)}")
        partition = self._partition or choose_partition(
            nodes, {name: node.partitions for name, node in self._watch.nodes.items()}
        )
        if nodes and partition is None:
            raise ValueError(f"no Slurm partition holds all of {', '.join(nodes)}")
        if self._job_user and (why := self._job_user.unreachable(launch.attempt_dir)):
            raise ValueError(why)  # Slurm could not even open the job's log files there
        gpu_type = None
        if launch.spec.gpu_model and nodes:
            gpu_type = self._watch.nodes[nodes[0]].gpu_type
        return submission.build_submission(
            launch,
            base_env=self._base_env,
            partition=partition,
            account=self._account,
            qos=self._qos.get(launch.spec.qos.value),
            gpu_type=gpu_type,
            gpu_binding=self._gpu_binding,
            srun=self.runner.binary("srun"),
            job_user=self._job_user,
        )

    def _write_files(self, launch: AttemptLaunch, sub: submission.Submission) -> None:
        attempt_dir = launch.attempt_dir.absolute()
        attempt_dir.mkdir(parents=True, exist_ok=True)
        if launch.spec.working_dir is None:
            (attempt_dir / "work").mkdir(exist_ok=True)
        if sub.user_script is not None:
            user_script = attempt_dir / submission.USER_SCRIPT_NAME
            user_script.write_text(sub.user_script, encoding="utf-8")
            user_script.chmod(0o700)
        script = Path(sub.script_path)
        script.write_text(sub.script, encoding="utf-8")
        script.chmod(0o700)
        if self._job_user is not None:  # its logs, work and scripts: the job user's own
            names = (submission.SCRIPT_NAME, submission.USER_SCRIPT_NAME, "work")
            self._job_user.hand_over(attempt_dir, names)

    def _maybe_submitting(self, attempt_dir: Path) -> bool:
        """An sbatch for this attempt may still be under way (the service that ran it may have
        died): its script was written less than a command timeout (plus a margin) ago."""
        try:
            written = (attempt_dir / submission.SCRIPT_NAME).stat().st_mtime
        except OSError:
            return False  # no script: sbatch never ran
        return time.time() - written < self.runner.timeout_s + SUBMIT_MARGIN_S

    def _json(self, name: str, *args: str) -> dict[str, Any]:
        text = self.runner.run(name, *args)
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RetryLater(f"{name} printed no JSON: {text[:200]!r}") from exc
        if not isinstance(data, dict):
            raise RetryLater(f"{name} printed unexpected JSON")
        return data

    def _report(self, attempt_id: str, job: SlurmJob, started_at: datetime | None) -> AttemptReport:
        started = started_at or job.start or datetime.now(UTC)
        ended = None
        if not job.is_live:
            ended = max(job.end or datetime.now(UTC), started)
        return AttemptReport(
            attempt_id=attempt_id,
            state=job.state,
            backend_ref=job.job_id,
            started_at=started,
            ended_at=ended,
            exit_code=job.reported_exit_code,
            detail=job.detail(),
        )

    def _lost(
        self, ref: AttemptRef, job_id: str, why: str, start: datetime | None = None
    ) -> AttemptReport:
        started = ref.started_at or start or datetime.now(UTC)
        if job_id:
            # make sure a job Slurm half-forgot does not run on unseen
            with contextlib.suppress(SlurmCommandFailed, RetryLater):
                self.runner.run("scancel", job_id)
        return AttemptReport(
            attempt_id=ref.attempt_id,
            state=JobState.NODE_FAIL,
            backend_ref=job_id or ref.backend_ref,
            started_at=started,
            ended_at=max(datetime.now(UTC), started),
            detail=why,
        )
