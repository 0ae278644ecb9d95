"""The slurm backend: Petaport admits jobs, a real Slurm cluster runs them (see ``backend``)."""

from petaport.backends.slurm.backend import SlurmBackend
from petaport.backends.slurm.runner import SlurmCommandFailed, SlurmRunner

__all__ = ["SlurmBackend", "SlurmCommandFailed", "SlurmRunner"]
