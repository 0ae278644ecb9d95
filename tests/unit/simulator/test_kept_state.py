"""The engine's bookkeeping for the core is what the core would derive: the usage ledger's
fair-share factors, and the releases due by now summed per node (``ReleaseBook``)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from petaport.domain.jobs import Allocation
from petaport.scheduler import Usage
from petaport.scheduler.fairshare import factors
from petaport.simulator.releases import ReleaseBook
from petaport.simulator.usage import UsageLedger
from tests.unit.simulator.builders import ORIGIN


@pytest.mark.parametrize("seed", range(5))
def test_ledger_fair_share_is_the_core_factors(seed: int) -> None:
    rnd, ledger, shares = random.Random(seed), UsageLedger(3_600.0), (("org_1", 2.0),)
    t = 0.0
    for _ in range(300):
        t += rnd.choice((0.0, 1.0, 37.5, 600.0))
        tenant = rnd.randrange(7)
        ledger.change(t, f"org_{tenant % 3}", f"prj_{tenant}", rnd.choice((1, 2, 0.5, -1)))
        now = ORIGIN + timedelta(seconds=t)
        usage = tuple(Usage(o, p, gpu_s, now) for o, p, gpu_s in ledger.at(t))
        assert ledger.fair_share(t, now, shares) == factors(usage, (), shares, now, 3_600.0)


def test_release_book_sums_what_is_due() -> None:
    rnd, book, t = random.Random(3), ReleaseBook(), 0.0
    live: list[tuple[float, str, tuple[Allocation, ...], int, None]] = []
    for i in range(400):
        t += rnd.choice((0.0, 5.0, 50.0))
        if live and rnd.random() < 0.4:
            gone = live.pop(rnd.randrange(len(live)))
            book.remove(gone)
        else:
            node = f"n{rnd.randrange(6)}"
            milli = rnd.choice((0, 0, 500))
            release = (t + rnd.choice((0.0, 10.0, 100.0)), f"r{i:04d}",
                       (Allocation(node, (rnd.randrange(8),), 2, 100),), milli, None)  # fmt: skip
            live.append(release)
            book.add(release)
        index = book.index(t, ())
        due = [r for r in sorted(live) if r[0] <= t]
        expected: dict[str, list[int]] = {}
        for _, _, (a,), milli, _ in due:
            summed = expected.setdefault(a.node, [0, 0, 0])
            summed[0] += 0 if milli else 1
            summed[1] += 2
            summed[2] += 100
        assert list(index.releases) == sorted(live)
        assert (index.due_count, dict(index.due), index.due_s) == (len(due), expected, t)
