"""Model risk assessment: an evaluation suite's results, a reviewer's sign-off, the model card.

Invariants:
- an assessment moves RUNNING -> EVALUATED (every check passed) or FAILED (a check failed, a
  required check is missing, or the evaluation job did not complete); EVALUATED -> APPROVED or
  REJECTED by a reviewer's sign-off, which carries a risk level (never ``unacceptable`` for an
  approval) and conditions; nothing else moves;
- only an APPROVED assessment clears its model version for sharing beyond the owner org;
- the licence check is decided here, from the entry's licence, not by the evaluation job.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from petaport.domain.catalogue import Entry, Version
from petaport.domain.errors import Conflict, ValidationFailed


class AssessmentStatus(enum.StrEnum):
    RUNNING = "running"
    EVALUATED = "evaluated"
    FAILED = "failed"
    APPROVED = "approved"
    REJECTED = "rejected"


class RiskLevel(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    UNACCEPTABLE = "unacceptable"


# Licences under which a model may be shared with other organisations of the centre.
SHAREABLE_LICENCES = frozenset(
    {"apache-2.0", "mit", "bsd-3-clause", "cc-by-4.0", "cc-by-sa-4.0", "openrail-m",
     "llama3-community", "centre-internal"}
)  # fmt: skip
REQUIRED_CHECKS = ("quality", "robustness", "provenance", "licence")


@dataclass(frozen=True)
class Assessment:
    id: str
    entry_id: str
    version_id: str
    project_id: str  # the owner's project the evaluation job ran in
    job_id: str | None
    status: AssessmentStatus
    suite: str
    results: dict[str, Any] = field(default_factory=dict)
    risk_level: RiskLevel | None = None
    conditions: str = ""
    reviewer_id: str | None = None
    signed_at: datetime | None = None
    model_card: str = ""
    requested_by: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


def licence_check(entry: Entry) -> dict[str, Any]:
    ok = entry.licence.strip().lower() in SHAREABLE_LICENCES
    why = "not on the centre's list of shareable licences"
    detail = "a licence that allows sharing" if ok else f"{entry.licence!r} is {why}"
    return {"name": "licence", "passed": ok, "value": entry.licence, "detail": detail}


def evaluate(a: Assessment, entry: Entry, job_completed: bool, raw: dict[str, Any] | None,
             now: datetime) -> Assessment:  # fmt: skip
    """Record the evaluation job's results: EVALUATED when every required check passed."""
    if a.status is not AssessmentStatus.RUNNING:
        return a
    checks = [c for c in (raw or {}).get("checks", []) if isinstance(c, dict)]
    checks.append(licence_check(entry))
    names = {str(c.get("name")) for c in checks}
    missing = [n for n in REQUIRED_CHECKS if n not in names]
    failed = [str(c.get("name")) for c in checks if c.get("passed") is False]
    ok = job_completed and not missing and not failed
    summary = {"checks": checks, "missing": missing, "failed": failed,
               "job_completed": job_completed,
               "metrics": (raw or {}).get("metrics", {})}  # fmt: skip
    status = AssessmentStatus.EVALUATED if ok else AssessmentStatus.FAILED
    return replace(a, status=status, results=summary, updated_at=now)


def sign_off(a: Assessment, *, approve: bool, risk_level: RiskLevel, conditions: str,
             reviewer_id: str, now: datetime) -> Assessment:  # fmt: skip
    if a.status is not AssessmentStatus.EVALUATED:
        raise Conflict(
            f"an assessment that is {a.status.value} cannot be signed off; "
            "only one whose evaluation passed",
            code="assessment_not_evaluated",
        )
    if approve and risk_level is RiskLevel.UNACCEPTABLE:
        raise ValidationFailed("a model of unacceptable risk cannot be approved")
    status = AssessmentStatus.APPROVED if approve else AssessmentStatus.REJECTED
    return replace(a, status=status, risk_level=risk_level, conditions=conditions.strip(),
                   reviewer_id=reviewer_id, signed_at=now, updated_at=now)  # fmt: skip


def _check_rows(results: dict[str, Any]) -> list[str]:
    rows = ["| check | result | value | detail |", "|---|---|---|---|"]
    for c in results.get("checks", []):
        mark = {True: "pass", False: "FAIL", None: "n/a"}.get(c.get("passed"), "n/a")
        rows.append(f"| {c.get('name')} | {mark} | {c.get('value', '')} | {c.get('detail', '')} |")
    return rows


def model_card(entry: Entry, version: Version, a: Assessment, reviewer: str | None) -> str:
    """The model card (Markdown): the owner's card, provenance, evaluation and sign-off."""
    lines = [
        f"# Model card: {entry.name} {version.version}",
        "",
        entry.description or "(no description)",
        "",
        "## Provenance",
        f"- Licence: {entry.licence}",
        f"- Sensitivity: {entry.sensitivity.value}",
        f"- Content: {version.size_bytes} bytes, SHA-256 `{version.sha256}`",
        f"- Registered: {version.registered_at.isoformat()}",
        "",
        f"## Evaluation ({a.suite})",
        *_check_rows(a.results),
        "",
        "## Sign-off",
        f"- Status: {a.status.value}",
        f"- Risk level: {a.risk_level.value if a.risk_level else 'not signed off'}",
        f"- Conditions: {a.conditions or 'none'}",
        f"- Reviewer: {reviewer or '-'}" + (f", {a.signed_at.isoformat()}" if a.signed_at else ""),
    ]
    if entry.card.strip():
        lines += ["", "## Owner's card", "", entry.card.strip()]
    return "\n".join(lines) + "\n"
