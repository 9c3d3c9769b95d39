"""The event simulator's mix (pure, no database): the center's doors join it only when the policy has
``rooms_access``; every message it makes parses as the ingest would parse it; each device numbers its
own messages; and the door messages are the badges the demo authorised, entering before they leave."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import datetime, timezone

import pytest

from gwanje.cli.demo_rooms import badge_of, demo_badges
from gwanje.policy import load_default
from gwanje.situations import simulator
from gwanje.situations.messages import parse_message

NOON_KST = datetime(2026, 12, 3, 3, 0, tzinfo=timezone.utc)
CAMERAS = [
    simulator.SimCamera("SD-AD-001-1", 37.5612, 127.0371, "crime_prevention"),
    simulator.SimCamera("SD-AD-002-1", 37.5501, 127.0402, "illegal_parking"),
    simulator.SimCamera("SD-AD-003-1", 37.5444, 127.0555, "dumping"),
]


@pytest.fixture(scope="module")
def policy():
    return load_default()


def _mix(policy, *, seed=7, badges=None, **kw):
    room = simulator.room_mix(policy, demo_badges(policy) if badges is None else badges)
    return simulator.EventMix(CAMERAS, ["12가3456"], seed=seed, clock=lambda: NOON_KST, **room, **kw)


def test_without_rooms_access_the_simulator_never_sends_room_access(policy):
    bare = dataclasses.replace(policy, rooms_access=None)
    assert simulator.room_mix(bare, demo_badges(policy)) == {}
    mix = _mix(bare, badges={})
    kinds = Counter(mix.next().type for _ in range(3000))
    assert kinds["room_access"] == 0
    assert "room_access" not in mix.weights(NOON_KST)


def test_with_rooms_access_doors_are_a_small_share_and_the_rest_keeps_its_proportions(policy):
    with_rooms = _mix(policy).weights(NOON_KST)
    without = _mix(dataclasses.replace(policy, rooms_access=None), badges={}).weights(NOON_KST)
    assert with_rooms.pop("room_access") == simulator.ROOM_WEIGHT
    assert with_rooms == without, "the other types keep their weights"
    mix = _mix(policy, seed=21)
    counts = Counter(mix.next().type for _ in range(6000))
    share = counts["room_access"] / 6000
    expected = simulator.ROOM_WEIGHT / sum(mix.weights(NOON_KST).values())
    assert 0.5 * expected < share < 1.6 * expected, (share, expected)
    assert counts["plate_read"] > 20 * counts["room_access"]


def test_every_message_parses_and_door_messages_name_the_policys_doors(policy):
    mix = _mix(policy, seed=3)
    doors = {d.device: d.room for d in policy.rooms_access.doors}
    seen = Counter()
    for _ in range(20000):
        m = mix.next()
        parsed = parse_message(m.body)  # raises on anything the ingest would reject
        assert parsed.type == m.type
        if m.type == "room_access":
            assert m.source == "doors" and m.device_id in doors
            assert parsed.payload.door == m.device_id == parsed.device_id
            seen[parsed.payload.event] += 1
    assert seen["entry"] and seen["exit"] and seen["refused"] and seen["held_open"]
    assert seen["entry"] + seen["exit"] > 8 * (seen["refused"] + seen["held_open"]), "mostly entries and exits"


def test_badges_are_the_authorised_ones_and_nobody_leaves_before_entering(policy):
    badges = demo_badges(policy)
    assert badge_of("agent") in badges["situation_room"] and badge_of("agent") not in badges["system_room"]
    mix = _mix(policy, seed=5)
    inside: dict[str, set[str]] = {}
    raised = 0
    for _ in range(20000):
        m = mix.next()
        if m.type != "room_access":
            continue
        payload = json.loads(m.body)["payload"]
        room = dict((d.device, d.room) for d in policy.rooms_access.doors)[payload["door"]]
        here = inside.setdefault(room, set())
        if payload["event"] == "entry":
            assert payload["badge"] in badges[room] and payload["badge"] not in here
            here.add(payload["badge"])
        elif payload["event"] == "exit":
            assert payload["badge"] in here, "an exit by someone the simulator never let in"
            here.discard(payload["badge"])
        elif payload["event"] == "refused":
            assert not any(payload["badge"] in b for b in badges.values()), "a refused badge is not on file"
            assert payload["badge"] in simulator.ROOM_UNKNOWN_BADGES, "a few keys: the open incidents stay bounded"
            assert m.raises_incident
        else:
            assert payload["held_seconds"] >= policy.rooms_access.held_open_seconds
            assert m.raises_incident
        raised += m.raises_incident
    assert raised


def test_a_room_without_known_badges_only_has_its_door_stand_open_briefly(policy):
    mix = _mix(policy, seed=9, badges={})
    events = [json.loads(m.body)["payload"] for m in (mix.next() for _ in range(4000)) if m.type == "room_access"]
    assert events and all(e["event"] == "held_open" for e in events)
    assert all(e["held_seconds"] < policy.rooms_access.held_open_seconds for e in events), "no incident without badges"


def test_each_door_numbers_its_own_messages_one_by_one(policy):
    mix = _mix(policy, seed=13)
    numbers: dict[tuple[str, str], list[int]] = {}
    for _ in range(3000):
        m = mix.next()
        body = json.loads(m.body)
        numbers.setdefault((m.source, m.device_id), []).append(body["seq"])
    doors = [k for k in numbers if k[0] == "doors"]
    assert doors
    for key, seq in numbers.items():
        assert seq == list(range(1, len(seq) + 1)), key
    assert mix.last_seq()[doors[0]] == len(numbers[doors[0]])


def test_the_same_seed_makes_the_same_door_messages(policy):
    a, b = _mix(policy, seed=17), _mix(policy, seed=17)
    assert [a.next().body for _ in range(500)] == [b.next().body for _ in range(500)]
