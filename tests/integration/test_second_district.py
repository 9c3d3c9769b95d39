"""A second district beside Seongdong: routing, access, board visibility and Annex 1 under each policy.

The decisions run over both policies from the tables in ``tests/fixtures/districts.py``; the paths through the
database (ingest, the board, video access, the Annex 1 report) run the Hanbit policy on both engines, since
Seongdong's own tests already run them under the shipped policy.
"""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest
from click.testing import CliRunner

from gwanje.cli import main
from gwanje.policy import IncidentFacts, incident_grants_view, may_see_incident, period_at, route_situation
from gwanje.situations.models import Incident
from gwanje.situations.schemas import IncidentRead
from tests.conftest import Harness
from tests.fixtures.districts import (
    DAY,
    DISTRICTS,
    HANBIT,
    HANBIT_CAMERAS,
    HANBIT_DAY_ONLY,
    HANBIT_POLICY,
    HOTLIST_CSV,
    NIGHT,
    camera_body,
    device_message,
    payload,
)


def message_id(message: tuple[str, str | None]) -> str:
    return "+".join(part for part in message if part)


@pytest.fixture(scope="module", params=sorted(DISTRICTS))
def district(request):
    return DISTRICTS[request.param]


@pytest.fixture(scope="module")
def district_policy(district):
    return district.load()


@pytest.fixture(scope="module")
def hanbit_policy():
    return HANBIT.load()


# ---- the decisions, under both policies ----------------------------------------------------------------------


def test_the_two_policies_share_no_organisation_role_or_department_code(hanbit_policy):
    seongdong = DISTRICTS["seongdong"].load()

    def codes(p):
        return {o.code for o in p.organisations} | {r.code for r in p.roles} | {d.code for d in p.departments}

    assert codes(seongdong).isdisjoint(codes(hanbit_policy))
    assert hanbit_policy.operator == HANBIT.operator and seongdong.operator == DISTRICTS["seongdong"].operator


@pytest.mark.parametrize("message", sorted(HANBIT.routes, key=str), ids=message_id)
def test_a_device_message_raises_the_situation_its_policy_names(district, district_policy, message):
    situation = district_policy.situation_for_message(*message)
    assert situation is not None and situation.type == district.routes[message].situation


def test_a_device_message_the_policy_does_not_name_raises_nothing(district_policy):
    assert district_policy.situation_for_message("teleport") is None


@pytest.mark.parametrize("message", sorted(HANBIT.routes, key=str), ids=message_id)
@pytest.mark.parametrize("when", [DAY, NIGHT])
def test_each_situation_is_routed_by_day_and_by_night_as_the_duty_table_says(district, district_policy, message, when):
    expected = district.routes[message]
    routing = route_situation(district_policy, expected.situation, datetime.fromisoformat(when))
    assert routing.responsible_organisation == expected.responsible
    assert routing.recognising_organisation == expected.recognising_org
    assert routing.recognising_role == expected.recognisers[0 if when == DAY else 1]
    assert routing.handler_role == routing.recognising_role
    assert routing.responding_organisation == expected.responding_org
    assert frozenset(routing.responding_roles) == expected.responders
    assert routing.clause == expected.clause


@pytest.mark.parametrize("at", HANBIT_DAY_ONLY)
def test_the_duty_window_is_each_policys_own(district_policy, district, at):
    expected = "day" if district is HANBIT else "night"
    assert period_at(district_policy, datetime.fromisoformat(at)) == expected


@pytest.mark.parametrize("message", sorted(HANBIT.routes, key=str), ids=message_id)
def test_the_live_board_shows_each_role_what_its_policy_says(district, district_policy, message):
    route = district.routes[message]
    for role, (department, sees) in district.board.items():
        shown = may_see_incident(district_policy, role, department, route.responsible, route.responding_org)
        assert shown is (route.situation in sees), (role, route.situation)


def test_a_department_role_sees_only_incidents_on_cameras_of_its_own_purposes(hanbit_policy):
    assert may_see_incident(hanbit_policy, "dept_staff", "cleanup_div", "gu_office", "gu_office", ["illegal_dumping"])
    assert not may_see_incident(
        hanbit_policy, "dept_staff", "cleanup_div", "gu_office", "gu_office", ["crime_prevention"]
    )
    assert not may_see_incident(hanbit_policy, "dept_staff", None, "gu_office", "gu_office", ["illegal_dumping"])
    assert not may_see_incident(
        hanbit_policy, "department_officer", "sanitation", "gu_office", "gu_office", ["illegal_dumping"]
    )  # a Seongdong role means nothing under Hanbit's policy


OFFICER = 5  # the officer who has taken the incident


def _facts(district, message, *, open_=True, camera_id=7):
    route = district.routes[message]
    return IncidentFacts(
        id=1,
        open=open_,
        responsible_org=route.responsible,
        responding_org=route.responding_org,
        responding_roles=tuple(sorted(route.responders)),
        camera_id=camera_id,
        status="acknowledged",
        taken_by=OFFICER,
    )


def test_art_9_5_follows_the_routing_of_each_policy(district, district_policy):
    """The same bell: routed to the police in Seongdong, so they may view its camera; the district's own in
    Hanbit, so its police may not. A plate read is the police's in both."""
    police_roles = [r.code for r in district_policy.roles if r.organisation == district.police]
    operator_roles = [r.code for r in district_policy.roles if r.organisation == district.operator]
    bell, plate = _facts(district, ("emergency_bell", None)), _facts(district, ("plate_read", None))
    clause = district_policy.access.incident_only_clause
    for role in operator_roles:
        assert incident_grants_view(district_policy, role, None, 7, (), user_id=OFFICER).allowed, role
    for role in police_roles:
        on_bell = incident_grants_view(district_policy, role, bell, 7, (), user_id=OFFICER)
        assert on_bell.allowed is (district.routes[("emergency_bell", None)].responsible == district.police), role
        assert on_bell.clause == clause
        assert incident_grants_view(district_policy, role, plate, 7, (), user_id=OFFICER).allowed
        assert incident_grants_view(
            district_policy, role, plate, 9, (9,), user_id=OFFICER
        ).allowed  # attached to the incident
        assert not incident_grants_view(
            district_policy, role, plate, 9, (), user_id=OFFICER
        )  # neither its own nor attached
        assert not incident_grants_view(
            district_policy, role, _facts(district, ("plate_read", None), open_=False), 7, (), user_id=OFFICER
        )
        assert not incident_grants_view(district_policy, role, None, 7, (), user_id=OFFICER)


# ---- through the database, under Hanbit's policy --------------------------------------------------------------


@pytest.fixture
def hanbit(db, hanbit_policy, tmp_path):
    h = Harness(db, hanbit_policy, tmp_path)
    with h.client:
        yield h


@pytest.fixture
def registry(hanbit):
    """The small Hanbit registry, created through the API by a role that may write it."""
    writer = hanbit.token("control_chief")
    ids = {}
    for number in HANBIT_CAMERAS:
        resp = hanbit.client.post("/api/cameras", json=camera_body(number), headers=writer)
        assert resp.status_code == 201, resp.text
        ids[number] = resp.json()["id"]
    return ids


@pytest.fixture
def board(hanbit, registry):
    resp = hanbit.client.put("/api/hotlist", content=HOTLIST_CSV, headers=hanbit.token("station_officer"))
    assert resp.status_code == 200, resp.text
    return hanbit


def _raise(h, message, at=DAY, camera="HB-SAFE-1") -> int:  # noqa: ANN001
    resp = h.client.post(
        "/api/events", json=device_message(message[0], payload(message, camera), at), headers=h.token("sensor")
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["incident_id"], resp.json()
    return resp.json()["incident_id"]


@pytest.mark.parametrize("message", sorted(HANBIT.routes, key=str), ids=message_id)
@pytest.mark.parametrize("when", ["day", "night"])
def test_hanbit_routes_every_device_message_by_its_duty_table(board, message, when):
    camera = "HB-CLEAN-1" if message == ("video_analytics", "dumping") else "HB-SAFE-1"
    incident_id = _raise(board, message, DAY if when == "day" else NIGHT, camera)
    with board.db.reading() as session:  # read as stored: who may see it is the board's test below
        incident = IncidentRead.from_incident(session.get(Incident, incident_id)).model_dump()
    expected = HANBIT.routes[message]
    assert incident["type"] == expected.situation
    assert incident["period"] == when
    assert incident["responsible_org"] == expected.responsible
    assert incident["recognising_org"] == expected.recognising_org
    assert incident["recognising_role"] == expected.recognisers[0 if when == "day" else 1]
    assert incident["assigned_role"] == incident["recognising_role"]
    assert incident["responding_org"] == expected.responding_org
    assert set(incident["responding_roles"]) == expected.responders
    assert incident["clause"] == expected.clause


def test_hanbit_board_lists_to_each_role_what_its_policy_lets_it_see(board):
    # HB-SAFE-2 serves crime prevention only, so no department's own purposes bring its incidents in.
    bell = _raise(board, ("emergency_bell", None), camera="HB-SAFE-2")
    dumping = _raise(board, ("video_analytics", "dumping"), camera="HB-CLEAN-1")
    plate = _raise(board, ("plate_read", None), camera="HB-SAFE-2")

    def listed(role, department=None):
        resp = board.client.get("/api/incidents", headers=board.token(role, department))
        assert resp.status_code == 200, resp.text
        return {i["id"] for i in resp.json()}

    assert listed("control_agent") == {bell, dumping, plate}
    assert listed("station_dispatch") == {plate}
    assert listed("dept_staff", "cleanup_div") == {dumping}
    assert listed("dept_staff", "parking_div") == set()
    refused = board.client.get(f"/api/incidents/{bell}", headers=board.token("station_dispatch"))
    assert refused.status_code == 403
    assert refused.json()["clause"] in {c.id for c in board.policy.clauses}  # a clause of Hanbit's own policy
    assert board.client.get("/api/incidents", headers=board.token("station_detective")).status_code == 403


def _authorize(h, role, camera_id, purpose, incident_id=None, department=None):
    body = {"camera_id": camera_id, "purpose": purpose, "action": "live", "incident_id": incident_id}
    return h.client.post("/api/access/authorize", json=body, headers=h.token(role, department))


def test_hanbit_video_access_is_bound_to_purpose_role_and_department(board, registry):
    safe, parking, it = registry["HB-SAFE-1"], registry["HB-PARK-1"], registry["HB-IT-1"]
    assert _authorize(board, "control_agent", safe, "crime_prevention").status_code == 200
    assert _authorize(board, "control_agent", safe, "child_protection").status_code == 200  # approved secondary
    not_approved = _authorize(board, "control_agent", parking, "disaster")  # not among the camera's purposes
    assert not_approved.status_code == 403 and not_approved.json()["clause"] == "annex-1"
    not_the_roles = _authorize(board, "control_agent", it, "facility_management")  # not among the role's
    assert not_the_roles.status_code == 403 and not_the_roles.json()["clause"] == "policy-rbac"
    assert _authorize(board, "field_engineer", it, "facility_management").status_code == 200
    assert _authorize(board, "dept_staff", parking, "illegal_parking", department="parking_div").status_code == 200
    other_department = _authorize(board, "dept_staff", parking, "illegal_parking", department="cleanup_div")
    assert other_department.status_code == 403 and other_department.json()["clause"] == "policy-rbac"


def test_hanbit_police_view_only_for_an_incident_routed_to_them_and_its_cameras(board, registry):
    safe, police_camera = registry["HB-SAFE-1"], registry["HB-POL-1"]
    clause = board.policy.access.incident_only_clause
    without = _authorize(board, "station_officer", safe, "crime_prevention")
    assert without.status_code == 403 and without.json()["clause"] == clause
    bell = _raise(board, ("emergency_bell", None))  # the district's own in Hanbit, not the police's
    on_bell = _authorize(board, "station_officer", safe, "crime_prevention", bell)
    assert on_bell.status_code == 403 and on_bell.json()["clause"] == clause
    plate = _raise(board, ("plate_read", None))  # on HB-SAFE-1, routed to the Hanbit police
    still_new = _authorize(board, "station_officer", safe, "crime_prevention", plate)
    assert still_new.status_code == 403 and still_new.json()["clause"] == clause
    took = board.client.post(
        f"/api/incidents/{plate}/actions/acknowledge", json={}, headers=board.token("station_officer")
    )
    assert took.status_code == 200 and took.json()["taken_by"], took.text
    assert _authorize(board, "station_officer", safe, "crime_prevention", plate).status_code == 200
    elsewhere = _authorize(board, "station_officer", police_camera, "crime_prevention", plate)
    assert elsewhere.status_code == 403 and elsewhere.json()["clause"] == clause
    attach = board.client.post(
        f"/api/incidents/{plate}/attached-cameras",
        json={"camera_id": police_camera},
        headers=board.token("control_agent"),
    )
    assert attach.status_code == 201, attach.text
    assert _authorize(board, "station_officer", police_camera, "crime_prevention", plate).status_code == 200


def test_annex_1_rows_come_from_the_hanbit_policy_and_its_registry(hanbit, registry, hanbit_policy):
    resp = hanbit.client.get("/api/reports/annex1", headers=hanbit.token("control_chief"))
    assert resp.status_code == 200, resp.text
    report = resp.json()
    rows = [(r["department"], r["department_ko"], r["label_ko"], r["sites"], r["cameras"]) for r in report["rows"]]
    assert rows == [
        ("safety_div", "안전총괄과", "방범", 2, 3),
        ("parking_div", "주차관리과", "주정차 단속", 1, 1),
        ("cleanup_div", "청소과", "무단투기 단속", 1, 1),
        ("it_div", "정보통신과", "시설물 관리", 1, 1),
        ("hanbit_station", "한빛경찰서", "방범", 1, 1),
    ]
    assert (report["total_sites"], report["total_cameras"]) == (6, 7)
    assert [r["secondary_purposes"] for r in report["rows"]] == [
        list(r.secondary_purposes) for r in hanbit_policy.annex1
    ]
    assert report["rows"][2]["remarks_ko"] == "이동형"


def test_annex_1_xlsx_is_titled_with_the_policys_district(hanbit, registry, monkeypatch, tmp_path):
    monkeypatch.setenv("GWANJE_DATABASE_URL", hanbit.db.url)
    monkeypatch.setenv("GWANJE_POLICY_FILE", str(HANBIT_POLICY))
    target = tmp_path / "annex1.xlsx"
    out = CliRunner().invoke(main, ["report", "annex1", "--format", "xlsx", "-o", str(target)])
    assert out.exit_code == 0, out.output
    values = [[c.value for c in row] for row in openpyxl.load_workbook(target).active.iter_rows()]
    title = str(values[0][0])
    assert "한빛구" in title and "성동" not in title, title
    assert [v[0] for v in values[2:7]] == ["안전총괄과", "주차관리과", "청소과", "정보통신과", "한빛경찰서"]
    assert values[-1][:4] == ["합계", None, 6, 7]
