"""The CLI's link to the API: building clients from the config, and turning errors into exits.

Exit codes (documented in ``petaport --help``):
0 success; 1 the API refused (403, 409, 422, 5xx) or a local config problem;
2 usage error (bad flag or value, caught before anything is sent);
3 not found (404) or not logged in / token rejected (401);
4 the server cannot be reached.
``submit --wait`` exits with the job's own exit code instead.
Errors are one line on stderr: ``Error: <detail> (<code>)``, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from pydantic import ValidationError
from typer.core import TyperCommand, TyperGroup

from petaport.cli.parsing import UsageProblem, describe_validation
from petaport.client import (
    ClientError,
    ConnectionFailed,
    NotFound,
    NotLoggedIn,
    PetaportClient,
    Unauthenticated,
    load_config,
)

EXIT_API = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_UNREACHABLE = 4
EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 refused by the API; 2 usage error; 3 not found or not logged in; "
    "4 server unreachable. submit --wait exits with the job's exit code."
)


def exit_code_for(exc: ClientError) -> int:
    if isinstance(exc, ConnectionFailed):
        return EXIT_UNREACHABLE
    if isinstance(exc, NotFound | NotLoggedIn | Unauthenticated):
        return EXIT_NOT_FOUND
    return EXIT_API


def error_line(exc: ClientError) -> str:
    """``Error: <detail> (<code>)`` on one line, with a hint where one helps."""
    detail = " ".join(exc.detail.split())
    line = f"Error: {detail} ({exc.code})"
    if isinstance(exc, NotLoggedIn | Unauthenticated):
        line += " - run `petaport login`"
    return line


def _as_usage_error(exc: Exception, ctx: Any) -> typer.BadParameter:
    if isinstance(exc, UsageProblem):
        return typer.BadParameter(exc.message, ctx=ctx, param_hint=exc.param)
    assert isinstance(exc, ValidationError)  # a request model built from flags refused a value
    return typer.BadParameter(describe_validation(exc), ctx=ctx)


class CliCommand(TyperCommand):
    """A command whose bad values (``UsageProblem``, pydantic errors) are usage errors (exit 2)."""

    def invoke(self, ctx: Any) -> Any:  # a Click context (Typer vendors Click)
        try:
            return super().invoke(ctx)
        except (UsageProblem, ValidationError) as exc:
            raise _as_usage_error(exc, ctx) from None


class CliGroup(TyperGroup):
    """The root group: every ``ClientError`` below it becomes one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (UsageProblem, ValidationError) as exc:  # from a command without CliCommand
            raise _as_usage_error(exc, None) from None
        except ClientError as exc:
            typer.echo(error_line(exc), err=True)
            raise typer.Exit(exit_code_for(exc)) from None


@contextmanager
def api() -> Iterator[PetaportClient]:
    """A client with the stored (or ``PETAPORT_TOKEN``) token; ``NotLoggedIn`` without one."""
    config = load_config()
    if not config.token:
        raise NotLoggedIn(f"not logged in to {config.url}")
    with PetaportClient(config.url, config.token) as client:
        yield client


def usage(message: str, param: str | None = None) -> UsageProblem:
    """A usage error to raise from a command (exit code 2)."""
    return UsageProblem(message, param)
