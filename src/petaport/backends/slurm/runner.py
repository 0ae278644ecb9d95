"""Runs Slurm's client commands: one binary directory, one ``SLURM_CONF``, a timeout each.

Invariants:
- commands are argument lists (never a shell);
- a command that cannot run, times out or reports that the controller or the database is
  unreachable raises ``RetryLater``; any other failure raises ``SlurmCommandFailed`` with
  Slurm's message;
- ``sbatch`` runs with a scrubbed environment (``PATH`` and the ``SLURM_*`` variables only):
  with ``--export=ALL`` that is all a job inherits from the server, so no secret of the server
  reaches a job, and Slurm never has to load a login environment on the node (what
  ``--export=NIL``/``NONE`` make slurmd do, one ``su -`` per job, serialised);
- in dry-run mode the commands that change something (``sbatch``, ``scancel``, ``sacctmgr``
  other than ``show``/``list``) are printed, not run; the ones that only read still run.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from petaport.domain.errors import RetryLater

MUTATING = frozenset({"sbatch", "scancel", "scontrol", "sacctmgr"})
READING = frozenset({"show", "list"})  # sacctmgr/scontrol verbs that change nothing
_TRANSIENT = (
    "unable to contact slurm controller",
    "socket timed out",
    "connection refused",
    "slurm temporarily unable",
    "slurmdbd",
    "persistent connection",
    "communication connection failure",
    "zero bytes were transmitted",
    "try again",
)


class SlurmCommandFailed(Exception):
    """A Slurm command said no for a reason that retrying will not change."""

    def __init__(self, argv: Sequence[str], returncode: int, message: str) -> None:
        super().__init__(f"{shlex.join(argv)} exited {returncode}: {message}")
        self.argv = tuple(argv)
        self.returncode = returncode
        self.message = message


@dataclass
class SlurmRunner:
    bin_dir: Path | None = None
    conf: Path | None = None
    timeout_s: float = 30.0
    dry_run: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    out: TextIO = field(default_factory=lambda: sys.stderr)
    printed: list[tuple[str, ...]] = field(default_factory=list)
    run_process: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run

    def binary(self, name: str) -> str:
        return str(self.bin_dir / name) if self.bin_dir else name

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in self.environ.items() if not k.startswith("PETAPORT_")}
        if self.conf is not None:
            env["SLURM_CONF"] = str(self.conf)
        env["SLURM_TIME_FORMAT"] = "%s"  # epoch seconds from sacct: no time zone guessing
        return env

    def submit_env(self) -> dict[str, str]:
        """What ``sbatch`` (and so, with ``--export=ALL``, the job) sees of the server's
        environment: ``PATH`` and ``SLURM_*``, nothing else (the batch script sets the rest)."""
        env = {k: v for k, v in self.environ.items() if k.startswith("SLURM_")}
        env["PATH"] = self.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        if self.conf is not None:
            env["SLURM_CONF"] = str(self.conf)
        return env

    def run(self, name: str, *args: str, input_text: str | None = None) -> str:
        """Run ``name args...``; its stdout. Dry run: print a changing command, return ``""``."""
        argv = (self.binary(name), *args)
        if self.dry_run and name in MUTATING and not READING & set(args[:4]):
            self.printed.append(argv)
            print(f"[dry-run] {shlex.join(argv)}", file=self.out, flush=True)
            return ""
        try:
            done = self.run_process(
                argv,
                input=input_text,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                env=self.submit_env() if name == "sbatch" else self.env(),
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RetryLater(f"{name} did not answer within {self.timeout_s:g} s") from exc
        except OSError as exc:
            raise RetryLater(f"cannot run {argv[0]}: {exc}") from exc
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip()
            if any(word in message.lower() for word in _TRANSIENT):
                raise RetryLater(f"{name}: {message}")
            raise SlurmCommandFailed(argv, done.returncode, message)
        return done.stdout
