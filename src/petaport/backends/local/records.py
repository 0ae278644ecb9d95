"""The on-disk records of one local attempt, shared by the backend and its supervisor.

Files in ``attempt_dir``:

- ``launch.json``: written once by the backend before it starts the supervisor (``LaunchRecord``);
- ``script.sh``: the script body, for script specs (run as ``/bin/bash script.sh``);
- ``status.json``: the attempt's truth (``StatusRecord``): written by the supervisor once the job
  is spawned (state RUNNING) and once more when it ends (a terminal state). The backend writes it
  only to record NODE_FAIL after checking the supervisor is gone;
- ``cancel``: a marker the backend creates to ask the supervisor to cancel;
- ``stdout.log`` / ``stderr.log``: the job's output, appended; ``supervisor.log``: the
  supervisor's own output (tracebacks, if it ever crashes); ``work/``: default working directory.

Invariants:
- every write is atomic (temporary file + ``os.replace``): readers see the old or the new file;
- once ``status.json`` holds a terminal state it is never rewritten;
- times are tz-aware UTC in ISO 8601; states are ``JobState`` values as strings.

Standard library only, and not even ``pathlib``: the supervisor imports this module and must
start fast.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict, cast

if TYPE_CHECKING:
    from typing import TypeAlias

    StrPath: TypeAlias = str | os.PathLike[str]

FORMAT_VERSION = 1
LAUNCH_FILE = "launch.json"
STATUS_FILE = "status.json"
CANCEL_FILE = "cancel"
SCRIPT_FILE = "script.sh"
SUPERVISOR_LOG = "supervisor.log"
TERMINAL = frozenset(
    {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "PREEMPTED", "NODE_FAIL", "OUT_OF_MEMORY"}
)


class LaunchRecord(TypedDict):
    version: int
    attempt_id: str
    job_id: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    cuda_visible_devices: str
    memory_limit_mb: int
    walltime_s: int | None
    grace_s: float
    started_at: str


class StatusRecord(TypedDict):
    version: int
    attempt_id: str
    state: str
    detail: str
    supervisor_pid: int | None
    supervisor_start_ticks: int | None
    child_pid: int | None
    child_start_ticks: int | None
    started_at: str
    spawned_at: str | None
    ended_at: str | None
    exit_code: int | None
    peak_rss_bytes: int


def new_status(attempt_id: str, started_at: str) -> StatusRecord:
    """A status with nothing known yet but the attempt and its start time."""
    return StatusRecord(
        version=FORMAT_VERSION,
        attempt_id=attempt_id,
        state="RUNNING",
        detail="",
        supervisor_pid=None,
        supervisor_start_ticks=None,
        child_pid=None,
        child_start_ticks=None,
        started_at=started_at,
        spawned_at=None,
        ended_at=None,
        exit_code=None,
        peak_rss_bytes=0,
    )


def mark_final(status: StatusRecord, state: str, exit_code: int | None, detail: str) -> None:
    """Turn ``status`` into a terminal record ending now (the caller writes it)."""
    status["state"] = state
    status["exit_code"] = exit_code
    status["detail"] = detail
    status["ended_at"] = utc_now_iso()


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat()


def parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def write_json_atomic(path: StrPath, data: object) -> None:
    """Write ``data`` as JSON to ``path`` so that readers never see a partial file."""
    folder, name = os.path.split(os.fspath(path))
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, separators=(",", ":"))
    os.replace(tmp, path)


def read_json(path: StrPath) -> dict[str, Any] | None:
    """The JSON object at ``path``, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_launch(attempt_dir: StrPath) -> LaunchRecord | None:
    data = read_json(os.path.join(attempt_dir, LAUNCH_FILE))
    if data is None or not isinstance(data.get("argv"), list):
        return None
    return cast(LaunchRecord, data)


def read_status(attempt_dir: StrPath) -> StatusRecord | None:
    data = read_json(os.path.join(attempt_dir, STATUS_FILE))
    if data is None or not isinstance(data.get("state"), str):
        return None
    return cast(StatusRecord, data)


def write_status(attempt_dir: StrPath, status: StatusRecord) -> None:
    write_json_atomic(os.path.join(attempt_dir, STATUS_FILE), status)


def is_final(status: StatusRecord | None) -> bool:
    return status is not None and status["state"] in TERMINAL
