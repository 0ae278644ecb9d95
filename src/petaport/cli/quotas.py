"""``quotas`` (GPU quotas: list/set/delete) and ``fairshare`` (like Slurm's ``sshare``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from petaport.cli.output import OutputFormat, OutputOption, console, emit, emit_one
from petaport.cli.session import CliCommand, api, usage
from petaport.client import ClientError, PetaportClient
from petaport.schemas import FairSharePublic, QuotaCreate, QuotaPublic, QuotaUpdate

quotas_app = typer.Typer(
    help="GPU quotas: a guarantee, a borrowing limit and a lending limit per org or project.",
    no_args_is_help=True,
)


def _gpus(text: str | None, param: str) -> Decimal | None:
    if text is None or text.lower() in ("none", "unlimited", "-"):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise usage(f"not a number of GPUs: {text!r}", param) from exc
    if not value.is_finite() or value < 0:
        raise usage(f"not a number of GPUs: {text!r}", param)
    return value


def _limit(value: Decimal | None) -> str:
    return "-" if value is None else f"{value.normalize():f}"


class _Names:
    """Org slugs and project paths for display (ids when the caller cannot read them)."""

    def __init__(self, client: PetaportClient) -> None:
        self.client = client
        self.cache: dict[str, str] = {}

    def org(self, org_id: str) -> str:
        if org_id not in self.cache:
            try:
                self.cache[org_id] = self.client.get_org(org_id).slug
            except ClientError:
                self.cache[org_id] = org_id
        return self.cache[org_id]

    def project(self, project_id: str | None) -> str:
        if project_id is None:
            return "(whole org)"
        if project_id not in self.cache:
            try:
                self.cache[project_id] = self.client.get_project(project_id).slug
            except ClientError:
                self.cache[project_id] = project_id
        return self.cache[project_id]


@quotas_app.command("list", cls=CliCommand)
def list_quotas(
    org: Annotated[str | None, typer.Option("--org", help="Only this org (id).")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Quotas you may see, with the GPUs running jobs hold against each."""
    with api() as client:
        rows = client.list_quotas(org)
        names = _Names(client)
        cols = ("ID", "ORG", "PROJECT", "MODEL", "NOMINAL", "BORROW LIMIT", "LEND LIMIT", "USED")

        def row(q: QuotaPublic) -> tuple[object, ...]:
            return (q.id, names.org(q.org_id), names.project(q.project_id), q.gpu_model or "any",
                    _limit(q.nominal_gpus), _limit(q.borrowing_limit_gpus),
                    _limit(q.lending_limit_gpus), _limit(q.used_gpus))  # fmt: skip

        emit(rows, output, cols, row)


@quotas_app.command("set", cls=CliCommand)
def set_quota(
    target: Annotated[
        str, typer.Argument(help="An org slug (the whole org) or org-slug/project-slug.")
    ],
    gpus: Annotated[str, typer.Option("--gpus", help="Guaranteed (nominal) GPUs.")],
    model: Annotated[str | None, typer.Option("--model", help="One GPU model only.")] = None,
    borrow: Annotated[
        str | None, typer.Option("--borrow", help="GPUs beyond nominal when idle (none: no cap).")
    ] = None,
    lend: Annotated[
        str | None, typer.Option("--lend", help="Idle nominal GPUs others may use (none: all).")
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Create or change a quota (centre admins): quotas set acme/llm --gpus 16 --borrow 8"""
    nominal = _gpus(gpus, "--gpus")
    if nominal is None:
        raise usage("--gpus needs a number", "--gpus")
    borrowing, lending = _gpus(borrow, "--borrow"), _gpus(lend, "--lend")
    org, _, project = target.partition("/")
    with api() as client:
        org_id = client.resolve_org(org).id
        project_id = client.resolve_project(target).id if project else None
        same = [
            q
            for q in client.list_quotas(org_id)
            if q.project_id == project_id and (q.gpu_model or "").lower() == (model or "").lower()
        ]
        if same:
            done = client.update_quota(
                same[0].id,
                QuotaUpdate(
                    nominal_gpus=nominal, borrowing_limit_gpus=borrowing, lending_limit_gpus=lending
                ),
            )
        else:
            done = client.create_quota(
                QuotaCreate(
                    org=org_id,
                    project=project_id,
                    gpu_model=model,
                    nominal_gpus=nominal,
                    borrowing_limit_gpus=borrowing,
                    lending_limit_gpus=lending,
                )
            )
        emit_one(done, output)


@quotas_app.command("delete", cls=CliCommand)
def delete_quota(
    quota_id: Annotated[str, typer.Argument(help="The quo_ id (see quotas list).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a quota (centre admins)."""
    with api() as client:
        found = client.get_quota(quota_id)
        if not yes:
            typer.confirm(f"Delete quota {found.id}?", abort=True)
        client.delete_quota(found.id)
    console.print(f"Deleted {found.id}.", markup=False)


def fairshare(output: OutputOption = OutputFormat.TABLE) -> None:
    """Fair share per project (like sshare): decayed usage against entitlement, and the factor
    the scheduler orders by (1 unused, 0.5 at entitlement, lower above it)."""
    with api() as client:
        rows = client.fair_share()
        names = _Names(client)
        cols = ("ORG", "PROJECT", "GPU-HOURS", "USAGE SHARE", "ENTITLEMENT", "FACTOR")

        def row(r: FairSharePublic) -> tuple[object, ...]:
            shares = f"{r.usage_share:.1%}", f"{r.entitlement_share:.1%}", f"{r.factor:.3f}"
            return (names.org(r.org_id), names.project(r.project_id),
                    f"{r.usage_gpu_hours:,.1f}", *shares)  # fmt: skip

        emit(rows, output, cols, row)
