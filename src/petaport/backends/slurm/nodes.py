"""Slurm's nodes (``sinfo --json``) as Petaport's inventory needs them, and the choice of a
partition for the nodes Petaport placed a job on. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SlurmNode:
    name: str
    cpus: int
    memory_mb: int
    gpu_type: str | None
    gpus: int
    partitions: tuple[str, ...]
    usable: bool  # not DOWN, DRAINED, FAILED or otherwise out of service


_UNUSABLE = frozenset(
    {
        "down", "drain", "drained", "draining", "fail", "failing", "future", "not_responding",
        "unknown", "maint", "power_down", "powered_down",
    }
)  # fmt: skip


def parse_gres(text: str) -> tuple[str | None, int]:
    """``gpu:H800:8(S:0-1)`` -> ("H800", 8); ``gpu:4`` -> (None, 4); others -> (None, 0)."""
    for item in text.split(","):
        parts = item.split("(")[0].split(":")
        if parts[0] != "gpu" or len(parts) < 2:
            continue
        if len(parts) == 2 and parts[1].isdigit():
            return None, int(parts[1])
        if len(parts) >= 3 and parts[2].isdigit():
            return parts[1], int(parts[2])
    return None, 0


def parse_sinfo_json(data: Mapping[str, Any]) -> list[SlurmNode]:
    nodes: list[SlurmNode] = []
    for raw in data.get("nodes", []):
        gpu_type, gpus = parse_gres(str(raw.get("gres", "")))
        state = raw.get("state", "")
        words = {str(w).lower() for w in ([state] if isinstance(state, str) else state)}
        words |= {str(f).lower() for f in raw.get("state_flags", [])}
        nodes.append(
            SlurmNode(
                name=str(raw["name"]),
                cpus=int(raw.get("cpus", 0)),
                memory_mb=int(raw.get("real_memory", 0)),
                gpu_type=gpu_type,
                gpus=gpus,
                partitions=tuple(str(p) for p in raw.get("partitions", [])),
                usable=not (words & _UNUSABLE),
            )
        )
    return nodes


def expand_hostlist(text: str) -> tuple[str, ...]:
    """Slurm's compressed host list: ``gpu[1-2,04],cpu1`` -> gpu1, gpu2, gpu04, cpu1 (zero
    padding kept; one bracket per name, as Slurm writes node names)."""
    names: list[str] = []
    for item in _split_top_level(text):
        prefix, bracket, rest = item.partition("[")
        if not bracket:
            names.append(item)
            continue
        ranges, _, suffix = rest.partition("]")
        for part in ranges.split(","):
            low, _, high = part.partition("-")
            if not (low.isdigit() and (not high or high.isdigit())):
                names.append(item)  # not a list Slurm writes: keep it as it is
                break
            for n in range(int(low), int(high or low) + 1):
                names.append(f"{prefix}{n:0{len(low)}d}{suffix}")
    return tuple(names)


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets."""
    items, depth, current = [], 0, ""
    for char in text.strip():
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    return [item for item in [*items, current] if item]


def choose_partition(nodes: Sequence[str], partitions: Mapping[str, Sequence[str]]) -> str | None:
    """The first partition (in the first node's order) that holds every one of ``nodes``."""
    if not nodes or nodes[0] not in partitions:
        return None
    for candidate in partitions[nodes[0]]:
        if all(candidate in partitions.get(node, ()) for node in nodes):
            return candidate
    return None
