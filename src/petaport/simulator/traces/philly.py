"""Microsoft Philly trace, Pollux re-processing (``philly.csv``): one row per job.

Columns ``timestamp, duration, num_gpus, gpu_time, cluster``; the virtual cluster (VC) is the
tenant and is read as a string (``6214e9`` would otherwise parse as a float). Timestamps are
naive and taken as UTC. There is no walltime: policies that need one derive it.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from petaport.simulator.model import Trace, TraceJob, make_trace

CITATION = (
    "Microsoft Philly trace (Jeon et al., USENIX ATC'19), as re-processed for Pollux "
    "(Qiao et al., OSDI'21); file from siasosp23/artifacts sia-simulator/traces/philly.csv."
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load_philly(path: Path, max_rows: int | None = None) -> Trace:
    """Read ``philly.csv`` (optionally only its first ``max_rows`` rows)."""
    jobs: list[TraceJob] = []
    with path.open(newline="") as handle:
        rows = csv.reader(handle)
        col = {name: i for i, name in enumerate(next(rows))}
        ts, dur, gpus, vc = col["timestamp"], col["duration"], col["num_gpus"], col["cluster"]
        for number, row in enumerate(rows):
            if max_rows is not None and number >= max_rows:
                break
            if not row:
                continue
            submitted = datetime.fromisoformat(row[ts]).replace(tzinfo=UTC)
            jobs.append(
                TraceJob(
                    id=f"philly-{number}",
                    submit_s=(submitted - _EPOCH).total_seconds(),
                    duration_s=float(row[dur]),
                    gpus=int(row[gpus]),
                    tenant=row[vc],
                )
            )
    return make_trace(f"philly:{path.name}", _EPOCH, jobs, CITATION)
