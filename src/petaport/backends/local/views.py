"""Read-only views of catalogue entries for a local attempt.

Each entry a job uses appears at ``<attempt_dir>/catalogue/<kind>s/<name>`` (the path its
``PETAPORT_<KIND>_<NAME>`` variable names). Where the kernel lets this process make a private
mount namespace (root, or unprivileged user namespaces), the job is started through
``unshare`` and a small fixed shell program that bind-mounts each entry's content there
read-only and then ``exec``s the job: writes fail with EROFS, even for root, and nobody outside
the job sees the mounts. Elsewhere the view is a symbolic link to the content (documented as
not enforced). Arguments are passed as a list, never formatted into a shell string.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from petaport.domain.catalogue import mount_name
from petaport.domain.jobs import JobSpec

VIEW_DIR = "catalogue"
# $1: number of mounts, then source/target pairs, then the job's argv.
MOUNT_PROGRAM = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do '
    'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" || exit 125; '
    'shift 2; n=$((n - 1)); done; exec "$@"'
)


def unshare_prefix() -> list[str] | None:
    """The ``unshare`` arguments that give a private mount namespace here, or None."""
    unshare = shutil.which("unshare")
    if unshare is None or shutil.which("mount") is None:
        return None
    flags = ["--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        flags = ["--user", "--map-current-user", *flags]
    try:
        probe = subprocess.run(
            [unshare, *flags, "true"], check=False, capture_output=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return [unshare, *flags] if probe.returncode == 0 else None


def view_root(attempt_dir: Path) -> Path:
    return attempt_dir / VIEW_DIR


def prepare(spec: JobSpec, attempt_dir: Path, argv: list[str],
            prefix: list[str] | None) -> list[str]:  # fmt: skip
    """Make the view's mount points (or links) and return the argv that starts the job."""
    pairs: list[str] = []
    for ref in spec.uses:
        source = Path(ref.source or "")
        target = view_root(attempt_dir) / mount_name(ref)
        target.parent.mkdir(parents=True, exist_ok=True)
        if prefix is None:
            target.unlink(missing_ok=True)
            target.symlink_to(source)
            continue
        if source.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.touch()
        pairs += [str(source), str(target)]
    if prefix is None or not pairs:
        return argv
    return [*prefix, "--", "/bin/sh", "-c", MOUNT_PROGRAM, "sh", str(len(pairs) // 2), *pairs,
            *argv]  # fmt: skip
