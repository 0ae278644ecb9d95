"""The environment an attempt's job sees, built the same way by every backend.

Invariants:
- later layers win: inherited base, then the spec's ``environment``, then the launch's
  ``extra_env``, then Petaport's own variables;
- ``CUDA_VISIBLE_DEVICES`` is exactly the comma-joined GPU indices of the attempt's allocation on
  this node (empty string when it holds no GPUs), whatever the user asked for;
- ``PETAPORT_JOB_ID`` and ``PETAPORT_ATTEMPT_ID`` are always set;
- each catalogue entry the job uses is named by ``PETAPORT_<KIND>_<NAME>`` (e.g.
  ``PETAPORT_DATASET_HK_WEATHER``): its read-only view under the backend's view directory, or
  the content's own path on the shared storage when the backend has no view directory.
"""

from __future__ import annotations

from collections.abc import Mapping

from petaport.domain.catalogue import env_var, mount_name
from petaport.domain.jobs import Allocation, JobSpec
from petaport.services.ports import AttemptLaunch


def cuda_visible_devices(allocation: Allocation | None) -> str:
    """``"0,3"`` for GPUs 0 and 3; ``""`` when the allocation holds none."""
    if allocation is None:
        return ""
    return ",".join(str(index) for index in allocation.gpu_indices)


def catalogue_environment(spec: JobSpec, view_root: str | None) -> dict[str, str]:
    """``PETAPORT_<KIND>_<NAME>`` for every entry the job uses (see the module docstring)."""
    return {
        env_var(ref): f"{view_root}/{mount_name(ref)}" if view_root else (ref.source or "")
        for ref in spec.uses
    }


def job_environment(
    launch: AttemptLaunch,
    allocation: Allocation | None,
    base: Mapping[str, str] | None = None,
    view_root: str | None = None,
) -> dict[str, str]:
    """The full environment of the job of ``launch`` running on ``allocation``'s node."""
    env = dict(base or {})
    env.update(launch.spec.environment)
    env.update(launch.extra_env)
    env.update(catalogue_environment(launch.spec, view_root))
    env["CUDA_VISIBLE_DEVICES"] = cuda_visible_devices(allocation)
    env["PETAPORT_JOB_ID"] = launch.job_id
    env["PETAPORT_ATTEMPT_ID"] = launch.attempt_id
    return env
