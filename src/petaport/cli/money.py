"""``usage``, ``budgets``, ``account``, ``plan`` and ``topup``: money from the CLI (``prices`` and
``spend`` have their own modules).

Amounts are HKD with two decimals; Decimal throughout (never a float).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

import typer
from rich.progress_bar import ProgressBar

from petaport.cli.output import (
    OutputFormat,
    OutputOption,
    console,
    emit,
    emit_one,
)
from petaport.cli.session import CliCommand, api
from petaport.cli.session import usage as usage_error
from petaport.schemas.money import (
    BudgetAlertPublic,
    BudgetPublic,
    BudgetSet,
    PlanSet,
    TopUpCreate,
    UsageLinePublic,
)

budgets_app = typer.Typer(help="Budgets per org or project, in HKD or GPU-hours.",
                          no_args_is_help=True)  # fmt: skip
Month = Annotated[str | None, typer.Option("--month", help="YYYY-MM (Hong Kong time).")]
Org = Annotated[str | None, typer.Option("--org", help="Org slug or id.")]


def _decimal(text: str, param: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise usage_error(f"not a number: {text!r}", param) from exc
    if not value.is_finite() or value < 0:
        raise usage_error(f"not a number of 0 or more: {text!r}", param)
    return value


def hkd(value: Decimal) -> str:
    return f"HK${value:,.2f}"


def usage(
    org: Org = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="org-slug/project-slug.")
    ] = None,
    month: Month = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Charged usage per month, project, resource and tier: usage --org acme --month 2026-04"""
    with api() as client:
        rows = client.usage(org, project, month)
    cols = ("MONTH", "PROJECT", "RESOURCE", "MODEL", "TIER", "UNIT-HOURS", "AMOUNT")

    def row(u: UsageLinePublic) -> tuple[object, ...]:
        return (u.month, u.project_id, u.resource, u.gpu_model or "-", u.tier,
                f"{u.unit_hours:,.3f}", hkd(u.amount))  # fmt: skip

    emit(rows, output, cols, row)
    if output is OutputFormat.TABLE and rows:
        console.print(f"Total: {hkd(sum((u.amount for u in rows), Decimal(0)))}", markup=False)


def _bar(b: BudgetPublic) -> ProgressBar:
    return ProgressBar(total=100, completed=float(min(b.percent_spent, Decimal(100))), width=20)


@budgets_app.command("list", cls=CliCommand)
def list_budgets(org: Org = None, output: OutputOption = OutputFormat.TABLE) -> None:
    """Budgets you may see: spent this period, reserved by running jobs, and what is left."""
    with api() as client:
        rows = client.list_budgets(org)
    cols = ("ID", "ORG", "PROJECT", "LIMIT", "PERIOD", "SPENT", "RESERVED", "LEFT", "USED", "")

    def row(b: BudgetPublic) -> tuple[object, ...]:
        unit = "HKD" if b.unit == "HKD" else "GPU-h"
        flag = "EXHAUSTED" if b.exhausted_since else ""
        return (b.id, b.org_id, b.project_id or "(whole org)", f"{b.limit:,} {unit}", b.period,
                f"{b.spent:,}", f"{b.reserved:,}", f"{b.remaining:,}", _bar(b), flag)  # fmt: skip

    emit(rows, output, cols, row)


@budgets_app.command("set", cls=CliCommand)
def set_budget(
    target: Annotated[str, typer.Argument(help="org-slug (whole org) or org-slug/project.")],
    limit: Annotated[str, typer.Option("--limit", help="In HKD, or GPU-hours with --gpu-hours.")],
    gpu_hours: Annotated[bool, typer.Option("--gpu-hours", help="The limit is GPU-hours.")] = False,
    monthly: Annotated[bool, typer.Option("--monthly", help="Reset each HK month.")] = False,
    grace: Annotated[int, typer.Option("--grace", help="Seconds before running jobs stop.")] = 900,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Create or change a budget: budgets set acme/llm --limit 5000 --monthly"""
    org, _, project = target.partition("/")
    body = BudgetSet(org=org, project=target if project else None,
                     unit="gpu_hours" if gpu_hours else "HKD", limit=_decimal(limit, "--limit"),
                     period="monthly" if monthly else "none", grace_s=grace)  # fmt: skip
    with api() as client:
        emit_one(client.set_budget(body), output)


@budgets_app.command("delete", cls=CliCommand)
def delete_budget(budget_id: Annotated[str, typer.Argument(help="The bud_ id.")]) -> None:
    """Delete a budget."""
    with api() as client:
        client.delete_budget(budget_id)
    console.print(f"Deleted {budget_id}.", markup=False)


@budgets_app.command("alerts", cls=CliCommand)
def alerts(output: OutputOption = OutputFormat.TABLE) -> None:
    """Budget thresholds (50/80/100%) reached, newest first."""
    with api() as client:
        rows = client.budget_alerts()

    def row(a: BudgetAlertPublic) -> tuple[object, ...]:
        return (a.at.isoformat(timespec="seconds"), a.budget_id, f"{a.threshold}%", a.message)

    emit(rows, output, ("AT", "BUDGET", "THRESHOLD", "MESSAGE"), row)


def account(
    org: Annotated[str, typer.Argument(help="Org slug or id.")],
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """An org's plan, how it pays, its balance and this month's spend."""
    with api() as client:
        emit_one(client.account(org), output)


def plan(
    org: Annotated[str, typer.Argument(help="Org slug or id.")],
    kind: Annotated[Literal["payg", "trial", "poc"], typer.Option("--plan")] = "payg",
    prepaid: Annotated[bool, typer.Option("--prepaid", help="Pay in advance.")] = False,
    days: Annotated[int | None, typer.Option("--days", help="Trial length.")] = None,
    credit: Annotated[str | None, typer.Option("--credit", help="Trial credit, HKD.")] = None,
    fee: Annotated[str | None, typer.Option("--fee", help="PoC monthly fee, HKD.")] = None,
    allowance: Annotated[str | None, typer.Option("--gpu-hours", help="PoC GPU-hours.")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Put an org on a plan (centre admins): plan acme --plan poc --fee 1800 --gpu-hours 100"""
    body = PlanSet(plan=kind, mode="prepaid" if prepaid else "postpaid", trial_days=days,
                   trial_credit=_decimal(credit, "--credit") if credit else None,
                   poc_fee=_decimal(fee, "--fee") if fee else None,
                   poc_gpu_hours=_decimal(allowance, "--gpu-hours") if allowance else None,
                   )  # fmt: skip
    with api() as client:
        emit_one(client.set_plan(org, body), output)


def topup(
    org: Annotated[str, typer.Argument(help="Org slug or id.")],
    amount: Annotated[str, typer.Argument(help="HKD, e.g. 5000.00")],
    reference: Annotated[str, typer.Option("--reference", "-r", help="Payment reference.")],
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Record money received into a prepaid org's balance (centre admins)."""
    body = TopUpCreate(amount=_decimal(amount, "AMOUNT"), reference=reference)
    with api() as client:
        emit_one(client.top_up(org, body), output)
