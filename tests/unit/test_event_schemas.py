"""The published message schemas and the documented examples agree with the parser."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from gwanje.situations.messages import PAYLOADS, json_schemas, parse_message
from gwanje.situations.mqtt import TopicError, route_topic

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "schemas"
EVENTS_DOC = ROOT / "docs" / "events.md"


def _doc_examples() -> list[dict]:
    blocks = re.findall(r"```json\n(.*?)```", EVENTS_DOC.read_text("utf-8"), flags=re.S)
    return [json.loads(b) for b in blocks]


def test_committed_schemas_equal_the_generated_ones():
    generated = json_schemas()
    assert sorted(p.stem for p in SCHEMAS.glob("*.json")) == sorted(generated)
    for name, schema in generated.items():
        assert json.loads((SCHEMAS / f"{name}.json").read_text("utf-8")) == schema, (
            f"docs/schemas/{name}.json is stale: run scripts/gen-schemas"
        )


def test_gen_schemas_check_passes_on_the_committed_files():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-schemas"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_message_type_has_a_documented_example():
    assert {e["type"] for e in _doc_examples()} == set(PAYLOADS)


@pytest.mark.parametrize("example", _doc_examples(), ids=lambda e: e["type"])
def test_each_documented_example_is_valid_for_schema_and_parser(example):
    schema = json.loads((SCHEMAS / f"{example['type']}.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(example)
    parsed = parse_message(json.dumps(example, ensure_ascii=False).encode("utf-8"))
    assert parsed.message_id == example["message_id"]


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_schema_refuses_an_unknown_payload_field_like_the_parser(name):
    example = next(e for e in _doc_examples() if e["type"] == name)
    bad = {**example, "payload": {**example["payload"], "unexpected": 1}}
    schema = json.loads((SCHEMAS / f"{name}.json").read_text("utf-8"))
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(bad))
    with pytest.raises(ValueError):
        parse_message(json.dumps(bad).encode())


def test_topic_names_source_and_device():
    route = route_topic("gwanje/v1/events/bells/BELL-SD-AD-001")
    assert (route.source, route.device_id) == ("mqtt:bells", "BELL-SD-AD-001")


@pytest.mark.parametrize(
    "topic",
    [
        "gwanje/v1/events/bells",  # no device level
        "gwanje/v1/events/bells/a/b",  # too deep
        "gwanje/v1/events//dev",  # empty source
        "gwanje/v1/events/bells/",  # empty device
        "gwanje/v1/events/" + "s" * 36 + "/dev",  # source too long for the inbox
        "gwanje/v1/events/bad source/dev",  # characters outside the set
        "other/bells/dev",  # outside the root
    ],
)
def test_malformed_topics_are_refused_with_a_reason(topic):
    with pytest.raises(TopicError, match="topic"):
        route_topic(topic)


def _bell(**extra: object) -> dict:
    return {
        "message_id": "bell-1",
        "type": "emergency_bell",
        "occurred_at": "2026-12-01T03:00:00+00:00",
        "seq": 7,
        "payload": {"bell_id": "B-1", "latitude": 37.56, "longitude": 127.03, **extra},
    }


def test_the_one_pass_parse_gives_the_same_message_as_the_full_one():
    raw = json.dumps(_bell(note="정상"), ensure_ascii=False).encode()
    escaped = json.dumps(_bell(note="정상 ±"), ensure_ascii=True).encode()  # "\u00b1": the full path
    assert b"\\u00" not in raw and b"\\u00" in escaped
    fast, full = parse_message(raw), parse_message(escaped)
    assert (fast.message_id, fast.type, fast.seq, fast.occurred_at) == (full.message_id, full.type, 7, full.occurred_at)
    assert fast.payload.note == "정상" and full.payload.note == "정상 ±"


@pytest.mark.parametrize(
    ("raw", "says", "message_id"),
    [
        (json.dumps(_bell(note="a\u0007b")).encode(), "control characters", "bell-1"),
        (
            b'{"message_id": "bell-2", "type": "emergency_bell", "payload": {"bell_id": "B", "latitude": NaN, '
            b'"longitude": 127.0}}',
            "invalid message",
            "bell-2",
        ),
        (json.dumps({**_bell(), "payload": {"bell_id": "B-1"}}).encode(), "invalid message", "bell-1"),
        (b"[1, 2]", "must be a JSON object", None),
        (b"\xff\xfe{}", "not UTF-8 JSON", None),
    ],
)
def test_what_the_one_pass_refuses_is_explained_by_the_full_path(raw, says, message_id):
    from gwanje.situations.messages import MessageError

    with pytest.raises(MessageError) as caught:
        parse_message(raw)
    assert says in str(caught.value) and caught.value.message_id == message_id
