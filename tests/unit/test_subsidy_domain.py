"""The subsidy scheme's core objects: rates within the scheme's maximum, rubric weights, grants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from petaport.domain.errors import ValidationFailed
from petaport.domain.money import Money
from petaport.domain.subsidy import (
    DEFAULT_RUBRIC,
    Criterion,
    Grant,
    GrantStatus,
    RateAboveMaximum,
    Scheme,
    new_grant_for,
)
from petaport.domain.tenancy import OrgCategory

T0 = datetime(2026, 12, 1, tzinfo=UTC)
AISS = Scheme("sch_1", "AISS", "hk-gov", category_rates={OrgCategory.UNIVERSITY: Decimal("0.8")})


def _grant(**kw: object) -> Grant:
    args: dict[str, object] = {
        "id": "grt_1", "scheme_id": "sch_1", "funder_id": "hk-gov", "org_id": "org_1",
        "project_id": "prj_1", "rate": Decimal("0.7"), "valid_from": T0,
        "valid_until": T0 + timedelta(days=180),
    }  # fmt: skip
    args.update(kw)
    return Grant(**args)  # type: ignore[arg-type]


def test_default_rubric_weights_alignment_25_and_compute_20_summing_to_100() -> None:
    weights = {c.key: c.weight for c in DEFAULT_RUBRIC}
    assert weights["alignment"] == Decimal("0.25") and weights["compute"] == Decimal("0.20")
    assert sum(weights.values()) == 1


def test_rates_by_category_and_the_maximum() -> None:
    assert AISS.rate_for(OrgCategory.UNIVERSITY) == Decimal("0.8")
    assert AISS.rate_for(OrgCategory.STARTUP) == Decimal("0.70")
    AISS.check_rate(Decimal("0.90"))
    with pytest.raises(RateAboveMaximum, match="maximum of 90%"):
        AISS.check_rate(Decimal("0.91"))


@pytest.mark.parametrize(
    "kw",
    [
        {"default_rate": Decimal("0.95")},
        {"max_rate": Decimal("1.5")},
        {"category_rates": {OrgCategory.STARTUP: Decimal("0.95")}},
        {"rubric": (Criterion("a", "A", Decimal("0.5")),)},
        {"rubric": (Criterion("a", "A", Decimal("0.5")), Criterion("a", "B", Decimal("0.5")))},
        {"eligible_categories": frozenset()},
    ],
)
def test_bad_schemes_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(ValidationFailed):
        Scheme("sch_x", "X", "hk-gov", **kw)  # type: ignore[arg-type]


def test_a_grant_is_valid_inside_its_dates_while_active() -> None:
    g = _grant()
    assert g.valid_at(T0) and not g.valid_at(T0 - timedelta(seconds=1))
    assert not g.valid_at(T0 + timedelta(days=180))
    suspended = _grant(status=GrantStatus.SUSPENDED)
    assert not suspended.valid_at(T0 + timedelta(days=1))


def test_a_grant_funds_only_its_gpu_models() -> None:
    assert _grant().funds_model(None) and _grant().funds_model("H800")
    h800 = _grant(allowed_gpu_models=frozenset({"H800"}))
    assert h800.funds_model("H800") and not h800.funds_model("A100")
    assert not h800.funds_model(None)


@pytest.mark.parametrize(
    "kw",
    [
        {"valid_until": T0},
        {"cap": Money("0")},
        {"cap_gpu_hours": Decimal("-1")},
        {"rate": Decimal("1.01")},
        {"valid_from": datetime(2026, 12, 1)},
    ],
)
def test_bad_grants_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(ValidationFailed):
        _grant(**kw)


def test_a_grant_above_its_schemes_maximum_is_refused() -> None:
    assert new_grant_for(AISS, _grant(rate=Decimal("0.9"))).rate == Decimal("0.9")
    with pytest.raises(RateAboveMaximum):
        new_grant_for(AISS, _grant(rate=Decimal("0.95")))
    with pytest.raises(ValidationFailed):
        new_grant_for(AISS, _grant(funder_id="someone-else"))
