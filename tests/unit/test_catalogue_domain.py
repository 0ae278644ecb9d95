"""The catalogue's pure rules: references, variable names, access and expiry, decisions,
residency, assessment outcomes and sign-off; and the variables both backends export."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from petaport.backends.environment import catalogue_environment
from petaport.backends.slurm.submission import build_submission
from petaport.domain import assessment as rules
from petaport.domain.catalogue import (
    AccessRequired,
    Entry,
    EntryKind,
    EntryRef,
    Grant,
    GrantStatus,
    ResidencyRequired,
    Sensitivity,
    Version,
    VersionStatus,
    check_access,
    check_residency,
    decide_grant,
    env_var,
    parse_ref,
)
from petaport.domain.errors import Conflict, ValidationFailed
from petaport.domain.jobs import JobSpec
from tests.unit.slurm.test_translation import launch

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ENTRY = Entry("cat_1", "org_owner", EntryKind.DATASET, "hk-rainfall", "rain", "CC-BY-4.0", "dua",
              Sensitivity.RESTRICTED, "", True, NOW, NOW)  # fmt: skip
ASKED = Grant("agr_1", "cat_1", "org_other", "prj_1", "flood research", True,
              GrantStatus.REQUESTED, "usr_1", NOW)  # fmt: skip


def test_references_and_variable_names() -> None:
    ref = parse_ref("model:harbour-u/weather.lm@2.1")
    assert (ref.kind, ref.owner, ref.name, ref.version) == (EntryKind.MODEL, "harbour-u",
                                                           "weather.lm", "2.1")  # fmt: skip
    assert ref.label == "model:harbour-u/weather.lm@2.1"
    assert env_var(ref) == "PETAPORT_MODEL_WEATHER_LM"
    for bad in ("table:x", "dataset:", "dataset:Upper", "dataset:a/b/c", "dataset:x@"):
        with pytest.raises(ValidationFailed):
            parse_ref(bad)
    twice = (parse_ref("dataset:a/x"), parse_ref("dataset:b/x"))
    with pytest.raises(ValidationFailed, match="once"):
        JobSpec(name="j", project_id="p", command=("true",), uses=twice)


def test_access_needs_a_grant_valid_at_submission() -> None:
    with pytest.raises(AccessRequired, match="no approved"):
        check_access(ENTRY, "org_other", [ASKED], NOW, "dataset:hk-rainfall")
    check_access(ENTRY, "org_owner", [], NOW, "x")  # the owner's projects need none
    check_access(replace(ENTRY, sensitivity=Sensitivity.PUBLIC), "org_other", [], NOW, "x")
    approved = decide_grant(ASKED, approve=True, by="usr_2", now=NOW,
                            expires_at=NOW + timedelta(days=1), reason="")  # fmt: skip
    check_access(ENTRY, "org_other", [approved], NOW + timedelta(hours=23), "x")
    with pytest.raises(AccessRequired, match="expired"):
        check_access(ENTRY, "org_other", [approved], NOW + timedelta(days=1), "x")


def test_decisions() -> None:
    with pytest.raises(ValidationFailed):
        decide_grant(ASKED, approve=True, by="u", now=NOW, expires_at=NOW, reason="")
    with pytest.raises(ValidationFailed):
        decide_grant(ASKED, approve=False, by="u", now=NOW, expires_at=None, reason=" ")
    rejected = decide_grant(ASKED, approve=False, by="u", now=NOW, expires_at=None, reason="no")
    assert rejected.status is GrantStatus.REJECTED and not rejected.valid_at(NOW)
    with pytest.raises(Conflict):
        decide_grant(rejected, approve=True, by="u", now=NOW, expires_at=NOW, reason="")


def test_residency_needs_a_candidate_pool_in_hong_kong() -> None:
    """At submission one Hong Kong pool that could hold the job is enough: the scheduler keeps
    the job on such pools (tests/unit/scheduler/test_pools.py)."""
    resident = replace(ENTRY, sensitivity=Sensitivity.RESIDENT_ONLY)
    check_residency(resident, [True, True])
    check_residency(resident, [True, False])
    check_residency(ENTRY, [False])
    for pools in ([False, False], []):
        with pytest.raises(ResidencyRequired):
            check_residency(resident, pools)


def test_assessment_outcomes_and_sign_off() -> None:
    model = replace(ENTRY, kind=EntryKind.MODEL, licence="Apache-2.0")
    running = rules.Assessment("asm_1", "cat_1", "ver_1", "prj_1", "job_1",
                               rules.AssessmentStatus.RUNNING, "assess-model@1")  # fmt: skip
    checks = [{"name": n, "passed": True} for n in ("quality", "robustness", "provenance")]
    passed = rules.evaluate(running, model, True, {"checks": checks}, NOW)
    assert passed.status is rules.AssessmentStatus.EVALUATED
    bad_licence = rules.evaluate(running, replace(model, licence="proprietary"), True,
                                 {"checks": checks}, NOW)  # fmt: skip
    assert bad_licence.results["failed"] == ["licence"]
    assert (
        rules.evaluate(running, model, True, {"checks": checks[:1]}, NOW).status.value == "failed"
    )
    assert rules.evaluate(running, model, False, {"checks": checks}, NOW).status.value == "failed"
    with pytest.raises(ValidationFailed):
        rules.sign_off(passed, approve=True, risk_level=rules.RiskLevel.UNACCEPTABLE,
                       conditions="", reviewer_id="usr_r", now=NOW)  # fmt: skip
    signed = rules.sign_off(passed, approve=True, risk_level=rules.RiskLevel.MEDIUM,
                            conditions="internal use", reviewer_id="usr_r", now=NOW)  # fmt: skip
    version = Version("ver_1", "cat_1", "1", "/s/m", 10, "ab" * 32, VersionStatus.READY, NOW, "u")
    card = rules.model_card(model, version, signed, "reviewer")
    assert "Risk level: medium" in card and "| licence | pass |" in card


def test_both_backends_name_the_content() -> None:
    ref = EntryRef(EntryKind.DATASET, "hk-rainfall", "org", "1", "cat_1", "/storage/org/rain")
    spec = JobSpec(name="j", project_id="p", command=("true",), uses=(ref,))
    assert catalogue_environment(spec, "/a/catalogue") == {
        "PETAPORT_DATASET_HK_RAINFALL": "/a/catalogue/datasets/hk-rainfall"
    }
    script = build_submission(launch(uses=(ref,)), base_env={}, partition=None).script
    assert "export PETAPORT_DATASET_HK_RAINFALL=/storage/org/rain" in script
