"""Catalogue use cases: entries (create, search, publish) and their versions (register, verify).

Who sees what: an entry's owner org (any member), centre staff (admins and reviewers), and,
once it is published, everybody; anyone else gets NotFound. Members of the owner org create
entries and register versions; its org admins (centre admins for centre-owned entries) publish
and decide access requests. A version's content must lie inside the owner's storage directory,
``<storage_root>/<org-slug>/`` (``_centre/`` for the centre); on registration it is sealed
(owned by Petaport's user, writable by nobody else, nor is any directory above it:
``petaport.sealing``), then hashed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from petaport.checksums import UnsafeTree, tree_digest
from petaport.domain.catalogue import (
    AssessmentRequired,
    Entry,
    EntryKind,
    Sensitivity,
    Version,
    VersionStatus,
    check_name,
    check_version,
    matches,
)
from petaport.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from petaport.domain.ids import new_id
from petaport.domain.tenancy import Org, Principal, Role, Scope, org_role_at_least
from petaport.sealing import UnsealableContent, seal
from petaport.services.authz import can_admin_org, require_scope
from petaport.services.context import Context
from petaport.storage.repos.catalogue import CatalogueRepo
from petaport.storage.repos.tenancy import TenancyRepo

CENTRE_DIR = "_centre"
EVERYTHING = Scope(everything=True)


@dataclass(frozen=True)
class EntryFields:
    kind: EntryKind
    name: str
    owner_org: str | None  # an org id or slug; None: the centre (centre admins only)
    description: str = ""
    licence: str = ""
    data_use_agreement: str = ""
    sensitivity: Sensitivity = Sensitivity.RESTRICTED
    card: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntryView:
    entry: Entry
    owner_slug: str | None
    versions: tuple[Version, ...]


def is_centre_staff(p: Principal) -> bool:
    return bool(p.user.centre_roles & {Role.CENTRE_ADMIN, Role.REVIEWER})


def can_see(p: Principal, entry: Entry) -> bool:
    if entry.published or is_centre_staff(p):
        return True
    return entry.owner_org_id is not None and entry.owner_org_id in p.org_ids()


def can_manage(p: Principal, entry: Entry) -> bool:
    if entry.owner_org_id is None:
        return p.is_centre_admin
    return can_admin_org(p, entry.owner_org_id)


def can_contribute(p: Principal, entry: Entry) -> bool:
    """Register versions and start assessments: members of the owner org and its admins."""
    if can_manage(p, entry):
        return True
    role = p.org_role(entry.owner_org_id) if entry.owner_org_id else None
    return role is not None and org_role_at_least(role, Role.MEMBER)


def visible_entry(s: Session, p: Principal, entry_id: str) -> Entry:
    entry = CatalogueRepo(s).find_entry(entry_id)
    if entry is None or not can_see(p, entry):
        raise NotFound(f"catalogue entry {entry_id} not found")
    return entry


def storage_dir(ctx: Context, owner_slug: str | None) -> Path:
    """Where an owner's catalogue content must lie (created on first use)."""
    path = ctx.settings.storage_root / (owner_slug or CENTRE_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def find_org(s: Session, ref: str) -> Org | None:
    """An organisation by slug or id, whoever may see it (the caller checks)."""
    repo = TenancyRepo(s)
    found = repo.find_org_by_slug(ref)
    if found is not None or not ref.startswith("org_"):
        return found
    try:
        return repo.get_org(EVERYTHING, ref)
    except NotFound:
        return None


def _view(s: Session, entry: Entry) -> EntryView:
    slug = None
    if entry.owner_org_id is not None:
        org = find_org(s, entry.owner_org_id)
        slug = org.slug if org else None
    return EntryView(entry, slug, tuple(CatalogueRepo(s).versions_of(entry.id)))


def create_entry(ctx: Context, p: Principal, f: EntryFields) -> EntryView:
    require_scope(p, "jobs:write")
    check_name(f.name)
    if not f.licence.strip() or len(f.licence) > 200:
        raise ValidationFailed("give the licence (1-200 characters), e.g. CC-BY-4.0")
    now = ctx.clock()
    with ctx.db.transaction() as s:
        owner_id = None
        if f.owner_org is not None:
            org = find_org(s, f.owner_org)
            if org is None or (org.id not in p.org_ids() and not p.is_centre_admin):
                raise NotFound(f"organisation {f.owner_org} not found")
            owner_id = org.id
        entry = Entry(new_id("cat"), owner_id, f.kind, f.name, f.description.strip(),
                      f.licence.strip(), f.data_use_agreement.strip(), f.sensitivity, f.card,
                      False, now, now, tuple(sorted(set(f.tags))))  # fmt: skip
        if not can_contribute(p, entry):
            raise Forbidden("only members of the owning organisation may add entries")
        try:
            CatalogueRepo(s).add_entry(entry)
        except IntegrityError as exc:
            raise Conflict(f"a {f.kind.value} named {f.name} exists for this owner",
                           code="entry_exists") from exc  # fmt: skip
        return _view(s, entry)


def get_entry(ctx: Context, p: Principal, entry_id: str) -> EntryView:
    with ctx.db.transaction() as s:
        return _view(s, visible_entry(s, p, entry_id))


def list_entries(
    ctx: Context, p: Principal, *, kind: EntryKind | None = None, query: str | None = None,
    sensitivity: Sensitivity | None = None, owner: str | None = None,
) -> list[EntryView]:  # fmt: skip
    """Entries the caller may see, filtered by kind, sensitivity, owner (id or slug) and text."""
    with ctx.db.transaction() as s:
        org_ids = None if is_centre_staff(p) else p.org_ids()
        found = CatalogueRepo(s).entries(org_ids=org_ids, kind=kind)
        views = [_view(s, e) for e in found if matches(e, query)]
    return [
        v for v in views
        if (sensitivity is None or v.entry.sensitivity is sensitivity)
        and (owner is None or owner in (v.entry.owner_org_id, v.owner_slug))
    ]  # fmt: skip


def publish(ctx: Context, p: Principal, entry_id: str, published: bool = True) -> EntryView:
    """Share an entry beyond its org (a model needs a version cleared by an assessment)."""
    require_scope(p, "jobs:write")
    with ctx.db.transaction() as s:
        entry = visible_entry(s, p, entry_id)
        if not can_manage(p, entry):
            raise Forbidden("only an org admin of the owning organisation may publish")
        versions = CatalogueRepo(s).versions_of(entry.id)
        if published and entry.kind is EntryKind.MODEL and not any(v.cleared for v in versions):
            raise AssessmentRequired(
                "a model is shared only once a version passed a risk assessment signed off "
                "by a reviewer; it stays private"
            )
        if published and not versions:
            raise ValidationFailed("register a version before publishing")
        entry = replace(entry, published=published, updated_at=ctx.clock())
        CatalogueRepo(s).save_entry(entry)
        return _view(s, entry)


def _inside(ctx: Context, owner_slug: str | None, path_text: str) -> Path:
    """The real path of ``path_text`` (absolute, or relative to the owner's directory); it must
    lie inside the owner's storage directory, else NotFound (no probing of other paths)."""
    base = storage_dir(ctx, owner_slug).resolve()
    if "\x00" in path_text or not path_text.strip():
        raise ValidationFailed("give the path of the content on the centre's storage")
    real = Path(os.path.realpath(base / path_text))
    if real == base or base not in real.parents:
        raise NotFound(
            f"{path_text} is not inside your organisation's storage ({base}); "
            "copy the content there first"
        )
    if not real.exists():
        raise NotFound(f"{path_text} does not exist")
    return real


def _digest(path: Path) -> tuple[int, str]:
    """Seal the content (jobs must not be able to change it), then hash it."""
    try:
        seal(path)
    except UnsealableContent as exc:
        raise ValidationFailed(f"cannot register {path}: {exc}", code="content_writable") from exc
    except OSError as exc:
        raise ValidationFailed(f"cannot register {path}: {exc}") from exc
    try:
        return tree_digest(path)
    except (UnsafeTree, OSError) as exc:
        raise ValidationFailed(f"cannot register {path}: {exc}") from exc


def register_version(
    ctx: Context, p: Principal, entry_id: str, version: str, path: str,
    expect_sha256: str | None = None, expect_size: int | None = None,
) -> Version:  # fmt: skip
    """Hash the content at ``path`` and record it as ``version`` (immutable from then on).

    ``expect_sha256``/``expect_size`` (what the client computed) must match the server's.
    """
    require_scope(p, "jobs:write")
    check_version(version)
    with ctx.db.transaction() as s:
        view = _view(s, visible_entry(s, p, entry_id))
        if not can_contribute(p, view.entry):
            raise Forbidden("only members of the owning organisation may add versions")
    real = _inside(ctx, view.owner_slug, path)
    size, sha = _digest(real)
    if (expect_sha256 and expect_sha256 != sha) or (expect_size not in (None, size)):
        raise ValidationFailed(
            f"checksum mismatch: the server read {size} bytes with SHA-256 {sha}",
            code="checksum_mismatch",
        )
    record = Version(new_id("ver"), entry_id, version, str(real), size, sha,
                     VersionStatus.READY, ctx.clock(), p.user.id, ctx.clock())  # fmt: skip
    with ctx.db.transaction() as s:
        try:
            CatalogueRepo(s).add_version(record)
        except IntegrityError as exc:
            raise Conflict(f"version {version} exists", code="version_exists") from exc
    return record


def find_version(s: Session, entry: Entry, version: str | None) -> Version:
    """``version`` of ``entry``, or its newest one when None."""
    versions = CatalogueRepo(s).versions_of(entry.id)
    if version is None:
        if not versions:
            raise NotFound(f"{entry.name} has no version yet")
        return versions[-1]
    for v in versions:
        if v.version == version:
            return v
    raise NotFound(f"{entry.name} has no version {version}")


def verify_version(ctx: Context, p: Principal, entry_id: str, version: str) -> Version:
    """Hash the content again; a mismatch marks the version corrupt (jobs refuse it)."""
    require_scope(p, "jobs:write")
    with ctx.db.transaction() as s:
        entry = visible_entry(s, p, entry_id)
        if not can_contribute(p, entry):
            raise Forbidden("only members of the owning organisation may verify versions")
        stored = find_version(s, entry, version)
    try:
        size, sha = tree_digest(Path(stored.path))
    except (UnsafeTree, OSError):
        size, sha = -1, ""
    same = (size, sha) == (stored.size_bytes, stored.sha256)
    checked = replace(stored, verified_at=ctx.clock(),
                      status=VersionStatus.READY if same else VersionStatus.CORRUPT)  # fmt: skip
    with ctx.db.transaction() as s:
        CatalogueRepo(s).save_version(checked)
    return checked
