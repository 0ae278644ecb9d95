"""What this machine offers: its GPUs (from NVML, or as declared), CPUs and memory.

Invariants:
- NVML is asked only when ``use_nvml`` is true; when it is missing, fails, or finds no GPU, the
  declared GPUs are used instead (the demo declares 8 H800s on a machine without any);
- GPU indices are ``0..count-1``, the numbering ``CUDA_VISIBLE_DEVICES`` uses;
- configured CPU and memory figures win over what the machine reports.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from dataclasses import dataclass
from typing import Any

from petaport.services.ports import NodeInfo

_DEFAULT_MEMORY_MB = 1024


@dataclass(frozen=True)
class GpuSet:
    model: str | None
    count: int


def nvml_gpus() -> GpuSet | None:
    """The GPUs NVML sees, or None when NVML is unavailable or sees none."""
    try:
        nvml: Any = importlib.import_module("pynvml")
    except ImportError:
        return None
    try:
        nvml.nvmlInit()
    except nvml.NVMLError:
        return None
    try:
        count = int(nvml.nvmlDeviceGetCount())
        if count == 0:
            return None
        name = nvml.nvmlDeviceGetName(nvml.nvmlDeviceGetHandleByIndex(0))
        return GpuSet(model=gpu_model_name(name), count=count)
    except nvml.NVMLError:
        return None
    finally:
        with contextlib.suppress(nvml.NVMLError):
            nvml.nvmlShutdown()


def gpu_model_name(raw: str | bytes) -> str:
    """``"NVIDIA H100 80GB HBM3"`` -> ``"H100 80GB HBM3"``: the vendor prefix says nothing."""
    name = raw.decode() if isinstance(raw, bytes) else raw
    return name.removeprefix("NVIDIA ").strip()


def meminfo_total_mb(path: str = "/proc/meminfo") -> int:
    """MemTotal in MiB, or a small default when it cannot be read."""
    try:
        with open(path, encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return _DEFAULT_MEMORY_MB


def local_node(
    name: str,
    *,
    cpus: int | None,
    memory_mb: int | None,
    declared: GpuSet,
    use_nvml: bool,
) -> NodeInfo:
    found = nvml_gpus() if use_nvml else None
    gpus = found if found is not None else declared
    return NodeInfo(
        name=name,
        gpu_model=gpus.model if gpus.count else None,
        gpu_indices=tuple(range(gpus.count)),
        cpus=cpus if cpus is not None else (os.cpu_count() or 1),
        memory_mb=memory_mb if memory_mb is not None else meminfo_total_mb(),
    )
