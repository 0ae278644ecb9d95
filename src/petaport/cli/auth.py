"""``login``, ``logout``, ``whoami`` and the ``tokens`` group.

``login`` stores the server URL and a new token in the config file (mode 0600); a token's
secret is printed only once, when it is created.
"""

from __future__ import annotations

import sys
from typing import Annotated, cast

import typer

from petaport.cli.choices import ScopeChoice
from petaport.cli.output import (
    OutputFormat,
    OutputOption,
    console,
    details,
    err_console,
    fmt_time,
    print_json,
    table,
)
from petaport.cli.session import CliCommand, api, usage
from petaport.client import ClientConfig, ClientError, PetaportClient, clear_token, save_config
from petaport.client.config import TOKEN_ENV, load_config, load_stored
from petaport.schemas import Me, ScopeName, TokenCreate, TokenIssued

tokens_app = typer.Typer(help="API tokens for scripts and CI (the secret is shown once).")


def _read_password(password_stdin: bool) -> str:
    if not password_stdin:
        return str(typer.prompt("Password", hide_input=True))
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise usage("--password-stdin: no password on standard input", "--password-stdin")
    return password


def login(
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="Asked if not given.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin (scripts).")
    ] = False,
    url: Annotated[str | None, typer.Option(help="Server URL (default: the stored one).")] = None,
    token_name: Annotated[str, typer.Option(help="A label for the new token.")] = "cli",  # noqa: S107
    ttl_days: Annotated[int | None, typer.Option(help="Token lifetime in days.")] = None,
) -> None:
    """Log in with a username and password; store the server URL and a new API token."""
    server = url or load_config().url
    name = username or str(typer.prompt("Username"))
    password = _read_password(password_stdin)
    with PetaportClient(server) as client:
        issued = client.login(name, password, token_name=token_name, ttl_days=ttl_days)
    path = save_config(ClientConfig(server, issued.token, issued.id, name))
    console.print(f"Logged in to {server} as {name}; token {issued.id} saved in {path}.",
                  markup=False)  # fmt: skip
    console.print(f"The token expires {fmt_time(issued.expires_at)}.", markup=False)
    if load_config().token != issued.token:
        err_console.print(f"Note: {TOKEN_ENV} is set and overrides the stored token.", markup=False)


def logout() -> None:
    """Revoke the stored token on the server and forget it locally."""
    stored = load_stored()
    if not stored.token:
        console.print("Not logged in.")
        return
    if stored.token_id:
        try:
            with PetaportClient(stored.url, stored.token) as client:
                client.revoke_token(stored.token_id)
        except ClientError as exc:
            err_console.print(f"Warning: could not revoke the token: {exc.detail}", markup=False)
    clear_token()
    console.print(f"Logged out of {stored.url}.", markup=False)


def _org_slug(client: PetaportClient, org_id: str) -> str:
    try:
        return client.get_org(org_id).slug
    except ClientError:
        return org_id


def _me_rows(client: PetaportClient, me: Me) -> list[tuple[str, object]]:
    u = me.user
    slugs = {m.org_id: _org_slug(client, m.org_id) for m in me.memberships}
    roles = [f"{m.role} of {slugs[m.org_id]}" + (f" (project {m.project_id})" if m.project_id
             else "") for m in me.memberships]  # fmt: skip
    return [("Server", client.base_url), ("User", f"{u.username} ({u.id})"),
            ("Name", u.display_name), ("Email", u.email), ("Centre roles", u.centre_roles or "-"),
            ("Memberships", roles or "-"), ("Token scopes", me.scopes)]  # fmt: skip


def whoami(output: OutputOption = OutputFormat.TABLE) -> None:
    """Who the stored token belongs to: user, roles, memberships and scopes."""
    with api() as client:
        me = client.me()
        if output == OutputFormat.JSON:
            print_json(me)
            return
        console.print(details(_me_rows(client, me)))


def _show_issued(issued: TokenIssued, output: OutputFormat) -> None:
    if output == OutputFormat.JSON:
        print_json(issued)
        return
    console.print(details([("Id", issued.id), ("Name", issued.name), ("Scopes", issued.scopes),
                           ("Expires", fmt_time(issued.expires_at))]))  # fmt: skip
    err_console.print("The secret below is shown only once; store it now:", markup=False)
    typer.echo(issued.token)


@tokens_app.command("create", cls=CliCommand)
def create_token(
    name: Annotated[str, typer.Argument(help="A label, e.g. ci-pipeline.")],
    scope: Annotated[
        list[ScopeChoice] | None, typer.Option(help="Repeatable; default '*'.")
    ] = None,
    ttl_days: Annotated[int | None, typer.Option(help="Lifetime in days.")] = None,
    user: Annotated[str | None, typer.Option(help="For another user (id or username).")] = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Create an API token and print its secret once."""
    with api() as client:
        user_id = client.resolve_user(user).id if user else None
        scopes = cast(list[ScopeName], [s.value for s in scope or [ScopeChoice.ALL]])
        spec = TokenCreate(name=name, scopes=scopes, ttl_days=ttl_days, user_id=user_id)
        _show_issued(client.create_token(spec), output)


@tokens_app.command("list", cls=CliCommand)
def list_tokens(
    all_users: Annotated[bool, typer.Option("--all", help="Every user's (admins).")] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """List API tokens (never their secrets)."""
    with api() as client:
        rows = client.list_tokens(all_users=all_users)
    if output == OutputFormat.JSON:
        print_json(rows)
        return
    cols = ("ID", "NAME", "USER", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "REVOKED")
    console.print(table(cols, [(t.id, t.name, t.user_id, t.scopes, fmt_time(t.created_at),
                                fmt_time(t.expires_at), fmt_time(t.last_used_at),
                                fmt_time(t.revoked_at)) for t in rows]))  # fmt: skip


@tokens_app.command("revoke", cls=CliCommand)
def revoke_token(token_id: Annotated[str, typer.Argument(help="tok_… id.")]) -> None:
    """Revoke an API token now."""
    with api() as client:
        token = client.revoke_token(token_id)
    console.print(f"Revoked {token.id} ({token.name}).", markup=False)
