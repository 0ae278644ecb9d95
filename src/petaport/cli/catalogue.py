"""``petaport catalogue``: browse, register, publish, request and decide access, assessments.

Entries are named by id (``cat_…``) or ``kind:NAME`` / ``kind:ORG/NAME``. ``register`` hashes
the content where the CLI can read it (the centre's shared storage), with a progress bar, and
the server hashes it again: the two digests must agree.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from petaport.checksums import UnsafeTree, tree_digest
from petaport.cli.output import OutputFormat, OutputOption, console, emit, emit_one, fmt_time
from petaport.cli.session import CliCommand, api, usage
from petaport.client import ClientError, PetaportClient
from petaport.schemas.catalogue import (
    AccessRequestCreate,
    AssessmentPublic,
    EntryCreate,
    EntryPublic,
    GrantDecision,
    GrantPublic,
    SignOffCreate,
    UsePublic,
    VersionCreate,
)

catalogue_app = typer.Typer(
    help="Models and datasets: browse, register, share, request and grant access, assess.",
    no_args_is_help=True,
)
Ref = Annotated[str, typer.Argument(help="cat_ id, or kind:NAME / kind:ORG/NAME.")]
Opt = typer.Option


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@catalogue_app.command("list", cls=CliCommand)
def list_entries(
    kind: Annotated[str | None, Opt(help="model or dataset.")] = None,
    search: Annotated[str | None, Opt("--search", "-q", help="Words to search for.")] = None,
    sensitivity: Annotated[str | None, Opt(help="public, restricted, resident_only.")] = None,
    owner: Annotated[str | None, Opt(help="Owner org slug.")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Entries you may see: your orgs' own and every published one."""
    with api() as client:
        rows = client.list_entries(kind, search, sensitivity, owner)

    def row(e: EntryPublic) -> tuple[object, ...]:
        last = e.versions[-1] if e.versions else None
        shared = "yes" if e.published else "private"
        size = _size(last.size_bytes) if last else "-"
        return (e.id, e.ref, e.sensitivity, e.licence, shared, last.version if last else "-", size)

    emit(rows, output, ("ID", "REF", "SENSITIVITY", "LICENCE", "SHARED", "LATEST", "SIZE"), row)


@catalogue_app.command("show", cls=CliCommand)
def show(ref: Ref, output: OutputOption = OutputFormat.TABLE) -> None:
    """An entry with its versions."""
    with api() as client:
        emit_one(client.resolve_entry(ref), output)


def _digest_with_progress(path: Path) -> tuple[int, str] | None:
    """Hash ``path`` here with a progress bar; None when this machine cannot read it."""
    if not path.exists():
        return None
    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"SHA-256 {path.name}", total=None)
        try:
            return tree_digest(path, lambda done, total: bar.update(task, completed=done,
                                                                     total=total))  # fmt: skip
        except (UnsafeTree, OSError) as exc:
            raise usage(f"cannot read {path}: {exc}", "PATH") from exc


def _entry_for(client: PetaportClient, kind: str, name: str, org: str,
               fields: EntryCreate) -> EntryPublic:  # fmt: skip
    try:
        return client.resolve_entry(f"{kind}:{org}/{name}")
    except ClientError:
        return client.create_entry(fields)


@catalogue_app.command("register", cls=CliCommand)
def register(
    kind: Annotated[str, typer.Argument(help="model or dataset.")],
    name: Annotated[str, typer.Argument(help="Entry name, e.g. hk-rainfall.")],
    path: Annotated[Path, typer.Argument(help="Content on the centre's storage.")],
    org: Annotated[str, Opt("--org", help="Owner org slug.")],
    version: Annotated[str, Opt("--version", "-V", help="Version label.")] = "1",
    licence: Annotated[str, Opt(help="SPDX licence id (new entries).")] = "CC-BY-4.0",
    sensitivity: Annotated[str, Opt(help="public, restricted, resident_only.")] = "restricted",
    description: Annotated[str, Opt(help="One paragraph (new entries).")] = "",
    dua: Annotated[str, Opt("--dua", help="Data-use agreement text (new entries).")] = "",
    card: Annotated[Path | None, Opt(help="Model/data card Markdown file.")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Register content as a version (creating the entry if new): size and SHA-256 are
    computed here with a progress bar, then checked by the server."""
    local = _digest_with_progress(path)
    fields = EntryCreate(kind=kind, name=name, owner_org=org, licence=licence,  # type: ignore[arg-type]
                         sensitivity=sensitivity, description=description,  # type: ignore[arg-type]
                         data_use_agreement=dua,
                         card=card.read_text(encoding="utf-8") if card else "")  # fmt: skip
    spec = VersionCreate(version=version, path=str(path.absolute()),
                         sha256=local[1] if local else None,
                         size_bytes=local[0] if local else None)  # fmt: skip
    with api() as client:
        found = _entry_for(client, kind, name, org, fields)
        done = client.register_version(found.id, spec)
    if output == OutputFormat.TABLE:
        console.print(f"{found.ref}@{done.version}: {_size(done.size_bytes)}, "
                      f"SHA-256 {done.sha256}", markup=False)  # fmt: skip
    else:
        emit_one(done, output)


@catalogue_app.command("verify", cls=CliCommand)
def verify(ref: Ref, version: str, output: OutputOption = OutputFormat.TABLE) -> None:
    """Hash a version again; it is marked corrupt (and refused to jobs) when it changed."""
    with api() as client:
        done = client.verify_version(client.resolve_entry(ref).id, version)
    emit_one(done, output)
    if done.status != "ready":
        raise typer.Exit(1)


@catalogue_app.command("publish", cls=CliCommand)
def publish(
    ref: Ref, private: Annotated[bool, Opt("--private", help="Make it private again.")] = False
) -> None:
    """Share an entry with every tenant (models need a signed-off risk assessment)."""
    with api() as client:
        done = client.publish_entry(client.resolve_entry(ref).id, not private)
    console.print(f"{done.ref}: {'shared' if done.published else 'private'}", markup=False)


@catalogue_app.command("request", cls=CliCommand)
def request(
    ref: Ref,
    project: Annotated[str, Opt("--project", "-p", help="org-slug/project-slug.")],
    purpose: Annotated[str, Opt(help="Why the project needs it.")],
    accept_dua: Annotated[bool, Opt("--accept-dua", help="Accept the data-use agreement.")] = False,
) -> None:
    """Ask for a project's access to an entry; prints the request's id."""
    if not accept_dua:
        raise usage("read the data-use agreement (catalogue show) and pass --accept-dua")
    with api() as client:
        spec = AccessRequestCreate(project=project, purpose=purpose, accept_data_use_agreement=True)
        typer.echo(client.request_access(client.resolve_entry(ref).id, spec).id)


def _grant_row(g: GrantPublic) -> tuple[object, ...]:
    return (g.id, g.entry_ref, g.project_id, g.status, fmt_time(g.expires_at),
            "yes" if g.valid_now else "no", g.purpose)  # fmt: skip


@catalogue_app.command("grants", cls=CliCommand)
def grants(
    entry: Annotated[str | None, Opt("--entry", help="Only this entry.")] = None,
    status: Annotated[str | None, Opt(help="requested, approved, rejected.")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Your projects' grants and the requests you decide on."""
    with api() as client:
        entry_id = client.resolve_entry(entry).id if entry else None
        rows = client.list_grants(entry_id, None, status)
    emit(rows, output, ("ID", "ENTRY", "PROJECT", "STATUS", "EXPIRES", "VALID", "PURPOSE"),
         _grant_row)  # fmt: skip


@catalogue_app.command("approve", cls=CliCommand)
def approve(
    grant_id: str, days: Annotated[int, Opt(help="Valid for this many days.", min=1)] = 90
) -> None:
    """Approve an access request (the owner's org admins) until now + DAYS."""
    until = datetime.now(UTC) + timedelta(days=days)
    with api() as client:
        done = client.decide_grant(grant_id, GrantDecision(approve=True, expires_at=until))
    console.print(f"{done.id}: approved until {fmt_time(done.expires_at)}", markup=False)


@catalogue_app.command("reject", cls=CliCommand)
def reject(
    grant_id: str, reason: Annotated[str, Opt(help="Why (shown to the requester).")]
) -> None:
    """Reject an access request with a reason."""
    with api() as client:
        done = client.decide_grant(grant_id, GrantDecision(approve=False, reason=reason))
    console.print(f"{done.id}: rejected", markup=False)


@catalogue_app.command("uses", cls=CliCommand)
def uses(
    ref: Annotated[str | None, typer.Argument(help="An entry.")] = None,
    job: Annotated[str | None, Opt("--job", help="Uses by this job.")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Which job of which project used which version, and when."""
    if (ref is None) == (job is None):
        raise usage("give an entry or --job")
    with api() as client:
        rows = client.list_uses(client.resolve_entry(ref).id if ref else None, job)

    def row(u: UsePublic) -> tuple[object, ...]:
        return (u.job_id, u.project_id, u.entry_id, u.version, fmt_time(u.at))

    emit(rows, output, ("JOB", "PROJECT", "ENTRY", "VERSION", "AT"), row)


@catalogue_app.command("assess", cls=CliCommand)
def assess(
    ref: Ref, version: str,
    project: Annotated[str, Opt("--project", "-p", help="The owner's project to run in.")],
) -> None:  # fmt: skip
    """Start a model risk assessment; prints its id (follow it with ``assessment``)."""
    with api() as client:
        typer.echo(client.start_assessment(client.resolve_entry(ref).id, version, project).id)


def _show_assessment(a: AssessmentPublic, card: bool, output: OutputFormat) -> None:
    if card:
        typer.echo(a.model_card or "(no model card yet: the evaluation has not ended)")
        return
    emit_one(a.model_copy(update={"model_card": f"({len(a.model_card)} characters)"}), output)


@catalogue_app.command("assessment", cls=CliCommand)
def assessment(
    assessment_id: str,
    card: Annotated[bool, Opt("--card", help="Print the model card (Markdown).")] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """An assessment: status, check results, sign-off; or its model card."""
    with api() as client:
        _show_assessment(client.get_assessment(assessment_id), card, output)


@catalogue_app.command("signoff", cls=CliCommand)
def signoff(
    assessment_id: str,
    risk: Annotated[str, Opt(help="low, medium, high or unacceptable.")],
    approve: Annotated[bool, Opt("--approve/--reject", help="The decision.")] = True,
    conditions: Annotated[str, Opt(help="Conditions of use.")] = "",
) -> None:
    """A reviewer's sign-off; approval clears the model version for sharing."""
    spec = SignOffCreate(approve=approve, risk_level=risk, conditions=conditions)  # type: ignore[arg-type]
    with api() as client:
        done = client.sign_off(assessment_id, spec)
    console.print(f"{done.id}: {done.status} (risk {done.risk_level})", markup=False)
