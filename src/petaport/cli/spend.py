"""``spend ORG``: an organisation's charged usage this Hong Kong month (or ``--month``) by
project and resource, its budgets as bars with their alert level, and recent budget alerts:
the portal's spend dashboard in a terminal."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.progress_bar import ProgressBar

from petaport.cli.output import OutputFormat, OutputOption, console, fmt_time, print_json, table
from petaport.cli.session import api
from petaport.schemas.spend import BudgetBarPublic, MonthSpendPublic, SpendPublic


def hkd(value: Decimal) -> str:
    return f"HK${value:,.2f}"


def _class_name(spend_class: str) -> str:
    resource, _, model = spend_class.partition(":")
    short = {"gpu_hour": "GPU", "cpu_core_hour": "CPU", "memory_gib_hour": "MEM",
             "storage_tib_month": "STORAGE"}.get(resource, resource)  # fmt: skip
    return f"{short} {model}" if model else short


def project_table(r: SpendPublic, m: MonthSpendPublic) -> None:
    names = {x.id: x.slug for x in r.projects}
    classes = list(dict.fromkeys(c.spend_class for c in m.cells))
    projects = list(dict.fromkeys(c.project_id for c in m.cells))
    amounts = {(c.project_id, c.spend_class): c.amount for c in m.cells}
    zero = Decimal(0)
    rows = [
        (names.get(p, p), *(hkd(amounts[(p, c)]) if (p, c) in amounts else "-" for c in classes),
         hkd(sum((a for (q, _), a in amounts.items() if q == p), zero)))
        for p in projects
    ]  # fmt: skip
    footer = ("TOTAL", *(hkd(sum((a for (_, c2), a in amounts.items() if c2 == c), zero))
                         for c in classes), hkd(m.total))  # fmt: skip
    cols = ("PROJECT", *(_class_name(c) for c in classes), "TOTAL")
    console.print(table(cols, [*rows, footer], title=f"Usage charged in {m.month} (HKD)"))


def budget_table(bars: list[BudgetBarPublic], names: dict[str, str]) -> None:
    def row(b: BudgetBarPublic) -> tuple[object, ...]:
        unit = "HKD" if b.unit == "HKD" else "GPU-h"
        bar = ProgressBar(total=100, completed=float(min(b.percent_spent, Decimal(100))), width=20)
        alert = f"{b.alert_level}%" if b.alert_level else "-"
        return (names.get(b.project_id or "", "(whole org)"), b.period_label,
                f"{b.spent:,} / {b.limit:,} {unit}", f"{b.reserved:,}", bar,
                f"{b.percent_spent}%", alert)  # fmt: skip

    cols = ("BUDGET", "PERIOD", "SPENT / LIMIT", "RESERVED", "USED", "", "ALERT")
    console.print(table(cols, [row(b) for b in bars], title="Budgets"))


def spend(
    org: Annotated[str, typer.Argument(help="Org slug or id.")],
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (Hong Kong).")] = None,
    project: Annotated[str | None, typer.Option("--project", "-p", help="One project.")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """What an org spent this month by project and resource, its budgets and alerts:
    spend harbour-u --month 2026-11"""
    with api() as client:
        r = client.spend(org, month, project)
    if output is OutputFormat.JSON:
        print_json(r)
        return
    m = r.month
    console.print(f"{r.org_slug}: {hkd(m.total)} in {m.month} "
                  f"({hkd(r.previous.total)} in {r.previous.month})", markup=False)  # fmt: skip
    if r.ledger_total is not None:
        console.print(f"In the ledger for {m.month} (usage, fees, credit notes): "
                      f"{hkd(r.ledger_total)}", markup=False)  # fmt: skip
    if m.cells:
        project_table(r, m)
    if r.budgets:
        budget_table(r.budgets, {x.id: x.slug for x in r.projects})
    for a in r.alerts:
        console.print(f"{fmt_time(a.at)}  {a.threshold}%  {a.message}", markup=False)
