"""``prices``: the price book; ``prices add`` a new version; ``prices export`` the latest one.

A price is named ``RESOURCE[/MODEL]/TIER`` (``gpu_hour/H800/on-demand``, ``cpu_core_hour/
reserved``; a GPU price without a model is the default for every other model). A new version
starts from a file in the format ``prices export`` writes, or from the latest version, changed
by ``--set KEY=PRICE``; the difference against the latest version is shown before it is sent.
Prices are Decimal throughout (the YAML is read as text, never as floats).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from petaport.cli.output import OutputFormat, OutputOption, console, local_zone, print_json, table
from petaport.cli.session import CliCommand, api, usage
from petaport.schemas.money import PriceCreate, PriceVersionCreate, PriceVersionPublic

Key = tuple[str, str | None, str]  # resource, GPU model, tier
RESOURCES = ("gpu_hour", "cpu_core_hour", "memory_gib_hour", "storage_tib_month")
TIERS = ("reserved", "on-demand", "preemptible")
CREDITS = ("none", "last_partial_hour", "full")

prices_app = typer.Typer(help="The price book (HKD per unit-hour): list, add a version, export.",
                         invoke_without_command=True)  # fmt: skip


def key_text(key: Key) -> str:
    resource, model, tier = key
    return f"{resource}/{model}/{tier}" if model else f"{resource}/{tier}"


def parse_key(text: str) -> Key:
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or parts[0] not in RESOURCES:
        raise usage(f"not a price name: {text!r} (RESOURCE[/MODEL]/TIER, e.g. "
                    f"gpu_hour/H800/on-demand)", "--set")  # fmt: skip
    tier = parts[-1].replace("_", "-")
    if tier not in TIERS:
        raise usage(f"unknown tier in {text!r}: one of {', '.join(TIERS)}", "--set")
    return parts[0], parts[1] if len(parts) == 3 else None, tier


def parse_price(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise usage(f"not a price of 0 or more: {text!r}", where)
    return value


def parse_effective(text: str) -> datetime:
    """``2027-01-01`` (midnight) or ``2027-01-01T09:00``, in PETAPORT_TIMEZONE unless an offset
    is given."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise usage(f"not a date or time: {text!r} (e.g. 2027-01-01)", "--effective") from None
    if len(text.strip()) == 10:
        moment = datetime.combine(date.fromisoformat(text.strip()), time())
    return moment if moment.tzinfo else moment.replace(tzinfo=local_zone())


def price_text(value: Decimal, grouping: bool = True) -> str:
    """``32`` -> ``32.00``, ``1200`` -> ``1,200.00`` (no comma with ``grouping=False``);
    ``0.0375`` stays as it is (prices have up to four decimals)."""
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{value:{',' if grouping else ''}.{places}f}"


def table_of(v: PriceVersionPublic) -> dict[Key, Decimal]:
    return {(p.resource, p.gpu_model, p.tier): p.unit_price for p in v.prices}


def read_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise usage(f"cannot read {path}: {exc}", "--from-file") from None
    if not isinstance(data, dict) or not isinstance(data.get("prices"), dict):
        raise usage(f"{path} has no 'prices:' mapping (see petaport prices export)", "--from-file")
    return data


def _diff_rows(old: Mapping[Key, Decimal], new: Mapping[Key, Decimal]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for key in sorted(set(old) | set(new), key=lambda k: (k[0], k[1] or "", k[2])):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        change = "added" if before is None else "removed" if after is None else (
            f"{(after - before) * 100 / before:+.1f}%" if before else "new price")  # fmt: skip
        rows.append((key_text(key), price_text(before) if before is not None else "-",
                     price_text(after) if after is not None else "-", change))  # fmt: skip
    return rows


def show_diff(latest: PriceVersionPublic, body: PriceVersionCreate) -> None:
    old = table_of(latest)
    new: dict[Key, Decimal] = {(p.resource, p.gpu_model, p.tier): p.unit_price for p in body.prices}
    rows = _diff_rows(old, new)
    start = body.effective_from.astimezone(local_zone())
    title = f"{body.id} from {start:%Y-%m-%d %H:%M %Z}, against {latest.id}"
    console.print(table(("PRICE", "NOW", "NEW", "CHANGE"), rows, title=title), markup=False)
    same = len(set(old) & set(new)) - sum(1 for r in rows if r[3] not in ("added", "removed"))
    console.print(f"{len(rows)} changed, {same} unchanged.", markup=False)
    for name, now, then in (
        ("minimum billed seconds", latest.minimum_billable_s, body.minimum_billable_s),
        ("preemption credit", latest.preemption_credit, body.preemption_credit),
    ):
        if now != then:
            console.print(f"{name}: {now} -> {then}", markup=False)


@prices_app.callback()
def prices(ctx: typer.Context, output: OutputOption = OutputFormat.TABLE) -> None:
    """The price book: HKD per unit-hour by resource, GPU model and tier, per version."""
    if ctx.invoked_subcommand is not None:
        return
    with api() as client:
        versions = client.list_prices()
    if output is OutputFormat.JSON:
        print_json(versions)
        return
    cols = ("VERSION", "FROM", "RESOURCE", "MODEL", "TIER", "HKD PER UNIT-HOUR")
    rows = [
        (v.id, v.effective_from.astimezone(local_zone()).isoformat(timespec="minutes"),
         p.resource, p.gpu_model or "(default)", p.tier, price_text(p.unit_price))
        for v in versions
        for p in v.prices
    ]  # fmt: skip
    console.print(table(cols, rows))


def _latest(versions: list[PriceVersionPublic]) -> PriceVersionPublic:
    return max(versions, key=lambda v: v.effective_from)


def _body(latest: PriceVersionPublic, data: Mapping[str, Any], sets: list[str],
          effective: datetime, version_id: str | None) -> PriceVersionCreate:  # fmt: skip
    given = data.get("prices")
    table_ = (
        {parse_key(k): parse_price(str(v), "--from-file") for k, v in given.items()}
        if isinstance(given, dict) else table_of(latest)
    )  # fmt: skip
    for item in sets:
        name, sep, price = item.partition("=")
        if not sep:
            raise usage(f"--set takes KEY=PRICE, not {item!r}", "--set")
        table_[parse_key(name)] = parse_price(price, "--set")
    local = effective.astimezone(local_zone())
    default_id = f"list-{local:%Y%m%d}" + ("" if local.time() == time() else f"-{local:%H%M}")
    return PriceVersionCreate(
        id=version_id or str(data.get("id") or default_id), effective_from=effective,
        prices=[PriceCreate(resource=r, gpu_model=m, tier=t, unit_price=p)  # type: ignore[arg-type]
                for (r, m, t), p in table_.items()],
        minimum_billable_s=int(data.get("minimum_billable_s") or latest.minimum_billable_s),
        preemption_credit=data.get("preemption_credit") or latest.preemption_credit,  # type: ignore[arg-type]
    )  # fmt: skip


@prices_app.command("add", cls=CliCommand)
def add(
    effective: Annotated[str | None, typer.Option(
        "--effective", help="When it takes effect: 2027-01-01 (midnight, PETAPORT_TIMEZONE) or "
        "2027-01-01T09:00; default: the file's 'effective'.")] = None,
    from_file: Annotated[Path | None, typer.Option(
        "--from-file", help="YAML as `prices export` writes it; default: the latest version.",
        exists=True, dir_okay=False)] = None,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="Change one price: gpu_hour/H800/on-demand=34.00 (repeatable).")] = None,
    version_id: Annotated[str | None, typer.Option("--id", help="Default: list-YYYYMMDD.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the change only.")] = False,
    output: OutputOption = OutputFormat.TABLE,
) -> None:  # fmt: skip
    """Add a price version (centre admins); past charges never change:
    prices add --effective 2027-01-01 --from-file prices.yaml"""
    data = read_file(from_file) if from_file else {}
    when = effective or data.get("effective")
    if not when:
        raise usage("say when the version takes effect: --effective 2027-01-01", "--effective")
    with api() as client:
        latest = _latest(client.list_prices())
        body = _body(latest, data, sets or [], parse_effective(str(when)), version_id)
        if output is OutputFormat.TABLE:
            show_diff(latest, body)
        if dry_run:
            console.print("Nothing stored (--dry-run).", markup=False)
            return
        added = client.add_price_version(body)
    if output is OutputFormat.JSON:
        print_json(added)
    else:
        console.print(f"Added {added.id}, in force from "
                      f"{added.effective_from.astimezone(local_zone()):%Y-%m-%d %H:%M %Z}.",
                      markup=False)  # fmt: skip


@prices_app.command("export", cls=CliCommand)
def export(
    out: Annotated[
        Path | None, typer.Option("--output-file", "-f", help="Default: stdout.")
    ] = None,
) -> None:
    """The latest price version as YAML, to edit and give to `prices add --from-file`."""
    with api() as client:
        latest = _latest(client.list_prices())
    lines = [
        f"# {latest.id}: HKD per unit-hour (storage: per TiB-month); RESOURCE[/MODEL]/TIER",
        "effective: ''  # e.g. 2027-01-01 (midnight, PETAPORT_TIMEZONE)",
        f"minimum_billable_s: {latest.minimum_billable_s}",
        f"preemption_credit: {latest.preemption_credit}",
        "prices:",
        *(f"  {key_text(k)}: '{price_text(p, grouping=False)}'"
          for k, p in sorted(table_of(latest).items(), key=lambda kv: key_text(kv[0]))),
    ]  # fmt: skip
    text = "\n".join(lines) + "\n"
    if out is None:
        console.out(text, end="", highlight=False)
    else:
        out.write_text(text, encoding="utf-8")
