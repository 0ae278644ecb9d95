"""Association sync, the pure part: Petaport's tenants (desired) against what ``sacctmgr show``
prints (current) -> the ``sacctmgr`` commands that make Slurm agree. No processes.

The tree: ``root`` > ``petaport`` > one account per org (its slug) > one per project
(``<org>_<project>``: slugs have no ``_``, so names never collide). Members who may submit get a
user association (Slurm user = Petaport username) on each project account they may use.

Invariants:
- only accounts under ``petaport`` and QOS named ``petaport-budget-*`` or mapped tiers are ever
  changed or deleted; a site's own accounts, users' other associations and QOS are left alone;
- a quota becomes ``GrpTRES=gres/gpu=N`` on the account; a GPU-hour budget becomes a QOS with
  ``GrpTRESMins=gres/gpu=<minutes>`` and ``Flags=NoDecay`` (usage never decays: no silent
  refill), the only QOS its account (and the accounts under it) may use;
- mapped QoS tiers become QOS: the preemptible one ``PreemptMode=requeue``, the others
  ``Preempt=<preemptible>``; they are the QOS every account without a budget may use;
- planning twice against the state the first plan produced gives no command (idempotent).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from petaport.backends.slurm.accounting import parse_tres
from petaport.services.slurm_ports import Tenancy

TOP = "petaport"
BUDGET_PREFIX = "petaport-budget-"
GPU_TRES = "gres/gpu"
Command = tuple[str, ...]  # sacctmgr arguments

READ_ASSOCIATIONS: Command = (
    "-P", "-n", "show", "assoc", "format=account,user,parentname,grptres,qos,defaultqos",
)  # fmt: skip
READ_QOS: Command = ("-P", "-n", "show", "qos", "format=name,grptresmins,flags,preemptmode,preempt")
READ_USERS: Command = ("-P", "-n", "show", "user", "format=user,defaultaccount")


@dataclass(frozen=True)
class Account:
    """An account's own association (or, what it should become)."""

    name: str
    parent: str
    gpu_limit: int | None
    qos: frozenset[str]
    default_qos: str


@dataclass(frozen=True)
class Qos:
    name: str
    gpu_minutes: int | None
    flags: frozenset[str]
    preempt_mode: str
    preempt: frozenset[str]


@dataclass(frozen=True)
class Current:
    accounts: Mapping[str, Account]
    users: frozenset[tuple[str, str]]  # (user, account) associations
    qos: Mapping[str, Qos]
    default_account: Mapping[str, str]  # user -> default account


def _set(text: str) -> frozenset[str]:
    return frozenset(word for word in text.split(",") if word)


def _gpus(tres: str) -> int | None:
    value = parse_tres(tres).get(GPU_TRES)
    return int(value) if value and value.isdigit() else None


def parse_current(associations: str, qos: str, users: str) -> Current:
    """The three ``sacctmgr -P -n show`` outputs (``READ_*``) -> the current state."""
    accounts: dict[str, Account] = {}
    user_assocs: set[tuple[str, str]] = set()
    for line in associations.splitlines():
        fields = line.split("|")
        if len(fields) < 6:
            continue
        account, user, parent, grp_tres, qos_list, default_qos = fields[:6]
        if user:
            user_assocs.add((user, account))
        else:
            accounts[account] = Account(
                account, parent, _gpus(grp_tres), _set(qos_list), default_qos
            )
    found_qos: dict[str, Qos] = {}
    for line in qos.splitlines():
        fields = line.split("|")
        if len(fields) >= 5:
            name, mins, flags, mode, preempt = fields[:5]
            found_qos[name] = Qos(name, _gpus(mins), _set(flags), mode, _set(preempt))
    defaults = dict(line.split("|")[:2] for line in users.splitlines() if line.count("|") >= 1)
    return Current(accounts, frozenset(user_assocs), found_qos, defaults)


def account_name(org: str, project: str | None = None) -> str:
    return org if project is None else f"{org}_{project}"


def budget_qos_name(account: str) -> str:
    return f"{BUDGET_PREFIX}{account}"


def _desired_qos(tiers: Mapping[str, str]) -> dict[str, Qos]:
    preemptible = tiers.get("preemptible")
    out: dict[str, Qos] = {}
    for tier, name in sorted(tiers.items(), key=lambda kv: (kv[0] != "preemptible", kv[0])):
        if tier == "preemptible":  # first: the others name it
            out[name] = Qos(name, None, frozenset(), "requeue", frozenset())
        else:
            others = frozenset({preemptible}) if preemptible else frozenset()
            out[name] = Qos(name, None, frozenset(), "cluster", others)
    return out


def desired_accounts(
    tenancy: Tenancy, current: Current, tiers: Mapping[str, str]
) -> dict[str, Account]:
    """Every account Petaport wants, parents before children, with its effective QOS."""
    limits: dict[str, int] = {}
    for limit in tenancy.gpu_limits:
        name = account_name(limit.org, limit.project)
        limits[name] = min(limit.gpus, limits.get(name, limit.gpus))
    base = current.accounts.get(TOP) or current.accounts.get("root")
    top_qos, top_default = (base.qos, base.default_qos) if base else (frozenset(), "")
    if tiers:
        top_qos = frozenset(tiers.values()) | ({"normal"} if "on-demand" not in tiers else set())
        top_default = tiers.get("on-demand", "normal")
    out = {TOP: Account(TOP, "root", None, top_qos, top_default)}
    budgeted = {account_name(b.org, b.project) for b in tenancy.budgets}
    parents = [(org, TOP) for org in sorted(set(tenancy.orgs))]
    parents += sorted((account_name(p.org, p.project), p.org) for p in set(tenancy.projects))
    for name, parent in parents:
        qos, default = out[parent].qos, out[parent].default_qos
        if name in budgeted:
            qos, default = frozenset({budget_qos_name(name)}), budget_qos_name(name)
        out[name] = Account(name, parent, limits.get(name), qos, default)
    return out


def budget_minutes(tenancy: Tenancy) -> dict[str, int]:
    """GPU-minutes per budget QOS (several budgets of one org or project add up)."""
    hours: dict[str, float] = defaultdict(float)
    for b in tenancy.budgets:
        hours[budget_qos_name(account_name(b.org, b.project))] += float(b.gpu_hours)
    return {name: max(0, math.floor(h * 60)) for name, h in sorted(hours.items())}


def desired_users(tenancy: Tenancy) -> frozenset[tuple[str, str]]:
    projects_of: dict[str, list[str]] = defaultdict(list)
    for p in tenancy.projects:
        projects_of[p.org].append(p.project)
    pairs: set[tuple[str, str]] = set()
    for m in tenancy.members:
        for project in [m.project] if m.project else projects_of.get(m.org, []):
            pairs.add((m.username, account_name(m.org, project)))
    return frozenset(pairs)


def managed_accounts(current: Current) -> set[str]:
    """Accounts under ``petaport`` now (the top included)."""
    managed = {TOP} if TOP in current.accounts else set()
    grew = True
    while grew:
        more = {a.name for a in current.accounts.values() if a.parent in managed} - managed
        managed |= more
        grew = bool(more)
    return managed


def plan(tenancy: Tenancy, current: Current, tiers: Mapping[str, str]) -> list[Command]:
    """The ``sacctmgr`` commands (without the binary) that make ``current`` say ``tenancy``."""
    accounts = desired_accounts(tenancy, current, tiers)
    users = desired_users(tenancy)
    minutes = budget_minutes(tenancy)
    managed = managed_accounts(current)
    commands = _plan_qos(_desired_qos(tiers), minutes, current)
    commands += _plan_accounts(accounts, current)
    commands += [("-i", "add", "user", user, f"account={acct}")
                 for user, acct in sorted(users - current.users)]  # fmt: skip
    gone = {(u, a) for u, a in current.users if a in managed} - users
    commands += _plan_user_removals(gone, current, users)
    doomed = [a for a in managed if a not in accounts]
    doomed.sort(key=lambda name: (-_depth(name, current), name))  # children first
    commands += [("-i", "delete", "account", "where", f"name={name}") for name in doomed]
    unused = sorted(q for q in current.qos if q.startswith(BUDGET_PREFIX) and q not in minutes)
    commands += [("-i", "delete", "qos", "where", f"name={name}") for name in unused]
    return commands


def _depth(account: str, current: Current) -> int:
    depth, seen = 0, set()
    while account in current.accounts and account not in seen:
        seen.add(account)
        account, depth = current.accounts[account].parent, depth + 1
    return depth


def _plan_qos(
    tiers: Mapping[str, Qos], minutes: Mapping[str, int], current: Current
) -> list[Command]:
    wanted = dict(tiers)
    for name, mins in minutes.items():
        wanted[name] = Qos(name, mins, frozenset({"NoDecay"}), "cluster", frozenset())
    commands: list[Command] = []
    for name, qos in wanted.items():
        have = current.qos.get(name)
        settings = _qos_settings(qos, have)
        if have is None:
            commands.append(("-i", "add", "qos", name, *settings))
        elif settings:
            commands.append(("-i", "modify", "qos", "where", f"name={name}", "set", *settings))
    return commands


def _qos_settings(want: Qos, have: Qos | None) -> list[str]:
    out: list[str] = []
    if want.gpu_minutes is not None and (have is None or have.gpu_minutes != want.gpu_minutes):
        out.append(f"GrpTRESMins={GPU_TRES}={want.gpu_minutes}")
    if want.flags and (have is None or not want.flags <= have.flags):
        out.append(f"Flags={','.join(sorted(want.flags | (have.flags if have else set())))}")
    if want.preempt_mode != "cluster" and (have is None or have.preempt_mode != want.preempt_mode):
        out.append(f"PreemptMode={want.preempt_mode}")
    if want.preempt and (have is None or have.preempt != want.preempt):
        out.append(f"Preempt={','.join(sorted(want.preempt))}")
    return out


def _plan_accounts(accounts: Mapping[str, Account], current: Current) -> list[Command]:
    commands: list[Command] = []
    for name, want in accounts.items():  # parents first
        have = current.accounts.get(name)
        if have is None:
            commands.append(("-i", "add", "account", name, f"parent={want.parent}"))
            # a new account starts as its parent will be: inheriting QOS, with no limit
            parent = accounts.get(want.parent) or current.accounts.get(want.parent)
            inherit = parent.qos if parent else frozenset()
            have = Account(name, want.parent, None, inherit, parent.default_qos if parent else "")
        elif have.parent != want.parent:
            commands.append(("-i", "modify", "account", "where", f"name={name}", "set",
                             f"parent={want.parent}"))  # fmt: skip
        settings = _account_settings(want, have)
        if settings:
            commands.append(("-i", "modify", "account", "where", f"name={name}", "set", *settings))
    return commands


def _account_settings(want: Account, have: Account) -> list[str]:
    out: list[str] = []
    if want.gpu_limit != have.gpu_limit:
        out.append(f"GrpTRES={GPU_TRES}={-1 if want.gpu_limit is None else want.gpu_limit}")
    if want.qos and want.qos != have.qos:
        out.append(f"QOS={','.join(sorted(want.qos))}")
    if want.default_qos and (want.default_qos != have.default_qos or want.qos != have.qos):
        out.append(f"DefaultQOS={want.default_qos}")
    return out


def _plan_user_removals(
    gone: Iterable[tuple[str, str]], current: Current, wanted: frozenset[tuple[str, str]]
) -> list[Command]:
    """Remove associations; a user's default account moves first to one that stays, and a user
    left with no association at all is deleted (Slurm refuses to remove the default one)."""
    commands: list[Command] = []
    by_user: dict[str, set[str]] = defaultdict(set)
    for user, account in gone:
        by_user[user].add(account)
    for user, accounts in sorted(by_user.items()):
        staying = sorted({a for u, a in current.users | wanted if u == user} - accounts)
        if not staying:
            commands.append(("-i", "delete", "user", "where", f"name={user}"))
            continue
        if current.default_account.get(user) in accounts:
            commands.append(("-i", "modify", "user", "where", f"name={user}", "set",
                             f"DefaultAccount={staying[0]}"))  # fmt: skip
        for account in sorted(accounts):
            commands.append(("-i", "delete", "user", "where", f"name={user}",
                             f"account={account}"))  # fmt: skip
    return commands
