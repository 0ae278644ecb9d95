"""Endpoints for the catalogue (entries, versions, access grants, uses, risk assessments) and
the AI Lab (templates, estimates, runs)."""

from __future__ import annotations

from typing import Any

from petaport.client.errors import NotFound
from petaport.client.transport import Transport
from petaport.schemas import JobPublic
from petaport.schemas.catalogue import (
    AccessRequestCreate,
    AssessmentPublic,
    EntryCreate,
    EntryPublic,
    EstimatePublic,
    GrantDecision,
    GrantPublic,
    LabRunCreate,
    SignOffCreate,
    TemplatePublic,
    UsePublic,
    VersionCreate,
    VersionPublic,
)

CAT = "/v1/catalogue"


def _body(model: Any) -> Any:
    return model.model_dump(mode="json")


class CatalogueApi(Transport):
    def list_entries(self, kind: str | None = None, query: str | None = None,
                     sensitivity: str | None = None, owner: str | None = None
                     ) -> list[EntryPublic]:  # fmt: skip
        params = {"kind": kind, "q": query, "sensitivity": sensitivity, "owner": owner}
        return self.many(EntryPublic, f"{CAT}/entries", params=params)

    def get_entry(self, entry_id: str) -> EntryPublic:
        return self.one(EntryPublic, "GET", f"{CAT}/entries/{entry_id}", idempotent=True)

    def resolve_entry(self, ref: str) -> EntryPublic:
        """An entry by id, or by ``kind:NAME`` / ``kind:ORG/NAME`` (a version suffix is ignored)."""
        if ref.startswith("cat_"):
            return self.get_entry(ref)
        kind, _, rest = ref.partition(":")
        owner, _, name = rest.split("@")[0].rpartition("/")
        found = [e for e in self.list_entries(kind=kind or None) if e.name == name
                 and (not owner or owner == e.owner)]  # fmt: skip
        if len(found) != 1:
            what = "ambiguous: name the owner, kind:ORG/NAME" if found else "not found"
            raise NotFound(404, "not_found", f"catalogue entry {ref} {what}", None)
        return found[0]

    def create_entry(self, spec: EntryCreate) -> EntryPublic:
        return self.one(EntryPublic, "POST", f"{CAT}/entries", body=_body(spec))

    def publish_entry(self, entry_id: str, published: bool = True) -> EntryPublic:
        return self.one(EntryPublic, "POST", f"{CAT}/entries/{entry_id}/publish",
                        body={"published": published})  # fmt: skip

    def register_version(self, entry_id: str, spec: VersionCreate) -> VersionPublic:
        return self.one(VersionPublic, "POST", f"{CAT}/entries/{entry_id}/versions",
                        body=_body(spec))  # fmt: skip

    def verify_version(self, entry_id: str, version: str) -> VersionPublic:
        return self.one(VersionPublic, "POST",
                        f"{CAT}/entries/{entry_id}/versions/{version}/verify")  # fmt: skip

    def request_access(self, entry_id: str, spec: AccessRequestCreate) -> GrantPublic:
        return self.one(GrantPublic, "POST", f"{CAT}/entries/{entry_id}/access-requests",
                        body=_body(spec))  # fmt: skip

    def list_grants(self, entry_id: str | None = None, project_id: str | None = None,
                    status: str | None = None) -> list[GrantPublic]:  # fmt: skip
        params = {"entry_id": entry_id, "project_id": project_id, "status": status}
        return self.many(GrantPublic, f"{CAT}/grants", params=params)

    def decide_grant(self, grant_id: str, decision: GrantDecision) -> GrantPublic:
        return self.one(GrantPublic, "POST", f"{CAT}/grants/{grant_id}/decision",
                        body=_body(decision))  # fmt: skip

    def list_uses(self, entry_id: str | None = None, job_id: str | None = None) -> list[UsePublic]:
        return self.many(UsePublic, f"{CAT}/uses", params={"entry_id": entry_id, "job_id": job_id})

    def start_assessment(self, entry_id: str, version: str, project: str) -> AssessmentPublic:
        return self.one(AssessmentPublic, "POST",
                        f"{CAT}/entries/{entry_id}/versions/{version}/assessments",
                        body={"project": project})  # fmt: skip

    def list_assessments(self, entry_id: str) -> list[AssessmentPublic]:
        return self.many(AssessmentPublic, f"{CAT}/entries/{entry_id}/assessments")

    def get_assessment(self, assessment_id: str) -> AssessmentPublic:
        return self.one(AssessmentPublic, "GET", f"{CAT}/assessments/{assessment_id}",
                        idempotent=True)  # fmt: skip

    def sign_off(self, assessment_id: str, spec: SignOffCreate) -> AssessmentPublic:
        return self.one(AssessmentPublic, "POST", f"{CAT}/assessments/{assessment_id}/signoff",
                        body=_body(spec))  # fmt: skip

    # -- AI Lab
    def list_templates(self) -> list[TemplatePublic]:
        return self.many(TemplatePublic, "/v1/lab/templates")

    def get_template(self, name: str) -> TemplatePublic:
        return self.one(TemplatePublic, "GET", f"/v1/lab/templates/{name}", idempotent=True)

    def estimate_run(self, name: str, spec: LabRunCreate) -> EstimatePublic:
        return self.one(EstimatePublic, "POST", f"/v1/lab/templates/{name}/estimate",
                        body=_body(spec), idempotent=True)  # fmt: skip

    def run_template(self, name: str, spec: LabRunCreate) -> JobPublic:
        return self.one(JobPublic, "POST", f"/v1/lab/templates/{name}/runs", body=_body(spec))

    def run_outputs(self, job_id: str) -> dict[str, Any]:
        return dict(self.json("GET", f"/v1/lab/runs/{job_id}/outputs", idempotent=True))
