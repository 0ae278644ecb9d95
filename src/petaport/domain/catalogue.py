"""The catalogue: models and datasets, their versions, gated access grants and the rules of use.

Invariants:
- an entry belongs to one organisation (``owner_org_id``) or to the centre (None); its name is
  unique per owner and kind, and its versions are immutable once registered (path, size and
  SHA-256 of the content), except for being marked corrupt when a verification fails;
- a private entry is visible to its owner org only (and to centre staff); a published one to
  everybody; a model is published only once a version passed a signed-off risk assessment;
- a project of the owner org, or any project for a ``public`` entry, needs no grant; otherwise a
  job may use an entry only under an approved grant whose expiry is after the job's submission;
- ``resident_only`` entries run only on node pools marked as in Hong Kong (the scheduler places
  a job that uses one on such pools only).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import datetime

from petaport.domain.errors import Conflict, Forbidden, ValidationFailed


class EntryKind(enum.StrEnum):
    MODEL = "model"
    DATASET = "dataset"


class Sensitivity(enum.StrEnum):
    PUBLIC = "public"  # anyone may use it once published, no approval
    RESTRICTED = "restricted"  # a grant is needed, approved by the owner
    RESIDENT_ONLY = "resident_only"  # a grant, and only on node pools in Hong Kong


class GrantStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


class VersionStatus(enum.StrEnum):
    READY = "ready"
    CORRUPT = "corrupt"  # a verification found content other than what was registered


class AccessRequired(Forbidden):
    """The job's project holds no valid grant for an entry it names."""

    code = "catalogue_access_required"
    title = "Catalogue access not granted"


class ResidencyRequired(ValidationFailed):
    code = "residency_required"
    title = "Hong Kong residency required"


class AssessmentRequired(Conflict):
    code = "assessment_required"
    title = "Risk assessment required"


_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,31}$")
_REF_RE = re.compile(
    r"^(model|dataset):(?:([a-z0-9][a-z0-9-]{0,62})/)?([a-z0-9][a-z0-9._-]{0,62})"
    r"(?:@([A-Za-z0-9][A-Za-z0-9._+-]{0,31}))?$"
)


def check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise ValidationFailed("an entry name is 1-63 lowercase letters, digits, '.', '_', '-'")
    return name


def check_version(version: str) -> str:
    if not _VERSION_RE.match(version):
        raise ValidationFailed("a version is 1-32 letters, digits, '.', '_', '+', '-'")
    return version


@dataclass(frozen=True)
class EntryRef:
    """An entry a job uses. Users give kind, name (``owner/name`` or ``name``) and optionally a
    version; the submit service resolves it to an ``entry_id``, a version and the content's
    ``source`` path, which the backends expose read-only."""

    kind: EntryKind
    name: str
    owner: str | None = None  # the owner org's slug, or None: find it by name
    version: str | None = None
    entry_id: str | None = None
    source: str | None = None

    @property
    def label(self) -> str:
        owner = f"{self.owner}/" if self.owner else ""
        version = f"@{self.version}" if self.version else ""
        return f"{self.kind.value}:{owner}{self.name}{version}"


def parse_ref(text: str) -> EntryRef:
    """``dataset:NAME``, ``model:ORG/NAME@VERSION``, ... into an ``EntryRef``."""
    match = _REF_RE.match(text.strip())
    if not match:
        raise ValidationFailed(
            f"cannot read {text!r}: use model:NAME or dataset:ORG/NAME[@VERSION]"
        )
    kind, owner, name, version = match.groups()
    return EntryRef(EntryKind(kind), name, owner, version)


def env_var(ref: EntryRef) -> str:
    """``PETAPORT_DATASET_HK_WEATHER`` for ``dataset:hk-weather``."""
    return f"PETAPORT_{ref.kind.value.upper()}_{re.sub(r'[^A-Z0-9]', '_', ref.name.upper())}"


def mount_name(ref: EntryRef) -> str:
    """Where under a job's catalogue directory the entry appears: ``datasets/hk-weather``."""
    return f"{ref.kind.value}s/{ref.name}"


def ref_problems(refs: tuple[EntryRef, ...]) -> list[str]:
    names = [env_var(r) for r in refs]
    if len(set(names)) != len(names):
        return ["a job may use each model or dataset name once"]
    return [] if len(refs) <= 32 else ["a job may use at most 32 catalogue entries"]


@dataclass(frozen=True)
class Entry:
    id: str
    owner_org_id: str | None  # None: owned by the centre
    kind: EntryKind
    name: str
    description: str
    licence: str
    data_use_agreement: str
    sensitivity: Sensitivity
    card: str  # the model card or data card (Markdown) given by the owner
    published: bool
    created_at: datetime
    updated_at: datetime
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Version:
    id: str
    entry_id: str
    version: str
    path: str  # on the centre's storage, inside the owner's storage directory
    size_bytes: int
    sha256: str
    status: VersionStatus
    registered_at: datetime
    registered_by: str
    verified_at: datetime | None = None
    cleared: bool = False  # a model version whose risk assessment was signed off


@dataclass(frozen=True)
class Grant:
    id: str
    entry_id: str
    org_id: str  # the requesting project's org
    project_id: str
    purpose: str
    dua_accepted: bool
    status: GrantStatus
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    expires_at: datetime | None = None
    reason: str = ""

    def valid_at(self, now: datetime) -> bool:
        return (
            self.status is GrantStatus.APPROVED
            and self.expires_at is not None
            and now < self.expires_at
        )


@dataclass(frozen=True)
class Use:
    """One job's use of one entry version (recorded when the job is admitted)."""

    id: str
    job_id: str
    org_id: str
    project_id: str
    entry_id: str
    version: str
    at: datetime


def needs_grant(entry: Entry, project_org_id: str) -> bool:
    """Whether a project of ``project_org_id`` must hold a grant to use ``entry``."""
    if entry.owner_org_id == project_org_id:
        return False
    return entry.sensitivity is not Sensitivity.PUBLIC


def check_access(
    entry: Entry, project_org_id: str, grants: list[Grant], now: datetime, label: str
) -> None:
    """Raise ``AccessRequired`` unless the project may use ``entry`` at ``now``."""
    if not needs_grant(entry, project_org_id):
        return
    if any(g.valid_at(now) for g in grants):
        return
    expired = any(g.status is GrantStatus.APPROVED for g in grants)
    why = "its access grant has expired" if expired else "it holds no approved access grant"
    raise AccessRequired(
        f"this project may not use {label}: {why}; request access "
        f"(petaport catalogue request {label.split('@', maxsplit=1)[0]} --purpose ...)"
    )


def check_usable_version(entry: Entry, version: Version, project_org_id: str) -> None:
    """A corrupt version is never used; another org uses only cleared model versions."""
    if version.status is VersionStatus.CORRUPT:
        raise Conflict(
            f"{entry.name}@{version.version} failed its checksum verification; "
            "the owner must register it again",
            code="version_corrupt",
        )
    shared = entry.owner_org_id != project_org_id
    if shared and entry.kind is EntryKind.MODEL and not version.cleared:
        raise AssessmentRequired(
            f"model {entry.name}@{version.version} has not passed a risk assessment"
        )


def check_residency(entry: Entry, candidate_pools_in_hk: list[bool]) -> None:
    """A resident-only entry needs a node pool in Hong Kong among those the job could run on;
    the scheduler then places the job on such pools only (``PendingJob.pools``)."""
    if entry.sensitivity is not Sensitivity.RESIDENT_ONLY:
        return
    if not any(candidate_pools_in_hk):
        raise ResidencyRequired(
            f"{entry.name} is resident-only: it may run only on node pools in Hong Kong, and "
            "none of them has the GPU model this job asks for"
        )


def decide_grant(
    grant: Grant, *, approve: bool, by: str, now: datetime,
    expires_at: datetime | None, reason: str,
) -> Grant:  # fmt: skip
    """Approve (with an expiry in the future) or reject (with a reason) a requested grant."""
    if grant.status is not GrantStatus.REQUESTED:
        raise Conflict(f"this request was already {grant.status.value}", code="grant_decided")
    if approve:
        if expires_at is None or expires_at <= now:
            raise ValidationFailed("an approval needs an expiry in the future")
        return replace(grant, status=GrantStatus.APPROVED, decided_by=by, decided_at=now,
                       expires_at=expires_at, reason=reason)  # fmt: skip
    if not reason.strip():
        raise ValidationFailed("a rejection needs a reason")
    return replace(grant, status=GrantStatus.REJECTED, decided_by=by, decided_at=now,
                   reason=reason.strip())  # fmt: skip


def matches(entry: Entry, query: str | None) -> bool:
    """Free-text search over name, description, licence and tags (case-insensitive)."""
    if not query:
        return True
    hay = " ".join((entry.name, entry.description, entry.licence, *entry.tags)).lower()
    return all(word in hay for word in query.lower().split())
