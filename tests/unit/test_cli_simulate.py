"""``petaport simulate`` passes its arguments to the simulator and reports its exit code."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from petaport.cli.main import app


def test_simulate_runs_a_synthetic_trace(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--format",
            "synthetic",
            "--jobs",
            "200",
            "--seed",
            "7",
            "--no-plots",
            "--policies",
            "default,fifo",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["policies"]) >= {"default", "fifo"}


def test_simulate_refuses_a_missing_trace(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--trace", str(tmp_path / "none.csv")])
    assert result.exit_code == 2
