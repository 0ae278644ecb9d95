"""A seeded synthetic trace: Poisson arrivals sized to a target load on a given GPU count.

Same parameters and seed -> the same trace. Job sizes follow a Philly-like mix (mostly one
GPU), durations are log-normal (heavy tail) with the given mean, tenants are Zipf-weighted,
and every job carries a walltime of 1-3x its duration (users over-ask).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime

from petaport.simulator.model import Trace, TraceJob, make_trace

SIZES = ((1, 0.70), (2, 0.10), (4, 0.10), (8, 0.08), (16, 0.015), (32, 0.005))
_SIGMA = 1.5  # log-normal shape of durations
_MAX_DURATION_S = 30 * 86400.0
_ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SyntheticSpec:
    jobs: int = 10_000
    seed: int = 0
    gpus: int = 512  # cluster size the load is computed against
    load: float = 0.8
    tenants: int = 8
    mean_duration_s: float = 3600.0


def _mean_gpus() -> float:
    return sum(size * weight for size, weight in SIZES)


def synthetic_trace(spec: SyntheticSpec) -> Trace:
    rng = random.Random(spec.seed)
    rate = spec.load * spec.gpus / (spec.mean_duration_s * _mean_gpus())  # jobs per second
    mu = math.log(spec.mean_duration_s) - _SIGMA**2 / 2
    sizes, weights = zip(*SIZES, strict=True)
    tenant_weights = [1 / (k + 1) for k in range(spec.tenants)]
    jobs, now = [], 0.0
    for number in range(spec.jobs):
        duration = float(min(_MAX_DURATION_S, max(1, round(rng.lognormvariate(mu, _SIGMA)))))
        jobs.append(
            TraceJob(
                id=f"syn-{number}",
                submit_s=round(now, 3),
                duration_s=duration,
                gpus=rng.choices(sizes, weights)[0],
                tenant=f"t{rng.choices(range(spec.tenants), tenant_weights)[0]:03d}",
                walltime_s=float(math.ceil(duration * rng.uniform(1.0, 3.0))),
            )
        )
        now += rng.expovariate(rate)
    name = f"synthetic:n={spec.jobs},seed={spec.seed},load={spec.load:g}@{spec.gpus}gpus"
    return make_trace(name, _ORIGIN, jobs)
