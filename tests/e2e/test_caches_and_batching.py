"""What the fast paths of issue 8 finding 10 may not change: answers kept in memory are never older than
the database, a revoked token or a locked account is refused at once, and device messages posted at the
same moment are each stored once and answered with their own outcome.

Caches key on revision counters the database moves itself (triggers), so these hold against the API, a
command-line import and a person editing the tables with SQL alike.
"""

from __future__ import annotations

import json
import threading
import uuid

import pytest
import sqlalchemy as sa

from gwanje.core.revisions import ACCOUNTS, RevisionCache, RevisionReader, read_revisions

from .test_api_registry import CAMERA


def _geojson_ids(harness, headers) -> set[str]:  # noqa: ANN001
    resp = harness.client.get("/api/cameras.geojson", headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/geo+json")
    assert resp.headers["cache-control"] == "no-store"
    return {f["properties"]["management_number"] for f in resp.json()["features"]}


def _search_numbers(harness, headers, q: str = "") -> list[str]:  # noqa: ANN001
    resp = harness.client.get("/api/cameras", params={"q": q, "limit": 100} if q else {"limit": 100}, headers=headers)
    assert resp.status_code == 200, resp.text
    return [c["management_number"] for c in resp.json()["items"]]


def test_watched_tables_move_their_counter_in_the_same_transaction(db):
    before = read_revisions(db)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE users SET display_name = display_name WHERE id < 0"))  # a statement, no row
    mid = read_revisions(db)
    if db.dialect == "postgresql":  # statement triggers fire for any statement
        assert mid[ACCOUNTS] == before[ACCOUNTS] + 1
    with db.engine.connect() as conn:
        conn.execute(sa.text("UPDATE departments SET name_ko = name_ko"))
        conn.rollback()
    assert read_revisions(db) == mid, "a rolled-back change moved nothing"


def test_map_and_search_follow_every_change_to_the_registry(harness):
    reader = harness.token("monitoring_agent")
    writer = harness.token("district_manager")
    assert "SD-T-001" not in _geojson_ids(harness, reader)
    assert _search_numbers(harness, reader, "SD-T") == []

    created = harness.client.post("/api/cameras", json=CAMERA, headers=writer)
    assert created.status_code == 201, created.text
    cam = created.json()
    assert "SD-T-001" in _geojson_ids(harness, reader), "the new camera on the map"
    assert _search_numbers(harness, reader, "SD-T") == ["SD-T-001"], "the new camera in search"

    # a person with database access moves the camera: no API, no event, only the trigger
    with harness.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE cameras SET latitude = 37.55 WHERE id = :i"), {"i": cam["id"]})

    def moved() -> bool:
        body = harness.client.get("/api/cameras.geojson", headers=reader).json()
        point = next(f for f in body["features"] if f["properties"]["management_number"] == "SD-T-001")
        return point["geometry"]["coordinates"][1] == 37.55

    assert moved(), "a camera moved by SQL"
    retired = harness.client.post(f"/api/cameras/{cam['id']}/retire", json={"reason": "철거"}, headers=writer)
    assert retired.status_code == 200, retired.text
    assert "SD-T-001" not in _geojson_ids(harness, reader), "the retired camera off the map"
    assert _search_numbers(harness, reader, "SD-T") == [], "the retired camera out of search"


def test_a_revoked_token_or_a_locked_account_is_refused_on_the_next_request(harness):
    headers = harness.token("monitoring_agent")
    assert harness.client.get("/api/cameras.geojson", headers=headers).status_code == 200  # kept now
    listed = harness.client.get("/api/tokens", headers=headers).json()
    assert len(listed) == 1
    revoked = harness.client.delete(f"/api/tokens/{listed[0]['id']}", headers=headers)
    assert revoked.status_code == 200, revoked.text
    assert harness.client.get("/api/cameras.geojson", headers=headers).status_code == 401, "revoked"

    other = harness.token("police_officer")
    assert harness.client.get("/api/cameras", headers=other).status_code == 200
    with harness.db.engine.begin() as conn:  # locked by hand in the database
        conn.execute(sa.text("UPDATE users SET locked = :t WHERE role = 'police_officer'"), {"t": True})
    assert harness.client.get("/api/cameras", headers=other).status_code == 401, "locked by SQL"


def test_a_kept_token_still_expires_on_time(harness):
    from datetime import timedelta

    from gwanje.core.clock import utcnow

    headers = harness.token("monitoring_agent")
    assert harness.client.get("/api/cameras", headers=headers).status_code == 200
    # expire it without touching the accounts' tables' counter: move the grant kept in memory instead
    cache: RevisionCache = harness.app.state.token_cache
    with cache._lock:
        for key, (user, _) in list(cache._items.items()):
            cache._items[key] = (user, utcnow() - timedelta(seconds=1))
    assert harness.client.get("/api/cameras", headers=headers).status_code == 401


def test_a_reader_connection_that_breaks_is_dropped_and_answers_stay_true(harness):
    reader = harness.token("monitoring_agent")
    writer = harness.token("district_manager")
    _geojson_ids(harness, reader)
    revisions: RevisionReader = harness.app.state.revisions
    if harness.db.dialect == "postgresql":
        assert revisions._idle, "PostgreSQL: the counters are read on the event loop's own connections"
        with harness.db.engine.begin() as conn:  # a restart or a network fault cuts them
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%FROM revisions%'"
                )
            )
    created = harness.client.post("/api/cameras", json=CAMERA, headers=writer)
    assert created.status_code == 201, created.text
    assert "SD-T-001" in _geojson_ids(harness, reader), "the change is in the next answer"
    assert "SD-T-001" in _geojson_ids(harness, reader), "and the one after, on a fresh connection"


def test_revision_cache_keeps_nothing_built_from_an_older_read():
    cache: RevisionCache[str, int] = RevisionCache(size=2)
    assert cache.get("a", 5, lambda: 1) == 1
    assert cache.get("a", 5, lambda: 2) == 1
    assert cache.get("a", 6, lambda: 3) == 3
    assert cache.get("a", 5, lambda: 4) == 4  # an older revision: answered, not kept
    assert cache.peek("a", 6) == 3
    assert cache.get("b", 6, lambda: None) is None and cache.peek("b", 6) is None  # refusals are not kept
    cache.get("b", 6, lambda: 5)
    cache.get("c", 6, lambda: 6)
    assert cache.peek("a", 6) is None, "least recently used went first"
    assert cache.get("x", None, lambda: 7) == 7 and cache.peek("x", None) is None


def test_revision_cache_holds_no_more_bytes_than_its_bound():
    cache: RevisionCache[int, bytes] = RevisionCache(size=1000, max_bytes=1000)
    for i in range(50):  # a caller sending many different queries with large answers
        assert cache.get(i, 1, lambda i=i: bytes([i % 256]) * 200) == bytes([i % 256]) * 200
        assert cache.kept_bytes <= 1000
    assert cache.kept_bytes == 1000 and cache.peek(49, 1) is not None and cache.peek(0, 1) is None
    assert cache.get("big", 1, lambda: b"x" * 251) == b"x" * 251 and cache.peek("big", 1) is None
    cache.get(49, 1, lambda: b"y" * 10)  # kept already: answered from memory
    assert cache.kept_bytes == 1000
    cache.get("new", 2, lambda: b"z" * 10)  # a new revision drops all that was kept
    assert cache.kept_bytes == 10


def test_the_registry_cache_of_the_app_is_bounded_in_bytes(harness):
    reader = harness.token("monitoring_agent")
    for limit in range(1, 40):  # distinct queries: each a page of its own
        assert harness.client.get("/api/cameras", params={"limit": limit}, headers=reader).status_code == 200
    cache: RevisionCache = harness.app.state.registry_cache
    assert cache.max_bytes is not None and 0 < cache.kept_bytes <= cache.max_bytes


def test_messages_posted_at_once_are_each_stored_once_with_their_own_answer(harness):
    from gwanje.situations.models import InboxMessage

    device = harness.token("device")
    camera = None
    with harness.db.reading() as session:
        from gwanje.registry.models import Camera

        camera = session.scalar(sa.select(Camera.management_number).limit(1))
    run = uuid.uuid4().hex[:8]
    if camera is None:  # an empty registry: an unknown camera is kept as rejected, which is an outcome too
        camera = "NO-SUCH-CAMERA"

    def body(i: int) -> bytes:
        return json.dumps(
            {
                "message_id": f"{run}-{i}",
                "type": "plate_read",
                "seq": i + 1,
                "payload": {"camera": camera, "plate": f"12가{i:04d}", "confidence": 0.9},
            }
        ).encode()

    n = 40
    answers: dict[int, list[int]] = {}
    barrier = threading.Barrier(n + 4)

    def post(i: int, message: int) -> None:
        barrier.wait()
        resp = harness.client.post(
            "/api/events", content=body(message), headers={**device, "X-Device-Id": f"dev-{run}-{i % 4}"}
        )
        answers.setdefault(message, []).append(resp.status_code)

    # 40 different messages and 4 re-sends of message 0, all at the same moment
    threads = [threading.Thread(target=post, args=(i, i)) for i in range(n)]
    threads += [threading.Thread(target=post, args=(n + k, 0)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == list(range(n))
    assert sorted(answers[0]).count(202) + sorted(answers[0]).count(422) == 1, answers[0]
    assert all(code in (200, 202, 422) for codes in answers.values() for code in codes)
    assert sorted(answers[0])[1:] == [200] * 4 or sorted(answers[0]).count(200) == 4, answers[0]
    with harness.db.reading() as session:
        rows = session.scalars(sa.select(InboxMessage.message_id).where(InboxMessage.message_id.like(f"{run}-%")))
        stored = sorted(rows.all())
    assert stored == sorted(f"{run}-{i}" for i in range(n)), "each message once, none lost"
    coalescer = harness.app.state.ingest_coalescer
    assert coalescer.batches < n + 4, "messages that arrived together shared transactions"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite reads in a worker thread each time
def test_requests_arriving_during_a_read_share_the_next_one_and_see_what_committed_before_them(harness):
    """Revision reads are shared by the requests that arrive while one is under way, never by a
    request that arrived after the shared read began (which could miss a write it follows)."""
    import asyncio

    reader = RevisionReader(harness.db)
    statements = []
    gate = None
    real = reader._read_once

    async def counted():
        statements.append(1)
        if gate is not None:
            await gate.wait()
        return await real()

    reader._read_once = counted

    def bump():
        with harness.db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE revisions SET value = value + 1 WHERE name = 'registry'"))

    async def scenario():
        nonlocal gate
        await reader.start()
        try:
            first = await reader.read()
            answers = await asyncio.gather(*(reader.read() for _ in range(20)))
            assert all(a == first for a in answers)
            assert len(statements) <= 3, f"20 concurrent requests took {len(statements) - 1} reads"
            gate = asyncio.Event()
            early = asyncio.ensure_future(reader.read())  # its read begins, then waits at the gate
            await asyncio.sleep(0.05)
            await asyncio.to_thread(bump)  # a write commits while that read is under way
            late = asyncio.ensure_future(reader.read())  # this request arrived after the commit
            await asyncio.sleep(0.05)
            gate.set()
            assert (await late)["registry"] == first["registry"] + 1, "the late request saw the write"
            await early
        finally:
            await reader.stop()

    asyncio.run(scenario())
