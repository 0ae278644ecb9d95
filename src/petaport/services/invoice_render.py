"""Invoices as documents: a bilingual (English and Traditional Chinese) PDF, and CSV.

The PDF is WeasyPrint over the Jinja2 template ``services/templates/invoice.html``, set in Noto
Sans CJK (Debian's fonts-noto-cjk, installed by ``scripts/system-deps.sh``). Dates are Hong
Kong time, amounts HKD with two decimals and thousands separators. The renderer fetches
nothing: the template has no external resources and any URL in it is refused.

The CSV has one row per line and a last ``Total`` row; amounts are plain decimals (no
separators) so that spreadsheets read them as numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from petaport.billing.invoices import InvoiceLine
from petaport.billing.metering import HONG_KONG, month_bounds
from petaport.domain.money import Money
from petaport.services.invoices import CREDIT_NOTE, PLAN_CREDIT, PLAN_FEE, POC_FEE, InvoiceView

TEMPLATES = Path(__file__).parent / "templates"
HOUR = Decimal(3600)
HOURS_SHOWN = Decimal("0.01")
RESOURCES = {
    "gpu_hour": ("GPU-hours", "GPU 時數"),
    "cpu_core_hour": ("CPU core-hours", "CPU 核心時數"),
    "memory_gib_hour": ("Memory GiB-hours", "記憶體 GiB 時數"),
    "storage_tib_month": ("Storage TiB-months", "儲存 TiB 月數"),
}
TIERS = {
    "reserved": ("reserved", "預留"),
    "on-demand": ("on demand", "按需"),
    "preemptible": ("preemptible", "可搶佔"),
}
FEES = {
    POC_FEE: "概念驗證計劃月費",
    PLAN_FEE: "計劃月費",
    PLAN_CREDIT: "計劃涵蓋的用量",
    CREDIT_NOTE: "退款單",
}
CSV_COLUMNS = ("invoice", "org", "month", "project_id", "project", "description", "resource",
               "gpu_model", "tier", "unit_hours", "amount", "subsidy", "org_share")  # fmt: skip


def money_text(amount: Money | Decimal) -> str:
    """``1,800.00`` (the currency is in the column header)."""
    value = amount.amount if isinstance(amount, Money) else amount
    return f"{value:,.2f}"


def unit_hours(line: InvoiceLine) -> Decimal:
    """Quantity x hours of a usage line, to the hundredth (fees: 0)."""
    return (line.unit_seconds / HOUR).quantize(HOURS_SHOWN, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class LineText:
    project: str
    english: str
    chinese: str
    unit_hours: str
    amount: str
    subsidy: str
    org_share: str


def gpu_model(line: InvoiceLine) -> str:
    """The GPU model named in a GPU line's description (``gpu_hour H800 on-demand``)."""
    parts = line.description.split()
    return parts[1] if line.resource == "gpu_hour" and len(parts) == 3 else ""


def describe(line: InvoiceLine) -> tuple[str, str]:
    """(English, Chinese) description of a line."""
    if line.resource is None:
        return line.description, FEES.get(line.description, "費用")
    en, zh = RESOURCES.get(line.resource, (line.resource, line.resource))
    tier_en, tier_zh = TIERS.get(line.tier.value if line.tier else "", ("", ""))
    model = gpu_model(line)
    model_part = f" {model}" if model else ""
    return f"{en}{model_part}, {tier_en}", f"{zh}{model_part}（{tier_zh}）"


def _line_text(view: InvoiceView, line: InvoiceLine) -> LineText:
    project = view.project_names.get(line.project_id, line.project_id) if line.project_id else ""
    english, chinese = describe(line)
    hours = f"{unit_hours(line):,}" if line.resource else ""
    return LineText(project or "", english, chinese, hours, money_text(line.amount),
                    money_text(line.subsidy), money_text(line.org_share))  # fmt: skip


def _hk(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(HONG_KONG).strftime("%Y-%m-%d %H:%M HKT")


def _period(month: str) -> str:
    start, end = month_bounds(month)
    first = start.astimezone(HONG_KONG)
    last = (end - timedelta(seconds=1)).astimezone(HONG_KONG)
    return f"{first:%Y-%m-%d} – {last:%Y-%m-%d}"


def invoice_html(view: InvoiceView) -> str:
    """The invoice as an HTML page (the PDF's source)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    inv = view.invoice
    values: dict[str, Any] = {
        "inv": inv, "org": view.org, "issued": _hk(inv.issued_at), "period": _period(inv.month),
        "lines": [_line_text(view, line) for line in inv.lines], "total": money_text(inv.total),
        "subsidy_total": money_text(inv.subsidy_total), "org_total": money_text(inv.org_total),
    }  # fmt: skip
    return env.get_template("invoice.html").render(**values)


def _refuse(url: str, *args: object, **kwargs: object) -> dict[str, Any]:
    raise ValueError(f"an invoice fetches nothing ({url[:40]})")


def invoice_pdf(view: InvoiceView) -> bytes:
    """The invoice as a PDF (A4)."""
    from weasyprint import HTML  # heavy (pango, fonts): loaded on the first PDF only

    pdf = HTML(string=invoice_html(view), url_fetcher=_refuse).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def invoice_csv(view: InvoiceView) -> str:
    """The invoice's lines and totals as CSV (UTF-8, one header row)."""
    inv = view.invoice
    name = inv.number or f"DRAFT-{inv.month}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in inv.lines:
        project = view.project_names.get(line.project_id, "") if line.project_id else ""
        hours = unit_hours(line) if line.resource else ""
        writer.writerow((name, view.org.slug, inv.month, line.project_id or "", project,
                         line.description, line.resource or "", gpu_model(line),
                         line.tier.value if line.tier else "", hours, line.amount.amount,
                         line.subsidy.amount, line.org_share.amount))  # fmt: skip
    writer.writerow((name, view.org.slug, inv.month, "", "", "Total", "", "", "", "",
                     inv.total.amount, inv.subsidy_total.amount, inv.org_total.amount))  # fmt: skip
    return out.getvalue()


def file_name(view: InvoiceView, suffix: str) -> str:
    return f"{view.invoice.number or f'DRAFT-{view.invoice.month}-{view.org.slug}'}.{suffix}"


@dataclass(frozen=True)
class Document:
    """An invoice file to send: its bytes, media type and ``Content-Disposition``."""

    body: bytes
    media_type: str
    disposition: str


def document(view: InvoiceView, kind: str) -> Document:
    """The invoice as ``pdf`` or ``csv``, ready to download."""
    attachment = f'attachment; filename="{file_name(view, kind)}"'
    if kind == "pdf":
        return Document(invoice_pdf(view), "application/pdf", attachment)
    if kind == "csv":
        return Document(invoice_csv(view).encode(), "text/csv; charset=utf-8", attachment)
    raise ValueError(f"no invoice document of kind {kind!r}")
