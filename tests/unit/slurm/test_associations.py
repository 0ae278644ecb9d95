"""Association sync, the pure planner: desired tenants against ``sacctmgr show`` output."""

from __future__ import annotations

import shlex
from decimal import Decimal

from petaport.backends.slurm.associations import parse_current, plan
from petaport.services.slurm_ports import GpuBudget, GpuLimit, Member, ProjectRef, Tenancy

FRESH = parse_current(
    "root||||normal|\nroot|root|||normal|\n", "normal|||cluster|\n", "root|root\n"
)
ACME = Tenancy(
    orgs=("acme",),
    projects=(ProjectRef("acme", "llm"), ProjectRef("acme", "vis")),
    members=(Member("alice", "acme", None), Member("bob", "acme", "vis")),
    gpu_limits=(GpuLimit("acme", None, 8),),
    budgets=(GpuBudget("acme", "vis", Decimal("1.5")), GpuBudget("acme", "vis", Decimal("0.5"))),
)
# What sacctmgr shows once ACME has been applied (as measured on the 22.05 test cluster).
ACME_ASSOCS = """root||||normal|
root|root|||normal|
petaport||root||normal|
acme||petaport|gres/gpu=8|normal|
acme_llm||acme||normal|
acme_llm|alice|||normal|
acme_vis||acme||petaport-budget-acme_vis|petaport-budget-acme_vis
acme_vis|alice|||petaport-budget-acme_vis|petaport-budget-acme_vis
acme_vis|bob|||petaport-budget-acme_vis|petaport-budget-acme_vis
"""
ACME_QOS = "normal|||cluster|\npetaport-budget-acme_vis|gres/gpu=120|NoDecay|cluster|\n"
ACME_USERS = "root|root\nalice|acme_llm\nbob|acme_vis\n"


def lines(tenancy: Tenancy, current_text: tuple[str, str, str], tiers: dict[str, str] | None = None
          ) -> list[str]:  # fmt: skip
    return [shlex.join(c) for c in plan(tenancy, parse_current(*current_text), tiers or {})]


def test_a_fresh_cluster_gets_the_account_tree_limits_budget_qos_and_users() -> None:
    got = [shlex.join(c) for c in plan(ACME, FRESH, {})]

    assert got == [
        "-i add qos petaport-budget-acme_vis GrpTRESMins=gres/gpu=120 Flags=NoDecay",
        "-i add account petaport parent=root",
        "-i add account acme parent=petaport",
        "-i modify account where name=acme set GrpTRES=gres/gpu=8",
        "-i add account acme_llm parent=acme",
        "-i add account acme_vis parent=acme",
        "-i modify account where name=acme_vis set QOS=petaport-budget-acme_vis "
        "DefaultQOS=petaport-budget-acme_vis",
        "-i add user alice account=acme_llm",
        "-i add user alice account=acme_vis",
        "-i add user bob account=acme_vis",
    ]


def test_planning_against_the_applied_state_gives_no_command() -> None:
    assert lines(ACME, (ACME_ASSOCS, ACME_QOS, ACME_USERS)) == []


def test_removed_tenants_lose_their_associations_accounts_and_budget() -> None:
    smaller = Tenancy(orgs=("acme",), projects=(ProjectRef("acme", "llm"),),
                      members=(Member("alice", "acme", None),))  # fmt: skip

    got = lines(smaller, (ACME_ASSOCS, ACME_QOS, ACME_USERS))

    assert got == [
        "-i modify account where name=acme set GrpTRES=gres/gpu=-1",
        "-i delete user where name=alice account=acme_vis",
        "-i delete user where name=bob",  # no association left anywhere
        "-i delete account where name=acme_vis",
        "-i delete qos where name=petaport-budget-acme_vis",
    ]


def test_a_default_account_moves_before_its_association_goes_and_site_accounts_stay() -> None:
    assocs = ACME_ASSOCS + "physics||root||normal|\nphysics|bob|||normal|\n"
    users = "root|root\nalice|acme_vis\nbob|acme_vis\n"
    only_llm = Tenancy(orgs=("acme",), projects=(ProjectRef("acme", "llm"),),
                       members=(Member("alice", "acme", "llm"),),
                       gpu_limits=(GpuLimit("acme", None, 8),))  # fmt: skip

    got = lines(only_llm, (assocs, ACME_QOS, users))

    assert got[:4] == [
        "-i modify user where name=alice set DefaultAccount=acme_llm",
        "-i delete user where name=alice account=acme_vis",
        "-i modify user where name=bob set DefaultAccount=physics",  # his own, outside Petaport
        "-i delete user where name=bob account=acme_vis",
    ]
    assert not any("physics" in line and "delete" in line for line in got)


def test_tiers_become_qos_preemptible_requeues_and_the_others_preempt_it() -> None:
    tiers = {"preemptible": "scavenger", "on-demand": "standard"}
    got = lines(Tenancy(orgs=(), projects=()), (ACME_ASSOCS, ACME_QOS, ACME_USERS), tiers)

    assert got[:3] == [
        "-i add qos scavenger PreemptMode=requeue",
        "-i add qos standard Preempt=scavenger",
        "-i modify account where name=petaport set QOS=scavenger,standard DefaultQOS=standard",
    ]
