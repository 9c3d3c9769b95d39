"""Console language: Korean by default, English on request.

The language comes from ``?lang=`` (one request), else the ``lang`` cookie (set by ``/lang/{code}``),
else Korean. Fixed UI text lives in the gettext catalogues ``gwanje/locale/{ko,en}/LC_MESSAGES/gwanje.po``
(the source; edit them, never the compiled ``.mo``), keyed by symbolic ids such as ``cameras.total``,
with ``str.format`` placeholders (``{total:,}``). Labels of purposes, departments, roles and
organisations come from the loaded policy so that another district's agreement brings its own words;
labels of domain codes come from the capability's choice set (:mod:`gwanje.core.choices`).

The ``.mo`` files are compiled by ``scripts/setup`` and when the package is built; they are not
committed. Without them the console would show message ids to operators, so importing this module
(and so starting the app) fails with :class:`CataloguesMissing` instead of compiling behind the
installer's back: an installed package may sit in a read-only directory, and a wheel without its
catalogues is a broken build that should be seen at once.

A text that shows a count has plural forms (``msgid_plural``) and is read with
``t.n(key, count, **values)``: Korean has one form (``nplurals=1``), English two (``n != 1``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import read_mo
from babel.support import Translations
from starlette.requests import Request

from gwanje.core.choices import ChoiceSet
from gwanje.core.clock import to_kst
from gwanje.policy.model import Policy, UnknownCode

LANGS = ("ko", "en")
DEFAULT_LANG = "ko"
LANG_COOKIE = "lang"
DOMAIN = "gwanje"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"

# Clause ids with an article number: art-11-1, annex-2, pipa-18-2.
_CLAUSE_NUMBER = re.compile(r"^(art|annex|pipa)-(\d+)(?:-(\d+))?$")

# A plural text read without a count (``t(key)``, ``t.raw(key)``) takes the form for several
# things: the wording callers saw before the catalogues had plural forms ("{total:,} cameras").
SEVERAL = 2


class CataloguesMissing(RuntimeError):
    """The compiled ``.mo`` catalogues are not where the package expects them."""


def mo_path(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


@dataclass(frozen=True)
class Catalogue:
    """One language's compiled messages: gettext lookups, plus which ids exist and which are plural."""

    lang: str
    translations: Translations
    ids: frozenset[str]
    plural_ids: frozenset[str]

    @classmethod
    def load(cls, lang: str, locale_dir: Path = LOCALE_DIR) -> Catalogue:
        path = mo_path(lang, locale_dir)
        with path.open("rb") as f:
            compiled = read_mo(f)
        with path.open("rb") as f:
            translations = Translations(f, domain=DOMAIN)
        ids, plural_ids = set(), set()
        for message in compiled:
            if not message.id:  # the header
                continue
            if message.pluralizable:
                plural_ids.add(message.id[0])
            else:
                ids.add(message.id)
        return cls(lang, translations, frozenset(ids | plural_ids), frozenset(plural_ids))

    def text(self, key: str, count: int | None = None) -> str | None:
        """The message for ``key`` (its plural form for ``count``), or None when this catalogue lacks it."""
        if key in self.plural_ids:
            return self.translations.ngettext(key, key, SEVERAL if count is None else count)
        if key in self.ids:
            return self.translations.gettext(key)
        return None


def load_catalogues(locale_dir: Path = LOCALE_DIR) -> dict[str, Catalogue]:
    """Every language's compiled catalogue; :class:`CataloguesMissing` names what is not there."""
    missing = [str(mo_path(lang, locale_dir)) for lang in LANGS if not mo_path(lang, locale_dir).is_file()]
    if missing:
        raise CataloguesMissing(
            "UI 문구 카탈로그(.mo)가 컴파일되지 않았습니다 / the compiled UI catalogues are missing: "
            + ", ".join(missing)
            + f". Run scripts/setup, or: pybabel compile -D {DOMAIN} -d {locale_dir}"
        )
    return {lang: Catalogue.load(lang, locale_dir) for lang in LANGS}


CATALOGUES: Mapping[str, Catalogue] = load_catalogues()


def request_lang(request: Request) -> str:
    """``?lang=`` for this request, else the cookie, else Korean."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return value
    return DEFAULT_LANG


@lru_cache(maxsize=8)
def _plural_samples(lang: str) -> tuple[tuple[str, int], ...]:
    """``((CLDR category, a count in it), ...)``, e.g. ``(("one", 1), ("other", 0))`` for English."""
    rule = Locale.parse(lang).plural_form
    samples: dict[str, int] = {}
    for n in range(200):
        samples.setdefault(rule(n), n)
    return tuple(sorted(samples.items()))


@dataclass(frozen=True)
class Translator:
    """Everything a template needs to speak the request's language."""

    lang: str
    policy: Policy
    catalogues: Mapping[str, Catalogue] | None = None  # None: the package's (tests pass their own)

    def _text(self, key: str, count: int | None = None) -> str:
        # The request's language, then Korean, then the id itself: never an error in front of an operator.
        catalogues = self.catalogues if self.catalogues is not None else CATALOGUES
        for lang in (self.lang, DEFAULT_LANG):
            found = catalogues[lang].text(key, count) if lang in catalogues else None
            if found is not None:
                return found
        return key

    def _format(self, text: str, values: Mapping[str, object]) -> str:
        if "{" not in text:
            return text
        return text.format(district=self.district, **values)

    def __call__(self, key: str, **values: object) -> str:
        return self._format(self._text(key), values)

    def n(self, key: str, count: int, **values: object) -> str:
        """The form of ``key`` for ``count`` things; ``{count}`` is filled with it unless ``values`` name it.

        ``t.n("cameras.total", total, total=total)`` → "1 camera", "2 cameras"; "총 1대", "총 2대".
        """
        return self._format(self._text(key, count), {"count": count, **values})

    def raw(self, key: str) -> str:
        """The catalogue text with its ``{placeholders}`` left in, for scripts to fill."""
        return self._text(key)

    def raw_n(self, key: str) -> dict[str, str]:
        """Every plural form of ``key`` by CLDR category, for scripts that show a count.

        ``{"one": "{count:,} camera", "other": "{count:,} cameras"}`` in English, ``{"other": …}`` in
        Korean; a script picks ``forms[new Intl.PluralRules(lang).select(n)] || forms.other``.
        """
        return {category: self._text(key, n) for category, n in _plural_samples(self.lang)}

    @property
    def district(self) -> str:
        """The organisation (the district) that runs the center, named by the policy."""
        try:
            org = self.policy.operator_organisation
        except UnknownCode:
            return ""
        return self._pick(org.name_ko, org.name_en)

    def _pick(self, ko: str, en: str) -> str:
        return en if self.lang == "en" else ko

    def purpose(self, code: str | None) -> str:
        if not code:
            return ""
        try:
            p = self.policy.purpose(code)
        except UnknownCode:
            return code
        return self._pick(p.ko, p.en)

    def department(self, code: str | None) -> str:
        if not code:
            return ""
        try:
            d = self.policy.department(code)
        except UnknownCode:
            return code
        return self._pick(d.ko, d.en)

    def role(self, code: str | None) -> str:
        if not code:
            return ""
        try:
            r = self.policy.role(code)
        except UnknownCode:
            return code
        return self._pick(r.ko, r.en)

    def organisation(self, code: str | None) -> str:
        if not code:
            return ""
        try:
            o = self.policy.organisation(code)
        except UnknownCode:
            return code
        return self._pick(o.name_ko, o.name_en)

    def clause_name(self, clause_id: str | None) -> str:
        """How people cite a clause: "협약 제11조 제1항" / "Art. 11(1) of the agreement", "별표2" /
        "Annex 2", "개인정보 보호법 제18조 제2항" / "PIPA Art. 18(2)"; "" for an id with no article number
        (``policy-rbac``): its text then speaks for itself."""
        match = _CLAUSE_NUMBER.match(clause_id or "")
        if match is None:
            return ""
        kind, article, paragraph = match.group(1), match.group(2), match.group(3)
        if kind == "annex":
            return f"Annex {article}" if self.lang == "en" else f"별표{article}"
        if self.lang == "en":
            number = f"Art. {article}" + (f"({paragraph})" if paragraph else "")
            return f"PIPA {number}" if kind == "pipa" else f"{number} of the agreement"
        number = f"제{article}조" + (f" 제{paragraph}항" if paragraph else "")
        return f"개인정보 보호법 {number}" if kind == "pipa" else f"협약 {number}"

    def may(self, role: str | None, *permissions: str) -> bool:
        """Whether ``role`` holds any of ``permissions`` (one this policy does not define is held by none)."""
        for code in permissions:
            try:
                if role in self.policy.permission(code).roles:
                    return True
            except (UnknownCode, LookupError):
                continue
        return False

    def clause(self, clause_id: str | None) -> str:
        """A clause as the reader sees it: its name and its text from the policy, never the bare id."""
        if not clause_id:
            return ""
        try:
            c = self.policy.clause(clause_id)
        except (UnknownCode, LookupError):
            return self.clause_name(clause_id) or clause_id
        name = self.clause_name(clause_id)
        text = self._pick(c.ko, c.en)
        return f"{name} — {text}" if name else text

    def label(self, code: str | None, choices: type[ChoiceSet] | None = None) -> str:
        """The label of a domain code (a status, a storage mode …) from its capability's choice set.

        An unknown code, or a call without a choice set, shows the code itself.
        """
        if not code:
            return ""
        if choices is None:
            return code
        return choices.label(code, self.lang)

    def datetime(self, value: datetime | None) -> str:
        """Times are stored in UTC; people read them in KST."""
        kst = to_kst(value)
        return "" if kst is None else kst.strftime("%Y-%m-%d %H:%M KST")
