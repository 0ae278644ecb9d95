"""Posted subsidy forms -> the services' input types (the application, the compute-request
calculator, scores, the committee's terms). Parsing only: the rules live in the domain.

A field that cannot be read raises ``ValidationFailed`` with a message in the visitor's
language, so the form is shown again with it and with what was typed.

Field names: milestones are rows ``m<i>-title``, ``m<i>-due``, ``m<i>-hours`` (``rows`` says
how many there are); declarations ``decl-<key>``; calculator inputs ``c-<name>``; scores
``s-<criterion>`` and ``comment-<criterion>``; funded GPU models ``model-<name>``.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from petaport.domain.compute_request import (
    ComputeEstimate,
    ComputeInput,
    FineTuning,
    Mode,
    Precision,
    estimate,
)
from petaport.domain.errors import DomainError, ValidationFailed
from petaport.domain.money import Money
from petaport.domain.subsidy import Criterion, OnCap
from petaport.domain.subsidy_decision import Terms
from petaport.domain.subsidy_review import CriterionScore
from petaport.domain.subsidy_workflow import DECLARATIONS, Milestone, Proposal
from petaport.web.forms import Fields, text
from petaport.web.i18n import Gettext

MAX_ROWS = 20
CALC = "c-"


def number(form: Fields, name: str, label: str, _: Gettext) -> Decimal | None:
    """A decimal number (``7e9``, ``0.5``); empty: None."""
    raw = text(form, name).replace(",", "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ValidationFailed(_("%(field)s must be a number.") % {"field": label})
    return value


def whole(form: Fields, name: str, label: str, _: Gettext) -> int | None:
    value = number(form, name, label, _)
    if value is not None and value != value.to_integral_value():
        raise ValidationFailed(_("%(field)s must be a whole number.") % {"field": label})
    return None if value is None else int(value)


def a_date(form: Fields, name: str, label: str, _: Gettext) -> date | None:
    raw = text(form, name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(_("%(field)s must be a date.") % {"field": label}) from None


def row_count(form: Fields) -> int:
    try:
        return max(0, min(MAX_ROWS, int(text(form, "rows") or "1")))
    except ValueError:
        return 1


def milestones(form: Fields, _: Gettext) -> tuple[Milestone, ...]:
    """The milestone rows that were filled in (a blank row is skipped)."""
    out = []
    for i in range(row_count(form)):
        title = text(form, f"m{i}-title")
        due = a_date(form, f"m{i}-due", _("Due date"), _)
        hours = number(form, f"m{i}-hours", _("Planned GPU-hours"), _)
        if not title and due is None and hours is None:
            continue
        if due is None:
            raise ValidationFailed(_("Give every milestone its due date."))
        out.append(Milestone(title, due, hours if hours is not None else Decimal(0)))
    return tuple(out)


E = TypeVar("E", Precision, Mode, FineTuning)


def _choice(kind: type[E], raw: str, default: E) -> E:
    try:
        return kind(raw) if raw else default
    except ValueError:
        return default


def compute_input(form: Fields, _: Gettext) -> ComputeInput:
    """The calculator's inputs; the MFU is typed as a percentage."""
    mfu = number(form, CALC + "mfu", _("Assumed MFU"), _)
    return ComputeInput(
        parameters=number(form, CALC + "parameters", _("Model parameters"), _) or Decimal(0),
        gpu_model=text(form, CALC + "gpu_model") or text(form, "gpu_model") or "H800",
        precision=_choice(Precision, text(form, CALC + "precision"), Precision.BF16),
        mode=_choice(Mode, text(form, CALC + "mode"), Mode.TRAINING),
        mfu=(mfu / 100) if mfu is not None else Decimal("0.40"),
        tokens=number(form, CALC + "tokens", _("Tokens"), _),
        samples=number(form, CALC + "samples", _("Dataset size (samples)"), _),
        tokens_per_sample=number(form, CALC + "tokens_per_sample", _("Tokens per sample"), _),
        epochs=number(form, CALC + "epochs", _("Epochs"), _) or Decimal(1),
        batch_size=whole(form, CALC + "batch_size", _("Batch size"), _),
        fine_tuning=_choice(FineTuning, text(form, CALC + "fine_tuning"), FineTuning.FULL),
    )  # fmt: skip


def calculation(form: Fields, _: Gettext) -> dict[str, object]:
    """The calculator's inputs and result to keep with the proposal; nothing when the
    calculator was not filled in or cannot compute."""
    if not text(form, CALC + "parameters"):
        return {}
    try:
        i = compute_input(form, _)
        e: ComputeEstimate = estimate(i)
    except DomainError:
        return {}
    inputs = {k.removeprefix(CALC): v.strip() for k, v in form.items()
              if k.startswith(CALC) and v.strip()}  # fmt: skip
    return {"inputs": inputs, "flops": str(e.flops), "gpu_hours": str(e.gpu_hours),
            "formula": e.formula, "assumptions": list(e.assumptions),
            "assumption_templates": [{"template": a.template, "fields": a.fields}
                                     for a in e.assumptions]}  # fmt: skip


def proposal(form: Fields, _: Gettext) -> Proposal:
    return Proposal(
        title=text(form, "title"), description=text(form, "description"),
        gpu_model=text(form, "gpu_model") or "H800",
        gpu_hours=number(form, "gpu_hours", _("GPU-hours"), _) or Decimal(0),
        duration_months=whole(form, "duration_months", _("Duration"), _) or 6,
        milestones=milestones(form, _),
        declarations=frozenset(k for k in DECLARATIONS if form.get(f"decl-{k}")),
        calculation=calculation(form, _),
    )  # fmt: skip


def proposal_fields(p: Proposal) -> dict[str, str]:
    """A stored proposal as form values, to fill in the edit form."""
    values = {"title": p.title, "description": p.description, "gpu_model": p.gpu_model,
              "gpu_hours": f"{p.gpu_hours}", "duration_months": str(p.duration_months),
              "rows": str(max(1, len(p.milestones)))}  # fmt: skip
    for i, m in enumerate(p.milestones):
        values |= {f"m{i}-title": m.title, f"m{i}-due": m.due_on.isoformat(),
                   f"m{i}-hours": f"{m.planned_gpu_hours}"}  # fmt: skip
    values |= {f"decl-{k}": "on" for k in p.declarations}
    inputs = p.calculation.get("inputs")
    if isinstance(inputs, dict):
        values |= {CALC + str(k): str(v) for k, v in inputs.items()}
    return values


def with_rows(form: Fields, op: str) -> dict[str, str]:
    """The form after an "add a milestone" or "remove milestone i" button."""
    values, n = dict(form), row_count(form)
    if op == "add_milestone":
        values["rows"] = str(min(MAX_ROWS, n + 1))
        return values
    index = int(op.removeprefix("remove_milestone:")) if op[-1:].isdigit() else n
    for i in range(index, n - 1):
        for part in ("title", "due", "hours"):
            values[f"m{i}-{part}"] = values.get(f"m{i + 1}-{part}", "")
    for part in ("title", "due", "hours"):
        values.pop(f"m{n - 1}-{part}", None)
    values["rows"] = str(max(0, n - 1))
    return values


def scores(form: Fields, rubric: Sequence[Criterion], _: Gettext) -> list[CriterionScore]:
    out = []
    for c in rubric:
        value = whole(form, f"s-{c.key}", c.label, _)
        if value is None:
            raise ValidationFailed(_("Score every criterion from 0 to 10."))
        out.append(CriterionScore(c.key, value, text(form, f"comment-{c.key}")))
    return out


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def terms(form: Fields, zone: tzinfo, models: Sequence[str], _: Gettext) -> Terms:
    """The approval's terms; the rate is typed as a percentage and dates are local days."""
    start = a_date(form, "valid_from", _("Valid from"), _)
    months = whole(form, "months", _("Months"), _)
    if start is None or months is None or months < 1:
        raise ValidationFailed(_("Give the first day and the number of months the grant runs."))
    rate = number(form, "rate", _("Subsidy rate"), _)
    cap = number(form, "cap", _("HKD cap"), _)
    try:
        on_cap = OnCap(text(form, "on_cap") or OnCap.BILL_ORG)
    except ValueError:
        raise ValidationFailed(_("Choose what happens at the cap from the list.")) from None
    return Terms(
        gpu_hours=number(form, "gpu_hours", _("GPU-hours"), _) or Decimal(0),
        valid_from=datetime.combine(start, time(), zone).astimezone(UTC),
        valid_until=datetime.combine(add_months(start, months), time(), zone).astimezone(UTC),
        cap=Money(cap) if cap is not None else None,
        rate=rate / 100 if rate is not None else None,
        allowed_gpu_models=frozenset(m for m in models if form.get(f"model-{m}")),
        on_cap=on_cap, conditions=text(form, "conditions"),
    )  # fmt: skip
