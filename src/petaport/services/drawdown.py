"""The co-pay split applied where charges are made: metering asks ``split_new`` for the
funder's share of each new charge before posting its journal entry.

``split_new`` runs inside the metering batch's transaction: it reads the grants of the
batch's projects and what each has paid so far and splits the charges in order with the pure
core (``billing.copay``); metering then posts them and stores the funded splits beside their
usage records (``NewSplits.store``). A crash
rolls both back together; a replay skips known source ids before it gets here, so a charge
is split (and its grant drawn down) exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from petaport.billing.copay import Split, original_id, split_all
from petaport.billing.ledger import CoPay
from petaport.billing.rating import Charge
from petaport.storage.repos.drawdown import DrawdownRepo
from petaport.storage.repos.subsidy import GrantRepo


@dataclass(frozen=True)
class NewSplits:
    """The splits of a batch's new charges: ``copays`` (source id -> the ledger's split of
    each charge a grant pays part of) to post, and the funded splits to store."""

    copays: dict[str, CoPay] = field(default_factory=dict)
    pairs: list[tuple[Charge, Split]] = field(default_factory=list)

    def store(self, s: Session, now: datetime) -> None:
        """Store the funded splits (after their usage records: each names its record)."""
        DrawdownRepo(s).add(self.pairs, now)


def split_new(s: Session, charges: Sequence[Charge], models: Mapping[str, str | None]) -> NewSplits:
    """The co-pay split of each new charge, in order. ``models``: attempt id -> the GPU model
    it ran on (its CPU and memory follow it)."""
    projects = {c.record.project_id for c in charges}
    grants = [g for g in GrantRepo(s).list_grants() if g.project_id in projects]
    if not grants:
        return NewSplits()
    repo = DrawdownRepo(s)
    drawn = repo.drawn(g.id for g in grants)
    credited = [sid for c in charges if (sid := original_id(c)) is not None]
    out = split_all(charges, models, grants, drawn, repo.splits(credited))
    copays = {sp.source_id: sp.copay() for sp in out.splits if sp.grant_id is not None}
    return NewSplits(copays, list(zip(charges, out.splits, strict=True)))
