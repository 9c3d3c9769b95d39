"""Choice sets: a status, kind or other domain code with its Korean label, English label and colour,
declared once per capability (``registry/choices.py``, ``situations/choices.py``, …).

    class CameraStatus(ChoiceSet):
        active = Choice("정상", "active", "#2e7d32")
        fault = Choice("고장", "fault", "#c62828")

    CameraStatus.label("fault", "ko")  -> "고장"
    CameraStatus.colour("fault")       -> "#c62828"
    CameraStatus.codes()               -> ("active", "fault")
    "fault" in CameraStatus            -> True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterator


@dataclass(frozen=True)
class Choice:
    ko: str
    en: str
    colour: str | None = None
    code: str = ""  # filled from the attribute name


class _ChoiceSetMeta(type):
    def __new__(mcs, name, bases, ns):
        cls = super().__new__(mcs, name, bases, ns)
        choices: dict[str, Choice] = {}
        for base in reversed(cls.__mro__[1:]):
            choices.update(getattr(base, "_choices", {}))
        for key, value in ns.items():
            if isinstance(value, Choice):
                bound = Choice(value.ko, value.en, value.colour, key)
                setattr(cls, key, bound)
                choices[key] = bound
        cls._choices = choices
        return cls

    def __iter__(cls) -> Iterator[Choice]:
        return iter(cls._choices.values())

    def __contains__(cls, code: object) -> bool:
        return code in cls._choices

    def __len__(cls) -> int:
        return len(cls._choices)


class ChoiceSet(metaclass=_ChoiceSetMeta):
    """Subclass and declare :class:`Choice` attributes; the attribute name is the stored code."""

    _choices: ClassVar[dict[str, Choice]]

    @classmethod
    def codes(cls) -> tuple[str, ...]:
        return tuple(cls._choices)

    @classmethod
    def get(cls, code: str) -> Choice | None:
        return cls._choices.get(code)

    @classmethod
    def label(cls, code: str | None, lang: str = "ko") -> str:
        """The label in ``lang`` ("ko" or "en"); an unknown code is shown as itself, never an error."""
        if code is None:
            return ""
        choice = cls._choices.get(code)
        if choice is None:
            return code
        return choice.en if lang == "en" else choice.ko

    @classmethod
    def labels(cls, code: str) -> tuple[str, str]:
        choice = cls._choices.get(code)
        return (choice.ko, choice.en) if choice else (code, code)

    @classmethod
    def colour(cls, code: str, default: str = "#757575") -> str:
        choice = cls._choices.get(code)
        return choice.colour if choice and choice.colour else default

    @classmethod
    def as_table(cls) -> dict[str, tuple[str, str]]:
        """``{code: (ko, en)}``, the shape older label tables had."""
        return {c.code: (c.ko, c.en) for c in cls}

    @classmethod
    def options(cls, lang: str = "ko") -> list[tuple[str, str]]:
        """``[(code, label)]`` for a ``<select>``, in declaration order."""
        return [(c.code, c.en if lang == "en" else c.ko) for c in cls]
