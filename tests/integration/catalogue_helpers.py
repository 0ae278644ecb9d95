"""Builders for catalogue tests: content on an org's storage, entries, versions and grants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.integration.conftest import World


def storage(world: World, org_slug: str) -> Path:
    path = world.ctx.settings.storage_root / org_slug
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_dataset(world: World, org_slug: str, name: str, rows: int = 3) -> Path:
    """A small CSV dataset (a directory with two files) on the org's storage."""
    directory = storage(world, org_slug) / "datasets" / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data.csv").write_text(
        "district,rain_mm\n" + "".join(f"d{i},{i * 1.5}\n" for i in range(rows))
    )
    (directory / "README").write_text(f"{name}: rainfall by district\n")
    return directory


def entry(world: World, who: str, name: str, *, kind: str = "dataset",
          owner: str | None = "org-a", sensitivity: str = "restricted",
          licence: str = "CC-BY-4.0") -> dict[str, Any]:  # fmt: skip
    body = {"kind": kind, "name": name, "owner_org": owner, "licence": licence,
            "sensitivity": sensitivity, "description": f"{name} for tests",
            "data_use_agreement": "Research use only; no re-identification."}  # fmt: skip
    r = world.call(who, "POST", "/v1/catalogue/entries", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def version(world: World, who: str, entry_id: str, path: Path, v: str = "1") -> dict[str, Any]:
    r = world.call(who, "POST", f"/v1/catalogue/entries/{entry_id}/versions",
                   json={"version": v, "path": str(path)})  # fmt: skip
    assert r.status_code == 201, r.text
    return dict(r.json())


def publish(world: World, who: str, entry_id: str) -> Any:
    return world.call(who, "POST", f"/v1/catalogue/entries/{entry_id}/publish",
                      json={"published": True})  # fmt: skip


def published_dataset(world: World, name: str, sensitivity: str = "restricted") -> dict[str, Any]:
    """A dataset of org a with one version, published."""
    made = entry(world, "a_member", name, sensitivity=sensitivity)
    version(world, "a_member", made["id"], write_dataset(world, "org-a", name))
    r = publish(world, "a_org_admin", made["id"])
    assert r.status_code == 200, r.text
    return dict(r.json())


def grant(world: World, entry_id: str, project: str = "prj_b", hours: float = 24) -> dict[str, Any]:
    """Project ``project`` asks; org a's admin approves for ``hours``."""
    asked = world.call("b_member", "POST", f"/v1/catalogue/entries/{entry_id}/access-requests",
                       json={"project": world.ids[project], "purpose": "flood risk research",
                             "accept_data_use_agreement": True})  # fmt: skip
    assert asked.status_code == 201, asked.text
    until = datetime.now(UTC) + timedelta(hours=hours)
    decided = world.call("a_org_admin", "POST",
                         f"/v1/catalogue/grants/{asked.json()['id']}/decision",
                         json={"approve": True, "expires_at": until.isoformat()})  # fmt: skip
    assert decided.status_code == 200, decided.text
    return dict(decided.json())
