"""The demo centre's catalogue: a few published datasets on the demo storage, so that browsing,
requesting, approving and using data can be tried (and is tested) right after ``make run``.

- ``dataset:hk-weather-bulletins`` (the centre's, public): the AI Lab's training text;
- ``dataset:hk-data-office/hk-rainfall`` (restricted): hourly rainfall by district (synthetic);
- ``dataset:victoria-bank/loan-book-sample`` (resident-only): a synthetic loan book.

Each is sealed as registration seals content (``petaport.sealing``); where the storage's
directories do not allow it (one above is writable by others), the demo still starts, with a
warning, and the content is left as written.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import petaport.lab
from petaport.checksums import tree_digest
from petaport.domain.catalogue import Entry, EntryKind, Sensitivity, Version, VersionStatus
from petaport.domain.ids import new_id
from petaport.sealing import UnsealableContent, make_dirs, seal
from petaport.services.catalogue import CENTRE_DIR
from petaport.services.context import Context
from petaport.storage.repos.catalogue import CatalogueRepo
from petaport.storage.repos.tenancy import TenancyRepo

DUA = ("Use only for the stated purpose inside the centre; do not copy the data out, "
       "re-identify anyone or share it with another project.")  # fmt: skip
log = logging.getLogger(__name__)
LAB_DATA = Path(petaport.lab.__file__).resolve().parent / "data"


def _rainfall(rng: random.Random) -> str:
    districts = ("Central", "Sha Tin", "Tuen Mun", "Yuen Long", "Kwun Tong", "Sai Kung")
    rows = [f"2026-06-{d:02d}T{h:02d}:00+08:00,{x},{rng.choice((0, 0, 0.5, 2, 8, 31))}"
            for d in range(1, 8) for h in range(24) for x in districts]  # fmt: skip
    return "time,district,rain_mm\n" + "\n".join(rows) + "\n"


def _loans(rng: random.Random) -> str:
    rows = [f"L{i:05d},{rng.choice(('retail', 'sme', 'mortgage'))},{rng.randint(10, 900) * 1000},"
            f"{rng.random() < 0.04:d}" for i in range(500)]  # fmt: skip
    return "loan_id,segment,amount_hkd,defaulted\n" + "\n".join(rows) + "\n"


def seed_catalogue(ctx: Context, admin_user_id: str) -> None:
    rng = random.Random(2026)
    root = ctx.settings.storage_root
    items = (
        (None, "hk-weather-bulletins", Sensitivity.PUBLIC, "CC-BY-4.0",
         "Weather bulletins in the style of the Hong Kong Observatory (synthetic text).",
         {"corpus.txt": (LAB_DATA / "hk-weather.txt").read_text()}),
        ("hk-data-office", "hk-rainfall", Sensitivity.RESTRICTED, "CC-BY-4.0",
         "Hourly rainfall by district, one week of June (synthetic).",
         {"rainfall.csv": _rainfall(rng)}),
        ("victoria-bank", "loan-book-sample", Sensitivity.RESIDENT_ONLY, "centre-internal",
         "A synthetic sample of a bank's loan book: must stay in Hong Kong.",
         {"loans.csv": _loans(rng)}),
    )  # fmt: skip
    now = ctx.clock()
    with ctx.db.transaction() as s:
        repo, tenancy = CatalogueRepo(s), TenancyRepo(s)
        for owner, name, sensitivity, licence, description, files in items:
            org = tenancy.find_org_by_slug(owner) if owner else None
            directory = root / (owner or CENTRE_DIR) / "datasets" / name
            make_dirs(directory)
            for filename, text in files.items():
                (directory / filename).write_text(text, encoding="utf-8")
            _seal(directory)
            size, sha = tree_digest(directory)
            entry = Entry(new_id("cat"), org.id if org else None, EntryKind.DATASET, name,
                          description, licence, DUA, sensitivity, f"# {name}\n\n{description}\n",
                          True, now, now, ("demo",))  # fmt: skip
            repo.add_entry(entry)
            repo.add_version(Version(new_id("ver"), entry.id, "1", str(directory), size, sha,
                                     VersionStatus.READY, now, admin_user_id, now))  # fmt: skip


def _seal(directory: Path) -> None:
    try:
        seal(directory)
    except (UnsealableContent, OSError) as exc:
        log.warning("demo dataset %s left unsealed: %s", directory, exc)
