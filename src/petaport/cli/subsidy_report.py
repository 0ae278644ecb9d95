"""``petaport subsidy report``: the scheme's annual report as tables, JSON, CSV or PDF."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from petaport.cli.invoices import hkd
from petaport.cli.output import OutputFormat, OutputOption, console, print_json, table
from petaport.cli.session import CliCommand, api
from petaport.cli.subsidy import subsidy_app


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value}%"


@subsidy_app.command("report", cls=CliCommand)
def report(
    year: Annotated[int, typer.Option("--year", help="A Hong Kong calendar year.")],
    csv: Annotated[bool, typer.Option("--csv", help="Save as CSV.")] = False,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Save as a bilingual PDF with charts.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="File to write (default: subsidy-annual-report-YEAR.*)."),
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """The annual report for the committee and the funder (secretariat, committee)."""
    with api() as client:
        if csv or pdf:
            kind = "csv" if csv else "pdf"
            body = client.download_annual_report(year, kind)
            path = out or Path(f"subsidy-annual-report-{year}.{kind}")
            path.write_bytes(body)
            console.print(f"Saved {path} ({len(body):,} bytes).", markup=False)
            return
        r = client.annual_report(year)
    if output == OutputFormat.JSON:
        print_json(r)
        return
    rows = [(c.category, c.received, c.approved, c.rejected, c.open_at_end,
             hkd(c.subsidy_approved), hkd(c.subsidy_used))
            for c in [*r.categories, r.total]]  # fmt: skip
    console.print(f"{r.title}: annual report {r.year}", markup=False)
    console.print(table(("CATEGORY", "RECEIVED", "APPROVED", "REJECTED", "OPEN", "APPROVED HKD",
                         "USED HKD"), rows))  # fmt: skip
    console.print(table(
        ("GRANT", "ORG", "PROJECT", "RATE", "USED", "% CAP", "GPU-H", "% GPU-H"),
        [(u.grant_id, u.org_name, u.project_name, f"{u.rate:%}", hkd(u.used_to_date),
          _pct(u.used_share), f"{u.gpu_hours_to_date:,.2f}", _pct(u.gpu_hours_share))
         for u in r.utilisation],
    ))  # fmt: skip
    console.print(table(("STAGE", "VISITS", "MEAN DAYS", "MEDIAN", "LONGEST"),
                        [(t.stage, t.visits, t.mean_days, t.median_days, t.max_days)
                         for t in r.stage_times]))  # fmt: skip
