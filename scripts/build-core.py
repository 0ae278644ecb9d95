"""Compile the scheduler core and the simulator's replay engine with mypyc, in place.

    .venv/bin/python scripts/build-core.py            # build if a source changed (else nothing)
    .venv/bin/python scripts/build-core.py --require  # fail if it cannot be compiled here
    .venv/bin/python scripts/build-core.py --clean    # remove the compiled copies (interpreted)

Which modules, and why: ``petaport.corebuild``. Without a C compiler or Python's headers the
modules stay interpreted (same decisions, slower) and this says so; ``--require`` (``make
test``) makes that an error, so that benchmarks and CI never measure the slow path by mistake.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
BUILD = ROOT / "build" / "mypyc"
sys.path.insert(0, str(SRC))

from petaport import corebuild  # noqa: E402

# mypyc's build, run with ``src`` as the working directory so that setuptools neither reads
# the project's pyproject.toml nor places the extensions anywhere but beside their sources
SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify
paths, build = sys.argv[1:-1], sys.argv[-1]
setup(
    name="petaport-core",
    ext_modules=mypycify(paths, opt_level="3", target_dir=build + "/c", group_name="petaport_core"),
    script_args=["build_ext", "--inplace", "--parallel", "2",
                 "--build-temp", build + "/temp", "--build-lib", build + "/lib"],
)
"""


def clean() -> None:
    for module in corebuild.modules():
        for path in corebuild.extensions(module):
            path.unlink()
    for path in SRC.glob("petaport_core*.so"):
        path.unlink()
    corebuild.STAMP.unlink(missing_ok=True)


def missing_tools() -> str | None:
    compiler = os.environ.get("CC") or "cc"
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler}; Debian: apt install gcc)"
    header = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not header.exists():
        return f"no Python headers ({header}; Debian: apt install python3-dev)"
    try:
        import mypyc  # noqa: F401
    except ImportError:
        return "mypyc is not installed (it comes with mypy: pip install -e '.[dev]')"
    return None


def build() -> None:
    clean()
    BUILD.mkdir(parents=True, exist_ok=True)
    paths = [str(corebuild.source(m).relative_to(SRC)) for m in corebuild.modules()]
    log = BUILD / "build.log"
    began = time.monotonic()
    print(f"core: compiling {len(paths)} modules with mypyc (about a minute) ...", flush=True)
    with log.open("w") as out:
        done = subprocess.run(
            [sys.executable, "-c", SETUP, *paths, str(BUILD)],
            check=False,
            cwd=SRC,
            stdout=out,
            stderr=out,
        )
    if done.returncode != 0:
        clean()
        tail = log.read_text().splitlines()[-30:]
        sys.exit("core: mypyc failed (the modules stay interpreted):\n" + "\n".join(tail))
    stamp = {"sources": corebuild.digests(), "python": sys.version.split()[0]}
    corebuild.STAMP.write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n")
    print(f"core: compiled in {time.monotonic() - began:.0f} s", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--require", action="store_true", help="fail if it cannot be compiled")
    p.add_argument("--clean", action="store_true", help="remove the compiled copies")
    args = p.parse_args()
    if args.clean:
        clean()
        print("core: interpreted (compiled copies removed)")
        return
    if all(corebuild.extensions(m) for m in corebuild.modules()) and (
        corebuild.built() == corebuild.digests()
    ):
        return  # every module compiled, from the sources as they are
    why = missing_tools()
    if why is not None:
        clean()
        message = f"core: cannot compile, the scheduler runs interpreted: {why}"
        if args.require:
            sys.exit(message)
        print(message)
        return
    build()


if __name__ == "__main__":
    main()
