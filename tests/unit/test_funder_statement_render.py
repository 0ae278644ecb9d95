"""A funder statement as a bilingual PDF (text read back) and as CSV with a Total row."""

from __future__ import annotations

import io
from decimal import Decimal

import pypdf

from petaport.domain.money import Money
from petaport.services.funder_statement import Statement, StatementLine
from petaport.services.funder_statement_render import document, statement_csv, statement_pdf

LINE = StatementLine("grt_1", "org_1", "Harbour U", "prj_1", "LLM", Money.of("1161.50"),
                     Money.of("800.00"), Money.of("361.50"), Decimal("12.5"), 9)  # fmt: skip
ST = Statement("hk-gov", "2026-03", (LINE,), Money.of("800.00"))


def test_the_pdf_is_bilingual_with_the_totals() -> None:
    text = pypdf.PdfReader(io.BytesIO(statement_pdf(ST))).pages[0].extract_text()
    for expected in (
        "Funder statement",
        "資助者結算單",
        "Harbour U",
        "1,161.50",
        "800.00",
        "361.50",
    ):
        assert expected in text


def test_the_csv_has_a_line_per_grant_and_a_total() -> None:
    rows = statement_csv(ST).splitlines()
    assert rows[1].split(",")[8:] == ["1161.50", "800.00", "361.50", "12.5"]
    assert rows[-1].split(",")[4] == "Total" and rows[-1].split(",")[9] == "800.00"


def test_the_file_name_is_a_safe_header_whatever_the_funder_is_called() -> None:
    made = document(Statement('\U000fc1fc"hk gov', "2026-11", (), Money.of("0")), "csv")
    assert made.disposition == 'attachment; filename="statement-__hk_gov-2026-11.csv"'
    made.disposition.encode("latin-1")  # a header: Latin-1 only
