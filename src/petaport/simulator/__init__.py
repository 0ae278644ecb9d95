"""Trace-driven simulator: replays a job trace on a simulated cluster through the production
scheduler (``petaport.scheduler.schedule``) and reports what each policy did.

Modules: ``model`` (trace jobs, cluster descriptions), ``traces`` (loaders), ``cluster`` (YAML,
capacity scale, sizing), ``policies`` (which policies, walltime model), ``adapter`` (the only
coupling to the core), ``state`` (simulated nodes), ``selection`` (exact pruning of what each
cycle shows the core), ``engine`` (the event loop), ``usage`` (decayed usage for fair share),
``metrics`` / ``report`` / ``plots`` (figures), ``simulation`` (all policies, one report),
``cli`` (``run_cli(argv)`` behind ``petaport simulate``).

Invariant: the same inputs and seed give byte-identical report JSON.
"""

from petaport.simulator.engine import Replay, replay
from petaport.simulator.model import ClusterSpec, NodePool, Trace, TraceJob
from petaport.simulator.policies import POLICY_NAMES, PolicyPlan, SimPolicy, make_plan
from petaport.simulator.simulation import Simulation, simulate

__all__ = [
    "POLICY_NAMES",
    "ClusterSpec",
    "NodePool",
    "PolicyPlan",
    "Replay",
    "SimPolicy",
    "Simulation",
    "Trace",
    "TraceJob",
    "make_plan",
    "replay",
    "simulate",
]
