"""The explicit backend registry: a backend name in Settings -> a constructed Backend.

Invariants: every name ``Settings.backend`` accepts has exactly one factory here, and adding a
backend means adding one line (no discovery through entry points or imports by side effect).
"""

from __future__ import annotations

from collections.abc import Callable

from petaport.backends.fake.backend import FakeBackend
from petaport.backends.local.backend import LocalBackend
from petaport.backends.slurm.backend import SlurmBackend
from petaport.services.ports import Backend, NodeInfo
from petaport.settings import Settings

_FAKE_CPUS = 64
_FAKE_MEMORY_MB = 512 * 1024


def _build_local(settings: Settings) -> Backend:
    return LocalBackend.from_settings(settings)


def _build_fake(settings: Settings) -> Backend:
    """A fake shaped like the declared local node, on the real clock (for demos and dev)."""
    node = NodeInfo(
        name=settings.local_node_name,
        gpu_model=settings.gpus.model if settings.gpus.count else None,
        gpu_indices=tuple(range(settings.gpus.count)),
        cpus=settings.local_cpus or _FAKE_CPUS,
        memory_mb=settings.local_memory_mb or _FAKE_MEMORY_MB,
    )
    return FakeBackend([node])


def _build_slurm(settings: Settings) -> Backend:
    return SlurmBackend.from_settings(settings)


BACKENDS: dict[str, Callable[[Settings], Backend]] = {
    "local": _build_local,
    "fake": _build_fake,
    "slurm": _build_slurm,
}


def build_backend(settings: Settings) -> Backend:
    """The backend ``settings.backend`` names; ``ValueError`` for an unknown name."""
    try:
        factory = BACKENDS[settings.backend]
    except KeyError:
        raise ValueError(f"unknown backend {settings.backend!r}") from None
    return factory(settings)
