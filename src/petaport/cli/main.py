"""The ``petaport`` command: assembles the command modules and keeps ``serve``.

Exit codes: 0 ok; 1 refused by the API (403, 409, 422, 5xx) or a local config problem;
2 usage error; 3 not found (404) or not logged in (401); 4 server unreachable.
``submit --wait`` exits with the job's own exit code.
"""

from __future__ import annotations

from typing import Annotated

import typer

from petaport.cli import (
    auth,
    catalogue,
    grants,
    inventory,
    invoices,
    jobs,
    lab,
    money,
    prices,
    quotas,
    slurm,
    spend,
    submit,
    subsidy,
    subsidy_report,
    subsidy_review,
    tenancy,
)
from petaport.cli.session import EXIT_CODES_HELP, CliCommand, CliGroup

app = typer.Typer(
    cls=CliGroup, no_args_is_help=True, pretty_exceptions_show_locals=False,
    help="Petaport: run jobs on a shared AI compute centre.\n\n" + EXIT_CODES_HELP
    + "\n\nConfig: $PETAPORT_CONFIG_DIR/config.json (default ~/.config/petaport); "
    "PETAPORT_URL and PETAPORT_TOKEN override it.",
)  # fmt: skip


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port (default PETAPORT_PORT or 8000).")] = None,
) -> None:
    """Serve the API, portal, scheduler and local backend on 127.0.0.1."""
    from petaport.app import serve as run_server
    from petaport.settings import Settings

    settings = Settings() if port is None else Settings(port=port)
    run_server(settings)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                      "help_option_names": []},
    add_help_option=False,
)  # fmt: skip
def simulate(ctx: typer.Context) -> None:
    """Replay a trace through the production scheduler (``petaport simulate --help``)."""
    from petaport.simulator.cli import run_cli

    raise typer.Exit(run_cli(ctx.args))


app.command(cls=CliCommand)(auth.login)
app.command(cls=CliCommand)(auth.logout)
app.command(cls=CliCommand)(auth.whoami)
app.command(cls=CliCommand, context_settings=submit.SUBMIT_CONTEXT)(submit.submit)
app.command("jobs", cls=CliCommand)(jobs.list_jobs)
app.command(cls=CliCommand)(jobs.show)
app.command(cls=CliCommand)(jobs.logs)
app.command(cls=CliCommand)(jobs.cancel)
app.command(cls=CliCommand)(jobs.requeue)
app.command(cls=CliCommand)(inventory.capacity)
app.add_typer(tenancy.orgs_app, name="orgs")
app.add_typer(tenancy.projects_app, name="projects")
app.add_typer(tenancy.users_app, name="users")
app.add_typer(tenancy.members_app, name="members")
app.add_typer(auth.tokens_app, name="tokens")
app.add_typer(inventory.pools_app, name="pools")
app.add_typer(quotas.quotas_app, name="quotas")
app.command(cls=CliCommand)(quotas.fairshare)
app.command(cls=CliCommand)(money.usage)
app.add_typer(prices.prices_app, name="prices")
app.command(cls=CliCommand)(spend.spend)
app.command(cls=CliCommand)(money.account)
app.command(cls=CliCommand)(money.plan)
app.command(cls=CliCommand)(money.topup)
app.add_typer(money.budgets_app, name="budgets")
app.add_typer(invoices.invoices_app, name="invoices")
app.command(cls=CliCommand)(invoices.revenue)
app.add_typer(slurm.slurm_app, name="slurm")
app.add_typer(catalogue.catalogue_app, name="catalogue")
app.add_typer(lab.lab_app, name="lab")
app.add_typer(grants.grants_app, name="grants")
app.add_typer(subsidy.subsidy_app, name="subsidy")
del subsidy_report, subsidy_review  # their commands register on subsidy_app when imported
