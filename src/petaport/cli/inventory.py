"""``pools`` (node pools: create/list/show/delete) and ``capacity``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from petaport.cli.output import (
    OutputFormat,
    OutputOption,
    console,
    details,
    emit,
    emit_one,
    fmt_mem,
    print_json,
)
from petaport.cli.parsing import parse_mem
from petaport.cli.session import CliCommand, api, usage
from petaport.client import NotFound, PetaportClient
from petaport.schemas import NodePoolCreate, NodePoolPublic

pools_app = typer.Typer(help="Node pools: groups of identical nodes.", no_args_is_help=True)
PoolArg = Annotated[str, typer.Argument(help="Pool name or pool_ id.")]


def _pool_row(p: NodePoolPublic) -> tuple[object, ...]:
    return (p.id, p.name, p.gpu_model, p.gpus_per_node, p.cpus_per_node,
            fmt_mem(p.memory_mb_per_node), p.node_count, p.total_gpus,
            f"{p.peak_pflops} ({p.precision})", p.backend)  # fmt: skip


@pools_app.command("list", cls=CliCommand)
def list_pools(output: OutputOption = OutputFormat.TABLE) -> None:
    """Node pools and their size."""
    with api() as client:
        rows = client.list_pools()
    cols = ("ID", "NAME", "GPU", "GPUS/NODE", "CPUS/NODE", "MEM/NODE", "NODES", "GPUS",
            "PEAK PFLOPS", "BACKEND")  # fmt: skip
    emit(rows, output, cols, _pool_row)


def _resolve_pool(client: PetaportClient, ref: str) -> NodePoolPublic:
    if ref.startswith("pool_"):
        return client.get_pool(ref)
    found = next((p for p in client.list_pools() if p.name == ref), None)
    if found is None:
        raise NotFound(404, "not_found", f"node pool {ref} not found", None)
    return found


@pools_app.command("show", cls=CliCommand)
def show_pool(pool: PoolArg, output: OutputOption = OutputFormat.TABLE) -> None:
    """One node pool."""
    with api() as client:
        emit_one(_resolve_pool(client, pool), output)


def _pflops(text: str | None) -> Decimal | None:
    try:
        return None if text is None else Decimal(text)
    except InvalidOperation as exc:
        raise usage(f"not a number: {text!r}", "--pflops-per-gpu") from exc


@pools_app.command("create", cls=CliCommand)
def create_pool(
    name: Annotated[str, typer.Argument(help="Lowercase name, e.g. h800-a.")],
    nodes: Annotated[int, typer.Option("--nodes", help="Number of nodes.")],
    cpus_per_node: Annotated[int, typer.Option(help="CPUs per node.")],
    mem_per_node: Annotated[str, typer.Option(help="Memory per node: 2T, 512G.")],
    gpus_per_node: Annotated[int, typer.Option(help="GPUs per node.")] = 0,
    gpu_model: Annotated[str | None, typer.Option(help="e.g. H800.")] = None,
    pflops_per_gpu: Annotated[str | None, typer.Option(help="Peak PFLOPS per GPU.")] = None,
    precision: Annotated[str, typer.Option(help="Precision of the peak figure.")] = "BF16 dense",
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Declare a node pool (centre admins)."""
    spec = NodePoolCreate(name=name, gpu_model=gpu_model, gpus_per_node=gpus_per_node,
                          cpus_per_node=cpus_per_node, node_count=nodes,
                          memory_mb_per_node=parse_mem(mem_per_node, "--mem-per-node"),
                          pflops_per_gpu=_pflops(pflops_per_gpu), precision=precision)  # fmt: skip
    with api() as client:
        emit_one(client.create_pool(spec), output)


@pools_app.command("delete", cls=CliCommand)
def delete_pool(
    pool: PoolArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a node pool."""
    with api() as client:
        found = _resolve_pool(client, pool)
        if not yes:
            typer.confirm(f"Delete node pool {found.name} ({found.id})?", abort=True)
        client.delete_pool(found.id)
    console.print(f"Deleted {found.name} ({found.id}).", markup=False)


def capacity(output: OutputOption = OutputFormat.TABLE) -> None:
    """GPUs in the centre, how many are allocated, and the peak PFLOPS."""
    with api() as client:
        cap = client.capacity()
    if output == OutputFormat.JSON:
        print_json(cap)
        return
    console.print(details([("GPUs", cap.gpus), ("Allocated", cap.gpus_allocated),
                           ("Free", cap.gpus - cap.gpus_allocated),
                           ("Peak PFLOPS", f"{cap.peak_pflops} ({cap.precision})")]))  # fmt: skip
