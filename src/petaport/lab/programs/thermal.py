"""AI Lab template ``thermal-mpi``: a steady-state thermal solve of a chip die across MPI ranks.

The kind of CPU/MPI job microelectronics design runs (TCAD, thermal sign-off): the 2-D heat
equation on an ``n x n`` grid, edges held at ambient temperature, a hot block (a power-dense
core) heating the die; Jacobi iterations of the five-point finite-difference stencil. The grid
is split into strips of rows, one per rank, exchanging one halo row with each neighbour every
iteration (``Sendrecv``); the residual is reduced over all ranks (``Allreduce``). Rank 0 gathers
the field and writes ``outputs/metrics.json``. With one rank it is the serial reference.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

AMBIENT_C = 25.0


def heat_source(n: int, power: float) -> np.ndarray:
    """W per cell (scaled): a hot core in the upper left quarter, a warm block elsewhere."""
    q = np.zeros((n, n))
    q[n // 8 : n // 4, n // 8 : n // 4] = power
    q[n // 2 : 3 * n // 4, n // 2 : 7 * n // 8] = power / 4
    return q


def solve(comm: MPI.Comm, n: int, iterations: int, power: float) -> tuple[np.ndarray | None, float]:
    rank, size = comm.Get_rank(), comm.Get_size()
    rows = np.array_split(np.arange(n), size)[rank]
    lo, hi = rows[0], rows[-1] + 1
    t = np.full((hi - lo + 2, n), AMBIENT_C)  # with one halo row above and below
    q = heat_source(n, power)[lo:hi]
    up = rank - 1 if rank > 0 else MPI.PROC_NULL
    down = rank + 1 if rank < size - 1 else MPI.PROC_NULL
    residual = 0.0
    for _ in range(iterations):
        comm.Sendrecv(t[1], dest=up, recvbuf=t[-1], source=down)
        comm.Sendrecv(t[-2], dest=down, recvbuf=t[0], source=up)
        new = t.copy()
        new[1:-1, 1:-1] = 0.25 * (t[:-2, 1:-1] + t[2:, 1:-1] + t[1:-1, :-2] + t[1:-1, 2:]
                                  + q[:, 1:-1])  # fmt: skip
        if lo == 0:
            new[1] = AMBIENT_C
        if hi == n:
            new[-2] = AMBIENT_C
        local = float(np.abs(new[1:-1] - t[1:-1]).max())
        t = new
        residual = comm.allreduce(local, op=MPI.MAX)
    parts = comm.gather(t[1:-1], root=0)
    return (np.vstack(parts) if rank == 0 and parts else None), residual


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--power", type=float, default=4.0)
    parser.add_argument("--out", default="outputs")
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    started = time.perf_counter()
    field, residual = solve(comm, args.n, args.iterations, args.power)
    seconds = time.perf_counter() - started
    if field is None:
        return
    hot = np.unravel_index(field.argmax(), field.shape)
    metrics = {
        "ranks": comm.Get_size(), "n": args.n, "iterations": args.iterations,
        "seconds": round(seconds, 4), "max_temperature_c": float(field.max()),
        "mean_temperature_c": float(field.mean()), "hotspot": [int(hot[0]), int(hot[1])],
        "residual_c": residual,
        "cell_updates_per_s": round(args.n * args.n * args.iterations / seconds),
        "mpi": MPI.Get_library_version().splitlines()[0].strip(),
    }  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    np.save(out / "temperature.npy", field)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
