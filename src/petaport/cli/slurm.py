"""``slurm sync``: mirror Petaport's tenants into Slurm's associations (centre admins)."""

from __future__ import annotations

from typing import Annotated

import typer

from petaport.cli.output import OutputFormat, OutputOption, console, print_json
from petaport.cli.session import CliCommand, api

slurm_app = typer.Typer(help="Operate the Slurm cluster behind Petaport.", no_args_is_help=True)


@slurm_app.command("sync", cls=CliCommand)
def sync(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the sacctmgr commands; change nothing.")
    ] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Make Slurm's accounts, users and limits say what Petaport says: orgs and projects become
    accounts, members user associations, quotas GrpTRES (centre admins)."""
    with api() as client:
        result = client.sync_slurm(dry_run=dry_run)
    if output == OutputFormat.JSON:
        print_json(result)
        return
    for line in result.commands:
        console.print(line, markup=False, highlight=False)
    done = "would run" if dry_run else "ran"
    if not result.commands:
        console.print("Slurm already agrees: no command.", markup=False)
    else:
        console.print(f"({len(result.commands)} sacctmgr commands {done})", markup=False)
