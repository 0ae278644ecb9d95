"""``grants`` (list, show, suspend, resume, close, alerts, reports, report) and
``subsidy statement`` (a funder's month as a table, CSV or PDF)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from petaport.cli.invoices import hkd
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
from petaport.cli.subsidy import subsidy_app
from petaport.schemas.grants import GrantPublic, PeriodPublic, ReportCreate

grants_app = typer.Typer(help="Subsidy grants: drawdown against caps, status, progress reports.",
                         no_args_is_help=True)  # fmt: skip
GrantArg = Annotated[str, typer.Argument(help="The grt_ id (see grants list).")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")]


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value}%"


def _row(g: GrantPublic) -> tuple[object, ...]:
    cap = hkd(g.cap) if g.cap is not None else "-"
    return (g.id, g.funder_id, g.project_id, f"{g.rate:%}", g.status, hkd(g.funded), cap,
            _pct(g.percent_cap), f"{g.funded_gpu_hours:,}", _pct(g.percent_gpu_hours),
            fmt_time(g.valid_until))  # fmt: skip


COLUMNS = ("ID", "FUNDER", "PROJECT", "RATE", "STATUS", "FUNDED", "CAP", "USED", "GPU-H",
           "GPU-H USED", "ENDS")  # fmt: skip


@grants_app.command("list", cls=CliCommand)
def list_grants(
    org: Annotated[str | None, typer.Option("--org", help="Only this org (id or slug).")] = None,
    funder: Annotated[str | None, typer.Option("--funder", help="Only this funder.")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Grants you may see, with what they funded against their caps."""
    with api() as client:
        emit(client.list_subsidy_grants(org, funder), output, COLUMNS, _row)


def _show(g: GrantPublic, output: OutputFormat) -> None:
    if output == OutputFormat.JSON:
        print_json(g)
        return
    console.print(details([
        ("Id", g.id), ("Funder", g.funder_id), ("Project", g.project_id),
        ("Rate", f"{g.rate:%}"), ("Status", g.status),
        ("Valid", f"{fmt_time(g.valid_from)} to {fmt_time(g.valid_until)}"),
        ("Funded", f"{hkd(g.funded)} of {hkd(g.cap) if g.cap else 'no cap'} "
                   f"({_pct(g.percent_cap)})"),
        ("GPU-hours", f"{g.funded_gpu_hours:,} of {g.cap_gpu_hours or 'no cap'} "
                      f"({_pct(g.percent_gpu_hours)})"),
        ("At the cap", g.on_cap), ("GPU models", ", ".join(g.allowed_gpu_models) or "any"),
        ("Reports", f"every {g.report_every_months} months, {g.grace_days} days' grace"),
    ]))  # fmt: skip
    if g.alerts:
        rows = [(fmt_time(a.at), a.kind, a.message) for a in g.alerts]
        console.print(table(("AT", "ALERT", "MESSAGE"), rows))


@grants_app.command("show", cls=CliCommand)
def show(grant_id: GrantArg, output: OutputOption = OutputFormat.TABLE) -> None:
    """A grant with its drawdown, terms and alerts."""
    with api() as client:
        _show(client.get_subsidy_grant(grant_id), output)


def _change(grant_id: str, action: str, reason: str) -> None:
    with api() as client:
        g = client.change_subsidy_grant(grant_id, action, reason)
    console.print(f"Grant {g.id} is {g.status}.", markup=False)


@grants_app.command("suspend", cls=CliCommand)
def suspend(grant_id: GrantArg, reason: ReasonOption = "") -> None:
    """Suspend a grant (committee): charges go to the org at list price meanwhile."""
    _change(grant_id, "suspend", reason)


@grants_app.command("resume", cls=CliCommand)
def resume(grant_id: GrantArg, reason: ReasonOption = "") -> None:
    """Resume a suspended grant (committee)."""
    _change(grant_id, "resume", reason)


@grants_app.command("close", cls=CliCommand)
def close(grant_id: GrantArg, reason: ReasonOption = "") -> None:
    """Close a grant for good (committee)."""
    _change(grant_id, "close", reason)


@grants_app.command("alerts", cls=CliCommand)
def alerts(output: OutputOption = OutputFormat.TABLE) -> None:
    """Cap, expiry and late-report warnings of the grants you may see."""
    with api() as client:
        rows = client.grant_alerts()
    emit(rows, output, ("AT", "GRANT", "ALERT", "MESSAGE"),
         lambda a: (fmt_time(a.at), a.grant_id, a.kind, a.message))  # fmt: skip


@grants_app.command("reports", cls=CliCommand)
def reports(grant_id: GrantArg, output: OutputOption = OutputFormat.TABLE) -> None:
    """A grant's reporting periods: filed (late or not), overdue, or not due yet."""
    with api() as client:
        rows = client.grant_reports(grant_id)
    emit(rows, output, ("FROM", "DUE", "REPORT", "GPU-H ACTUAL / PLANNED"), _period_row)


def _period_row(p: PeriodPublic) -> tuple[object, ...]:
    r = p.report
    state = "overdue" if p.overdue else ("late" if r and r.late else ("filed" if r else "-"))
    hours = f"{r.actual_gpu_hours} / {r.planned_gpu_hours}" if r else ""
    return (fmt_time(p.period_start), fmt_time(p.due_at), state, hours)


@grants_app.command("report", cls=CliCommand)
def file_report(
    grant_id: GrantArg,
    summary: Annotated[str, typer.Option("--summary", help="What was achieved.")],
    milestone: Annotated[list[str] | None, typer.Option(
        "--milestone", "-m", help="KEY=progress text, once per milestone.")] = None,
) -> None:  # fmt: skip
    """File the progress report of a grant's earliest unreported period (org admins)."""
    progress = {}
    for item in milestone or []:
        key, sep, text = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r}: give KEY=progress text")
        progress[key] = text
    with api() as client:
        r = client.file_report(grant_id, ReportCreate(summary=summary, progress=progress))
    late = " (late)" if r.late else ""
    console.print(f"Filed report {r.id}{late}: {r.actual_gpu_hours} GPU-hours used, "
                  f"{r.planned_gpu_hours} planned.", markup=False)  # fmt: skip


@subsidy_app.command("statement", cls=CliCommand)
def statement(
    funder: Annotated[str, typer.Option("--funder", help="The funder's id, e.g. hk-gov.")],
    month: Annotated[str, typer.Option("--month", help="A Hong Kong month, YYYY-MM.")],
    csv: Annotated[bool, typer.Option("--csv", help="Save as CSV.")] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="Save as a bilingual PDF.")] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="File to write (default: statement-FUNDER-MONTH.csv or .pdf)."
        ),
    ] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """A funder's monthly statement (committee, centre admins): per grant and org."""
    with api() as client:
        if csv or pdf:
            kind = "csv" if csv else "pdf"
            body = client.download_statement(funder, month, kind)
            path = out or Path(f"statement-{funder}-{month}.{kind}")
            path.write_bytes(body)
            console.print(f"Saved {path} ({len(body):,} bytes).", markup=False)
            return
        st = client.funder_statement(funder, month)
    if output == OutputFormat.JSON:
        print_json(st)
        return
    rows = [(ln.org_name, ln.project_name, ln.grant_id, hkd(ln.list_price), hkd(ln.funder_share),
             hkd(ln.org_share), f"{ln.gpu_hours:,}") for ln in st.lines]  # fmt: skip
    rows.append(("Total", "", "", hkd(st.list_price), hkd(st.funder_total), hkd(st.org_total),
                 f"{st.gpu_hours:,}"))  # fmt: skip
    cols = ("ORG", "PROJECT", "GRANT", "LIST PRICE", "FUNDER", "ORG SHARE", "GPU-H")
    console.print(table(cols, rows))
