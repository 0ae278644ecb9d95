"""What Slurm says about Petaport's jobs: ``squeue`` (parsable text) for exactly the jobs asked
for, ``sacct`` for those the controller no longer shows, and a job found again by its name.

Invariants:
- ``squeue`` is never run without ``--jobs`` or ``--name``: a poll reads Petaport's running
  attempts (about 100 bytes each), never the whole queue (``--json`` in 22.05 ignores both
  filters and prints about 4 KB per job of every user);
- ``-t all``: a job that ended within ``MinJobAge`` is still listed, with its exit status;
- up to ``ONE_BY_ONE`` job ids are asked for one by one, ``PARALLEL`` calls at a time: with a
  single id squeue asks the controller for that job alone, where any longer list makes
  slurmctld pack every job it holds and squeue filter them (6 ms against 50-70 ms with 3,500
  jobs in the controller, and 0.3-1.4 s on a loaded host);
- a job is found by name only if its batch script exists (``launch`` writes it before
  ``sbatch``): without the script nothing was ever submitted and nothing is asked of Slurm;
  with several jobs of one name, a live one first, then the newest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from petaport.backends.slurm import states, submission
from petaport.backends.slurm.runner import SlurmCommandFailed, SlurmRunner
from petaport.backends.slurm.states import SlurmJob

CHUNK = 2000  # job ids or names per squeue call: its one argument stays far below 128 KiB
ONE_BY_ONE = 16  # up to this many job ids: one single-job squeue each
PARALLEL = 8  # single-job squeue calls under way at once


def script_written(attempt_dir: Path) -> bool:
    """``launch`` writes the batch script before ``sbatch``: without it nothing was submitted."""
    return (attempt_dir / submission.SCRIPT_NAME).exists()


def _starts(items: Sequence[str]) -> range:
    return range(0, len(items), CHUNK)


class SlurmListing:
    def __init__(self, runner: SlurmRunner, lookup_days: int) -> None:
        self.runner = runner
        self.lookup_days = lookup_days

    def squeue(
        self, *, job_ids: Sequence[str] = (), names: Sequence[str] = ()
    ) -> dict[str, SlurmJob]:
        """These jobs (by id, by name) as the controller shows them, recently ended ones too."""
        by_id = [job_ids] if len(job_ids) > ONE_BY_ONE else [[job_id] for job_id in job_ids]
        calls = [
            states.squeue_argv(job_ids=ids[i : i + CHUNK]) for ids in by_id for i in _starts(ids)
        ]
        calls += [states.squeue_argv(names=names[i : i + CHUNK]) for i in _starts(names)]
        if len(calls) <= 1:
            listings = [self._listed(argv) for argv in calls]
        else:
            with ThreadPoolExecutor(min(PARALLEL, len(calls))) as pool:
                listings = list(pool.map(self._listed, calls))
        return {job_id: job for jobs in listings for job_id, job in jobs.items()}

    def _listed(self, argv: Sequence[str]) -> dict[str, SlurmJob]:
        try:
            return states.parse_squeue(self.runner.run("squeue", *argv))
        except SlurmCommandFailed as exc:
            if "invalid job id" not in exc.message.lower():
                raise  # (squeue exits 1 when its only id is one the controller forgot)
            return {}

    def sacct(self, job_ids: Sequence[str]) -> dict[str, SlurmJob]:
        """Accounting's record of these jobs (the newest record of each id)."""
        jobs: dict[str, SlurmJob] = {}
        for i in _starts(job_ids):
            argv = states.sacct_argv(job_ids[i : i + CHUNK])
            jobs.update(states.parse_sacct(self.runner.run("sacct", *argv)))
        return jobs

    def find_by_name(
        self, attempt_id: str, attempt_dir: Path, live: Mapping[str, SlurmJob] | None = None
    ) -> SlurmJob | None:
        """The Slurm job of this attempt, if one was ever submitted: in ``live`` (or what
        squeue shows by that name), else in accounting over ``lookup_days``."""
        if not script_written(attempt_dir):
            return None
        name = states.job_name(attempt_id)
        jobs = self.squeue(names=[name]) if live is None else live
        matches = [job for job in jobs.values() if job.name == name]
        if not matches:
            out = self.runner.run(
                "sacct", "-P", "-n", "-X", f"--name={name}",
                f"--starttime=now-{self.lookup_days}days",
                f"--format={','.join(states.SACCT_FIELDS)}",
            )  # fmt: skip
            matches = [job for job in states.parse_sacct(out).values() if job.name == name]
        if not matches:
            return None
        return max(matches, key=lambda job: (job.is_live, int(job.job_id)))
