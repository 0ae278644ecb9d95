"""Gang placement: best fit, one model per gang, allowed model sets, fractional GPUs."""

from __future__ import annotations

import pytest

from petaport.domain.jobs import PendingReason
from petaport.scheduler.placement import gang_shape, gpu_model_matches

from .builders import gpus_of, job, node, run, snap


@pytest.mark.parametrize(
    ("gpus", "expected_node"),
    [(1, "n2"), (2, "n2"), (3, "n3"), (4, "n3"), (5, "n1"), (8, "n1")],
)
def test_a_single_node_job_goes_to_the_fullest_node_that_holds_it(
    gpus: int, expected_node: str
) -> None:
    nodes = [node("n1"), node("n2", free=(6, 7)), node("n3", free=(0, 1, 2, 3))]
    starts, _ = run(snap(nodes, [job("j", gpus)]))
    assert [a.node for a in starts["j"]] == [expected_node]


def test_packing_keeps_a_whole_node_free_for_a_large_job() -> None:
    nodes = [node("n1"), node("n2", free=(4, 5, 6, 7))]
    jobs = [job("small", 4, age_s=2), job("big", 8, age_s=1)]
    starts, d = run(snap(nodes, jobs))
    assert [a.node for a in starts["small"]] == ["n2"]
    assert [a.node for a in starts["big"]] == ["n1"] and not d.waits


@pytest.mark.parametrize(
    ("models", "expected"),
    [
        (None, ["b1", "b2"]),  # any model: the one left with no free GPUs on the nodes used
        (frozenset({"H800"}), ["a1", "a2"]),
        (frozenset({"h100"}), ["b1", "b2"]),
    ],
)
def test_a_gang_uses_nodes_of_one_model(models: frozenset[str] | None, expected: list[str]) -> None:
    nodes = [
        node("a1", model="H800"),
        node("a2", model="H800"),
        node("b1", model="H100 80GB HBM3", free=(0, 1, 2, 3)),
        node("b2", model="H100 80GB HBM3", free=(4, 5, 6, 7)),
    ]
    starts, _ = run(snap(nodes, [job("gang", 4, 2, models=models)]))
    assert [a.node for a in starts["gang"]] == expected


def test_a_gang_never_mixes_models_even_when_enough_nodes_exist_in_all() -> None:
    nodes = [node("a1", model="H800"), node("b1", model="H100")]
    starts, d = run(snap(nodes, [job("gang", 8, 2)]))
    assert not starts and d.waits == {"gang": PendingReason.RESOURCES}


@pytest.mark.parametrize(
    ("wanted", "reason"),
    [
        (frozenset({"A100", "H100"}), None),
        (frozenset({"A100", "MI300X"}), PendingReason.GPU_MODEL_UNAVAILABLE),
    ],
)
def test_allowed_model_sets(wanted: frozenset[str], reason: PendingReason | None) -> None:
    starts, d = run(snap([node(model="H100 80GB HBM3")], [job("j", 1, models=wanted)]))
    assert ("j" in starts) == (reason is None)
    assert d.waits.get("j") == reason


def test_fractional_jobs_share_one_gpu_before_opening_another() -> None:
    jobs = [job(f"f{i}", milli=500, age_s=10 - i) for i in range(3)]
    starts, d = run(snap([node(gpus=2)], jobs))
    assert not d.waits
    assert {s.job_id: s.gpu_milli for s in d.starts} == {"f0": 500, "f1": 500, "f2": 500}
    assert gpus_of(starts["f0"]) == gpus_of(starts["f1"]) == [("n1", 0)]
    assert gpus_of(starts["f2"]) == [("n1", 1)]


@pytest.mark.parametrize(
    ("milli", "expected_gpu"),
    [(300, 0), (400, 0), (401, 1), (700, 1), (701, 2)],
)
def test_a_fractional_job_takes_the_shared_gpu_with_least_room_that_holds_it(
    milli: int, expected_gpu: int
) -> None:
    n = node(gpus=3, free=(2,), shared=((0, 400), (1, 700)))
    starts, _ = run(snap([n], [job("f", milli=milli)]))
    assert gpus_of(starts["f"]) == [("n1", expected_gpu)]


def test_whole_gpu_jobs_never_take_a_shared_gpu() -> None:
    n = node(gpus=2, free=(), shared=((0, 900), (1, 900)))
    starts, d = run(snap([n], [job("whole", 1), job("part", milli=900, age_s=-1)]))
    assert d.waits == {"whole": PendingReason.RESOURCES} and "part" in starts


def test_cpu_only_jobs_prefer_nodes_without_gpus() -> None:
    nodes = [node("gpu1"), node("cpu1", gpus=0, model=None)]
    starts, _ = run(snap(nodes, [job("cpu", 0)]))
    assert [a.node for a in starts["cpu"]] == ["cpu1"]


def test_a_drained_node_is_not_used_but_the_job_is_not_told_it_never_fits() -> None:
    nodes = [node("n1", schedulable=False)]
    starts, d = run(snap(nodes, [job("j", 8)]))
    assert not starts and d.waits == {"j": PendingReason.RESOURCES}


def test_fractional_gangs_can_never_run() -> None:
    _, d = run(snap([node(), node("n2")], [job("f", nodes=2, milli=500)]))
    assert d.waits == {"f": PendingReason.PARTITION_CONFIG}


@pytest.mark.parametrize(
    ("total", "per_node", "expected"),
    [(4, 8, (4, 1)), (8, 8, (8, 1)), (16, 8, (8, 2)), (12, 8, (6, 2)), (9, 8, (3, 3)),
     (24, 8, (8, 3)), (7, 0, (7, 1))],
)  # fmt: skip
def test_gang_shape_uses_the_fewest_nodes_with_equal_shares(
    total: int, per_node: int, expected: tuple[int, int]
) -> None:
    assert gang_shape(total, per_node) == expected


@pytest.mark.parametrize(
    ("node_model", "wanted", "matches"),
    [("H100 80GB HBM3", "h100", True), ("H100", "H100 80GB HBM3", False), (None, "H100", False),
     ("A100", None, True), ("h800", "H800", True)],
)  # fmt: skip
def test_the_model_rule(node_model: str | None, wanted: str | None, matches: bool) -> None:
    assert gpu_model_matches(node_model, wanted) is matches
