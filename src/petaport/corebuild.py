"""Which modules are compiled with mypyc, and whether the compiled copies match the sources.

The scheduler core and the simulator's replay engine are plain, strictly typed Python. The
install (``make``, ``scripts/build-core.py``) compiles them with mypyc, in place: each
``module.py`` gets a ``module.cpython-*.so`` beside it, which Python imports instead. The
compiled code makes the same decisions (the sources are the single truth, and
``tests/unit/simulator/test_compiled_core.py`` replays traces both ways and compares); it is
only faster. Where no C compiler or Python headers exist, everything runs interpreted.

A compiled copy older than its source would silently run old code: the build writes a stamp
with each source's digest, and ``stale()`` names the modules whose source changed since.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
STAMP_NAME = ".core-build.json"
STAMP = PACKAGE / STAMP_NAME
SIMULATOR = ("engine", "selection", "adapter", "state", "releases", "usage")


def modules(package: Path = PACKAGE) -> list[str]:
    """Dotted names of the modules that are compiled: the whole scheduler core and the
    simulator's hot path (its loaders, reports and CLI stay interpreted)."""
    core = sorted(p.stem for p in (package / "scheduler").glob("*.py"))
    simulator = [m for m in SIMULATOR if (package / "simulator" / f"{m}.py").exists()]
    return [f"petaport.scheduler.{m}" for m in core] + [
        f"petaport.simulator.{m}" for m in simulator
    ]


def source(module: str, package: Path = PACKAGE) -> Path:
    return package.joinpath(*module.split(".")[1:]).with_suffix(".py")


def extensions(module: str, package: Path = PACKAGE) -> list[Path]:
    """The compiled copies of ``module`` lying beside its source (any Python version)."""
    path = source(module, package)
    return sorted(path.parent.glob(path.stem + ".*so"))


def digest_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests(package: Path = PACKAGE) -> dict[str, str]:
    return {m: digest_file(source(m, package)) for m in modules(package)}


def built(package: Path = PACKAGE) -> dict[str, str]:
    """The digests the last build recorded (empty if none)."""
    try:
        stamp = json.loads((package / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return {}
    found = stamp.get("sources", {}) if isinstance(stamp, dict) else {}
    return {str(k): str(v) for k, v in found.items()}


def stale(package: Path = PACKAGE) -> list[str]:
    """Modules with a compiled copy that does not match the source beside it."""
    recorded = built(package)
    return [
        m
        for m in modules(package)
        if extensions(m, package) and recorded.get(m) != digest_file(source(m, package))
    ]


def compiled() -> list[str]:
    """Modules that Python imports from a compiled copy."""
    out = []
    for m in modules():
        spec = importlib.util.find_spec(m)
        origin = spec.origin if spec is not None else None
        if origin is not None and not origin.endswith(".py"):
            out.append(m)
    return out


def describe() -> str:
    """One word for reports and benchmarks: compiled, interpreted, partly compiled or stale."""
    if stale():
        return "stale"
    done = len(compiled())
    if done == len(modules()):
        return "compiled"
    return "partly compiled" if done else "interpreted"
