"""The console's words: two gettext catalogues that agree, plural forms, fallback, compiled and current."""

from __future__ import annotations

import io
import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from gwanje.core.choices import Choice, ChoiceSet
from gwanje.policy.loader import load_default
from gwanje.ui import i18n
from gwanje.ui.i18n import LANGS, CataloguesMissing, Translator, load_catalogues

LOCALE = Path(i18n.__file__).resolve().parents[1] / "locale"

PACKAGE = Path(i18n.__file__).resolve().parents[1]

# A literal message id read through the translator: t("a.b"), t.n("a.b", …), tr.raw("a.b"), tr.raw_n("a.b").
READ = re.compile(r"""\b(?:t|tr)(?P<how>\.n|\.raw_n|\.raw)?\(\s*["'](?P<key>[a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")


def _po(lang: str) -> Catalog:
    with (LOCALE / lang / "LC_MESSAGES" / "gwanje.po").open("rb") as f:
        return read_po(f)


def _forms(message) -> tuple[str, ...]:  # noqa: ANN001
    return tuple(message.string) if message.pluralizable else (message.string,)


def _key(message) -> str:  # noqa: ANN001
    return message.id[0] if message.pluralizable else message.id


def _messages(lang: str) -> dict[str, object]:
    return {_key(m): m for m in _po(lang) if m.id}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.fixture(scope="module")
def policy():
    return load_default()


def test_both_catalogues_hold_the_same_ids_with_the_same_plural_shape():
    ko, en = _messages("ko"), _messages("en")
    assert len(ko) > 300
    assert set(ko) == set(en), sorted(set(ko) ^ set(en))
    assert {k for k, m in ko.items() if m.pluralizable} == {k for k, m in en.items() if m.pluralizable}


def test_every_id_has_the_same_placeholders_in_both_languages():
    ko, en = _messages("ko"), _messages("en")
    differ = {}
    for key in ko:
        ko_fields = set().union(*(_fields(f) for f in _forms(ko[key])))
        en_fields = set().union(*(_fields(f) for f in _forms(en[key])))
        if ko_fields != en_fields:
            differ[key] = (sorted(ko_fields), sorted(en_fields))
    assert not differ


def test_every_message_is_translated_and_formats_with_its_placeholders():
    for lang in LANGS:
        for key, message in _messages(lang).items():
            for form in _forms(message):
                assert form.strip(), (lang, key)
                form.format(**{name: 1234 for name in _fields(form)})  # a broken "{total:," raises


def test_plural_forms_headers_are_those_of_korean_and_english():
    assert _po("ko").plural_forms == "nplurals=1; plural=0;"
    assert _po("en").plural_forms == "nplurals=2; plural=(n != 1);"
    assert all(len(m.string) == 1 for m in _po("ko") if m.pluralizable)
    assert all(len(m.string) == 2 for m in _po("en") if m.pluralizable)


@pytest.mark.parametrize(
    ("count", "en", "ko"),
    [
        (0, "0 cameras", "총 0대"),
        (1, "1 camera", "총 1대"),
        (2, "2 cameras", "총 2대"),
        (1234, "1,234 cameras", "총 1,234대"),
    ],
)
def test_a_count_takes_its_plural_form(policy, count, en, ko):
    assert Translator("en", policy).n("cameras.total", count, total=count) == en
    assert Translator("ko", policy).n("cameras.total", count, total=count) == ko


def test_count_fills_the_count_placeholder_and_each_language_has_its_plural_categories(policy):
    en, ko = Translator("en", policy), Translator("ko", policy)
    assert [en.n("map.loaded", n) for n in (0, 1, 2)] == ["0 cameras", "1 camera", "2 cameras"]
    assert [en.n("common.days", n, n=n) for n in (1, 30)] == ["1 day", "30 days"]
    assert ko.n("map.loaded", 1) == "카메라 1대"
    assert en.raw_n("map.loaded") == {"one": "{count:,} camera", "other": "{count:,} cameras"}
    assert ko.raw_n("map.loaded") == {"other": "카메라 {count:,}대"}


def test_a_plural_text_read_without_a_count_keeps_the_form_for_several(policy):
    assert Translator("en", policy).raw("map.loaded") == "{count:,} cameras"
    assert Translator("en", policy)("cameras.total", total=5) == "5 cameras"
    assert Translator("en", policy).n("nav.map", 3) == "Map"  # a text without plural forms


def test_district_and_placeholders_are_filled(policy):
    assert Translator("ko", policy)("annex1.title") == "성동구 다목적 CCTV 운영 현황"
    assert Translator("en", policy)("cameras.page", page=2, pages=9) == "page 2 of 9"


def _write_catalogue(root: Path, lang: str, singular: dict, plural: dict) -> None:
    catalog = Catalog(locale=lang, domain="gwanje")  # Plural-Forms from the locale's CLDR data
    for key, text in singular.items():
        catalog.add(key, text)
    for key, forms in plural.items():
        catalog.add((key, key), forms)
    target = root / lang / "LC_MESSAGES" / "gwanje.mo"
    target.parent.mkdir(parents=True)
    with target.open("wb") as f:
        write_mo(f, catalog)


def test_a_text_missing_in_english_falls_back_to_korean_then_to_its_id(policy, tmp_path):
    _write_catalogue(tmp_path, "ko", {"only.ko": "한국어만", "both": "둘 다"}, {"things": ("{count}개",)})
    _write_catalogue(tmp_path, "en", {"both": "both"}, {})
    en = Translator("en", policy, load_catalogues(tmp_path))
    assert en("both") == "both"
    assert en("only.ko") == "한국어만"
    assert en.n("things", 1) == "1개" and en.n("things", 2) == "2개"
    assert en("nowhere.at.all") == "nowhere.at.all"
    assert en.n("nowhere.at.all", 2) == "nowhere.at.all"


def test_missing_compiled_catalogues_refuse_with_what_to_run(tmp_path):
    with pytest.raises(CataloguesMissing) as info:
        load_catalogues(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "ko" / "LC_MESSAGES" / "gwanje.mo") in message and "scripts/setup" in message


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_catalogue_is_up_to_date_with_its_po(lang):
    mo = LOCALE / lang / "LC_MESSAGES" / "gwanje.mo"
    assert mo.is_file(), f"{mo} missing: run scripts/setup"
    fresh = io.BytesIO()
    write_mo(fresh, _po(lang))
    fresh.seek(0)
    with mo.open("rb") as f:
        installed = read_mo(f)
    compiled = read_mo(fresh)

    def table(catalog: Catalog) -> dict:
        return {_key(m): _forms(m) for m in catalog if m.id}

    assert table(installed) == table(compiled), f"{mo} is older than its .po: run scripts/setup"
    assert installed.plural_forms == compiled.plural_forms


def test_label_comes_from_the_choice_set_in_the_requests_language(policy):
    class Light(ChoiceSet):
        on = Choice("켜짐", "on", "#00ff00")
        off = Choice("꺼짐", "off")

    assert Translator("ko", policy).label("on", Light) == "켜짐"
    assert Translator("en", policy).label("off", Light) == "off"
    assert Translator("en", policy).label("blinking", Light) == "blinking"
    assert Translator("en", policy).label(None, Light) == ""


def _reads() -> list[tuple[str, str, str]]:
    """``(file, how, key)`` for every literal message id the package's code and templates read."""
    found = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in {".py", ".html", ".js"} and "vendor" not in path.parts:
            text = path.read_text(encoding="utf-8")
            found += [(str(path.relative_to(PACKAGE)), m["how"] or "", m["key"]) for m in READ.finditer(text)]
    return found


def test_every_message_id_the_console_reads_is_in_the_catalogue():
    reads = _reads()
    assert len({key for _, _, key in reads}) > 200  # the scan sees the templates and views
    ids = set(_messages("ko"))
    assert not [(f, key) for f, _, key in reads if key not in ids]


def test_a_text_with_plural_forms_is_read_with_its_count():
    plural = {k for k, m in _messages("ko").items() if m.pluralizable}
    assert not [(f, how, key) for f, how, key in _reads() if key in plural and how not in {".n", ".raw_n"}]


def test_the_scan_sees_a_plural_text_read_without_its_count():
    sample = (
        '{{ t("cameras.total", total=total) }} {{ t.n("cameras.total", total, total=total) }} tr.raw_n("map.loaded")'
    )
    assert [(m["how"] or "", m["key"]) for m in READ.finditer(sample)] == [
        ("", "cameras.total"),
        (".n", "cameras.total"),
        (".raw_n", "map.loaded"),
    ]
