"""Import the national CCTV standard data into the registry; export it back (standard CSV, GeoJSON).

``import_standard`` is one use case and one transaction: it parses the file as it goes, inserts
new sites and their cameras in bulk, updates changed sites, leaves unchanged ones alone, and
appends its audit entries before the single commit. An error anywhere rolls everything back.

Speed matters (a national file has ~100k sites and ~250k cameras), so rows are not ORM objects:
existing sites are preloaded as ``site_key → (id, digest)``, site ids are numbered from a block
reserved under a table lock, a thread parses and encodes the next batch while the database works
on the current one, and new rows are written with the driver's bulk path inside the unit of
work's transaction (text ``COPY`` on PostgreSQL, ``executemany`` on SQLite). Updates, which are
few in a normal re-import, go through SQLAlchemy Core ``executemany``.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.policy import load_default
from gwanje.policy.model import Policy
from gwanje.registry.events import StandardDataImported
from gwanje.registry.models import Camera, Site
from gwanje.registry.standard import (
    SENTINEL_POSITION_CODES,
    ColumnMapping,
    Reason,
    SiteRecord,
    Source,
    StandardOut,
    StandardRow,
    legacy_site_key,
    open_standard,
    write_standard_file,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
DepartmentLookup = Callable[[str, str], "AnnexDefaults | None"]

SITES = Site.__table__
CAMERAS = Camera.__table__

BATCH_ROWS = 10_000  # rows per COPY: bigger batches amortise PostgreSQL's per-statement cost
FIRST_BATCH_ROWS = 2_000
REJECTED_DETAIL_LIMIT = 1000  # lines listed in the summary audit entry; the summary itself has them all


# ---- the result --------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    file_sha256: str
    encoding: str
    form: str
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, tuple[Reason, ...]]] = field(default_factory=list)
    # Lines kept, but not as the file said (an unmapped 설치목적구분 registered as ``other``).
    warnings: list[tuple[int, tuple[Reason, ...]]] = field(default_factory=list)
    cameras_added: int = 0
    cameras_retired: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.imported + self.updated + self.unchanged + len(self.rejected)

    def _warned(self, code: str) -> int:
        return sum(1 for _, reasons in self.warnings if any(r.code == code for r in reasons))

    @property
    def retention_defaulted(self) -> int:
        """Rows kept with the policy's retention because the file's 보관일수 was 0 or empty."""
        return self._warned("retention_default")

    @property
    def repeated_rows(self) -> int:
        """Rows repeating an earlier row's site, whose cameras were kept as a site of their own."""
        return self._warned("repeated_row")

    @property
    def sentinel_positions(self) -> int:
        """Rows refused because their position is a placeholder (0/0, 99.999999, 999.999999)."""
        return sum(1 for _, reasons in self.rejected if any(r.code in SENTINEL_POSITION_CODES for r in reasons))

    def audit_payload(self) -> dict[str, Any]:
        lines = [
            {"line": line, "reasons": [r.code for r in reasons]}
            for line, reasons in self.rejected[:REJECTED_DETAIL_LIMIT]
        ]
        warned = [
            {"line": line, "warnings": [r.code for r in reasons]}
            for line, reasons in self.warnings[:REJECTED_DETAIL_LIMIT]
        ]
        payload: dict[str, Any] = {
            "file_sha256": self.file_sha256,
            "encoding": self.encoding,
            "form": self.form,
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
            "rejected_lines": lines,
            "warnings": len(self.warnings),
            "warned_lines": warned,
            "retention_defaulted": self.retention_defaulted,
            "repeated_rows": self.repeated_rows,
            "sentinel_positions": self.sentinel_positions,
            "cameras_added": self.cameras_added,
            "cameras_retired": self.cameras_retired,
        }
        if len(self.rejected) > REJECTED_DETAIL_LIMIT:
            payload["rejected_lines_truncated"] = True
        if len(self.warnings) > REJECTED_DETAIL_LIMIT:
            payload["warned_lines_truncated"] = True
        return payload


# ---- policy: which department owns a camera of a given primary purpose ----------------------------------


@dataclass(frozen=True)
class AnnexDefaults:
    department: str | None
    storage_mode: str = "central"
    camera_group: str | None = None


def annex_defaults(policy: Any) -> DepartmentLookup:
    """Department (and storage mode) for ``(primary_purpose, owner)`` from the policy's Annex 1.

    Only a row with the same owner counts: a police camera is never filed under a district department.
    """
    table: dict[tuple[str, str], AnnexDefaults] = {}
    for row in getattr(policy, "annex1", ()):
        key = (row.primary_purpose, row.owner)
        current = table.get(key)
        # A plain row (no camera group) wins over a camera group's row of the same purpose.
        if current is None or (current.camera_group is not None and row.camera_group is None):
            table[key] = AnnexDefaults(row.department, row.storage_mode, row.camera_group)
    return lambda purpose, owner: table.get((purpose, owner))


def _lookup(policy: Any) -> DepartmentLookup:
    if policy is None:
        policy = load_default()
    if callable(policy) and not hasattr(policy, "annex1"):
        return policy
    return annex_defaults(policy)


# ---- row encoding and bulk writing -------------------------------------------------------------------
#
# New rows are encoded completely while parsing (in the read-ahead thread): a text line for
# PostgreSQL's COPY, a tuple for SQLite's executemany. Site ids come from a block reserved while the
# import holds the sites table (see _IdBlock), so encoding needs no database round trip.

SITE_COLUMNS = (
    "id",
    "site_key",
    "managing_agency",
    "road_address",
    "lot_address",
    "agency_phone",
    "latitude",
    "longitude",
    "standard_purpose",
    "data_date",
    "row_digest",
    "created_at",
    "updated_at",
)
CAMERA_COLUMNS = (
    "site_id",
    "management_number",
    "search_text",
    "department",
    "owner_organisation",
    "primary_purpose",
    "secondary_purposes",
    "camera_group",
    "storage_mode",
    "latitude",
    "longitude",
    "direction",
    "resolution_mp",
    "retention_days",
    "installed_month",
    "status",
    "created_at",
    "updated_at",
)

_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _esc(value: str | None) -> str:
    """A text field in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPE)
    return value


def _num(value: float | int | None) -> str:
    return "\\N" if value is None else repr(value)


def _haystack_tail(rec: SiteRecord) -> str:
    """A camera's search text without its management number: service._haystack's parts, in its order.

    The parser has already stripped the parts, so joining and lower-casing once gives the same text
    as ``rules.search_text`` part by part, at a third of the cost.
    """
    return " ".join([p for p in (rec.road_address, rec.lot_address, rec.managing_agency, rec.direction) if p]).lower()


def _annex(defaults: DepartmentLookup, rec: SiteRecord) -> tuple[str | None, str, str | None]:
    """Department, storage mode and camera group of a new camera: as the file says (a gwanje export),
    else the policy's Annex 1 row for its purpose and owner."""
    annex = defaults(rec.primary_purpose, rec.owner_organisation)
    if rec.department is not None:
        same = annex is not None and annex.department == rec.department
        storage = rec.storage_mode or (annex.storage_mode if same else "central")
        return rec.department, storage, rec.camera_group
    return (annex.department, annex.storage_mode, annex.camera_group) if annex else (None, "central", None)


class _Encoder:
    """Builds new site and camera rows for one dialect."""

    def __init__(self, dialect: str, now: datetime, bind: Callable[[Any, str, Any], Any], defaults: DepartmentLookup):
        self.text = dialect == "postgresql"
        self.defaults = defaults
        self.now = now.isoformat() if self.text else bind(SITES, "created_at", now)
        self._dates: dict[date | None, Any] = {}
        self._bind = bind

    def _date(self, value: date | None) -> Any:
        out = self._dates.get(value, self)
        if out is self:
            if self.text:
                out = "\\N" if value is None else value.isoformat()
            else:
                out = self._bind(SITES, "data_date", value)
            self._dates[value] = out
        return out

    def site(self, rec: SiteRecord, site_id: int) -> Any:
        if self.text:
            return (
                f"{site_id}\t{_esc(rec.site_key)}\t{_esc(rec.managing_agency)}\t{_esc(rec.road_address)}"
                f"\t{_esc(rec.lot_address)}\t{_esc(rec.agency_phone)}\t{rec.latitude!r}\t{rec.longitude!r}"
                f"\t{_esc(rec.standard_purpose)}\t{self._date(rec.data_date)}\t{rec.digest}"
                f"\t{self.now}\t{self.now}\n"
            )
        return (
            site_id,
            rec.site_key,
            rec.managing_agency,
            rec.road_address,
            rec.lot_address,
            rec.agency_phone,
            rec.latitude,
            rec.longitude,
            rec.standard_purpose,
            self._date(rec.data_date),
            rec.digest,
            self.now,
            self.now,
        )

    def cameras(self, rec: SiteRecord, site_id: int, numbers: Iterable[int]) -> list[Any]:
        department, storage, group = _annex(self.defaults, rec)
        tail = _haystack_tail(rec)
        tail = " " + tail if tail else ""
        key = rec.site_key
        if self.text:
            const = (
                f"{_esc(department)}\t{rec.owner_organisation}\t{rec.primary_purpose}\t,\t{_esc(group)}"
                f"\t{storage}\t{rec.latitude!r}\t{rec.longitude!r}\t{_esc(rec.direction)}"
                f"\t{_num(rec.resolution_mp)}\t{rec.retention_days}\t{_esc(rec.installed_month)}"
                f"\tactive\t{self.now}\t{self.now}\n"
            )
            key, key_lower, tail = _esc(key), _esc(key.lower()), _esc(tail)
            return [f"{site_id}\t{key}-{n:02d}\t{key_lower}-{n:02d}{tail}\t{const}" for n in numbers]
        const = (
            department,
            rec.owner_organisation,
            rec.primary_purpose,
            ",",
            group,
            storage,
            rec.latitude,
            rec.longitude,
            rec.direction,
            rec.resolution_mp,
            rec.retention_days,
            rec.installed_month,
            "active",
            self.now,
            self.now,
        )
        key_lower = key.lower()
        return [(site_id, f"{key}-{n:02d}", f"{key_lower}-{n:02d}{tail}", *const) for n in numbers]

    def payload(self, rows: list[Any]) -> Any:
        """What the writer sends: one COPY buffer, or the tuples as they are."""
        return "".join(rows).encode("utf-8") if self.text else rows


class _IdBlock:
    """Site ids for this import: taken in order from the first free one, published at the end.

    On PostgreSQL the import locks ``sites`` against other writers (plain reads go on) for the rest of
    its transaction, so nobody else can draw from the id sequence meanwhile and the ids can be numbered
    here, without a round trip per batch; the sequence is moved past them before commit. On SQLite the
    unit of work already holds the database's write lock (BEGIN IMMEDIATE).
    """

    def __init__(self, conn: Connection):
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        top = conn.execute(select(func.max(SITES.c.id))).scalar() or 0
        if self.postgres:
            conn.exec_driver_sql("LOCK TABLE sites IN EXCLUSIVE MODE")
            self.sequence = conn.exec_driver_sql("SELECT pg_get_serial_sequence('sites', 'id')").scalar()
            top = conn.execute(select(func.max(SITES.c.id))).scalar() or 0  # again, now that it is locked
            last, called = conn.exec_driver_sql(f"SELECT last_value, is_called FROM {self.sequence}").one()
            top = max(top, last if called else last - 1)
        self.first = self.next = top + 1

    def take(self) -> int:
        value = self.next
        self.next += 1
        return value

    def publish(self) -> None:
        if self.postgres and self.next > self.first:
            self.conn.exec_driver_sql(
                "SELECT setval(%(seq)s::regclass, %(last)s)", {"seq": self.sequence, "last": self.next - 1}
            )


class _BulkWriter:
    """Appends rows inside the unit of work's transaction with the driver's fastest path."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.dialect = conn.dialect.name
        self._procs: dict[tuple[str, str], Callable[[Any], Any]] = {}

    def bind_value(self, table, column: str, value: Any) -> Any:  # noqa: ANN001
        """A value as the driver takes it (SQLite stores datetimes and dates as text)."""
        if value is None:
            return None
        proc = self._procs.get((table.name, column))
        if proc is None:
            proc = table.c[column].type.bind_processor(self.conn.dialect) or (lambda v: v)
            self._procs[(table.name, column)] = proc
        return proc(value)

    def insert(self, table, columns: tuple[str, ...], payload: Any) -> None:  # noqa: ANN001
        """Insert one encoded payload (see :meth:`_Encoder.payload`)."""
        self.insert_pieces(table, columns, [(0, payload)])

    def insert_pieces(
        self,
        table: Any,
        columns: tuple[str, ...],
        pieces: list[tuple[int, Any]],
        after: Callable[[int], None] | None = None,
    ) -> None:
        """Insert payload pieces in one statement where the driver allows; ``after(mark)`` follows each piece."""
        if not any(payload for _, payload in pieces):
            for mark, _ in pieces:
                if after is not None:
                    after(mark)
            return
        if self.dialect == "postgresql":
            raw = self.conn.connection.driver_connection
            # One COPY per batch: each statement has a fixed cost that small batches pay many times.
            copy_sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
            with raw.cursor() as cur, cur.copy(copy_sql) as copy:
                for mark, payload in pieces:
                    if payload:
                        copy.write(payload)
                    if after is not None:
                        after(mark)
        else:
            sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for mark, payload in pieces:
                if payload:
                    self.conn.exec_driver_sql(sql, payload)
                if after is not None:
                    after(mark)


# ---- classifying ahead of the database -------------------------------------------------------------------


@dataclass
class _Batch:
    rows: int = 0
    rejected: list[tuple[int, tuple[Reason, ...]]] = field(default_factory=list)
    warnings: list[tuple[int, tuple[Reason, ...]]] = field(default_factory=list)
    unchanged: int = 0
    changed: list[tuple[int, SiteRecord]] = field(default_factory=list)
    sites: Any = None  # encoded payload of the new sites
    cameras: list[tuple[int, Any]] = field(default_factory=list)  # (rows of the batch covered, payload)
    new_sites: int = 0
    new_cameras: int = 0


def _classify(
    rows: Iterable[StandardRow],
    existing: dict[str, tuple[int, str | None]],
    encoder: _Encoder,
    ids: _IdBlock,
    size: int,
    step: int,
) -> Iterator[_Batch]:
    """Sort rows into rejected / unchanged / changed / new, and encode the new ones. No database access.

    A batch's cameras come in pieces of about ``step`` file rows, so that progress can be reported
    between them while one COPY streams the whole batch.
    """
    batch, sites, cameras = _Batch(), [], []
    claimed: set[str] = set()  # sites found under the key of the identity rule before this one
    limit = min(size, FIRST_BATCH_ROWS)  # a small first batch gets the database working sooner
    for row in rows:
        batch.rows += 1
        rec = row.record
        if rec is None:
            batch.rejected.append((row.line, row.reasons))
        else:
            if row.warnings:
                batch.warnings.append((row.line, row.warnings))
            hit = existing.get(rec.site_key)
            if hit is None:
                # A site imported when the key rested on agency, purpose and position only: the first
                # row of that old identity takes it over (its key changes, its cameras stay).
                legacy = legacy_site_key(rec) if existing else None  # nothing to take over in an empty registry
                if legacy is not None and legacy not in claimed and legacy in existing:
                    claimed.add(legacy)
                    batch.changed.append((existing[legacy][0], rec))
                else:
                    site_id = ids.take()
                    sites.append(encoder.site(rec, site_id))
                    new = encoder.cameras(rec, site_id, range(1, rec.camera_count + 1))
                    cameras.extend(new)
                    batch.new_cameras += len(new)
            elif hit[1] == rec.digest:
                batch.unchanged += 1
            else:
                batch.changed.append((hit[0], rec))
        if batch.rows % step == 0 or batch.rows >= limit:
            batch.cameras.append((batch.rows, encoder.payload(cameras)))
            cameras = []
        if batch.rows >= limit:
            yield _seal(batch, sites, encoder)
            batch, sites, limit = _Batch(), [], size
    if batch.rows:
        if batch.rows % step:
            batch.cameras.append((batch.rows, encoder.payload(cameras)))
        yield _seal(batch, sites, encoder)


def _seal(batch: _Batch, sites: list[Any], encoder: _Encoder) -> _Batch:
    batch.new_sites = len(sites)
    batch.sites = encoder.payload(sites)
    return batch


def _read_ahead(items: Iterator[_Batch], depth: int = 2) -> Iterator[_Batch]:
    """Parse and encode in a thread while the database works on the batch before.

    PostgreSQL maintains indexes and checks keys while the driver waits with the GIL released; that
    is when the next batch gets parsed. A batch costs the consumer only a few round trips, so the two
    threads rarely wait for each other. The thread never touches the database.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer and raised there
            put(exc)

    thread = threading.Thread(target=work, name="standard-import-parse", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


# ---- the use case ------------------------------------------------------------------------------


def import_standard(
    db: Database,
    source: Source,
    actor: Actor,
    *,
    policy: Any = None,
    progress: Progress | None = None,
    batch_size: int | None = None,
    columns: ColumnMapping | str | None = None,
) -> ImportSummary:
    """Apply a standard-data file to the registry in one transaction and return what happened.

    ``policy`` is a :class:`gwanje.policy.Policy` (its Annex 1 gives each camera's department, its
    ``standard_data`` each site's purpose and owner), a callable ``(primary_purpose, owner) ->
    AnnexDefaults | None`` (with the packaged policy's ``standard_data``), or None for the packaged policy.
    ``progress(done, total)`` is called about every 2 %; ``total`` is estimated from the line count
    until the last call, which reports the exact row count. ``columns`` maps a non-standard header
    onto the standard's columns (:func:`gwanje.registry.standard.parse_column_mapping`).
    """
    started = time.perf_counter()
    # Refuses an undecodable file or a bad header before touching the database.
    reader = open_standard(source, policy if isinstance(policy, Policy) else None, columns)
    defaults = _lookup(policy)
    summary = ImportSummary(reader.sha256, reader.header.encoding, reader.header.form)
    total = reader.estimated_rows()
    step = max(1, -(-total // 50))  # progress about every 2 %
    size = batch_size or BATCH_ROWS
    now = utcnow()
    done = 0
    last = (0, 0)

    with db.uow() as uow:
        session = uow.session
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            # One large transaction: wait for the WAL flush once, at commit, not per batch.
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        ids = _IdBlock(conn)  # on PostgreSQL this locks sites against other writers until commit
        writer = _BulkWriter(conn)
        encoder = _Encoder(conn.dialect.name, now, writer.bind_value, defaults)
        existing: dict[str, tuple[int, str | None]] = {
            key: (site_id, digest)
            for key, site_id, digest in conn.execute(select(SITES.c.site_key, SITES.c.id, SITES.c.row_digest))
        }
        changed: list[tuple[int, SiteRecord]] = []

        def report(rows_into_batch: int) -> None:
            nonlocal last
            if progress is not None and rows_into_batch:
                last = (done + rows_into_batch, max(total, done + rows_into_batch))
                progress(*last)

        for batch in _read_ahead(_classify(reader, existing, encoder, ids, size, step)):
            summary.rejected.extend(batch.rejected)
            summary.warnings.extend(batch.warnings)
            summary.unchanged += batch.unchanged
            changed.extend(batch.changed)
            writer.insert(SITES, SITE_COLUMNS, batch.sites)
            writer.insert_pieces(CAMERAS, CAMERA_COLUMNS, batch.cameras, report)
            summary.imported += batch.new_sites
            summary.cameras_added += batch.new_cameras
            done += batch.rows

        ids.publish()
        audit = AuditLog(session)
        if changed:
            audit.append_many(actor, _apply_changes(conn, writer, encoder, changed, now, summary))
        audit.append(actor, Change("registry.import", "standard_file", reader.sha256, None, summary.audit_payload()))
        uow.record(
            StandardDataImported(
                reader.sha256, summary.imported, summary.updated, summary.cameras_added, summary.cameras_retired
            )
        )
        uow.commit()

    summary.seconds = time.perf_counter() - started
    if progress is not None and last != (done, done):
        progress(done, done)
    log.info(
        "standard import %s: %d new, %d updated, %d unchanged, %d rejected, %d warned in %.1fs",
        reader.sha256[:12],
        summary.imported,
        summary.updated,
        summary.unchanged,
        len(summary.rejected),
        len(summary.warnings),
        summary.seconds,
    )
    return summary


# ---- changed sites -----------------------------------------------------------------------------

SITE_FIELDS = (
    "managing_agency",
    "road_address",
    "lot_address",
    "agency_phone",
    "latitude",
    "longitude",
    "standard_purpose",
    "data_date",
)
CAMERA_FIELDS = (
    "primary_purpose",
    "owner_organisation",
    "direction",
    "resolution_mp",
    "retention_days",
    "installed_month",
)
_NUMBER_RE = re.compile(r"-(\d{1,3})$")


def _camera_number(site_key: str, management_number: str) -> int | None:
    """n for cameras numbered ``{site_key}-N`` (this importer writes ``-NN``, the seed ``-N``); None for
    cameras registered by hand under another number."""
    if not management_number.startswith(site_key + "-"):
        return None
    m = _NUMBER_RE.search(management_number)
    return int(m.group(1)) if m and len(management_number) == len(site_key) + 1 + len(m.group(1)) else None


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _apply_changes(
    conn: Connection,
    writer: _BulkWriter,
    encoder: _Encoder,
    changed: list[tuple[int, SiteRecord]],
    now: datetime,
    summary: ImportSummary,
) -> list[Change]:
    """Update changed sites and their numbered cameras; returns one audit change per site."""
    defaults = encoder.defaults
    changes: list[Change] = []
    site_updates: list[dict[str, Any]] = []
    camera_updates: list[dict[str, Any]] = []
    camera_retirements: list[dict[str, Any]] = []
    digest_only: list[dict[str, Any]] = []
    new_cameras: list[Any] = []
    cam_cols = [
        CAMERAS.c[name]
        for name in (
            "id",
            "site_id",
            "management_number",
            "status",
            "department",
            "storage_mode",
            "camera_group",
            "latitude",
            "longitude",
            "search_text",
            *CAMERA_FIELDS,
        )
    ]
    for i in range(0, len(changed), 500):
        chunk = changed[i : i + 500]
        ids = [site_id for site_id, _ in chunk]
        sites = {
            r.id: r
            for r in conn.execute(
                select(SITES.c.id, SITES.c.site_key, *[SITES.c[f] for f in SITE_FIELDS]).where(SITES.c.id.in_(ids))
            )
        }
        cams: dict[int, list] = {site_id: [] for site_id in ids}
        for cam in conn.execute(select(*cam_cols).where(CAMERAS.c.site_id.in_(ids)).order_by(CAMERAS.c.id)):
            cams[cam.site_id].append(cam)
        for site_id, rec in chunk:
            site = sites[site_id]
            live = [c for c in cams[site_id] if c.status != "retired"]
            first = live[0] if live else None
            before: dict[str, Any] = {}
            after: dict[str, Any] = {}
            old_key = site.site_key  # differs from the record's for a site found under its legacy key
            if old_key != rec.site_key:
                before["site_key"], after["site_key"] = old_key, rec.site_key
            for name in SITE_FIELDS:
                old = _as_date(getattr(site, name)) if name == "data_date" else getattr(site, name)
                new = getattr(rec, name)
                if old != new:
                    before[name], after[name] = old, new
            if len(live) != rec.camera_count:
                before["camera_count"], after["camera_count"] = len(live), rec.camera_count
            for name in CAMERA_FIELDS:
                old = getattr(first, name) if first is not None else None
                new = getattr(rec, name)
                if old != new:
                    before[name], after[name] = old, new
            cameras_before = len(camera_updates) + len(camera_retirements) + len(new_cameras)
            site_updates.append(
                {
                    "b_id": site_id,
                    "site_key": rec.site_key,
                    "row_digest": rec.digest,
                    "updated_at": now,
                    **{name: getattr(rec, name) for name in SITE_FIELDS},
                }
            )

            new_department, new_storage, new_group = _annex(defaults, rec)
            tail = _haystack_tail(rec)
            numbered = {}
            for cam in cams[site_id]:
                n = _camera_number(old_key, cam.management_number)
                if n is not None:
                    numbered[n] = cam
            added = retired = 0
            for n, cam in sorted(numbered.items()):
                if n > rec.camera_count:
                    if cam.status != "retired":
                        camera_retirements.append({"b_id": cam.id})
                        retired += 1
                    continue
                sticky = cam.primary_purpose == rec.primary_purpose and cam.owner_organisation == rec.owner_organisation
                values = {
                    "primary_purpose": rec.primary_purpose,
                    "owner_organisation": rec.owner_organisation,
                    "department": cam.department if sticky else new_department,
                    "storage_mode": cam.storage_mode if sticky else new_storage,
                    "camera_group": cam.camera_group if sticky else new_group,
                    "latitude": rec.latitude,
                    "longitude": rec.longitude,
                    "direction": rec.direction,
                    "resolution_mp": rec.resolution_mp,
                    "retention_days": rec.retention_days,
                    "installed_month": rec.installed_month,
                }
                number = rec.site_key + cam.management_number[len(old_key) :]
                values["management_number"] = number
                values["search_text"] = f"{number.lower()} {tail}".strip()
                reactivate = cam.status == "retired"
                if reactivate or any(getattr(cam, k) != v for k, v in values.items()):
                    camera_updates.append(
                        {
                            "b_id": cam.id,
                            **values,
                            "updated_at": now,
                            "status": "active" if reactivate else cam.status,
                            "retired_at": None,
                        }
                    )
                    added += reactivate
            missing = [n for n in range(1, rec.camera_count + 1) if n not in numbered]
            new_cameras.extend(encoder.cameras(rec, site_id, missing))
            added += len(missing)
            summary.cameras_added += added
            summary.cameras_retired += retired
            if not before and len(camera_updates) + len(camera_retirements) + len(new_cameras) == cameras_before:
                # Only the stored digest differed (a seeded site, or a row written differently): the
                # site is as the file says, so it is unchanged; the digest is recorded, nothing else.
                site_updates.pop()
                digest_only.append({"b_id": site_id, "row_digest": rec.digest})
                summary.unchanged += 1
                continue
            summary.updated += 1
            changes.append(Change("registry.site_update", "site", rec.site_key, before, after))

    if digest_only:
        conn.execute(
            update(SITES).where(SITES.c.id == bindparam("b_id")).values(row_digest=bindparam("row_digest")),
            digest_only,
        )
    if site_updates:
        conn.execute(
            update(SITES)
            .where(SITES.c.id == bindparam("b_id"))
            .values(
                site_key=bindparam("site_key"),
                row_digest=bindparam("row_digest"),
                updated_at=bindparam("updated_at"),
                **{name: bindparam(name) for name in SITE_FIELDS},
            ),
            site_updates,
        )
    if camera_updates:
        names = [k for k in camera_updates[0] if k != "b_id"]
        conn.execute(
            update(CAMERAS).where(CAMERAS.c.id == bindparam("b_id")).values(**{k: bindparam(k) for k in names}),
            camera_updates,
        )
    if camera_retirements:
        conn.execute(
            update(CAMERAS)
            .where(CAMERAS.c.id == bindparam("b_id"))
            .values(status="retired", retired_at=now, updated_at=now),
            camera_retirements,
        )
    writer.insert(CAMERAS, CAMERA_COLUMNS, encoder.payload(new_cameras))
    return changes


# ---- export ------------------------------------------------------------------------------------


def _stream(session, stmt, size: int = 2000):  # noqa: ANN001, ANN202
    return session.execute(stmt.execution_options(yield_per=size))


def export_standard(
    db: Database, path: str | os.PathLike, encoding: str = "utf-8-sig", *, extended: bool = True
) -> int:
    """Write every site with at least one camera in service as a standard file.

    카메라대수 counts cameras that are not retired; a site whose cameras are all retired is left out
    (the standard has no row for a site without cameras). ``extended`` (the default) adds, after the
    13 columns, the site's 관리번호 and its cameras' department, primary purpose, camera group and
    storage mode, so that importing the file into another database rebuilds the same registry
    (Annex 1 included); ``extended=False`` writes the 13 columns only. A site's values are those of
    its first camera in service. Returns the number of rows written.
    """
    s, c = SITES.c, CAMERAS.c
    stmt = (
        select(
            s.id,
            s.site_key,
            c.department,
            c.camera_group,
            c.storage_mode,
            s.managing_agency,
            s.road_address,
            s.lot_address,
            s.standard_purpose,
            s.agency_phone,
            s.latitude,
            s.longitude,
            s.data_date,
            c.primary_purpose,
            c.resolution_mp,
            c.direction,
            c.retention_days,
            c.installed_month,
        )
        .join_from(SITES, CAMERAS, c.site_id == s.id)
        .where(c.status != "retired")
        .order_by(s.id, c.id)
    )
    with db.reading() as session:

        def sites() -> Iterator[StandardOut]:
            for _, group in groupby(_stream(session, stmt), key=lambda r: r.id):
                rows = list(group)
                r = rows[0]
                yield StandardOut(
                    managing_agency=r.managing_agency,
                    road_address=r.road_address,
                    lot_address=r.lot_address,
                    standard_purpose=r.standard_purpose,
                    primary_purpose=r.primary_purpose,
                    camera_count=len(rows),
                    resolution_mp=r.resolution_mp,
                    direction=r.direction,
                    retention_days=r.retention_days,
                    installed_month=r.installed_month,
                    agency_phone=r.agency_phone,
                    latitude=r.latitude,
                    longitude=r.longitude,
                    data_date=_as_date(r.data_date),
                    site_key=r.site_key,
                    department=r.department,
                    camera_group=r.camera_group,
                    storage_mode=r.storage_mode,
                )

        return write_standard_file(sites(), path, encoding=encoding, extended=extended)


GEOJSON_PROPERTIES = (
    "management_number",
    "name",
    "site_key",
    "department",
    "owner_organisation",
    "primary_purpose",
    "camera_group",
    "status",
    "storage_mode",
    "direction",
    "direction_deg",
    "resolution_mp",
    "retention_days",
    "installed_month",
    "road_address",
    "lot_address",
)


def export_geojson(db: Database, path: str | os.PathLike, *, include_retired: bool = False) -> int:
    """Write cameras as an RFC 7946 FeatureCollection of Points ([lon, lat], at most 7 decimals).

    Streamed row by row; returns the number of features written.
    """
    s, c = SITES.c, CAMERAS.c
    stmt = (
        select(
            c.id,
            c.management_number,
            c.name,
            s.site_key,
            c.department,
            c.owner_organisation,
            c.primary_purpose,
            c.secondary_purposes,
            c.camera_group,
            c.status,
            c.storage_mode,
            c.direction,
            c.direction_deg,
            c.resolution_mp,
            c.retention_days,
            c.installed_month,
            s.road_address,
            s.lot_address,
            c.latitude,
            c.longitude,
        )
        .join_from(CAMERAS, SITES, c.site_id == s.id)
        .order_by(c.id)
    )
    if not include_retired:
        stmt = stmt.where(c.status != "retired")
    target = Path(path)
    tmp = target.with_name(target.name + ".part")
    n = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    try:
        with db.reading() as session, open(tmp, "w", encoding="utf-8", newline="\n") as out:
            out.write('{"type":"FeatureCollection","features":[')
            for r in _stream(session, stmt):
                props = {name: getattr(r, name) for name in GEOJSON_PROPERTIES}
                props["purposes"] = [r.primary_purpose, *(p for p in r.secondary_purposes.split(",") if p)]
                feature = {
                    "type": "Feature",
                    "id": r.id,
                    "geometry": {"type": "Point", "coordinates": [round(r.longitude, 7), round(r.latitude, 7)]},
                    "properties": props,
                }
                out.write(("\n" if n == 0 else ",\n") + dumps(feature))
                n += 1
            out.write("\n]}\n")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n
