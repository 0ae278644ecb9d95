"""The co-pay split applied where charges are made: metering asks ``split_new`` for the
funder's share of each new charge before posting its journal entry.

``split_new`` runs inside the metering batch's transaction: it reads the grants of the
batch's projects and what each has paid so far, splits the charges in order with the pure
core (``billing.copay``), and stores the funded splits beside their usage records. A crash
rolls both back together; a replay skips known source ids before it gets here, so a charge
is split (and its grant drawn down) exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from petaport.billing.copay import original_id, split_all
from petaport.billing.ledger import CoPay
from petaport.billing.rating import Charge
from petaport.storage.repos.drawdown import DrawdownRepo
from petaport.storage.repos.subsidy import GrantRepo


def split_new(
    s: Session, charges: Sequence[Charge], models: Mapping[str, str | None], now: datetime
) -> dict[str, CoPay]:
    """Source id -> the ledger's split of each new charge a grant pays part of.
    ``models``: attempt id -> the GPU model it ran on (its CPU and memory follow it)."""
    projects = {c.record.project_id for c in charges}
    grants = [g for g in GrantRepo(s).list_grants() if g.project_id in projects]
    if not grants:
        return {}
    repo = DrawdownRepo(s)
    drawn = repo.drawn(g.id for g in grants)
    credited = [sid for c in charges if (sid := original_id(c)) is not None]
    out = split_all(charges, models, grants, drawn, repo.splits(credited))
    repo.add(list(zip(charges, out.splits, strict=True)), now)
    return {sp.source_id: sp.copay() for sp in out.splits if sp.grant_id is not None}
