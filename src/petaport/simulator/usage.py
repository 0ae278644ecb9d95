"""Decayed GPU usage per project, accrued continuously while jobs run (for fair share).

Usage decays with half-life ``h``; a project running ``r`` GPUs from ``t0`` to ``t`` ends with
``U(t) = U(t0) d + r h / ln 2 (1 - d)``, ``d = 2^(-(t - t0) / h)``: the exact integral of
decayed use, so the figure does not depend on how often it is read.
"""

from __future__ import annotations

import math
from datetime import datetime

from petaport.scheduler import Usage
from petaport.scheduler.fairshare import from_weights, org_weights, project_weights

LN2 = math.log(2)


class UsageLedger:
    def __init__(self, half_life_s: float) -> None:
        self.half_life_s = half_life_s
        # per project: decayed GPU-seconds, as of (s), GPUs running now, org
        self._gpu_s: dict[str, float] = {}
        self._as_of: dict[str, float] = {}
        self._rate: dict[str, float] = {}
        self._org: dict[str, str] = {}
        # the projects in order and their weights (org weights' sum): they change only when a
        # project is first used
        self._sorted: list[str] = []
        self._weights: tuple[dict[str, float], float] | None = None

    def _settle(self, project: str, t: float) -> None:
        elapsed = t - self._as_of[project]
        if elapsed <= 0:
            return
        h, rate = self.half_life_s, self._rate[project]
        decay = 0.5 ** (elapsed / h) if h > 0 else 0.0
        gained = rate * h / LN2 * (1 - decay) if h > 0 else 0.0
        self._gpu_s[project] = self._gpu_s[project] * decay + gained
        self._as_of[project] = t

    def _settle_all(self, t: float) -> None:
        """``_settle`` every project: the same arithmetic, each decay factor computed once
        (projects settled together share their elapsed time)."""
        h, gpu_s, as_of, rate = self.half_life_s, self._gpu_s, self._as_of, self._rate
        decays: dict[float, float] = {}
        for project in self._org:
            elapsed = t - as_of[project]
            if elapsed <= 0:
                continue
            decay = decays.get(elapsed)
            if decay is None:
                decay = decays[elapsed] = 0.5 ** (elapsed / h) if h > 0 else 0.0
            gained = rate[project] * h / LN2 * (1 - decay) if h > 0 else 0.0
            gpu_s[project] = gpu_s[project] * decay + gained
            as_of[project] = t

    def change(self, t: float, org: str, project: str, gpus: float) -> None:
        """From ``t`` on, ``project`` runs ``gpus`` more (negative: fewer) GPUs."""
        if project not in self._org:
            self._org[project], self._gpu_s[project] = org, 0.0
            self._as_of[project], self._rate[project] = t, 0.0
            self._sorted, self._weights = sorted(self._org), None
        self._settle(project, t)
        self._rate[project] += gpus

    def at(self, t: float) -> list[tuple[str, str, float]]:
        """(org, project, decayed GPU-seconds) as of ``t``, projects in first-use order."""
        self._settle_all(t)
        return [(self._org[p], p, self._gpu_s[p]) for p in self._org]

    def fair_share(
        self, t: float, now: datetime, shares: tuple[tuple[str, float], ...]
    ) -> dict[str, float]:
        """``fairshare.factors`` of ``at(t)`` given as usage as of ``now`` (the instant ``t``),
        without quotas: the same floats, without building and sorting the usage every call
        (with nothing to decay, each project's figure is its sum from 0.0, as there)."""
        self._settle_all(t)
        gpu_s = self._gpu_s
        used = {p: 0.0 + gpu_s[p] for p in self._sorted}
        total_used = sum(used.values())
        if total_used <= 0:
            return {}
        if self._weights is None:
            usage = tuple(Usage(self._org[p], p, gpu_s[p], now) for p in self._sorted)
            orgs = org_weights(usage, (), shares)
            self._weights = (project_weights(usage, (), orgs), sum(orgs.values()))
        weights, total_weight = self._weights
        return from_weights(used, total_used, weights, total_weight)
