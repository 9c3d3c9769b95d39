"""The equipment register on both engines (Art. 2 ④, 5, 6): every change leaves one history row and one
audit entry, a stale edit and a change to a disposed item are refused, serials are unique per make, the
history cannot be rewritten, and the registry's cameras are filed once each, owned per Art. 5."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from gwanje.core.audit import Actor, AuditEntry
from gwanje.core.errors import Conflict, ValidationFailed
from gwanje.maintenance.equipment import service
from gwanje.maintenance.equipment.models import EquipmentHistory, EquipmentItem
from gwanje.registry import service as registry
from gwanje.registry.schemas import CameraCreate


def _audit(h, action):
    with h.db.reading() as s:
        return list(s.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def _history(h, item_id):
    with h.db.reading() as s:
        return list(
            s.scalars(
                sa.select(EquipmentHistory).where(EquipmentHistory.item_id == item_id).order_by(EquipmentHistory.id)
            )
        )


def _add(h, user, **over):
    data = {
        "item_class": "equipment",
        "name": "상황판 모니터",
        "room": "situation_room",
        "make": "LG",
        "serial": "SN-1",
    }
    data.update(over)
    return service.add(h.db, h.policy, user, data)


def _camera(h, number, installed_by):
    with h.db.uow() as uow:
        camera = registry.create_camera(
            uow,
            Actor.system("test"),
            h.policy,
            CameraCreate(
                management_number=number,
                department="autonomous_admin",
                primary_purpose="crime_prevention",
                latitude=37.5636,
                longitude=127.0369,
                site={"road_address": f"서울특별시 성동구 {number}"},
                installed_by=installed_by,
            ),
        )
        uow.commit()
        return camera.id


def test_each_change_writes_one_history_row_and_one_audit_entry(harness):
    it = harness.user("it1", "district_it_officer")
    item = _add(harness, it, cost_krw="1,250,000", acquired_on="2024.3.5")
    assert item.owner_organisation == "district", "Art. 5: the district's unless the police installed it"
    assert item.cost_krw == 1250000 and item.version == 1
    item = service.edit(harness.db, harness.policy, it, item.id, 1, {"model": "55UH5F", "cost_krw": 0})
    item = service.change_status(harness.db, harness.policy, it, item.id, 2, "repair", "패널 불량")
    item = service.dispose(harness.db, harness.policy, it, item.id, 3, "수리 불가")
    assert item.status == "disposed" and item.version == 4
    rows = _history(harness, item.id)
    assert [r.action for r in rows] == ["created", "edited", "status", "disposed"]
    assert [r.version for r in rows] == [1, 2, 3, 4]
    assert all(r.actor == "it1" for r in rows)
    edited = rows[1]
    assert json.loads(edited.before) == {"model": None, "cost_krw": 1250000}
    assert json.loads(edited.after) == {"model": "55UH5F", "cost_krw": 0}, "0 is a cost, not a blank"
    assert json.loads(rows[3].after) == {"status": "disposed", "reason": "수리 불가"}
    for action in ("equipment.created", "equipment.edited", "equipment.status", "equipment.disposed"):
        entries = _audit(harness, action)
        assert len(entries) == 1 and entries[0].object_id == str(item.id) and entries[0].clause == "art-2-4"


def test_a_stale_edit_is_refused_and_changes_nothing(harness):
    it = harness.user("it2", "district_it_officer")
    manager = harness.user("mgr2", "district_manager")
    item = _add(harness, it)
    service.edit(harness.db, harness.policy, manager, item.id, 1, {"note": "관리책임자 메모"})
    with pytest.raises(Conflict) as info:
        service.edit(harness.db, harness.policy, it, item.id, 1, {"note": "덮어쓰기"})
    assert info.value.status == 409 and info.value.details == {"current_version": 2}
    assert "판" in info.value.message_ko and "version" in info.value.message_en
    assert service.item(harness.db, harness.policy, item.id).note == "관리책임자 메모"
    assert len(_history(harness, item.id)) == 2


def test_a_disposed_item_cannot_be_edited_nor_moved(harness):
    it = harness.user("it3", "district_it_officer")
    item = _add(harness, it)
    service.dispose(harness.db, harness.policy, it, item.id, 1, "내용연수 경과")
    with pytest.raises(Conflict):
        service.edit(harness.db, harness.policy, it, item.id, 2, {"name": "되살리기"})
    with pytest.raises(Conflict):
        service.change_status(harness.db, harness.policy, it, item.id, 2, "in_use")
    with pytest.raises(ValidationFailed):
        service.change_status(harness.db, harness.policy, it, _add(harness, it, serial="SN-2").id, 1, "disposed")
    assert len(_history(harness, item.id)) == 2


def test_a_serial_is_unique_per_make_but_may_repeat_under_another_make(harness):
    it = harness.user("it4", "district_it_officer")
    first = _add(harness, it, make="Hanwha Vision", serial="X-100")
    with pytest.raises(Conflict) as info:
        _add(harness, it, make="  hanwha   vision ", serial="X-100")
    assert str(first.id) in info.value.message_ko
    other = _add(harness, it, make="LG", serial="X-100")
    with pytest.raises(Conflict):
        service.edit(harness.db, harness.policy, it, other.id, 1, {"make": "Hanwha Vision"})
    assert _add(harness, it, make="LG", serial=None).serial is None
    assert _add(harness, it, make="LG", serial=None).serial is None, "items without a serial do not clash"


def test_the_history_is_append_only(harness):
    it = harness.user("it5", "district_it_officer")
    item = _add(harness, it)
    for statement in (
        sa.text("UPDATE maintenance_item_history SET actor = 'someone' WHERE item_id = :i"),
        sa.text("DELETE FROM maintenance_item_history WHERE item_id = :i"),
    ):
        with pytest.raises(sa.exc.DatabaseError), harness.db.engine.begin() as conn:
            conn.execute(statement, {"i": item.id})
    assert len(_history(harness, item.id)) == 1


def test_bad_fields_are_refused_in_both_languages(harness):
    it = harness.user("it6", "district_it_officer")
    for over, field in (
        ({"item_class": "가구"}, "item_class"),
        ({"room": "kitchen"}, "room"),
        ({"acquired_on": "2024-02-30"}, "acquired_on"),
        ({"cost_krw": "-1"}, "cost_krw"),
        ({"acquired_on": "2024-05-01", "warranty_until": "2024-04-01"}, "warranty_until"),
        ({"owner_organisation": "fire_station"}, "owner_organisation"),
        ({"name": "  "}, "name"),
        ({"status": "disposed"}, "status"),
    ):
        with pytest.raises(ValidationFailed) as info:
            _add(harness, it, serial=None, **over)
        assert info.value.field == field and info.value.message_ko and info.value.message_en
    with harness.db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(EquipmentItem)) == 0


def test_cameras_are_filed_once_each_and_owned_per_art_5(harness):
    it = harness.user("it7", "district_it_officer")
    district_cam = _camera(harness, "SD-001", "district")
    police_cam = _camera(harness, "SD-002", "police")
    first = service.sync_cameras(harness.db, harness.policy, it)
    assert (first.cameras, first.created, first.updated, first.unchanged) == (2, 2, 0, 0)
    again = service.sync_cameras(harness.db, harness.policy, it)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2), "the sync is idempotent"
    with harness.db.reading() as s:
        items = {i.camera_id: i for i in s.scalars(sa.select(EquipmentItem))}
    assert set(items) == {district_cam, police_cam}
    assert items[district_cam].owner_organisation == "district"
    assert items[police_cam].owner_organisation == "police", "Art. 5: what the police installed is theirs"
    assert all(i.item_class == "equipment" and i.status == "in_use" for i in items.values())
    assert len(_audit(harness, "equipment.synced")) == 2
    assert _audit(harness, "equipment.synced")[0].clause == "art-5"
    with pytest.raises(Conflict):
        service.edit(harness.db, harness.policy, it, items[police_cam].id, 1, {"owner_organisation": "district"})
    edited = service.edit(harness.db, harness.policy, it, items[police_cam].id, 1, {"model": "XNO-6120R"})
    assert edited.owner_organisation == "police"
    assert service.sync_cameras(harness.db, harness.policy, it).unchanged == 2, "a keeper's edits survive a sync"


def test_the_list_filters_by_class_status_owner_room_and_text_and_pages(harness):
    it = harness.user("it8", "district_it_officer")
    _add(harness, it, name="상황실 모니터 1", serial="M-1")
    _add(harness, it, name="시스템실 서버", room="system_room", make="Dell", serial="R-1", note="백업 서버")
    _add(harness, it, item_class="supply", name="사무용 의자", room=None, make=None, serial=None, site="상황실 창고")
    _add(harness, it, name="경찰 무전기", owner_organisation="police", serial="P-1")
    f = service.Filters
    count = lambda **kw: service.items(harness.db, harness.policy, f(**kw))[1]  # noqa: E731
    assert count() == 4
    assert count(item_class="supply") == 1
    assert count(room="system_room") == 1
    assert count(owner="police") == 1
    assert count(q="백업") == 1 and count(q="dell") == 1
    assert count(site="창고") == 1
    assert count(status="in_use") == 4 and count(status="repair") == 0
    page, total = service.items(harness.db, harness.policy, f(), page=2, per_page=3)
    assert total == 4 and len(page) == 1
