"""Translatable names for the domain's words: states, pending reasons, roles, categories, QoS,
resource classes.

Job states keep Slurm's English words on screen in every language; what they mean is shown as
a translated tooltip. The strings here are marked with ``N_`` (extracted, not translated yet);
templates translate them with ``_()`` when they are shown.
"""

from __future__ import annotations

from petaport.billing.budgets import BudgetUnit
from petaport.billing.prices import ResourceClass
from petaport.domain.jobs import JobState, PendingReason, QosTier
from petaport.domain.tenancy import OrgCategory, Role


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a string for extraction; it is translated where it is shown."""
    return message


STATES: dict[str, str] = {
    JobState.PENDING: N_("Waiting to start"),
    JobState.RUNNING: N_("Running now"),
    JobState.COMPLETED: N_("Finished successfully"),
    JobState.FAILED: N_("Finished with an error"),
    JobState.CANCELLED: N_("Cancelled"),
    JobState.TIMEOUT: N_("Stopped at its time limit"),
    JobState.PREEMPTED: N_("Stopped to make room for higher-priority work"),
    JobState.NODE_FAIL: N_("Stopped because a node failed"),
    JobState.OUT_OF_MEMORY: N_("Stopped because it ran out of memory"),
}
STATE_ORDER = tuple(JobState)

REASONS: dict[str, str] = {
    PendingReason.NONE: N_("Not yet considered by the scheduler"),
    PendingReason.PRIORITY: N_("Jobs ahead of it are waiting for the same resources"),
    PendingReason.RESOURCES: N_("Waiting for enough free GPUs, CPUs or memory"),
    PendingReason.QUOTA_EXCEEDED: N_("The project's quota is in use"),
    PendingReason.BUDGET_EXHAUSTED: N_("The project's budget is used up"),
    PendingReason.GRANT_EXHAUSTED: N_("The project's subsidy grant is used up or has ended"),
    PendingReason.GPU_MODEL_UNAVAILABLE: N_("No node pool has the GPU model asked for"),
    PendingReason.PARTITION_CONFIG: N_("The job can never fit any node pool as it is"),
    PendingReason.POOL_UNAVAILABLE: N_(
        "It uses resident-only data, and no node pool in Hong Kong can hold it"
    ),
    PendingReason.CATALOGUE_ACCESS: N_(
        "An access grant for data it uses has expired: ask the owner to approve a new request"
    ),
    PendingReason.REQUEUED: N_("Requeued; waiting to start again"),
    PendingReason.HELD: N_("Held by its owner"),
}

ROLES: dict[str, str] = {
    Role.CENTRE_ADMIN: N_("Centre admin"),
    Role.REVIEWER: N_("Reviewer"),
    Role.COMMITTEE: N_("Committee member"),
    Role.ORG_ADMIN: N_("Org admin"),
    Role.MEMBER: N_("Member"),
    Role.VIEWER: N_("Viewer"),
}
ORG_ROLES = (Role.ORG_ADMIN, Role.MEMBER, Role.VIEWER)
CENTRE_ROLES = (Role.CENTRE_ADMIN, Role.REVIEWER, Role.COMMITTEE)

CATEGORIES: dict[str, str] = {
    OrgCategory.UNIVERSITY: N_("University"),
    OrgCategory.RESEARCH_INSTITUTE: N_("Research institute"),
    OrgCategory.STARTUP: N_("Start-up"),
    OrgCategory.ENTERPRISE: N_("Enterprise"),
    OrgCategory.PUBLIC_BODY: N_("Public body"),
}

QOS: dict[str, str] = {
    QosTier.RESERVED: N_("Reserved (guaranteed capacity)"),
    QosTier.ON_DEMAND: N_("On demand"),
    QosTier.PREEMPTIBLE: N_("Preemptible (cheaper, may be stopped)"),
}

PRECISIONS = ("BF16 dense", "FP8 dense")

RESOURCES: dict[str, str] = {
    ResourceClass.GPU_HOUR: N_("GPU-hours"),
    ResourceClass.CPU_CORE_HOUR: N_("CPU core-hours"),
    ResourceClass.MEMORY_GIB_HOUR: N_("Memory GiB-hours"),
    ResourceClass.STORAGE_TIB_MONTH: N_("Storage TiB-months"),
}

BUDGET_UNITS: dict[str, str] = {
    BudgetUnit.HKD: N_("HKD"),
    BudgetUnit.GPU_HOURS: N_("GPU-hours"),
}

GRANT_STATUSES: dict[str, str] = {
    "active": N_("Active"),
    "suspended": N_("Suspended"),
    "closed": N_("Closed"),
}
ON_CAP: dict[str, str] = {
    "bill_org": N_("The organisation pays the list price"),
    "stop": N_("The project's jobs stop"),
}
GRANT_ALERTS: dict[str, str] = {
    "hkd_80": N_("80%% of the HKD cap is used"),
    "hkd_100": N_("The HKD cap is reached"),
    "gpu_80": N_("80%% of the GPU-hour cap is used"),
    "gpu_100": N_("The GPU-hour cap is reached"),
    "expiry_30d": N_("The grant ends within 30 days"),
    "expiry_7d": N_("The grant ends within 7 days"),
    "expired": N_("The grant has ended"),
}
LATE_REPORT_ALERT = "report_late_"
GRANT_AUDIT: dict[str, str] = {
    "grant.created": N_("Grant made"),
    "grant.suspended": N_("Suspended"),
    "grant.active": N_("Resumed"),
    "grant.closed": N_("Closed"),
    "grant.hkd_100": N_("HKD cap reached"),
    "grant.gpu_100": N_("GPU-hour cap reached"),
    "grant.expired": N_("The grant has ended"),
}
GRANT_ACTIONS: dict[str, str] = {
    "suspend": N_("Suspend"),
    "resume": N_("Resume"),
    "close": N_("Close for good"),
}

APPLICATION_STATES: dict[str, str] = {
    "draft": N_("Draft"),
    "submitted": N_("Submitted, waiting for screening"),
    "review": N_("In review"),
    "committee": N_("Waiting for the committee"),
    "changes_requested": N_("Changes requested"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "ineligible": N_("Ineligible"),
}
STAGES: dict[str, str] = {
    "draft": N_("Draft"),
    "screening": N_("Screening"),
    "review": N_("Review"),
    "committee": N_("Committee"),
    "changes_requested": N_("Changes requested"),
    "decided": N_("Decided"),
}
DECLARATIONS: dict[str, str] = {
    "accurate": N_("The information in this application is true and complete."),
    "no_double_funding": N_("The compute requested is not funded by another public scheme."),
    "compliance": N_("The project complies with Hong Kong law, including data privacy."),
    "reports": N_("We will file progress reports against the milestones when asked."),
}
CRITERIA: dict[str, str] = {
    "alignment": N_("Alignment with Hong Kong's I&T and AI needs"),
    "compute": N_("Reasonableness of the compute requested"),
    "merit": N_("Technical merit and feasibility"),
    "team": N_("Capability of the team"),
    "impact": N_("Expected impact and benefits to Hong Kong"),
}
COMPUTE_MODES: dict[str, str] = {
    "training": N_("Training from scratch"),
    "fine_tuning": N_("Fine-tuning"),
    "inference": N_("Inference"),
}
FINE_TUNING: dict[str, str] = {
    "full": N_("Full fine-tuning"),
    "lora": N_("LoRA / adapters"),
}
OUTCOMES: dict[str, str] = {
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "changes_requested": N_("Changes requested"),
}
SUBSIDY_AUDIT: dict[str, str] = {
    "application.created": N_("Draft created"),
    "application.updated": N_("Draft changed"),
    "application.attachment_added": N_("PDF attached"),
    "application.submitted": N_("Submitted"),
    "application.screened": N_("Screened"),
    "application.reviews_complete": N_("Every reviewer has scored"),
    "review.assigned": N_("Reviewer assigned"),
    "review.coi_declared": N_("Conflict of interest declared"),
    "review.scored": N_("Scores submitted"),
    "decision.approved": N_("Approved"),
    "decision.rejected": N_("Rejected"),
    "decision.changes_requested": N_("Changes requested"),
    "grant.created": N_("Grant made"),
}
