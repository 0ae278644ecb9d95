"""Trace loaders on slices of the real files and on tiny CSVs written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from petaport.simulator.traces import (
    ColumnMappingError,
    SyntheticSpec,
    load_alibaba,
    load_alibaba_cluster,
    load_generic_csv,
    load_philly,
    parse_mapping,
    synthetic_trace,
)
from tests.unit.simulator.builders import ALIBABA, PHILLY


def test_philly_slice_reads_vcs_as_strings_and_sorts_by_submission() -> None:
    trace = load_philly(PHILLY, max_rows=400)
    assert len(trace.jobs) == 400
    assert all(isinstance(j.tenant, str) for j in trace.jobs)
    assert "6214e9" in trace.tenants  # would be 6214000000.0 if read as a number
    submits = [j.submit_s for j in trace.jobs]
    assert submits == sorted(submits) and submits[0] == 0.0
    assert trace.start.tzinfo is not None
    assert all(j.gpus >= 1 and j.duration_s >= 0 for j in trace.jobs)


def test_philly_file_with_a_trailing_blank_line(tmp_path: Path) -> None:
    path = tmp_path / "philly.csv"
    path.write_text(
        "timestamp,duration,num_gpus,gpu_time,cluster\n"
        "2017-10-09 07:01:55,66.0,1,66.0,11cb48\n"
        "2017-10-09 06:13:03,2951.0,2,5902.0,6214e9\n\n"
    )
    trace = load_philly(path)
    assert [(j.submit_s, j.gpus, j.tenant) for j in trace.jobs] == [
        (0.0, 2, "6214e9"),
        (2932.0, 1, "11cb48"),
    ]
    assert trace.total_gpu_s == 5968.0
    assert trace.start.isoformat() == "2017-10-09T06:13:03+00:00"


def test_alibaba_pods_carry_fractions_models_and_tiers() -> None:
    trace = load_alibaba(ALIBABA, max_rows=300)
    assert len(trace.jobs) == 300
    fractional = [j for j in trace.jobs if j.gpus == 1 and j.gpu_milli < 1000]
    assert fractional, "the slice has GPU-sharing pods"
    assert {j.qos for j in trace.jobs} <= {"reserved", "on-demand", "preemptible"}
    assert {j.tenant for j in trace.jobs} <= {"LS", "BE", "Burstable", "Guaranteed"}
    cpu_only = [j for j in trace.jobs if j.gpus == 0]
    assert all(j.gpu_seconds == 0 for j in cpu_only)


def test_alibaba_nodes_become_pools_of_identical_nodes() -> None:
    cluster = load_alibaba_cluster(ALIBABA)
    assert (cluster.total_nodes, cluster.total_gpus) == (1213, 6212)
    assert {p.gpu_model for p in cluster.pools} == {
        "G2", "T4", "P100", "V100M16", "G3", "V100M32", "A10",
    }  # fmt: skip
    assert len({p.name for p in cluster.pools}) == len(cluster.pools)


def test_alibaba_gpu_spec_lists_allowed_models(tmp_path: Path) -> None:
    pods = tmp_path / "pods.csv"
    pods.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
        "deletion_time,scheduled_time\n"
        "p0,1500,1024,1,470,V100M16|V100M32,BE,Running,10,110,20\n"
        "p1,1000,1024,2,1000,,LS,Pending,0,50,\n"
    )
    first, second = load_alibaba(pods).jobs
    assert (first.id, first.gpus, first.gpu_models) == ("p1", 2, ())
    assert (first.duration_s, first.qos) == (50.0, "reserved")
    assert (second.gpu_milli, second.gpu_models, second.cpus) == (470, ("V100M16", "V100M32"), 2)
    assert (second.submit_s, second.duration_s, second.qos) == (10.0, 90.0, "preemptible")


def test_generic_csv_maps_columns_and_reads_iso_or_numeric_times(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(
        "jid,start,stop,n,account,limit\n"
        "a,2026-01-01T00:00:10,2026-01-01T00:01:10,4,lab,120\n"
        "b,2026-01-01T00:00:00,2026-01-01T00:00:30,1,,\n"
    )
    mapping = parse_mapping("id=jid,submit=start,end=stop,gpus=n,tenant=account,walltime=limit")
    trace = load_generic_csv(path, mapping)
    b, a = trace.jobs
    assert (b.id, b.submit_s, b.duration_s, b.tenant, b.walltime_s) == ("b", 0, 30, "default", None)
    assert (a.id, a.submit_s, a.duration_s, a.gpus, a.tenant) == ("a", 10, 60, 4, "lab")
    assert a.walltime_s == 120


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("submit=start,gpus=n", "duration"),
        ("submit=start,duration=nope,gpus=n", "not in the file"),
        ("submit=start,duration=stop,gpus=n,colour=x", "unknown fields"),
        ("submit", "field=column"),
    ],
)
def test_generic_csv_rejects_bad_mappings(tmp_path: Path, mapping: str, message: str) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text("start,stop,n\n0,10,1\n")
    with pytest.raises(ColumnMappingError, match=message):
        load_generic_csv(path, parse_mapping(mapping))


def test_generic_csv_names_the_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text("start,runtime,n\n0,10,1\nyesterday,10,1\n")
    with pytest.raises(ColumnMappingError, match="row 3"):
        load_generic_csv(path, parse_mapping("submit=start,duration=runtime,gpus=n"))


def test_synthetic_trace_is_a_function_of_its_seed() -> None:
    spec = SyntheticSpec(jobs=200, seed=7, gpus=64)
    assert synthetic_trace(spec) == synthetic_trace(spec)
    assert synthetic_trace(spec) != synthetic_trace(SyntheticSpec(jobs=200, seed=8, gpus=64))


def test_synthetic_trace_offers_roughly_the_load_asked_for() -> None:
    trace = synthetic_trace(SyntheticSpec(jobs=4000, seed=1, gpus=128, load=0.8))
    offered = trace.total_gpu_s / trace.span_s / 128
    assert 0.4 < offered < 1.6  # heavy-tailed durations: a loose band
    assert all(j.walltime_s is not None and j.walltime_s >= j.duration_s for j in trace.jobs)
