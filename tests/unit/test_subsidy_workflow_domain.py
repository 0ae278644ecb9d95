"""The subsidy workflow's pure rules: the compute-request calculator, the state machine, the
stage clock, weighted totals, conflicts of interest and blind review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petaport.domain.compute_request import (
    ComputeInput,
    FineTuning,
    Mode,
    Precision,
    estimate,
    peak_flops,
)
from petaport.domain.errors import IllegalTransition, ValidationFailed
from petaport.domain.subsidy import DEFAULT_RUBRIC
from petaport.domain.subsidy_review import (
    Assignment,
    Coi,
    CoiRequired,
    CriterionScore,
    Recused,
    Review,
    ReviewerFromApplicantOrg,
    check_assignable,
    check_coi,
    check_scores,
    may_see_all_scores,
    mean_total,
    reviews_complete,
    weighted_total,
)
from petaport.domain.subsidy_workflow import (
    TRANSITIONS,
    Action,
    Stage,
    State,
    Transition,
    next_state,
    stage_clock,
)

T0 = datetime(2027, 1, 1, tzinfo=UTC)
KEYS = [c.key for c in DEFAULT_RUBRIC]


def _calc(**kw: object) -> Decimal:
    args: dict[str, object] = {"parameters": Decimal("7e9"), "tokens": Decimal("1e12"),
                               "gpu_model": "H800", "mfu": Decimal("0.4")}  # fmt: skip
    args.update(kw)
    return estimate(ComputeInput(**args)).gpu_hours  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "gpu_hours"),
    [
        ({}, "29479.2"),  # 6 × 7e9 × 1e12 / (989.4e12 × 0.4 × 3600)
        ({"precision": Precision.FP8}, "14738.9"),  # 1,978.9 TFLOP/s
        ({"mode": Mode.INFERENCE}, "9826.4"),  # 2·N·D
        ({"mode": Mode.FINE_TUNING, "fine_tuning": FineTuning.LORA}, "19652.8"),  # 4·N·D
        ({"mode": Mode.FINE_TUNING}, "29479.2"),  # full fine-tuning: 6·N·D
        ({"gpu_model": "A100"}, "93483.0"),
        (
            {
                "tokens": None,
                "samples": Decimal("1e8"),
                "tokens_per_sample": Decimal("2000"),
                "epochs": Decimal(5),
            },
            "29479.2",
        ),
    ],
)
def test_calculator_table(kw: dict[str, object], gpu_hours: str) -> None:
    assert _calc(**kw) == Decimal(gpu_hours)


def test_llama2_7b_reproduces_its_published_a100_gpu_hours() -> None:
    """Llama 2 7B (6.74e9 parameters, 2T tokens) reported 184,320 A100-80GB GPU-hours
    (Touvron et al. 2023, table 2); at 40% MFU the calculator is within 3% of it."""
    hours = _calc(parameters=Decimal("6.74e9"), tokens=Decimal("2e12"), gpu_model="A100")
    assert abs(hours / Decimal(184_320) - 1) < Decimal("0.03")


def test_calculator_lists_its_assumptions_and_steps() -> None:
    out = estimate(ComputeInput(Decimal("1e9"), "H100", samples=Decimal(1000),
                                tokens_per_sample=Decimal(1000), batch_size=64))  # fmt: skip
    assert out.steps == 16 and out.flops == Decimal("6e15")
    assert out.formula.startswith("6·N·D") and any("989.4 TFLOP/s" in a for a in out.assumptions)
    assert any("(MFU) 40% of peak" in a for a in out.assumptions)


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("method", list(FineTuning))
def test_every_assumption_has_a_chinese_translation(mode: Mode, method: FineTuning) -> None:
    """The portal shows assumptions translated from their templates: each one is in the
    zh_Hant catalogue with the same fields."""
    import re

    from babel.messages.pofile import read_po

    import petaport.web

    po = Path(petaport.web.__file__).parent / "locale/zh_Hant/LC_MESSAGES/messages.po"
    with po.open("rb") as f:
        catalogue = read_po(f, locale="zh_Hant")
    out = estimate(ComputeInput(Decimal("1e9"), "H100", tokens=Decimal("1e9"), mode=mode,
                                fine_tuning=method, epochs=Decimal(2), batch_size=8,
                                tokens_per_sample=Decimal(512)))  # fmt: skip
    assert len(out.assumptions) >= 6
    for a in out.assumptions:
        assert a == a.template % a.fields
        found = catalogue.get(a.template)
        assert found is not None and found.string and found.string != a.template, a.template
        fields = set(re.findall(r"%\((\w+)\)s", found.string))
        assert fields == set(a.fields), a.template
        assert found.string % a.fields  # formats with the assumption's own fields


@pytest.mark.parametrize(
    "kw",
    [
        {"gpu_model": "Z9"},
        {"gpu_model": "A100", "precision": Precision.FP8},
        {"mfu": Decimal(0)},
        {"mfu": Decimal("1.5")},
        {"tokens": None},
        {"parameters": Decimal(-1)},
        {"tokens": Decimal("NaN")},
    ],
)
def test_calculator_refuses_what_it_cannot_compute(kw: dict[str, object]) -> None:
    with pytest.raises(ValidationFailed):
        _calc(**kw)


@given(st.integers(1, 10**12), st.integers(1, 10**13), st.sampled_from(["H800", "A100", "L40S"]))
def test_gpu_hours_scale_with_flops_and_round_up(n: int, d: int, model: str) -> None:
    out = estimate(ComputeInput(Decimal(n), model, tokens=Decimal(d)))
    exact = out.flops / (peak_flops(model, Precision.BF16) * Decimal("0.4") * 3600)
    assert out.flops == 6 * n * d and exact <= out.gpu_hours < exact + Decimal("0.1")


def test_state_machine_allows_only_the_table() -> None:
    assert next_state(State.DRAFT, Action.SUBMIT) is State.SUBMITTED
    assert next_state(State.CHANGES_REQUESTED, Action.SUBMIT) is State.SUBMITTED
    for state in State:
        for action in Action:
            if (state, action) not in TRANSITIONS:
                with pytest.raises(IllegalTransition):
                    next_state(state, action)
    assert not any(s in (State.APPROVED, State.REJECTED, State.INELIGIBLE)
                   for s, _ in TRANSITIONS)  # decided is final  # fmt: skip


def _t(state: State, hours: int) -> Transition:
    return Transition("app_1", None, state, T0 + timedelta(hours=hours))


def test_stage_clock_sums_time_per_stage_and_flags_overdue() -> None:
    history = [_t(State.DRAFT, 0), _t(State.SUBMITTED, 10), _t(State.CHANGES_REQUESTED, 20),
               _t(State.SUBMITTED, 50), _t(State.REVIEW, 60)]  # fmt: skip
    targets = {Stage.REVIEW: timedelta(hours=24)}
    clock = stage_clock(history, T0 + timedelta(hours=90), targets)
    assert clock.seconds[Stage.DRAFT] == 10 * 3600
    assert clock.seconds[Stage.SCREENING] == 20 * 3600
    assert clock.seconds[Stage.CHANGES_REQUESTED] == 30 * 3600
    assert (clock.current, clock.in_current_s, clock.overdue) == (Stage.REVIEW, 30 * 3600, True)
    assert not stage_clock(history, T0 + timedelta(hours=70), targets).overdue
    decided = [*history, _t(State.COMMITTEE, 61), _t(State.APPROVED, 62)]
    assert not stage_clock(decided, T0 + timedelta(days=900), targets).overdue


def test_weighted_total_is_exact() -> None:
    scores = {"alignment": 8, "compute": 6, "merit": 7, "team": 9, "impact": 5}
    assert weighted_total(DEFAULT_RUBRIC, scores) == Decimal("6.95")
    assert mean_total([Decimal("6.95"), Decimal(10)]) == Decimal("8.48")  # 8.475 half-even
    assert mean_total([]) is None


@given(st.lists(st.integers(0, 10), min_size=5, max_size=5))
def test_weighted_total_stays_on_the_score_scale(values: list[int]) -> None:
    total = weighted_total(DEFAULT_RUBRIC, dict(zip(KEYS, values, strict=True)))
    assert min(values) <= total <= max(values)
    assert total * 100 == int(total * 100)  # exact to the hundredth: no float rounding


def test_scores_must_cover_the_rubric_in_range() -> None:
    good = [CriterionScore(k, 5) for k in KEYS]
    check_scores(DEFAULT_RUBRIC, good)
    for bad in (good[:-1], [*good, CriterionScore("alignment", 5)],
                [*good[:-1], CriterionScore("impact", 11)],
                [*good[:-1], CriterionScore("luck", 5)]):  # fmt: skip
        with pytest.raises(ValidationFailed):
            check_scores(DEFAULT_RUBRIC, bad)


def _a(aid: str, coi: Coi | None) -> Assignment:
    return Assignment(aid, "app_1", f"usr_{aid}", "usr_sec", T0, coi)


def test_conflict_of_interest_rules() -> None:
    with pytest.raises(ReviewerFromApplicantOrg):
        check_assignable(frozenset({"org_a"}), "org_a")
    check_assignable(frozenset({"org_b"}), "org_a")
    with pytest.raises(CoiRequired):
        _a("1", None).check_may_score()
    with pytest.raises(Recused):
        _a("1", Coi.CONFLICTED).check_may_score()
    with pytest.raises(ValidationFailed):
        check_coi(Coi.CONFLICTED, "  ")
    assert check_coi(Coi.NONE, "") == ""


def test_blind_review_and_completion() -> None:
    one, two, recused = _a("1", Coi.NONE), _a("2", Coi.NONE), _a("3", Coi.CONFLICTED)
    review = Review("1", "usr_1", 1, tuple(CriterionScore(k, 5) for k in KEYS), T0)
    assert may_see_all_scores(one, [review], 1) and not may_see_all_scores(two, [review], 1)
    assert not may_see_all_scores(one, [review], 2)  # a resubmitted version is scored again
    assert not may_see_all_scores(recused, [review], 1)
    assert not reviews_complete([one, two, recused], [review], 1)
    assert reviews_complete([one, recused], [review], 1)
    assert not reviews_complete([recused], [], 1)
