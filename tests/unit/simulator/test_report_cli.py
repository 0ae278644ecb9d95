"""Reports and the command line: determinism, files written, options, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from petaport.simulator.cli import run_cli
from petaport.simulator.cluster import homogeneous
from petaport.simulator.policies import make_plan
from petaport.simulator.report import to_json, to_markdown, write_report
from petaport.simulator.simulation import simulate
from petaport.simulator.traces import SyntheticSpec, synthetic_trace

SYNTHETIC = [
    "--format",
    "synthetic",
    "--jobs",
    "200",
    "--gpus",
    "32",
    "--tenants",
    "4",
    "--load",
    "1.1",
    "--no-progress",
]


def sim_json(seed: int) -> str:
    trace = synthetic_trace(SyntheticSpec(jobs=150, seed=seed, gpus=32, load=1.1, tenants=3))
    return to_json(simulate(trace, homogeneous("c", 4, 8), make_plan()).report)


def test_same_inputs_and_seed_give_byte_identical_json() -> None:
    assert sim_json(5) == sim_json(5)
    assert sim_json(5) != sim_json(6)


def test_the_cli_writes_identical_reports_twice(tmp_path: Path) -> None:
    assert run_cli([*SYNTHETIC, "--no-plots", "--out", str(tmp_path / "a")]) == 0
    assert run_cli([*SYNTHETIC, "--no-plots", "--out", str(tmp_path / "b")]) == 0
    first = (tmp_path / "a" / "report.json").read_bytes()
    assert first == (tmp_path / "b" / "report.json").read_bytes()
    report = json.loads(first)
    assert list(report["policies"]) == ["default", "fifo", "fifo_backfill", "sjf_oracle"]


def test_report_files_and_markdown(tmp_path: Path) -> None:
    trace = synthetic_trace(SyntheticSpec(jobs=120, seed=1, gpus=16, tenants=2))
    report = simulate(trace, homogeneous("c", 2, 8), make_plan(("default", "fifo"))).report
    written = write_report(report, tmp_path)
    names = sorted(p.name for p in written)
    assert names == [
        "jct_cdf.png",
        "report.json",
        "report.md",
        "utilisation.png",
        "wait_per_tenant.png",
    ]
    assert all(p.stat().st_size > 0 for p in written)
    assert (tmp_path / "jct_cdf.png").read_bytes()[:4] == b"\x89PNG"
    markdown = to_markdown(report, ["jct_cdf.png"])
    assert "| avg JCT (s) |" in markdown and "/ `fifo`:" in markdown
    assert "![jct_cdf](jct_cdf.png)" in markdown


def test_cli_options_scale_the_cluster_and_pick_policies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        *SYNTHETIC,
        "--no-plots",
        "--out",
        str(tmp_path),
        "--json",
        "--scale",
        "x2",
        "--policies",
        "fifo,sjf_oracle",
        "--walltime-round",
        "none",
    ]
    assert run_cli(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cluster"]["total_gpus"] == 64
    assert report["context"]["capacity_scale"] == 2.0
    assert list(report["policies"]) == ["fifo", "sjf_oracle"]
    assert report["policy_config"]["walltime_round"] == "none"


def test_cli_sizes_a_csv_trace_for_the_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text("t,d,g,who\n0,100,8,a\n10,100,8,b\n20,50,4,a\n")
    args = [
        "--format",
        "csv",
        "--trace",
        str(path),
        "--columns",
        "submit=t,duration=d,gpus=g,tenant=who",
        "--no-plots",
        "--no-progress",
        "--out",
        str(tmp_path / "o"),
    ]
    assert run_cli(args) == 0
    assert "default" in capsys.readouterr().out
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["context"]["sizing"].startswith("GPUs = total gpu_time / trace span / load")


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "philly", "--trace", "/nonexistent.csv"],
        ["--format", "csv", "--trace", "x.csv"],
        [*SYNTHETIC, "--policies", "lottery"],
        [*SYNTHETIC, "--scale", "x0"],
    ],
)
def test_bad_input_exits_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(args) == 2
    assert "petaport simulate:" in capsys.readouterr().err
