"""Pure parsing for ``petaport submit``: sizes, times, ``KEY=VAL`` flags and YAML job files.

Nothing here talks to the network. Every bad input raises ``UsageProblem`` naming the flag (or
file field) at fault, which the CLI reports as a usage error (exit code 2). Precedence when
building a job: command-line flags, then the job file, then ``JobCreate``'s defaults;
``--env``/``--label`` are merged into the file's maps (flags win per key).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from petaport.domain.errors import ValidationFailed
from petaport.domain.jobs import parse_memory_mb, parse_walltime_s
from petaport.schemas import JobCreate

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class UsageProblem(ValueError):
    """A bad command-line value or job file; ``param`` names the flag when there is one."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def parse_mem(text: str, param: str = "--mem") -> int:
    """``16G``, ``512M``, ``1T`` or plain MiB -> MiB."""
    try:
        return parse_memory_mb(text)
    except ValidationFailed as exc:
        raise UsageProblem(exc.detail, param) from exc


def parse_time(text: str, param: str = "--time") -> int:
    """Slurm time formats (``90``, ``1:30:00``, ``2-00:00:00``, ``2h``) -> seconds."""
    try:
        seconds = parse_walltime_s(text)
    except ValidationFailed as exc:
        raise UsageProblem(exc.detail, param) from exc
    if seconds <= 0:
        raise UsageProblem(f"time {text!r} must be longer than zero", param)
    return seconds


def parse_pairs(items: list[str], param: str = "--env") -> dict[str, str]:
    """Repeated ``KEY=VAL`` flags -> a dict (the value may contain ``=`` or be empty)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not _KEY_RE.match(key):
            raise UsageProblem(f"expected KEY=VALUE with a valid name, got {item!r}", param)
        out[key] = value
    return out


def load_job_file(path: Path) -> dict[str, Any]:
    """A YAML mapping of ``JobCreate`` fields; ``memory_mb: 16G``, ``walltime_s: 2h`` allowed."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageProblem(f"cannot read job file {path}: {exc.strerror}", "-f") from exc
    except yaml.YAMLError as exc:
        raise UsageProblem(f"job file {path} is not valid YAML: {exc}", "-f") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageProblem(f"job file {path} must be a mapping of job fields", "-f")
    if isinstance(data.get("memory_mb"), str):
        data["memory_mb"] = parse_mem(data["memory_mb"], "memory_mb in the job file")
    if isinstance(data.get("walltime_s"), str):
        data["walltime_s"] = parse_time(data["walltime_s"], "walltime_s in the job file")
    return data


@dataclass(frozen=True)
class SubmitFlags:
    """What was given on the command line; ``None`` means "not given" (file or default wins)."""

    name: str | None = None
    project: str | None = None
    gpus: int | str | None = None
    gpu_model: str | None = None
    cpus: int | None = None
    mem: str | None = None
    nodes: int | None = None
    time: str | None = None
    qos: str | None = None
    workdir: str | None = None
    env: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    script: str | None = None
    uses: list[str] = field(default_factory=list)  # catalogue entries: dataset:NAME[@VERSION]


def parse_gpus(text: int | str, param: str = "--gpus") -> tuple[int, Decimal | None]:
    """``4`` -> 4 whole GPUs per node; ``0.5`` -> half of one shared GPU."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise UsageProblem(f"not a number of GPUs: {text!r}", param) from exc
    if not value.is_finite() or value < 0:
        raise UsageProblem(f"not a number of GPUs: {text!r}", param)
    if value == value.to_integral_value():
        return int(value), None
    if value < 1 and value == value.quantize(Decimal("0.001")):
        return 0, value
    raise UsageProblem("GPUs: a whole number, or a share of one GPU such as 0.5", param)


def _gpu_fields(flags: SubmitFlags) -> dict[str, Any]:
    if flags.gpus is None:
        return {}
    gpus, fraction = parse_gpus(flags.gpus)
    return {"gpus": gpus, "gpu_fraction": str(fraction)} if fraction else {"gpus": gpus}


def _scalar_overrides(flags: SubmitFlags) -> dict[str, Any]:
    given = {
        "name": flags.name, "project": flags.project, **_gpu_fields(flags),
        "gpu_model": flags.gpu_model, "cpus": flags.cpus, "nodes": flags.nodes,
        "qos": flags.qos, "working_dir": flags.workdir,
        "memory_mb": parse_mem(flags.mem) if flags.mem is not None else None,
        "walltime_s": parse_time(flags.time) if flags.time is not None else None,
    }  # fmt: skip
    return {k: v for k, v in given.items() if v is not None}


def default_name(command: object, script: object) -> str:
    """A job name from the program's base name (``python`` for ``python train.py``)."""
    first = command[0] if isinstance(command, list) and command else None
    base = os.path.basename(str(first)) if first is not None else ("script" if script else "job")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._")[:128]
    return cleaned or "job"


def merge_job(
    flags: SubmitFlags,
    file_fields: dict[str, Any] | None = None,
    default_project: str | None = None,
) -> dict[str, Any]:
    """The job file's fields with the flags laid on top (not yet validated)."""
    fields = dict(file_fields or {})
    fields.update(_scalar_overrides(flags))
    if flags.env:
        fields["environment"] = {**(fields.get("environment") or {}), **parse_pairs(flags.env)}
    if flags.labels:
        labels = parse_pairs(flags.labels, "--label")
        fields["labels"] = {**(fields.get("labels") or {}), **labels}
    if flags.uses:
        fields["uses"] = [*(fields.get("uses") or []), *flags.uses]
    if flags.command:
        fields["command"], fields["script"] = list(flags.command), None
    if flags.script is not None:
        fields["script"], fields["command"] = flags.script, None
    if not fields.get("project") and default_project:
        fields["project"] = default_project
    fields.setdefault("name", default_name(fields.get("command"), fields.get("script")))
    return fields


def build_job(
    flags: SubmitFlags,
    file_fields: dict[str, Any] | None = None,
    default_project: str | None = None,
) -> JobCreate:
    """Merge and validate; raises ``UsageProblem`` with every problem in one message."""
    fields = merge_job(flags, file_fields, default_project)
    if not fields.get("project"):
        raise UsageProblem("say which project: --project org-slug/project-slug (or a prj_ id)",
                           "--project")  # fmt: skip
    if not fields.get("command") and not fields.get("script"):
        raise UsageProblem("give the command after '--' (or --script FILE, or -f job.yaml)")
    try:
        return JobCreate.model_validate(fields)
    except ValidationError as exc:
        raise UsageProblem(describe_validation(exc)) from exc


def describe_validation(exc: ValidationError) -> str:
    """Pydantic errors as ``field: message; field: message``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "job"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
