"""Admin groups for tenancy: ``orgs``, ``projects``, ``users`` and ``members``.

Wherever an org, project or user is named, an id works and so does what people type: an org
slug, ``org-slug/project-slug``, a username.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated, cast

import typer

from petaport.cli.choices import CentreRoleChoice
from petaport.cli.output import (
    OutputFormat,
    OutputOption,
    console,
    emit,
    emit_one,
    fmt_time,
    print_json,
)
from petaport.cli.output import table as make_table
from petaport.cli.session import CliCommand, api, usage
from petaport.client import ClientError, PetaportClient
from petaport.schemas import (
    CentreRoleName,
    MembershipCreate,
    OrgCategoryName,
    OrgCreate,
    OrgRoleName,
    ProjectCreate,
    UserCreate,
    UserPublic,
)

orgs_app = typer.Typer(help="Organisations (tenants).", no_args_is_help=True)
projects_app = typer.Typer(help="Projects inside organisations.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
members_app = typer.Typer(help="Who belongs to which org or project, and in what role.",
                          no_args_is_help=True)  # fmt: skip

OrgRef = Annotated[str, typer.Option("--org", help="Org slug or org_ id.")]
OptOrgRef = Annotated[str | None, typer.Option("--org", help="Org slug or org_ id.")]


@orgs_app.command("list", cls=CliCommand)
def list_orgs(output: OutputOption = OutputFormat.TABLE) -> None:
    """Organisations you can see."""
    with api() as client:
        rows = client.list_orgs()
    emit(rows, output, ("ID", "SLUG", "NAME", "CATEGORY", "CREATED"),
         lambda o: (o.id, o.slug, o.name, o.category, fmt_time(o.created_at)))  # fmt: skip


@orgs_app.command("create", cls=CliCommand)
def create_org(
    slug: Annotated[str, typer.Argument(help="Short lowercase name, e.g. harbour-u.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    category: Annotated[OrgCategoryName, typer.Option(help="Kind of organisation.")],
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Create an organisation (centre admins)."""
    with api() as client:
        org = client.create_org(OrgCreate(name=name, slug=slug, category=category))
    emit_one(org, output)


@orgs_app.command("show", cls=CliCommand)
def show_org(org: Annotated[str, typer.Argument(help="Org slug or org_ id.")],
             output: OutputOption = OutputFormat.TABLE) -> None:  # fmt: skip
    """An organisation and its projects."""
    with api() as client:
        found = client.resolve_org(org)
        projects = client.list_projects(org_id=found.id)
    if output == OutputFormat.JSON:
        print_json({"org": found, "projects": projects})
        return
    emit_one(found, output)
    rows = [(p.id, p.slug, p.name) for p in projects]
    console.print(make_table(("PROJECT", "SLUG", "NAME"), rows, title="Projects"))


@projects_app.command("list", cls=CliCommand)
def list_projects(org: OptOrgRef = None, output: OutputOption = OutputFormat.TABLE) -> None:
    """Projects you can see (optionally of one org)."""
    with api() as client:
        org_id = client.resolve_org(org).id if org else None
        rows = client.list_projects(org_id=org_id)
    emit(rows, output, ("ID", "ORG", "SLUG", "NAME", "CREATED"),
         lambda p: (p.id, p.org_id, p.slug, p.name, fmt_time(p.created_at)))  # fmt: skip


@projects_app.command("create", cls=CliCommand)
def create_project(
    slug: Annotated[str, typer.Argument(help="Short lowercase name, e.g. llm-pretrain.")],
    org: OrgRef, name: Annotated[str, typer.Option(help="Full name.")],
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
    output: OutputOption = OutputFormat.TABLE,
) -> None:  # fmt: skip
    """Create a project in an organisation (org or centre admins)."""
    with api() as client:
        org_id = client.resolve_org(org).id
        spec = ProjectCreate(org_id=org_id, name=name, slug=slug, description=description)
        emit_one(client.create_project(spec), output)


def _user_row(u: UserPublic) -> Sequence[object]:
    return (u.id, u.username, u.email, u.display_name, u.centre_roles, u.is_active)


@users_app.command("list", cls=CliCommand)
def list_users(org: OptOrgRef = None, output: OutputOption = OutputFormat.TABLE) -> None:
    """User accounts you can see (optionally of one org)."""
    with api() as client:
        org_id = client.resolve_org(org).id if org else None
        rows = client.list_users(org_id=org_id)
    emit(rows, output, ("ID", "USERNAME", "EMAIL", "NAME", "CENTRE ROLES", "ACTIVE"), _user_row)


def _new_password(password_stdin: bool) -> str | None:
    if not password_stdin:
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise usage("no password on standard input", "--password-stdin")
    return password


@users_app.command("create", cls=CliCommand)
def create_user(
    username: Annotated[str, typer.Argument(help="Login name: lowercase, 2-64 characters.")],
    email: Annotated[str, typer.Option(help="Email address.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password_stdin: Annotated[bool, typer.Option(help="Read a password from stdin.")] = False,
    centre_role: Annotated[list[CentreRoleChoice] | None, typer.Option(help="Repeatable.")] = None,
    org: OptOrgRef = None,
    role: Annotated[OrgRoleName | None, typer.Option(help="Role in --org.")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Create a user (optionally with a role in an org)."""
    if (org is None) != (role is None):
        raise usage("give --org and --role together", "--role")
    with api() as client:
        org_id = client.resolve_org(org).id if org else None
        roles = cast(list[CentreRoleName], [r.value for r in centre_role or []])
        spec = UserCreate(username=username, email=email, display_name=name,
                          password=_new_password(password_stdin), centre_roles=roles,
                          org_id=org_id, org_role=role)  # fmt: skip
        emit_one(client.create_user(spec), output)


def _set_active(client: PetaportClient, user: str, active: bool) -> None:
    found = client.resolve_user(user)
    updated = client.set_user_active(found.id, active)
    state = "active" if updated.is_active else "disabled"
    console.print(f"{updated.username} ({updated.id}) is {state}.", markup=False)


@users_app.command("disable", cls=CliCommand)
def disable_user(user: Annotated[str, typer.Argument(help="Username or usr_ id.")]) -> None:
    """Disable a user: their tokens and sessions stop working."""
    with api() as client:
        _set_active(client, user, False)


@users_app.command("enable", cls=CliCommand)
def enable_user(user: Annotated[str, typer.Argument(help="Username or usr_ id.")]) -> None:
    """Enable a disabled user again."""
    with api() as client:
        _set_active(client, user, True)


def _username(client: PetaportClient, user_id: str, cache: dict[str, str]) -> str:
    if user_id not in cache:
        try:
            cache[user_id] = client.get_user(user_id).username
        except ClientError:
            cache[user_id] = user_id
    return cache[user_id]


@members_app.command("list", cls=CliCommand)
def list_members(
    org: OptOrgRef = None,
    project: Annotated[str | None, typer.Option(help="org/project or prj_ id.")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Memberships (optionally of one org or project)."""
    with api() as client:
        org_id = client.resolve_org(org).id if org else None
        project_id = client.resolve_project(project).id if project else None
        rows = client.list_memberships(org_id=org_id, project_id=project_id)
        if output == OutputFormat.JSON:
            print_json(rows)
            return
        names: dict[str, str] = {}
        console.print(make_table(("ID", "USER", "ORG", "PROJECT", "ROLE", "SINCE"),
                                 [(m.id, _username(client, m.user_id, names), m.org_id,
                                   m.project_id, m.role, fmt_time(m.created_at))
                                  for m in rows]))  # fmt: skip


def _project_in(client: PetaportClient, org_slug: str, project: str) -> str:
    """A project id from an id, ``org/project``, or a bare slug inside ``org_slug``."""
    plain_slug = "/" not in project and not project.startswith("prj_")
    return client.resolve_project(f"{org_slug}/{project}" if plain_slug else project).id


@members_app.command("add", cls=CliCommand)
def add_member(
    org: OrgRef,
    user: Annotated[str, typer.Option(help="Username or usr_ id.")],
    role: Annotated[OrgRoleName, typer.Option(help="org_admin, member or viewer.")],
    project: Annotated[str | None, typer.Option(help="Only this project (slug or id).")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Give a user a role in an org (or in one of its projects)."""
    with api() as client:
        found_org = client.resolve_org(org)
        project_id = _project_in(client, found_org.slug, project) if project else None
        spec = MembershipCreate(org_id=found_org.id, user_id=client.resolve_user(user).id,
                                role=role, project_id=project_id)  # fmt: skip
        emit_one(client.add_membership(spec), output)


@members_app.command("remove", cls=CliCommand)
def remove_member(membership_id: Annotated[str, typer.Argument(help="mem_… id.")]) -> None:
    """Remove a membership."""
    with api() as client:
        client.remove_membership(membership_id)
    console.print(f"Removed {membership_id}.", markup=False)
