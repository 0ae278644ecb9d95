"""Trace loaders: Philly CSV, Alibaba openb pods and nodes, a generic CSV, a synthetic trace.

Every loader returns a ``Trace`` with jobs sorted by submission time, seconds since the first.
"""

from petaport.simulator.traces.alibaba import load_alibaba, load_alibaba_cluster
from petaport.simulator.traces.generic import (
    ColumnMappingError,
    load_generic_csv,
    parse_mapping,
)
from petaport.simulator.traces.philly import load_philly
from petaport.simulator.traces.synthetic import SyntheticSpec, synthetic_trace

__all__ = [
    "ColumnMappingError",
    "SyntheticSpec",
    "load_alibaba",
    "load_alibaba_cluster",
    "load_generic_csv",
    "load_philly",
    "parse_mapping",
    "synthetic_trace",
]
