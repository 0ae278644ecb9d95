"""Catalogue and AI Lab on the local backend, on both databases: entries appear read-only at the
path their variable names, every shipped template runs to COMPLETED with checked outputs, and a
model risk assessment runs end to end and gates publication."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from petaport.lab.programs.thermal import AMBIENT_C, heat_source
from petaport.settings import Settings
from tests.integration.catalogue_helpers import (
    entry,
    grant,
    publish,
    published_dataset,
    storage,
    version,
)
from tests.integration.conftest import World, start_world

JOB_TIMEOUT_S = 60


@pytest.fixture
def local_world(db_url: str, tmp_path: Path) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, backend="local",
                        use_nvml=False, seed_demo=False, argon2_memory_kib=64,
                        argon2_time_cost=1, cancel_grace_s=1, _env_file=None)  # type: ignore[call-arg]  # fmt: skip
    with start_world(settings) as world:
        yield world


def finish(world: World, who: str, job_id: str) -> dict[str, Any]:
    """Run scheduling cycles until the job has ended (the programs take a second or two)."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        world.cycle()
        job = world.call(who, "GET", f"/v1/jobs/{job_id}").json()
        if job["state"] not in ("PENDING", "RUNNING"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end in {JOB_TIMEOUT_S}s")


def log(world: World, who: str, job_id: str, stream: str = "stdout") -> str:
    r = world.call(who, "GET", f"/v1/jobs/{job_id}/logs", params={"stream": stream})
    return str(r.json()["text"])


def run_template(world: World, who: str, name: str, project: str, **params: Any) -> dict[str, Any]:
    r = world.call(who, "POST", f"/v1/lab/templates/{name}/runs",
                   json={"project": world.ids[project], "params": params})  # fmt: skip
    assert r.status_code == 201, r.text
    job = finish(world, who, r.json()["id"])
    assert job["state"] == "COMPLETED", log(world, who, job["id"], "stderr")
    assert dict(job["labels"]) == {"lab.template": name, "lab.version": "1"}
    outputs = world.call(who, "GET", f"/v1/lab/runs/{job['id']}/outputs").json()
    return {"job": job, **outputs}


READER = """
import os, pathlib
path = os.environ.get("PETAPORT_DATASET_RAINFALL")
print("path", path)
print("rows", len(pathlib.Path(path, "data.csv").read_text().splitlines()))
try:
    pathlib.Path(path, "data.csv").write_text("overwritten")
    print("writable")
except OSError as exc:
    print("read-only", exc.errno)
"""


def test_granted_data_appears_read_only_and_ungranted_data_not_at_all(local_world: World) -> None:
    world = local_world
    data = published_dataset(world, "rainfall")
    body = {"name": "peek", "project": world.ids["prj_b"],
            "command": ["python3", "-c", "import os; print(sorted(os.environ))"]}  # fmt: skip
    refused = world.call(
        "b_member", "POST", "/v1/jobs", json={**body, "uses": ["dataset:rainfall"]}
    )
    assert refused.status_code == 403
    plain = world.call("b_member", "POST", "/v1/jobs", json=body).json()
    assert finish(world, "b_member", plain["id"])["state"] == "COMPLETED"
    printed = log(world, "b_member", plain["id"])
    assert "PETAPORT_JOB_ID" in printed and "PETAPORT_DATASET" not in printed
    assert "rainfall" not in printed
    grant(world, data["id"])
    reader = {**body, "command": ["python3", "-c", READER], "uses": ["dataset:rainfall"]}
    job = world.call("b_member", "POST", "/v1/jobs", json=reader).json()
    assert finish(world, "b_member", job["id"])["state"] == "COMPLETED"
    out = log(world, "b_member", job["id"])
    assert "rows 4" in out and "writable" not in out and "read-only" in out
    assert f"/{job['id']}/1/catalogue/datasets/rainfall" in out
    source = storage(world, "org-a") / "datasets" / "rainfall" / "data.csv"
    assert source.read_text().startswith("district,rain_mm")
    uses = world.call("a_org_admin", "GET", "/v1/catalogue/uses",
                      params={"entry_id": data["id"]}).json()  # fmt: skip
    assert [(u["job_id"], u["project_id"]) for u in uses] == [(job["id"], world.ids["prj_b"])]
    mine = world.call("b_member", "GET", "/v1/catalogue/uses", params={"job_id": job["id"]})
    assert [u["version"] for u in mine.json()] == ["1"]


def test_finetune_template_lowers_held_out_perplexity(local_world: World) -> None:
    run = run_template(local_world, "a_member", "finetune-charlm", "prj_a", steps=200)
    m = run["metrics"]
    assert m["steps"] == 200
    assert m["perplexity_after"] < 0.5 * m["perplexity_before"]
    assert m["accuracy_after"] > m["accuracy_before"]


def test_image_throughput_template_reports_images_per_hour(local_world: World) -> None:
    estimate = local_world.call("a_member", "POST", "/v1/lab/templates/image-throughput/estimate",
                                json={"project": local_world.ids["prj_a"]}).json()  # fmt: skip
    assert estimate["priced"] is True and Decimal(estimate["total"]) > 0  # the default list
    assert Decimal(estimate["cpu_hours"]) == Decimal("0.25") and Decimal(estimate["gpu_hours"]) == 0
    run = run_template(local_world, "a_member", "image-throughput", "prj_a", images=256)
    m = run["metrics"]
    capacity = local_world.call("a_member", "GET", "/v1/capacity").json()
    assert m["centre_pflops"] == pytest.approx(float(capacity["peak_pflops"]))
    assert m["images"] == 256 and m["images_per_hour"] > 1000
    expected = m["centre_pflops"] * 1e15 * m["utilisation"] / m["flops_per_image"] * 3600
    assert m["centre_images_per_hour"] == pytest.approx(expected, rel=1e-6)
    assert m["centre_resnet50_images_per_hour"] < m["centre_images_per_hour"]


def _serial_reference(n: int, iterations: int, power: float) -> np.ndarray:
    t = np.full((n, n), AMBIENT_C)
    q = heat_source(n, power)
    for _ in range(iterations):
        new = t.copy()
        new[1:-1, 1:-1] = 0.25 * (t[:-2, 1:-1] + t[2:, 1:-1] + t[1:-1, :-2] + t[1:-1, 2:]
                                  + q[1:-1, 1:-1])  # fmt: skip
        t = new
    return t


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="Open MPI is not installed")
def test_thermal_mpi_template_matches_the_serial_solve(local_world: World) -> None:
    run = run_template(local_world, "a_member", "thermal-mpi", "prj_a", ranks=2, n=64,
                       iterations=300)  # fmt: skip
    m = run["metrics"]
    assert m["ranks"] == 2 and "Open MPI" in m["mpi"]
    reference = _serial_reference(64, 300, 4.0)
    assert m["max_temperature_c"] == pytest.approx(float(reference.max()), rel=1e-12)
    assert m["mean_temperature_c"] == pytest.approx(float(reference.mean()), rel=1e-12)
    assert run["job"]["cpus"] == 2


def _register_model(world: World, run: dict[str, Any], name: str) -> dict[str, Any]:
    """Copy a run's model to org a's storage and register it as a private model."""
    work = Path(world.ctx.settings.jobs_dir) / run["job"]["id"] / "1" / "work"
    target = storage(world, "org-a") / "models" / name
    shutil.copytree(work / "outputs" / "model", target)
    made = entry(world, "a_member", name, kind="model", licence="Apache-2.0")
    version(world, "a_member", made["id"], target)
    return made


def _assess(world: World, model_id: str) -> dict[str, Any]:
    started = world.call("a_member", "POST",
                         f"/v1/catalogue/entries/{model_id}/versions/1/assessments",
                         json={"project": world.ids["prj_a"]})  # fmt: skip
    assert started.status_code == 201, started.text
    assert started.json()["status"] == "running"
    finish(world, "a_member", started.json()["job_id"])
    return dict(
        world.call("root", "GET", f"/v1/catalogue/assessments/{started.json()['id']}").json()
    )


def test_an_assessment_runs_end_to_end_and_gates_publication(local_world: World) -> None:
    world = local_world
    run = run_template(world, "a_member", "finetune-charlm", "prj_a", steps=300)
    model = _register_model(world, run, "weather-lm")
    done = _assess(world, model["id"])
    assert done["status"] == "evaluated", done["results"]
    checks = {c["name"]: c["passed"] for c in done["results"]["checks"]}
    assert checks == {"provenance": True, "quality": True, "robustness": True,
                      "disparity": True, "licence": True}  # fmt: skip
    assert publish(world, "a_org_admin", model["id"]).json()["code"] == "assessment_required"
    signoff = f"/v1/catalogue/assessments/{done['id']}/signoff"
    body = {"approve": True, "risk_level": "low", "conditions": "Weather text only."}
    assert world.call("a_org_admin", "POST", signoff, json=body).status_code == 403
    signed = world.call("root", "POST", signoff, json=body).json()
    assert signed["status"] == "approved" and signed["risk_level"] == "low"
    assert "## Sign-off" in signed["model_card"] and "Weather text only." in signed["model_card"]
    assert "| quality | pass |" in signed["model_card"]
    assert world.call("root", "POST", signoff, json=body).status_code == 409
    shared = publish(world, "a_org_admin", model["id"])
    assert shared.status_code == 200 and shared.json()["versions"][0]["cleared"]
    seen = world.call("b_member", "GET", f"/v1/catalogue/entries/{model['id']}")
    assert seen.status_code == 200


def test_an_unfit_model_fails_its_assessment_and_stays_private(local_world: World) -> None:
    world = local_world
    run = run_template(world, "a_member", "finetune-charlm", "prj_a", steps=1)
    model = _register_model(world, run, "undertrained")
    done = _assess(world, model["id"])
    assert done["status"] == "failed" and "quality" in done["results"]["failed"]
    r = world.call("root", "POST", f"/v1/catalogue/assessments/{done['id']}/signoff",
                   json={"approve": True, "risk_level": "low"})  # fmt: skip
    assert r.status_code == 409
    assert publish(world, "a_org_admin", model["id"]).status_code == 409
    assert world.call("b_member", "GET", f"/v1/catalogue/entries/{model['id']}").status_code == 404
