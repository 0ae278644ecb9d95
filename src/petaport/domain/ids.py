"""Public identifiers: a type prefix and a random, URL-safe, sortable-enough body.

Ids look like ``job_01hx...``: the prefix tells the object type at a glance, the body is a
time-ordered 26-character Crockford base32 string (ULID layout), so ids sort by creation.
"""

from __future__ import annotations

import os
import time

PREFIXES = frozenset(
    {
        "org",
        "prj",
        "usr",
        "mem",
        "tok",
        "pool",
        "node",
        "job",
        "att",
        "evt",
        "ses",
        "quo",
        "bud",
        "alr",
        "inv",
    }
    | {"cat", "ver", "agr", "use", "asm"}  # catalogue: entries, versions, grants, uses, assessments
    # subsidy: schemes, calls, applications, attachments, reviewer assignments, decisions,
    # grants, audit records, grant alerts, progress reports
    | {"sch", "call", "app", "atc", "rva", "dec", "grt", "aud", "gal", "rpt"}
)
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id with ``prefix`` (one of ``PREFIXES``)."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_b32(ms, 10)}{_b32(rand, 16)}"


def has_prefix(value: str, prefix: str) -> bool:
    return value.startswith(prefix + "_") and len(value) == len(prefix) + 27
