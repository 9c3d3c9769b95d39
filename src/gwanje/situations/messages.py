"""Device messages, parsed into typed messages at the edge.

Every message is a JSON envelope ``{"message_id", "type", "occurred_at"?, "device_id"?, "seq"?, "seq_reset"?,
"payload"}``;
each type has its own payload model, published as a JSON Schema in ``docs/schemas/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from gwanje.core.schemas import Instant, has_control_chars

Ident = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=r"^[0-9A-Za-z가-힣_.:\-]+$")
]
Lat = Annotated[float, Field(ge=33.0, le=38.7, description="WGS84 latitude (inside Korea)")]
Lon = Annotated[float, Field(ge=124.5, le=132.0, description="WGS84 longitude (inside Korea)")]
ShortText = Annotated[str, StringConstraints(max_length=500)]
ImageRef = Annotated[str, StringConstraints(max_length=2000, pattern=r"^(https?://|rtsp://|/|data:image/)\S*$")]

MAX_MESSAGE_BYTES = 64 * 1024
MAX_SEQ = 2**53 - 1  # exact in every JSON reader


class StrictModel(BaseModel):
    """Unknown fields refused. Control characters are checked once on the raw text (see
    :func:`parse_message`), not per field: this model runs for every device message."""

    model_config = ConfigDict(extra="forbid", str_max_length=2000)


class EmergencyBell(StrictModel):
    """비상벨: a street emergency bell was pressed."""

    bell_id: Ident
    latitude: Lat
    longitude: Lon
    camera: Ident | None = Field(default=None, description="management number of the bell's camera, if any")
    note: ShortText | None = None


class USeoulSafety(StrictModel):
    """u-서울 안전서비스: a registered person's emergency signal with position."""

    person_id: Ident
    category: Literal["child", "elderly", "disabled", "woman", "other"] = "other"
    latitude: Lat
    longitude: Lon
    accuracy_m: float = Field(ge=0, le=100_000)


class VideoAnalytics(StrictModel):
    """지능형 이벤트: a video-analytics rule fired on a camera."""

    camera: Ident
    rule: Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")]
    object_class: Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]
    box: tuple[float, float, float, float] = Field(description="x, y, width, height as fractions of the frame")
    confidence: float = Field(ge=0, le=1)
    snapshot: ImageRef | None = None


class PlateRead(StrictModel):
    """차량번호 인식: a number plate read by a camera."""

    camera: Ident
    plate: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    confidence: float = Field(ge=0, le=1)
    image: ImageRef | None = None


class CameraFault(StrictModel):
    """고장·장애: a camera stopped working."""

    camera: Ident
    fault: Literal["offline", "video_loss", "tamper", "storage", "other"]
    detail: ShortText | None = None


class CameraRecovery(StrictModel):
    """복구: a camera works again."""

    camera: Ident
    detail: ShortText | None = None


class ManualReport(StrictModel):
    """수동 보고: an operator reports a situation seen on screen or by phone."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    latitude: Lat | None = None
    longitude: Lon | None = None
    camera: Ident | None = None
    description: ShortText | None = None


class RoomAccess(StrictModel):
    """출입 기록: a badge reader or door contact of a center room (the policy's ``rooms_access.doors``).

    ``entry`` / ``exit``: a badge opened the door (the reader let the holder through); ``refused``: the
    reader refused a badge; ``held_open``: the door has stood open ``held_seconds``; ``forced``: the door
    opened without a badge."""

    door: Ident = Field(description="the door's device id, as the policy's rooms_access.doors names it")
    event: Literal["entry", "exit", "refused", "held_open", "forced"]
    badge: Ident | None = Field(default=None, description="the badge (card) number the reader read, if any")
    held_seconds: int | None = Field(default=None, ge=0, le=86_400)
    note: ShortText | None = None


PAYLOADS: dict[str, type[BaseModel]] = {
    "emergency_bell": EmergencyBell,
    "u_seoul_safety": USeoulSafety,
    "video_analytics": VideoAnalytics,
    "plate_read": PlateRead,
    "camera_fault": CameraFault,
    "camera_recovery": CameraRecovery,
    "manual_report": ManualReport,
    "room_access": RoomAccess,
}


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: Ident
    type: Literal[tuple(PAYLOADS)]  # type: ignore[valid-type]
    occurred_at: Instant | None = None
    device_id: Ident | None = None
    seq: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SEQ,
        description="the device's message counter: 1, 2, 3, … per (source, device); a re-send keeps its number",
    )
    seq_reset: bool = Field(
        default=False, description="true on the first message after the device restarted its counter"
    )
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeviceMessage:
    """A parsed, typed message (built from the validated envelope and payload; nothing to re-check)."""

    message_id: str
    type: str
    occurred_at: datetime | None
    device_id: str | None
    payload: BaseModel
    seq: int | None = None
    seq_reset: bool = False


class MessageError(ValueError):
    """A message that cannot be used; ``message_id`` is whatever could be read, for the inbox."""

    def __init__(self, en: str, ko: str, message_id: str | None = None, type_: str | None = None):
        super().__init__(f"{ko} / {en}")
        self.message_id = message_id
        self.type = type_


def _has_control(value: Any) -> bool:
    if isinstance(value, str):
        return has_control_chars(value)
    if isinstance(value, dict):
        return any(_has_control(k) or _has_control(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_control(v) for v in value)
    return False


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg')}")
    return "; ".join(parts)


def parse_message(raw: bytes) -> DeviceMessage:
    """Bytes in, a typed message out, or :class:`MessageError` saying what is wrong."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageError(
            f"message larger than {MAX_MESSAGE_BYTES} bytes ({len(raw)})", f"메시지가 너무 큽니다 ({len(raw)} 바이트)"
        )
    # The common case in one pass: pydantic reads the envelope straight from the bytes (no Python
    # json.loads, no second walk over a dict). Anything it does not accept, and any message with an
    # escaped control character, takes the full path below, which says exactly what is wrong.
    if b"\\u00" not in raw:
        try:
            envelope = Envelope.model_validate_json(raw)
            payload = PAYLOADS[envelope.type].model_validate(envelope.payload)
        except ValidationError:
            pass
        else:
            return _message(envelope, payload)
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError(f"not UTF-8 JSON: {exc}", "UTF-8 JSON이 아닙니다") from None
    if not isinstance(data, dict):
        raise MessageError("the message must be a JSON object", "메시지는 JSON 객체여야 합니다")
    # Raw control characters are already refused by json.loads; escaped ones need \u00XX.
    if "\\u00" in text and _has_control(data):
        raise MessageError(
            "control characters are not allowed",
            "제어 문자는 쓸 수 없습니다",
            data.get("message_id") if isinstance(data.get("message_id"), str) else None,
        )
    found_id = data.get("message_id") if isinstance(data.get("message_id"), str) else None
    found_type = data.get("type") if isinstance(data.get("type"), str) else None
    try:
        envelope = Envelope.model_validate(data)
        payload = PAYLOADS[envelope.type].model_validate(envelope.payload)
    except ValidationError as exc:
        raise MessageError(f"invalid message: {_describe(exc)}", "메시지 형식 오류", found_id, found_type) from None
    return _message(envelope, payload)


def _message(envelope: Envelope, payload: BaseModel) -> DeviceMessage:
    return DeviceMessage(
        message_id=envelope.message_id,
        type=envelope.type,
        occurred_at=envelope.occurred_at,
        device_id=envelope.device_id,
        payload=payload,
        seq=envelope.seq,
        seq_reset=envelope.seq_reset,
    )


def json_schemas() -> dict[str, dict]:
    """The published schema of each message type: the envelope with that type's payload."""
    out = {}
    for name, model in PAYLOADS.items():
        schema = Envelope.model_json_schema()
        schema["title"] = f"gwanje device message: {name}"
        schema["properties"]["type"] = {"const": name}
        schema["properties"]["payload"] = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        out[name] = schema
    return out
