"""Enums for repeatable choice flags (Typer cannot take ``list[Literal[...]]``).

Job states use the domain's ``JobState`` directly. Each enum here mirrors a ``Literal`` of
``petaport.schemas``; a unit test keeps them equal.
"""

from __future__ import annotations

import enum


class ScopeChoice(enum.StrEnum):
    ALL = "*"
    JOBS_READ = "jobs:read"
    JOBS_WRITE = "jobs:write"
    ADMIN = "admin"


class CentreRoleChoice(enum.StrEnum):
    CENTRE_ADMIN = "centre_admin"
    REVIEWER = "reviewer"
    COMMITTEE = "committee"
