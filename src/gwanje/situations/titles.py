"""Incident titles and timeline actors in the reader's language, built when they are shown.

The stored row keeps what the device said (codes such as ``fight/person``, ``tamper``, the actor
``device:http:sensor``); people read labels. :func:`incident_title` builds the title from the
incident's details (the device message as stored) and the label sets of
:mod:`gwanje.situations.choices`; an unknown code shows itself, and an incident whose details
cannot be read (an older row) keeps its stored title. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from gwanje.core.choices import ChoiceSet
from gwanje.situations.choices import AnalyticsRule, CameraFault, ObjectClass, PersonCategory, PlateMatch

LANGS = ("ko", "en")


def _label(choices: type[ChoiceSet], code: Any, lang: str) -> str:
    code = str(code or "")
    return choices.label(code, lang) if code in choices else code


def _at(details: dict[str, Any]) -> str:
    camera = details.get("camera")
    return f" @ {camera}" if camera else ""


def _title(details: dict[str, Any], lang: str) -> str | None:
    ko = lang == "ko"
    kind = details.get("message_type")
    at = _at(details)
    if kind == "emergency_bell":
        return f"{'비상벨' if ko else 'Emergency bell'} {details.get('bell_id', '')}{at}"
    if kind == "u_seoul_safety":
        who = _label(PersonCategory, details.get("category"), lang)
        accuracy = details.get("accuracy_m")
        near = f" (±{float(accuracy):.0f}m)" if isinstance(accuracy, (int, float)) else ""
        head = "u-서울 안전서비스" if ko else "u-Seoul safety signal"
        return f"{head} {who} {details.get('person_id', '')}{near}"
    if kind == "video_analytics":
        rule = _label(AnalyticsRule, details.get("rule"), lang)
        seen = _label(ObjectClass, details.get("object_class"), lang)
        return f"{'지능형 이벤트' if ko else 'Video analytics'}: {rule} ({seen}){at}"
    if kind == "plate_read":
        hot = details.get("hotlist") or {}
        match = _label(PlateMatch, hot.get("kind"), lang)
        head = "수배차량" if ko else "Wanted vehicle"
        return f"{head} {hot.get('plate', '')} ({match}: {details.get('plate', '')}){at}"
    if kind == "camera_fault":
        fault = _label(CameraFault, details.get("fault"), lang)
        return f"{'카메라 고장' if ko else 'Camera fault'}: {fault}{at}"
    titles = details.get("titles")
    if details.get("system") and isinstance(titles, dict) and isinstance(titles.get(lang), str):
        return titles[lang]  # raised by the system with its titles in both languages
    if details.get("system") == "message_loss":
        devices, missing = details.get("device_count", 0), details.get("missing", 0)
        if ko:
            return f"메시지 유실 {details.get('source', '')}: 장치 {devices}대 {missing}건"
        return f"Message loss {details.get('source', '')}: {missing} lost from {devices} device(s)"
    return None  # a hand-made report: its title is the reporter's own words


def incident_title(stored: str, details: dict[str, Any], lang: str) -> str:
    """The incident's title in ``lang`` ("ko" or "en"); ``stored`` where it cannot be built."""
    try:
        return _title(details, lang) or stored
    except (TypeError, ValueError, AttributeError):
        return stored


def incident_titles(stored: str, details: dict[str, Any]) -> dict[str, str]:
    return {lang: incident_title(stored, details, lang) for lang in LANGS}


def actor_label(name: str, lang: str) -> str:
    """Who acted, as people read it: ``device:http:sensor`` → "장치 sensor (HTTP)" / "Device sensor
    (HTTP)", ``system:sequence`` → "시스템 (sequence)"; a person's name is left as it is."""
    ko = lang == "ko"
    if name.startswith("device:"):
        rest = name[len("device:") :]
        channel, _, who = rest.partition(":")
        if not who:
            channel, who = "", channel
        via = f" ({channel.upper()})" if channel else ""
        return f"{'장치' if ko else 'Device'} {who}{via}"
    if name.startswith("system:"):
        return f"{'시스템' if ko else 'system'} ({name[len('system:') :]})"
    return name


def actor_labels(name: str) -> dict[str, str]:
    return {lang: actor_label(name, lang) for lang in LANGS}
