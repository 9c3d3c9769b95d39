"""The Seongdong demo registry: Annex 1 (별표1) reproduced at real camera-site positions.

The agreement's Annex 1 says how many sites and cameras each department runs; the national
standard data file shipped in ``gwanje/data`` says where Seongdong's camera sites really are.
The seed places each Annex 1 row on real sites (preferring sites whose published purpose
matches) and spreads the row's cameras over them. The Annex 1 report is then computed from the
database, so it proves the seed rather than repeating it.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import func, insert, select

from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.policy.model import Annex1Row, Policy
from gwanje.registry import rules
from gwanje.registry.events import RegistrySeeded
from gwanje.registry.models import Camera, Department, Organisation, Site
from gwanje.registry.standard import parse_standard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnnexCount:
    """One printed row of the agreement's Annex 1 (2014.10.): how many sites and cameras."""

    department: str
    primary_purpose: str
    camera_group: str | None
    sites: int
    cameras: int
    # Published 설치목적구분 values whose real sites fit this row best, in order of preference.
    prefer: tuple[str, ...]
    prefix: str


SEED_FILE = "seongdong_cctv_standard_2018.csv"
# The counts as printed in the agreement (u-seongdong-agreement.md, [별표 1]); totals 524 / 1,069.
COUNTS_FILE = "seongdong_annex1_counts.csv"


def annex_counts() -> tuple[AnnexCount, ...]:
    """The printed Annex 1 rows, from the data file shipped with the package."""
    text = resources.files("gwanje.data").joinpath(COUNTS_FILE).read_text(encoding="utf-8")
    return tuple(
        AnnexCount(
            r["department"],
            r["primary_purpose"],
            r["camera_group"] or None,
            int(r["sites"]),
            int(r["cameras"]),
            tuple(p for p in r["prefer"].split(";") if p),
            r["prefix"],
        )
        for r in csv.DictReader(io.StringIO(text))
    )


def _annex_row(policy: Policy, count: AnnexCount) -> Annex1Row:
    for row in policy.annex1:
        if (row.department, row.primary_purpose, row.camera_group) == (
            count.department,
            count.primary_purpose,
            count.camera_group,
        ):
            return row
    raise LookupError(f"policy has no Annex 1 row for {count.department}/{count.primary_purpose}")


def seed_reference_data(session, policy: Policy) -> None:  # noqa: ANN001
    """Organisations and departments from the policy (idempotent)."""
    have_orgs = set(session.scalars(select(Organisation.code)))
    for org in policy.organisations:
        if org.code not in have_orgs:
            session.add(Organisation(code=org.code, name_ko=org.name_ko, name_en=org.name_en))
    have_depts = set(session.scalars(select(Department.code)))
    for dept in policy.departments:
        if dept.code not in have_depts:
            session.add(Department(code=dept.code, name_ko=dept.ko, name_en=dept.en, organisation=dept.organisation))
    session.flush()


def seed_seongdong(db: Database, policy: Policy, actor: Actor | None = None) -> dict[str, int]:
    """Load the Seongdong registry once; a second call changes nothing and says so."""
    actor = actor or Actor.system("seed")
    with db.uow() as uow:
        session = uow.session
        seed_reference_data(session, policy)
        if session.scalar(select(func.count()).select_from(Site).where(Site.site_key.like("SD-%"))):
            uow.commit()
            return {"sites": 0, "cameras": 0}
        source = resources.files("gwanje.data").joinpath(SEED_FILE)
        records = [r.record for r in parse_standard(source.read_bytes(), policy).rows if r.record is not None]
        used: set[int] = set()
        now = utcnow()
        site_rows, camera_rows = [], []
        next_site_id = (session.scalar(select(func.max(Site.id))) or 0) + 1
        for count in annex_counts():
            annex = _annex_row(policy, count)
            chosen = _choose_sites(records, used, count)
            base, extra = divmod(count.cameras, count.sites)
            secondary = [p for p in annex.secondary_purposes if p != annex.primary_purpose]
            owner = policy.organisation(annex.owner)
            for n, idx in enumerate(chosen, start=1):
                rec = records[idx]
                site_id = next_site_id
                next_site_id += 1
                key = f"{count.prefix}-{n:03d}"
                site_rows.append(
                    {
                        "id": site_id,
                        "site_key": key,
                        "managing_agency": owner.name_ko,
                        "road_address": rec.road_address,
                        "lot_address": rec.lot_address,
                        "agency_phone": rec.agency_phone,
                        "latitude": rec.latitude,
                        "longitude": rec.longitude,
                        "standard_purpose": rec.standard_purpose,
                        "data_date": rec.data_date,
                        "row_digest": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                for c in range(1, base + (1 if n <= extra else 0) + 1):
                    number = f"{key}-{c}"
                    camera_rows.append(
                        {
                            "management_number": number,
                            "name": None,
                            "site_id": site_id,
                            "department": annex.department,
                            "owner_organisation": annex.owner,
                            "primary_purpose": annex.primary_purpose,
                            "secondary_purposes": rules.join_purposes(secondary),
                            "camera_group": annex.camera_group,
                            "storage_mode": annex.storage_mode,
                            "latitude": rec.latitude,
                            "longitude": rec.longitude,
                            "direction": rec.direction,
                            "direction_deg": None,
                            "resolution_mp": rec.pixels / 100 if rec.pixels else None,
                            "retention_days": rec.retention_days or policy.retention.default_days,
                            "installed_month": rec.installed_month,
                            "status": "active",
                            "stream_url": None,
                            "search_text": rules.search_text(
                                number, rec.road_address, rec.lot_address, owner.name_ko, rec.direction
                            ),
                            "created_at": now,
                            "updated_at": now,
                            "retired_at": None,
                        }
                    )
        session.execute(insert(Site), site_rows)
        session.execute(insert(Camera), camera_rows)
        AuditLog(session).append(
            actor,
            Change(
                "registry.seed",
                "registry",
                "seongdong",
                after={"sites": len(site_rows), "cameras": len(camera_rows), "source": SEED_FILE},
                clause="annex-1",
            ),
        )
        uow.record(RegistrySeeded(len(site_rows), len(camera_rows)))
        uow.commit()
    log.info("seeded %d sites and %d cameras", len(site_rows), len(camera_rows))
    return {"sites": len(site_rows), "cameras": len(camera_rows)}


def _choose_sites(records, used: set[int], count: AnnexCount) -> list[int]:  # noqa: ANN001
    chosen: list[int] = []
    for wanted in (*count.prefer, None):
        for idx, rec in enumerate(records):
            if len(chosen) == count.sites:
                return chosen
            if idx in used or (wanted is not None and rec.standard_purpose != wanted):
                continue
            used.add(idx)
            chosen.append(idx)
    if len(chosen) < count.sites:
        raise ValueError(f"not enough real sites for {count.department}: {len(chosen)} < {count.sites}")
    return chosen
