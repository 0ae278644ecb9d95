"""Endpoints of the subsidy workflow: schemes, calls, the calculator, applications, review,
decisions, the stage clock and the audit trail."""

from __future__ import annotations

from typing import Any

import httpx

from petaport.client.errors import ConnectionFailed
from petaport.client.transport import Transport, parse, raise_for_problem
from petaport.schemas.subsidy import (
    ApplicationCreate,
    ApplicationPublic,
    AssignmentPublic,
    AttachmentPublic,
    AuditPublic,
    CalculatorInput,
    CalculatorPublic,
    CallCreate,
    CallPublic,
    DecisionCreate,
    DecisionPublic,
    ProposalIn,
    ReviewPublic,
    ReviewsPublic,
    SchemeCreate,
    SchemePublic,
    ScoresCreate,
    StagePublic,
)

SUB = "/v1/subsidy"
APPS = f"{SUB}/applications"


def _body(model: Any) -> Any:
    return model.model_dump(mode="json")


class SubsidyApi(Transport):
    def list_schemes(self) -> list[SchemePublic]:
        return self.many(SchemePublic, f"{SUB}/schemes")

    def create_scheme(self, spec: SchemeCreate) -> SchemePublic:
        return self.one(SchemePublic, "POST", f"{SUB}/schemes", body=_body(spec))

    def update_scheme(self, scheme_id: str, spec: SchemeCreate) -> SchemePublic:
        return self.one(SchemePublic, "PUT", f"{SUB}/schemes/{scheme_id}", body=_body(spec))

    def list_calls(self, open_only: bool = False) -> list[CallPublic]:
        return self.many(CallPublic, f"{SUB}/calls", params={"open": open_only})

    def create_call(self, spec: CallCreate) -> CallPublic:
        return self.one(CallPublic, "POST", f"{SUB}/calls", body=_body(spec))

    def calculate(self, spec: CalculatorInput) -> CalculatorPublic:
        return self.one(CalculatorPublic, "POST", f"{SUB}/calculate", body=_body(spec))

    def list_applications(self, state: str | None = None) -> list[ApplicationPublic]:
        return self.many(ApplicationPublic, APPS, params={"state": state})

    def get_application(self, app_id: str) -> ApplicationPublic:
        return self.one(ApplicationPublic, "GET", f"{APPS}/{app_id}", idempotent=True)

    def create_application(self, spec: ApplicationCreate) -> ApplicationPublic:
        return self.one(ApplicationPublic, "POST", APPS, body=_body(spec))

    def update_application(self, app_id: str, spec: ProposalIn) -> ApplicationPublic:
        return self.one(ApplicationPublic, "PUT", f"{APPS}/{app_id}", body=_body(spec))

    def submit_application(self, app_id: str) -> ApplicationPublic:
        return self.one(ApplicationPublic, "POST", f"{APPS}/{app_id}/submit")

    def attach(self, app_id: str, filename: str, data: bytes) -> AttachmentPublic:
        """Upload a PDF (the raw body); not retried."""
        headers = {"Content-Type": "application/pdf"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            resp = self._http.post(f"{APPS}/{app_id}/attachments", params={"filename": filename},
                                   content=data, headers=headers)  # fmt: skip
        except httpx.TransportError as exc:
            raise ConnectionFailed(self.base_url, str(exc) or type(exc).__name__) from exc
        raise_for_problem(resp)
        return parse(AttachmentPublic, resp.json())

    def screen(self, app_id: str, eligible: bool, reason: str = "") -> ApplicationPublic:
        return self.one(ApplicationPublic, "POST", f"{APPS}/{app_id}/screening",
                        body={"eligible": eligible, "reason": reason})  # fmt: skip

    def assign(self, app_id: str, reviewer: str) -> AssignmentPublic:
        return self.one(AssignmentPublic, "POST", f"{APPS}/{app_id}/assignments",
                        body={"reviewer": reviewer})  # fmt: skip

    def declare_coi(self, app_id: str, conflicted: bool, statement: str = "") -> AssignmentPublic:
        body = {"coi": "conflicted" if conflicted else "none", "statement": statement}
        return self.one(AssignmentPublic, "POST", f"{APPS}/{app_id}/coi", body=body)

    def score(self, app_id: str, spec: ScoresCreate) -> ReviewPublic:
        return self.one(ReviewPublic, "POST", f"{APPS}/{app_id}/scores", body=_body(spec))

    def reviews(self, app_id: str) -> ReviewsPublic:
        return self.one(ReviewsPublic, "GET", f"{APPS}/{app_id}/reviews", idempotent=True)

    def decide(self, app_id: str, spec: DecisionCreate) -> DecisionPublic:
        return self.one(DecisionPublic, "POST", f"{APPS}/{app_id}/decision", body=_body(spec))

    def my_assignments(self) -> list[AssignmentPublic]:
        return self.many(AssignmentPublic, f"{SUB}/assignments")

    def stages(self, overdue: bool = False) -> list[StagePublic]:
        return self.many(StagePublic, f"{SUB}/stages", params={"overdue": overdue})

    def audit(self, application: str | None = None) -> list[AuditPublic]:
        return self.many(AuditPublic, f"{SUB}/audit", params={"application": application})
