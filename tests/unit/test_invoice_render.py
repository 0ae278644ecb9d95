"""The invoice documents: a bilingual PDF whose text says what the invoice says, and CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

from pypdf import PdfReader

from petaport.billing.invoices import Fee, build_invoice, issue
from petaport.domain.money import Money
from petaport.domain.tenancy import Org, OrgCategory
from petaport.services.invoice_render import describe, invoice_csv, invoice_html, invoice_pdf
from petaport.services.invoices import InvoiceView
from tests.unit.billing.builders import PE, charges, usage

T = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
ORG = Org("org_x", "Harbour University 海港大學 <R&D>", "harbour-u", OrgCategory.UNIVERSITY, T)


def _view() -> InvoiceView:
    cs = [*charges(usage(T, 36000, org="org_x", project="prj_1", gpus="8", cpus=32)),
          *charges(usage(T, 5400, attempt="att_2", org="org_x", project="prj_2", tier=PE,
                         gpus="2", model="A100"))]  # fmt: skip
    fees = [Fee("Proof-of-concept plan fee", Money.of("1800.00"))]
    draft = build_invoice("org_x", "2026-03", cs, fees=fees)
    issued = issue(draft, 7, datetime(2026, 4, 1, 1, 0, tzinfo=UTC))
    return InvoiceView("inv_1", issued, ORG, {"prj_1": "LLM pre-training", "prj_2": "Imaging"})


def test_the_pdf_names_the_invoice_org_total_in_english_and_chinese() -> None:
    view = _view()
    pdf = invoice_pdf(view)
    assert pdf.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = re.sub(r"\s+", " ", text)
    assert "INV-202603-000007" in flat
    assert "Harbour University 海港大學 <R&D>" in flat  # escaped in HTML, shown as typed
    assert f"{view.invoice.total.amount:,}" in flat and view.invoice.total.amount > 1000
    for label in ("Invoice", "發票", "總額", "機構應付", "LLM pre-training", "GPU 時數",
                  "概念驗證計劃月費", "2026-04-01 09:00 HKT"):  # fmt: skip
        assert label in flat, label


def test_lines_are_described_in_both_languages() -> None:
    lines = {line.description: describe(line) for line in _view().invoice.lines}
    assert lines["gpu_hour H800 on-demand"] == (
        "GPU-hours H800, on demand",
        "GPU 時數 H800（按需）",
    )
    assert lines["gpu_hour A100 preemptible"][1] == "GPU 時數 A100（可搶佔）"
    assert lines["cpu_core_hour on-demand"][0] == "CPU core-hours, on demand"
    assert "&lt;R&amp;D&gt;" in invoice_html(_view())


def test_csv_has_every_line_and_the_totals() -> None:
    view = _view()
    rows = list(csv.DictReader(io.StringIO(invoice_csv(view))))
    assert len(rows) == len(view.invoice.lines) + 1
    assert {r["invoice"] for r in rows} == {"INV-202603-000007"}
    gpu = next(r for r in rows if r["description"] == "gpu_hour H800 on-demand")
    assert (gpu["project"], gpu["gpu_model"], gpu["unit_hours"]) == ("LLM pre-training", "H800",
                                                                      "80.00")  # fmt: skip
    assert gpu["amount"] == "2040.00"  # 8 GPUs x 10 h x HK$25.50
    last = rows[-1]
    assert last["description"] == "Total"
    assert last["amount"] == str(view.invoice.total.amount)
    assert sum(Decimal(r["amount"]) for r in rows[:-1]) == Decimal(last["amount"])
