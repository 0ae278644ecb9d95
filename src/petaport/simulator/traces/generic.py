"""A generic CSV trace: any file with one row per job and a mapping of its column names.

The mapping names the file's column for each field, e.g.
``submit=ts,duration=runtime,gpus=n_gpu,tenant=account``. ``submit`` and ``gpus`` are required,
and one of ``duration`` or ``end``. Times are numbers of seconds or ISO-8601 date-times (naive
ones are UTC). Optional fields: ``id, tenant, walltime, gpu_model, gpu_milli, cpus, memory_mb,
qos``.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from petaport.simulator.model import Trace, TraceJob, make_trace

FIELDS = frozenset(
    {
        "id",
        "submit",
        "duration",
        "end",
        "gpus",
        "tenant",
        "walltime",
        "gpu_model",
        "gpu_milli",
        "cpus",
        "memory_mb",
        "qos",
    }
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ColumnMappingError(ValueError):
    """The column mapping or a row does not fit the file."""


def parse_mapping(text: str) -> dict[str, str]:
    """``field=column,field=column`` -> {field: column}."""
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ColumnMappingError(f"expected field=column pairs, got {text!r}")
    return {k.strip(): v.strip() for k, v in pairs}


def check_mapping(mapping: Mapping[str, str], header: list[str]) -> None:
    unknown = set(mapping) - FIELDS
    if unknown:
        raise ColumnMappingError(f"unknown fields {sorted(unknown)}; known: {sorted(FIELDS)}")
    if not {"submit", "gpus"} <= set(mapping) or not {"duration", "end"} & set(mapping):
        raise ColumnMappingError("map at least submit, gpus and duration (or end)")
    missing = [c for c in mapping.values() if c not in header]
    if missing:
        raise ColumnMappingError(f"columns not in the file: {missing}")


def seconds(value: str) -> float:
    """A number of seconds, or an ISO-8601 date-time as seconds since the Unix epoch."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ColumnMappingError(f"cannot read time {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH).total_seconds()


def _job(row: dict[str, str], m: Mapping[str, str], number: int) -> TraceJob:
    def get(name: str) -> str:
        return row[m[name]] if name in m and row[m[name]] != "" else ""

    submit = seconds(get("submit"))
    duration = float(get("duration")) if get("duration") else seconds(get("end")) - submit
    model = get("gpu_model")
    return TraceJob(
        id=get("id") or f"job-{number}",
        submit_s=submit,
        duration_s=max(0.0, duration),
        gpus=int(float(get("gpus") or 0)),
        tenant=get("tenant") or "default",
        gpu_milli=int(get("gpu_milli") or 1000),
        gpu_models=tuple(x for x in model.split("|") if x),
        cpus=int(float(get("cpus") or 0)),
        memory_mb=int(float(get("memory_mb") or 0)),
        walltime_s=float(get("walltime")) if get("walltime") else None,
        qos=get("qos") or "on-demand",
    )


def load_generic_csv(path: Path, mapping: Mapping[str, str], max_rows: int | None = None) -> Trace:
    jobs: list[TraceJob] = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        check_mapping(mapping, list(reader.fieldnames or []))
        for number, row in enumerate(reader):
            if max_rows is not None and number >= max_rows:
                break
            try:
                jobs.append(_job(row, mapping, number))
            except ValueError as bad:
                raise ColumnMappingError(f"{path.name} row {number + 2}: {bad}") from None
    return make_trace(f"csv:{path.name}", _EPOCH, jobs)
