"""Posted forms -> the services' input types. Parsing only: rules live in the domain/services.

A field that cannot be read (a number that is not a number, an unclosed quote in a command
line) raises ``ValidationFailed`` with a message in the visitor's language, so the form can be
shown again with it.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation

from petaport.billing.prices import PreemptionCredit, PriceKey, ResourceClass
from petaport.domain.catalogue import parse_ref
from petaport.domain.errors import ValidationFailed
from petaport.domain.jobs import JobSpec, QosTier, parse_memory_mb, parse_walltime_s
from petaport.domain.tenancy import OrgCategory, Role
from petaport.services.inventory import PoolFields
from petaport.services.pricing import NewVersion
from petaport.services.quotas import QuotaFields
from petaport.services.tenancy import NewUser
from petaport.web.i18n import Gettext

Fields = dict[str, str]


def text(form: Fields, name: str) -> str:
    return form.get(name, "").strip()


def whole(form: Fields, name: str, default: int, _: Gettext) -> int:
    raw = text(form, name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed(_("%(field)s must be a whole number") % {"field": name}) from None


def optional(form: Fields, name: str) -> str | None:
    return text(form, name) or None


def command_line(form: Fields, _: Gettext) -> tuple[str, ...]:
    try:
        argv = tuple(shlex.split(text(form, "command")))
    except ValueError:
        raise ValidationFailed(_("The command line has an unclosed quote.")) from None
    if not argv:
        raise ValidationFailed(_("Enter the command to run."))
    return argv


def job_spec(form: Fields, _: Gettext, *, estimate: bool = False) -> JobSpec:
    """A JobSpec from the submit form (memory like ``16G``, walltime like ``2h`` or ``1:30:00``).

    ``estimate``: only the fields that set the price are read (project, resources, walltime,
    tier); a form still missing its name or command can be priced."""
    walltime = text(form, "walltime")
    try:
        qos = QosTier(text(form, "qos") or QosTier.ON_DEMAND)
    except ValueError:
        raise ValidationFailed(_("Choose a QoS tier from the list.")) from None
    return JobSpec(
        name="estimate" if estimate else text(form, "name"), project_id=text(form, "project_id"),
        command=("true",) if estimate else command_line(form, _),
        gpus=whole(form, "gpus", 0, _),
        gpu_model=optional(form, "gpu_model"), cpus=whole(form, "cpus", 1, _),
        memory_mb=parse_memory_mb(text(form, "memory") or "1G"),
        nodes=whole(form, "nodes", 1, _),
        walltime_s=parse_walltime_s(walltime) if walltime else None, qos=qos,
        uses=() if estimate else tuple(parse_ref(ref) for ref in text(form, "uses").split()),
    )  # fmt: skip


def role(form: Fields, name: str, _: Gettext) -> Role:
    try:
        return Role(text(form, name))
    except ValueError:
        raise ValidationFailed(_("Choose a role from the list.")) from None


def category(form: Fields, _: Gettext) -> OrgCategory:
    try:
        return OrgCategory(text(form, "category"))
    except ValueError:
        raise ValidationFailed(_("Choose a category from the list.")) from None


def new_user(form: Fields, _: Gettext) -> NewUser:
    centre_role = optional(form, "centre_role")
    org_id = optional(form, "org_id")
    return NewUser(
        username=text(form, "username"), email=text(form, "email"),
        display_name=text(form, "display_name"), password=form.get("password") or None,
        centre_roles=frozenset({role(form, "centre_role", _)}) if centre_role else frozenset(),
        org_id=org_id, org_role=role(form, "org_role", _) if org_id else None,
    )  # fmt: skip


def pool_fields(form: Fields, _: Gettext) -> PoolFields:
    raw_pflops = text(form, "pflops_per_gpu")
    try:
        pflops = Decimal(raw_pflops) if raw_pflops else None
    except InvalidOperation:
        pflops = Decimal("NaN")
    if pflops is not None and not pflops.is_finite():
        raise ValidationFailed(_("PFLOPS per GPU must be a number."))
    return PoolFields(
        name=text(form, "name"), gpu_model=optional(form, "gpu_model"),
        gpus_per_node=whole(form, "gpus_per_node", 0, _),
        cpus_per_node=whole(form, "cpus_per_node", 1, _),
        memory_mb_per_node=parse_memory_mb(text(form, "memory_per_node") or "1G"),
        node_count=whole(form, "node_count", 1, _), pflops_per_gpu=pflops,
        precision=text(form, "precision") or "BF16 dense",
    )  # fmt: skip


def gpus(form: Fields, name: str, label: str, _: Gettext) -> Decimal | None:
    """A number of GPUs (``4``, ``0.5``); empty: None. Its range is the domain's to check."""
    raw = text(form, name)
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ValidationFailed(_("%(field)s must be a number of GPUs, like 4 or 0.5.")
                               % {"field": label})  # fmt: skip
    return value


def quota_fields(form: Fields, _: Gettext) -> QuotaFields:
    """The quota form: org slug, optional ``org-slug/project-slug`` and model; a blank limit
    is no limit (borrowing) or all idle GPUs (lending)."""
    org = text(form, "org")
    if not org:
        raise ValidationFailed(_("Choose an organisation."))
    nominal = gpus(form, "nominal_gpus", _("Guaranteed GPUs"), _)
    if nominal is None:
        raise ValidationFailed(_("Enter the number of guaranteed GPUs."))
    return QuotaFields(
        org=org, project=optional(form, "project"), gpu_model=optional(form, "gpu_model"),
        nominal_gpus=nominal,
        borrowing_limit_gpus=gpus(form, "borrowing_limit_gpus", _("Borrowing limit"), _),
        lending_limit_gpus=gpus(form, "lending_limit_gpus", _("Lending limit"), _),
    )  # fmt: skip


PRICE_FIELD = "price/"  # price/<resource>/<GPU model or empty>/<tier>


def price_field(key: PriceKey) -> str:
    return f"{PRICE_FIELD}{key.resource.value}/{key.gpu_model or ''}/{key.tier.value}"


def _price(raw: str, label: str, _: Gettext) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise ValidationFailed(_("%(field)s must be a price of 0 or more, like 32.00.")
                               % {"field": label})  # fmt: skip
    return value


def _price_key(name: str, _: Gettext) -> PriceKey:
    try:
        resource, model, tier = name.removeprefix(PRICE_FIELD).split("/")
        return PriceKey(ResourceClass(resource), model or None, QosTier(tier))
    except ValueError:
        raise ValidationFailed(_("The form names a price it does not know.")) from None


def prices(form: Fields, _: Gettext) -> tuple[tuple[PriceKey, Decimal], ...]:
    """The price fields (blank: not priced), and a new GPU model's three tier prices."""
    out = {
        _price_key(name, _): _price(raw.strip(), name.removeprefix(PRICE_FIELD), _)
        for name, raw in form.items() if name.startswith(PRICE_FIELD) and raw.strip()
    }  # fmt: skip
    model = text(form, "new_model")
    for tier in QosTier if model else ():
        raw = text(form, f"new_model/{tier.value}")
        if raw:
            out[PriceKey(ResourceClass.GPU_HOUR, model, tier)] = _price(raw, model, _)
    return tuple(out.items())


def price_version(form: Fields, zone: tzinfo, _: Gettext) -> NewVersion:
    """The new price version form; the start is a local date and time in ``zone``."""
    try:
        start = datetime.fromisoformat(text(form, "effective_from")).replace(tzinfo=zone)
        start = start.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValidationFailed(_("Enter when the version takes effect.")) from None
    try:
        credit = PreemptionCredit(text(form, "preemption_credit"))
    except ValueError:
        raise ValidationFailed(_("Choose a preemption credit rule from the list.")) from None
    return NewVersion(
        id=text(form, "id"), effective_from=start, prices=prices(form, _),
        minimum_billable_s=whole(form, "minimum_billable_s", 60, _), preemption_credit=credit,
    )  # fmt: skip
