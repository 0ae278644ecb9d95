"""Schemes and calls of the subsidy scheme (the secretariat creates and changes them; every
logged-in user reads them), the audit trail for the secretariat, and the demo seed.

A scheme's rules are checked by ``domain.subsidy.Scheme``; a call's by ``domain.subsidy_workflow
.Call``. Every change is recorded in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from petaport.domain.errors import NotFound
from petaport.domain.ids import new_id
from petaport.domain.subsidy import DEFAULT_RUBRIC, Criterion, Scheme
from petaport.domain.subsidy_workflow import Call
from petaport.domain.tenancy import OrgCategory, Principal
from petaport.services.context import Context
from petaport.services.subsidy_access import require_secretariat
from petaport.storage.repos.subsidy import AuditRecord, AuditRepo, SchemeRepo
from petaport.storage.repos.subsidy_workflow import CallRepo

AISS = "AI Subsidy Scheme (AISS)"
AISS_FUNDER = "hk-gov"


@dataclass(frozen=True)
class SchemeFields:
    name: str
    funder_id: str
    default_rate: Decimal = Decimal("0.70")
    max_rate: Decimal = Decimal("0.90")
    eligible_categories: frozenset[OrgCategory] = frozenset(OrgCategory)
    category_rates: dict[OrgCategory, Decimal] | None = None
    rubric: tuple[Criterion, ...] = DEFAULT_RUBRIC


def _record(ctx: Context, s: Session, p: Principal, action: str, kind: str, subject: str,
            details: dict[str, object]) -> None:  # fmt: skip
    AuditRepo(s).record(AuditRecord(new_id("aud"), ctx.clock(), p.user.id, action, kind,
                                    subject, details=details))  # fmt: skip


def _scheme(scheme_id: str, f: SchemeFields) -> Scheme:
    return Scheme(scheme_id, f.name.strip(), f.funder_id.strip(), f.default_rate, f.max_rate,
                  f.eligible_categories, dict(f.category_rates or {}), f.rubric)  # fmt: skip


def _details(scheme: Scheme) -> dict[str, object]:
    return {"name": scheme.name, "funder": scheme.funder_id,
            "default_rate": str(scheme.default_rate), "max_rate": str(scheme.max_rate)}  # fmt: skip


def create_scheme(ctx: Context, p: Principal, f: SchemeFields) -> Scheme:
    require_secretariat(p)
    scheme = _scheme(new_id("sch"), f)
    with ctx.db.transaction() as s:
        SchemeRepo(s).save(scheme, ctx.clock())
        _record(ctx, s, p, "scheme.created", "scheme", scheme.id, _details(scheme))
    return scheme


def update_scheme(ctx: Context, p: Principal, scheme_id: str, f: SchemeFields) -> Scheme:
    require_secretariat(p)
    with ctx.db.transaction() as s:
        SchemeRepo(s).get(scheme_id)
        scheme = _scheme(scheme_id, f)
        SchemeRepo(s).save(scheme, ctx.clock())
        _record(ctx, s, p, "scheme.updated", "scheme", scheme.id, _details(scheme))
    return scheme


def list_schemes(ctx: Context) -> list[Scheme]:
    with ctx.db.transaction() as s:
        return SchemeRepo(s).list_schemes()


def get_scheme(ctx: Context, scheme_id: str) -> Scheme:
    with ctx.db.transaction() as s:
        return SchemeRepo(s).get(scheme_id)


def resolve_scheme(s: Session, ref: str) -> Scheme:
    """A scheme by id or by name."""
    repo = SchemeRepo(s)
    found = repo.find(ref) or repo.find_by_name(ref)
    if found is None:
        raise NotFound(f"no scheme {ref}")
    return found


def create_call(ctx: Context, p: Principal, scheme_ref: str, name: str, opens_at: datetime,
                closes_at: datetime) -> Call:  # fmt: skip
    require_secretariat(p)
    with ctx.db.transaction() as s:
        scheme = resolve_scheme(s, scheme_ref)
        call = Call(new_id("call"), scheme.id, name.strip(), opens_at, closes_at)
        CallRepo(s).add(call, ctx.clock())
        _record(ctx, s, p, "call.created", "call", call.id,
                {"name": call.name, "opens_at": opens_at.isoformat(),
                 "closes_at": closes_at.isoformat()})  # fmt: skip
    return call


def update_call(ctx: Context, p: Principal, call_id: str, name: str, opens_at: datetime,
                closes_at: datetime) -> Call:  # fmt: skip
    require_secretariat(p)
    with ctx.db.transaction() as s:
        old = CallRepo(s).get(call_id)
        call = Call(old.id, old.scheme_id, name.strip(), opens_at, closes_at)
        CallRepo(s).save(call)
        _record(ctx, s, p, "call.updated", "call", call.id,
                {"name": call.name, "opens_at": opens_at.isoformat(),
                 "closes_at": closes_at.isoformat()})  # fmt: skip
    return call


def list_calls(ctx: Context, scheme_id: str | None = None,
               open_only: bool = False) -> list[Call]:  # fmt: skip
    now = ctx.clock()
    with ctx.db.transaction() as s:
        calls = CallRepo(s).list_calls(scheme_id)
    return [c for c in calls if c.open_at(now)] if open_only else calls


def list_audit(ctx: Context, p: Principal, *, application_id: str | None = None,
               grant_id: str | None = None, limit: int = 500) -> list[AuditRecord]:  # fmt: skip
    """The audit trail, newest first (the secretariat only)."""
    require_secretariat(p)
    with ctx.db.transaction() as s:
        return AuditRepo(s).list_records(application_id=application_id, grant_id=grant_id,
                                         limit=limit)  # fmt: skip


def seed_subsidy(ctx: Context) -> Call:
    """The demo centre's AISS scheme (hk-gov, 70% default, 90% maximum, every category, the
    default rubric) and one call open for 90 days from now."""
    now = ctx.clock()
    scheme = Scheme(new_id("sch"), AISS, AISS_FUNDER)
    call = Call(new_id("call"), scheme.id, "AISS 2026 call 1", now - timedelta(days=1),
                now + timedelta(days=90))  # fmt: skip
    with ctx.db.transaction() as s:
        SchemeRepo(s).save(scheme, now)
        CallRepo(s).add(call, now)
    return call
