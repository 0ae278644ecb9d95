"""A funder statement as documents: CSV (one row per grant and org, a last Total row) and a
bilingual (English and Traditional Chinese) PDF from ``templates/funder_statement.html``,
rendered like invoices (WeasyPrint, Noto Sans CJK, nothing fetched)."""

from __future__ import annotations

import csv
import io
import re

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from petaport.services.funder_statement import Statement
from petaport.services.invoice_render import TEMPLATES, Document, _period, _refuse, money_text

CSV_COLUMNS = ("funder", "month", "grant_id", "org_id", "org", "project_id", "project",
               "charges", "list_price", "funder_share", "org_share", "gpu_hours")  # fmt: skip


def statement_csv(st: Statement) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for ln in st.lines:
        writer.writerow((st.funder_id, st.month, ln.grant_id, ln.org_id, ln.org_name,
                         ln.project_id, ln.project_name, ln.charges, ln.amount.amount,
                         ln.funder_share.amount, ln.org_share.amount, ln.gpu_hours))  # fmt: skip
    writer.writerow((st.funder_id, st.month, "", "", "Total", "", "",
                     sum(ln.charges for ln in st.lines), st.amount.amount,
                     st.funder_total.amount, st.org_total.amount, st.gpu_hours))  # fmt: skip
    return out.getvalue()


def statement_html(st: Statement) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    return env.get_template("funder_statement.html").render(
        st=st, period=_period(st.month), money=money_text
    )


def statement_pdf(st: Statement) -> bytes:
    from weasyprint import HTML  # heavy: loaded on the first PDF only

    pdf = HTML(string=statement_html(st), url_fetcher=_refuse).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def document(st: Statement, kind: str) -> Document:
    # A header is Latin-1 and the name sits in quotes: anything but [A-Za-z0-9._-] becomes _.
    funder = re.sub(r"[^A-Za-z0-9._-]", "_", st.funder_id)
    name = f"statement-{funder}-{st.month}.{kind}"
    attachment = f'attachment; filename="{name}"'
    if kind == "pdf":
        return Document(statement_pdf(st), "application/pdf", attachment)
    if kind == "csv":
        return Document(statement_csv(st).encode(), "text/csv; charset=utf-8", attachment)
    raise ValueError(f"no statement document of kind {kind!r}")
