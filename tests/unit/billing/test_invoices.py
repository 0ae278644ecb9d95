"""Invoices and estimates: lines, totals equal to the ledger, numbering, immutability."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from petaport.billing.estimate import estimate
from petaport.billing.invoices import Fee, InvoiceStatus, build_invoice, invoice_number, issue
from petaport.billing.ledger import (
    BillingMode,
    CoPay,
    Journal,
    billed_for,
    charge_entry,
    plan_fee_entry,
)
from petaport.domain.errors import IllegalTransition, ValidationFailed
from petaport.domain.jobs import JobSpec
from petaport.domain.money import Money

from .builders import HK_FEB, PE, T0, book, charges, usage, version


def test_lines_per_project_resource_and_tier_with_subsidy_and_ledger_total() -> None:
    cs = [
        *charges(usage(T0, 3600, gpus="1", cpus=4)),
        *charges(usage(T0, 1800, gpus="2", attempt="att_2", project="prj_b", tier=PE)),
        *charges(usage(T0, 3600, gpus="1", attempt="att_3", org="org_b")),
    ]
    copay = CoPay("fund_aiss", Decimal("0.7"))
    journal = Journal()
    for c in cs:
        entry = charge_entry(c, c.record.org_id, BillingMode.POSTPAID, copay)
        assert entry is not None
        journal.post(entry)
    invoice = build_invoice("org_a", "2026-01", cs, copay=copay)
    assert [line.description for line in invoice.lines] == [
        "cpu_core_hour on-demand", "gpu_hour H800 on-demand", "gpu_hour H800 preemptible",
    ]  # fmt: skip
    assert invoice.total == Money.of("38.73")  # 0.48 + 25.50 + 12.75
    assert invoice.subsidy_total + invoice.org_total == invoice.total
    assert invoice.total == billed_for(journal.entries, "org_a", "2026-01")


def test_fees_are_lines_and_unsubsidised() -> None:
    fee = Fee("Proof-of-concept plan", Money.of(1800))
    invoice = build_invoice("org_a", "2026-01", [], fees=[fee], copay=CoPay("f", Decimal("0.7")))
    assert (invoice.total, invoice.subsidy_total) == (Money.of(1800), Money.zero())
    entry = plan_fee_entry("org_a", BillingMode.POSTPAID, Money.of(1800), T0, "poc/2026-01")
    assert billed_for([entry], "org_a", "2026-01") == invoice.total


def test_an_issued_invoice_is_numbered_and_cannot_be_issued_again() -> None:
    draft = build_invoice("org_a", "2026-01", charges(usage(T0, 60)))
    with pytest.raises(ValidationFailed, match="not ended"):
        issue(draft, 1, HK_FEB - timedelta(seconds=1))
    issued = issue(draft, 42, HK_FEB)
    assert (issued.status, issued.number, issued.issued_at) == (
        InvoiceStatus.ISSUED, "INV-202601-000042", HK_FEB,
    )  # fmt: skip
    with pytest.raises(IllegalTransition):
        issue(issued, 43, HK_FEB)
    with pytest.raises(ValidationFailed):
        invoice_number("2026-01", 0)


def test_an_estimate_is_what_a_full_walltime_run_is_billed() -> None:
    spec = JobSpec(name="t", project_id="prj_a", command=("x",), gpus=8, cpus=32,
                   memory_mb=65536, walltime_s=5400, gpu_model="H800")  # fmt: skip
    b = book(version(), version("v2", T0 + timedelta(hours=1), scale="2"))
    est = estimate(spec, b, T0)
    # an hour at v1 and half an hour at v2: 8 x 25.50 + 4 x 51.00 = 408.00 for the GPUs
    assert next(line.amount for line in est.lines) == Money.of("408.00")
    billed = charges(usage(T0, 5400, cpus=32, mem_mib=65536), b)
    assert est.total == sum((c.amount for c in billed), Money.zero())
    assert est.projection.gpu_s == Decimal(8 * 5400)


def test_an_estimate_needs_a_walltime() -> None:
    spec = JobSpec(name="t", project_id="prj_a", command=("x",))
    with pytest.raises(ValidationFailed, match="walltime"):
        estimate(spec, book(), T0)
    assert estimate(spec, book(), T0, walltime_s=3600).total == Money.of("0.14")  # 0.12 + 0.015
