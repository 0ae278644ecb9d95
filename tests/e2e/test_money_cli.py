"""``petaport spend`` and ``petaport prices add|export``, run as subprocesses against a real
server with the demo centre (fixtures from ``test_cli``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import LiveServer
from tests.e2e import test_cli
from tests.e2e.test_cli import Cli, assert_clean_error
from tests.integration.money import bill_live_org

pytestmark = test_cli.pytestmark
server, make_cli = test_cli.server, test_cli.make_cli


def test_spend_shows_the_month_by_project_and_the_budgets(
    make_cli: Callable[[str], Cli], server: LiveServer
) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    bill_live_org(server, "lantern-ai", now - timedelta(hours=4))  # 8 H800 x 2 h = 408.00
    admin = make_cli("admin")
    admin.ok("budgets", "set", "lantern-ai", "--limit", "1632", "--monthly")
    alice = make_cli("lantern-ai-alice")
    shown = alice.ok("spend", "lantern-ai")
    assert "lantern-ai: HK$408.00 in" in shown and "GPU H800" in shown
    assert "TOTAL" in shown and "25.0%" in shown and "(whole org)" in shown
    data = alice.json("spend", "lantern-ai")
    assert data["month"]["total"] == "408.00" == data["ledger_total"]
    assert sum(float(d["total"]) for d in data["month"]["days"]) == 408.0
    other = make_cli("kowloon-rd-alice")("spend", "lantern-ai")
    assert other.returncode == 3 and "not found" in other.stderr
    assert_clean_error(other)
    bad = alice("spend", "lantern-ai", "--month", "2026-13")
    assert bad.returncode == 1 and "month" in bad.stderr


def test_prices_add_shows_the_change_and_refuses_the_past(
    make_cli: Callable[[str], Cli], tmp_path: Path
) -> None:
    admin = make_cli("admin")
    dry = admin.ok("prices", "add", "--effective", "2098-01-01", "--set",
                   "gpu_hour/H800/on-demand=35.20", "--dry-run")  # fmt: skip
    assert "gpu_hour/H800/on-demand" in dry and "32.00" in dry and "+10.0%" in dry
    assert "1 changed" in dry and "Nothing stored" in dry
    assert [v["id"] for v in admin.json("prices")][-1] != "list-20980101"
    past = admin("prices", "add", "--effective", "2020-02-01", "--set",
                 "gpu_hour/H800/on-demand=35.20")  # fmt: skip
    assert past.returncode == 1 and "(price_version_in_past)" in past.stderr
    assert_clean_error(past)
    exported = tmp_path / "prices.yaml"
    admin.ok("prices", "export", "-f", str(exported))
    text = exported.read_text().replace("gpu_hour/H800/on-demand: '32.00'",
                                        "gpu_hour/H800/on-demand: '36.00'")  # fmt: skip
    exported.write_text(text.replace("effective: ''", "effective: '2098-01-01T09:00'"))
    added = admin.ok("prices", "add", "--from-file", str(exported))
    assert "+12.5%" in added and "Added list-20980101-0900" in added
    latest = admin.json("prices")[-1]
    assert latest["id"] == "list-20980101-0900"
    assert latest["effective_from"].startswith("2098-01-01T01:00:00")  # 09:00 in Hong Kong
    again = admin("prices", "add", "--from-file", str(exported))
    assert again.returncode == 1 and "(price_version_exists)" in again.stderr
    refused = make_cli("harbour-u-admin")("prices", "add", "--effective", "2099-01-01")
    assert refused.returncode == 1 and "centre admin" in refused.stderr
    bad = admin("prices", "add", "--effective", "2099-01-01", "--set", "gpu/x=1")
    assert bad.returncode == 2
    assert_clean_error(bad)
