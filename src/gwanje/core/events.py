"""Typed domain events: what happened, in the past tense, recorded by use cases.

A use case records events on its unit of work (``uow.record(IncidentRaised(...))``); the unit of
work hands them to the bus only after its transaction has committed, so a console never hears of
something that was rolled back and no caller has to remember to publish. Between processes (NATS)
an event travels as ``to_wire()`` and is rebuilt by :func:`from_wire`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

_KINDS: dict[str, type["DomainEvent"]] = {}


@dataclass(frozen=True)
class DomainEvent:
    """Base of every event. Subclasses set ``kind`` (the name on the wire) and are frozen dataclasses."""

    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            other = _KINDS.get(cls.kind)
            if other is not None and other.__qualname__ != cls.__qualname__:
                raise TypeError(f"event kind {cls.kind!r} declared twice: {other.__qualname__}, {cls.__qualname__}")
            _KINDS[cls.kind] = cls

    def to_wire(self) -> dict[str, Any]:
        body = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        body["kind"] = self.kind
        return body


class UnknownEvent(ValueError):
    """A wire message whose kind this process does not know (an older or newer instance)."""


def from_wire(body: dict[str, Any]) -> DomainEvent:
    kind = body.get("kind")
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise UnknownEvent(f"unknown event kind: {kind!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in body.items() if k in names}
    for f in dataclasses.fields(cls):
        if isinstance(values.get(f.name), list) and "tuple" in str(f.type):
            values[f.name] = tuple(values[f.name])
    return cls(**values)


def known_kinds() -> dict[str, type[DomainEvent]]:
    return dict(_KINDS)
