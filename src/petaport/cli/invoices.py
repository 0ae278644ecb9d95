"""``invoices`` (list, show, draft, download, issue) and ``revenue`` (per month and category).

Money is shown as ``HKD 1,234.50``; ``-o json`` gives the API's exact decimal strings.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from petaport.cli.output import (
    OutputFormat,
    OutputOption,
    console,
    details,
    emit,
    fmt_time,
    print_json,
    table,
)
from petaport.cli.session import CliCommand, api
from petaport.client import PetaportClient
from petaport.schemas.invoices import InvoicePublic, RevenuePublic

invoices_app = typer.Typer(
    help="Monthly invoices per organisation (Hong Kong months): list, show, download, issue.",
    no_args_is_help=True,
)
MonthOption = Annotated[str | None, typer.Option("--month", help="A Hong Kong month, YYYY-MM.")]
InvoiceArg = Annotated[str, typer.Argument(help="The inv_ id (see invoices list).")]


class DocKind(enum.StrEnum):
    PDF = "pdf"
    CSV = "csv"


def hkd(amount: Decimal, currency: str = "HKD") -> str:
    """``HKD 1,234.50``."""
    return f"{currency} {amount:,.2f}"


def _org_id(client: PetaportClient, ref: str | None) -> str | None:
    return None if ref is None else client.resolve_org(ref).id


def _row(i: InvoicePublic) -> tuple[object, ...]:
    return (i.number or "draft", i.id, i.org_name, i.month, hkd(i.total, i.currency),
            hkd(i.subsidy_total, i.currency), hkd(i.org_total, i.currency),
            fmt_time(i.issued_at))  # fmt: skip


COLUMNS = ("NUMBER", "ID", "ORG", "MONTH", "TOTAL", "SUBSIDY", "ORG SHARE", "ISSUED")


@invoices_app.command("list", cls=CliCommand)
def list_invoices(
    org: Annotated[str | None, typer.Option("--org", help="Only this org (id or slug).")] = None,
    month: MonthOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Issued invoices of the organisations you administer (centre admins: all)."""
    with api() as client:
        rows = client.list_invoices(org=_org_id(client, org), month=month)
    emit(rows, output, COLUMNS, _row)


def _show(inv: InvoicePublic, output: OutputFormat) -> None:
    if output == OutputFormat.JSON:
        print_json(inv)
        return
    console.print(details([
        ("Number", inv.number or "draft (not issued)"), ("Id", inv.id), ("Org", inv.org_name),
        ("Month", f"{inv.month} (Hong Kong time)"), ("Issued", fmt_time(inv.issued_at)),
        ("Total", hkd(inv.total, inv.currency)), ("Subsidy", hkd(inv.subsidy_total)),
        ("Org share", hkd(inv.org_total, inv.currency)),
    ]))  # fmt: skip
    lines = [
        (ln.project_name or "-", ln.description, f"{ln.unit_hours:,.2f}" if ln.resource else "",
         hkd(ln.amount), hkd(ln.subsidy), hkd(ln.org_share))
        for ln in inv.lines
    ]  # fmt: skip
    cols = ("PROJECT", "DESCRIPTION", "UNIT-HOURS", "AMOUNT", "SUBSIDY", "ORG SHARE")
    console.print(table(cols, lines, whole=("AMOUNT", "SUBSIDY", "ORG SHARE")))


@invoices_app.command("show", cls=CliCommand)
def show(invoice_id: InvoiceArg, output: OutputOption = OutputFormat.TABLE) -> None:
    """An invoice with its lines."""
    with api() as client:
        _show(client.get_invoice(invoice_id), output)


@invoices_app.command("draft", cls=CliCommand)
def draft(
    org: Annotated[str, typer.Option("--org", help="The org (id or slug).")],
    month: MonthOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """What an org's invoice of a month (default: this month) holds so far."""
    with api() as client:
        _show(client.draft_invoice(client.resolve_org(org).id, month), output)


@invoices_app.command("download", cls=CliCommand)
def download(
    invoice_id: InvoiceArg,
    csv: Annotated[bool, typer.Option("--csv", help="CSV instead of PDF.")] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="PDF (the default).")] = False,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: NUMBER.pdf).")
    ] = None,
) -> None:
    """Save an invoice as a bilingual PDF, or as CSV."""
    if csv and pdf:
        raise typer.BadParameter("give --pdf or --csv, not both")
    kind = DocKind.CSV if csv else DocKind.PDF
    with api() as client:
        number = client.get_invoice(invoice_id).number or invoice_id
        body = client.download_invoice(invoice_id, kind.value)
    path = out or Path(f"{number}.{kind.value}")
    path.write_bytes(body)
    console.print(f"Saved {path} ({len(body):,} bytes).", markup=False)


@invoices_app.command("issue", cls=CliCommand)
def issue(
    month: Annotated[str, typer.Option("--month", help="The ended month, YYYY-MM.")],
    org: Annotated[str | None, typer.Option("--org", help="Only this org (id or slug).")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Issue the invoices of an ended month (centre admins): one org's, or every org's."""
    with api() as client:
        result = client.issue_invoices(month, org)
    if output == OutputFormat.JSON:
        print_json(result)
        return
    console.print(table(COLUMNS, [_row(i) for i in result.issued], title="Issued"))
    if result.refused:
        refused = [(r.org_id, r.code, r.detail) for r in result.refused]
        console.print(table(("ORG", "CODE", "WHY"), refused, title="Not issued"))


def revenue(month: MonthOption = None, output: OutputOption = OutputFormat.TABLE) -> None:
    """Income per Hong Kong month and org category, from the ledger (centre admins)."""
    with api() as client:
        rows = client.revenue(month)
    cols = ("MONTH", "CATEGORY", "ORGS", "REVENUE", "CREDIT NOTES", "NET", "INVOICED")

    def row(r: RevenuePublic) -> tuple[object, ...]:
        return (r.month, r.category, r.orgs, hkd(r.revenue), hkd(r.credit_notes), hkd(r.net),
                hkd(r.invoiced))  # fmt: skip

    emit(rows, output, cols, row)
