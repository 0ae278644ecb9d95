"""The catalogue and the AI Lab through the real ``petaport`` CLI against a real server with the
demo centre: browse, request, approve, use a dataset (read-only, recorded), run a template and
register content with its checksum."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from tests.conftest import LiveServer
from tests.e2e import test_cli
from tests.e2e.test_cli import PROJECT, Cli

server = test_cli.server  # the module's server and logged-in CLIs (fixtures)
make_cli = test_cli.make_cli

READ = [
    "bash",
    "-c",
    'wc -l < "$PETAPORT_DATASET_HK_RAINFALL/rainfall.csv"; '
    'touch "$PETAPORT_DATASET_HK_RAINFALL/x" 2>/dev/null && echo writable || echo read-only',
]


def test_request_approve_use_and_record(make_cli: Callable[[str], Cli]) -> None:
    alice, owner = make_cli("harbour-u-alice"), make_cli("hk-data-office-admin")
    listed = alice.json("catalogue", "list")
    assert {e["ref"] for e in listed} >= {"dataset:hk-data-office/hk-rainfall",
                                          "dataset:hk-weather-bulletins"}  # fmt: skip
    refused = alice("submit", "-p", PROJECT, "--use", "dataset:hk-rainfall", "--", *READ)
    assert refused.returncode == 1 and "access" in refused.stderr, refused.stderr
    grant = alice.ok("catalogue", "request", "dataset:hk-rainfall", "-p", PROJECT,
                     "--purpose", "flood model training", "--accept-dua").strip()  # fmt: skip
    assert grant.startswith("agr_")
    assert alice("catalogue", "approve", grant).returncode == 1  # only the owner decides
    assert "approved until" in owner.ok("catalogue", "approve", grant, "--days", "30")
    job = alice.ok("submit", "-p", PROJECT, "--use", "dataset:hk-rainfall", "--wait", "--", *READ)
    job_id = job.strip()
    logs = alice.ok("logs", job_id)
    assert logs.split() == ["1009", "read-only"]
    uses = owner.json("catalogue", "uses", "dataset:hk-rainfall")
    assert [u["job_id"] for u in uses] == [job_id]


def test_lab_run_and_estimate(make_cli: Callable[[str], Cli]) -> None:
    alice = make_cli("harbour-u-alice")
    assert "image-throughput" in alice.ok("lab", "list")
    estimate = alice.ok("lab", "estimate", "image-throughput", "-p", PROJECT)
    assert "CPU-hours" in estimate and "List prices of the stored price book" in estimate
    out = alice.ok("lab", "run", "image-throughput", "-p", PROJECT, "-P", "images=64", "--wait")
    assert '"images_per_hour"' in out and '"centre_resnet50_images_per_hour"' in out


def test_register_hashes_with_the_same_digest_as_the_server(
    make_cli: Callable[[str], Cli], server: LiveServer
) -> None:
    admin = make_cli("harbour-u-admin")
    path = server.data_dir / "storage" / "harbour-u" / "notes.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("tokenizer notes\n" * 1000)
    out = admin.ok("catalogue", "register", "dataset", "tokenizer-notes", str(path),
                   "--org", "harbour-u", "--licence", "MIT")  # fmt: skip
    assert hashlib.sha256(path.read_bytes()).hexdigest() in out
    outside = server.data_dir / "demo-credentials.txt"
    refused = admin("catalogue", "register", "dataset", "tokenizer-notes", str(outside),
                    "--org", "harbour-u", "--version", "2", "--licence", "MIT")  # fmt: skip
    assert refused.returncode == 3 and "not inside" in refused.stderr
