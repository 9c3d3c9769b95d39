"""Hot-list matching: exact and one-OCR-confusion matches, normalisation, CSV upload parsing."""

from __future__ import annotations

import pytest

from gwanje.situations.hotlist.rules import (
    CONFUSABLE,
    HotList,
    HotListEntry,
    HotListReason,
    Match,
    normalize_plate,
    normalize_read,
    parse_hotlist_csv,
)


@pytest.fixture(scope="module")
def hot() -> HotList:
    return HotList.build(
        [
            ("12가3456", "wanted", "2024-수배-001", "흰색 SUV"),
            ("123나4567", "stolen", "2024-도난-017", ""),
            ("서울12다3456", "stolen", "REF-3", None),
            ("77호7711", "wanted", "REF-4", ""),
            ("50배5050", "wanted", "REF-5", ""),
        ]
    )


# ---- exact -------------------------------------------------------------------------------------


def test_a_listed_plate_matches_exactly(hot):
    m = hot.match("12가3456")
    assert m == Match("12가3456", "12가3456", "exact", None, None, None, "wanted", "2024-수배-001", "흰색 SUV")


def test_exact_match_ignores_spaces_hyphens_dots_and_decomposed_hangul(hot):
    decomposed = "123" + "\u1102\u1161" + "4567"  # 나 as jamo, as some OCR engines emit
    for read in ("12 가 3456", "12가-3456", "12.가.3456", decomposed, " 서울 12다 3456 "):
        m = hot.match(read)
        assert m is not None and m.kind == "exact", read


def test_old_regional_plates_match(hot):
    assert hot.match("서울12다3456").reason == "stolen"
    assert hot.match("서울12다3456").case_ref == "REF-3"


def test_a_plate_that_is_not_listed_does_not_match(hot):
    assert hot.match("34라5678") is None
    assert hot.match("12가345") is None  # shorter
    assert hot.match("12가34567") is None  # longer


# ---- one confusable character --------------------------------------------------------------------


@pytest.mark.parametrize(
    "read,position,read_char,list_char",
    [
        ("12가3458", 6, "8", "6"),  # 6↔8
        ("12가3466", 5, "6", "5"),  # 5↔6
        ("12가8456", 3, "8", "3"),  # 3↔8
        ("72가3456", 0, "7", "1"),  # 1↔7
        ("12가34S6", 5, "S", "5"),  # Latin S for 5
        ("12가345G", 6, "G", "6"),  # Latin G for 6
        ("1Z가3456", 1, "Z", "2"),  # Latin Z for 2
        ("I2가3456", 0, "I", "1"),  # Latin I for 1
        ("L2가3456", 0, "L", "1"),  # Latin L for 1
        ("12거3456", 2, "거", "가"),  # vowel ㅓ for ㅏ
        ("12고3456", 2, "고", "가"),
        ("12구3456", 2, "구", "가"),
        ("123노4567", 3, "노", "나"),
        ("123누4567", 3, "누", "나"),
        ("서울12도3456", 4, "도", "다"),
        ("사울12다3456", 0, "사", "서"),  # region syllables are plate syllables too
        ("77허7711", 2, "허", "호"),
        ("77하7711", 2, "하", "호"),
    ],
)
def test_one_confusable_character_matches_and_says_which(hot, read, position, read_char, list_char):
    m = hot.match(read)
    assert m is not None
    assert (m.kind, m.position, m.read_char, m.list_char) == ("confusable", position, read_char, list_char)
    assert m.read == normalize_read(read)
    assert m.plate[position] == list_char and m.read[position] == read_char


@pytest.mark.parametrize(
    "read_char,list_char",
    [
        ("8", "0"),
        ("9", "0"),
        ("D", "0"),
        ("O", "0"),
        ("Q", "0"),
        ("B", "8"),
        ("0", "9"),
        ("0", "8"),
        ("3", "8"),
        ("6", "8"),
        ("5", "6"),
        ("7", "1"),
    ],
)
def test_each_digit_confusion_matches_in_either_direction(read_char, list_char):
    plate = f"10가{list_char}000"
    hot = HotList.build([(plate, "stolen", "R", "")])
    m = hot.match(f"10가{read_char}000")
    assert m is not None and m.kind == "confusable" and m.plate == plate
    assert (m.position, m.read_char, m.list_char) == (3, read_char, list_char)


@pytest.mark.parametrize(
    "group",
    [
        "가거고구",
        "나너노누",
        "다더도두",
        "라러로루",
        "마머모무",
        "바버보부",
        "사서소수",
        "아어오우",
        "자저조주",
        "하허호",
    ],
)
def test_each_hangul_vowel_group_is_confusable_within_itself(group):
    for listed in group:
        hot = HotList.build([(f"34{listed}5678", "wanted", "", "")])
        for read in group:
            m = hot.match(f"34{read}5678")
            assert m is not None
            assert m.kind == ("exact" if read == listed else "confusable")


def test_the_confusion_table_is_symmetric_and_never_maps_a_character_to_itself():
    for ch, alts in CONFUSABLE.items():
        assert ch not in alts
        for alt in alts:
            assert ch in CONFUSABLE[alt]


def test_syllables_of_different_consonants_are_not_confused():
    hot = HotList.build([("12가3456", "wanted", "", "")])
    for read in ("12나3456", "12카3456", "12배3456", "12허3456"):
        assert hot.match(read) is None, read


def test_delivery_syllable_bae_has_no_vowel_sibling(hot):
    assert hot.match("50배5050").kind == "exact"
    assert hot.match("50바5050") is None
    assert hot.match("50베5050") is None


def test_two_confusable_substitutions_do_not_match(hot):
    assert hot.match("12가3488") is None  # 5→8 is not a confusion, and two substitutions anyway
    assert hot.match("12거3458") is None  # 가→거 and 6→8
    assert hot.match("72가3458") is None  # 1→7 and 6→8
    assert hot.match("12가34SG") is None  # two Latin look-alikes


def test_a_non_confusable_substitution_does_not_match(hot):
    assert hot.match("12가3457") is None  # 6→7
    assert hot.match("42가3456") is None  # 1→4
    assert hot.match("12가3A56") is None  # 4→A is not in the table
    assert hot.match("12가3456X") is None  # an extra character


def test_exact_is_preferred_over_a_confusable_neighbour():
    hot = HotList.build([("12가3456", "wanted", "A", ""), ("12가3458", "stolen", "B", "")])
    m = hot.match("12가3458")
    assert (m.kind, m.case_ref) == ("exact", "B")


def test_the_lowest_position_wins_then_the_lowest_listed_character():
    hot = HotList.build(
        [("82가3450", "wanted", "pos0", ""), ("02가3458", "wanted", "pos6", ""), ("02가3459", "wanted", "pos6b", "")]
    )
    m = hot.match("02가3450")  # pos 0: 0→8 hits "82가3450"; pos 6: 0→8 and 0→9 would hit too
    assert (m.position, m.case_ref) == (0, "pos0")
    hot = HotList.build([("02가3458", "wanted", "eight", ""), ("02가3459", "wanted", "nine", "")])
    assert hot.match("02가3450").case_ref == "eight"
    assert hot.match("02가3450") == hot.match("02가3450")


def test_a_read_that_is_not_plate_text_is_refused(hot):
    for bad in ("", "   ", "12가3456!", "12가3456789012", "12ㄱ3456", None):
        with pytest.raises(ValueError):
            hot.match(bad)


# ---- normalisation -----------------------------------------------------------------------------


def test_normalize_plate_strips_separators_and_composes_hangul():
    assert normalize_plate(" 서울 12-가.3456 ") == "서울12가3456"
    assert normalize_plate("12\u1100\u1161 3456") == "12가3456"
    assert normalize_plate("123가4567") == "123가4567"


@pytest.mark.parametrize("bad", ["", " - . ", "12가34567890123", "12A3456", "12가3456?", "12ㄱ3456", "１２가３４５６"])
def test_normalize_plate_refuses_what_is_not_digits_and_hangul(bad):
    with pytest.raises(ValueError):
        normalize_plate(bad)


def test_normalize_read_keeps_latin_letters_upper_case():
    assert normalize_read("12가34s6") == "12가34S6"
    with pytest.raises(ValueError):
        normalize_read("12가34$6")


# ---- building -------------------------------------------------------------------------------------


def test_build_accepts_entries_and_korean_reasons():
    hot = HotList.build([HotListEntry("12가3456", "wanted"), ("34나5678", "도난"), ("56다7890", HotListReason.wanted)])
    assert len(hot) == 3 and "34나5678" in hot
    assert hot.match("34나5678").reason == "stolen"
    assert HotListReason.stolen.label_ko == "도난"


def test_build_refuses_bad_plates_reasons_and_duplicates():
    with pytest.raises(ValueError, match="entry 1"):
        HotList.build([("12가3456", "wanted"), ("bad!", "wanted")])
    with pytest.raises(ValueError, match="unknown reason"):
        HotList.build([("12가3456", "lost")])
    with pytest.raises(ValueError, match="duplicate"):
        HotList.build([("12가3456", "wanted"), ("12 가 3456", "stolen")])
    with pytest.raises(ValueError, match="not a plate"):
        HotList.build([("1234", "wanted")])


def test_an_empty_list_matches_nothing():
    assert HotList.build([]).match("12가3456") is None


# ---- CSV ----------------------------------------------------------------------------------------


KOREAN_CSV = (
    "차량번호,구분,사건번호,비고\n"
    "12가3456,수배,2024-001,흰색 SUV\n"
    "서울 34나 5678,도난,2024-002,\n"
    "\n"
    "12가 3456,도난,2024-003,중복\n"
    "ABC,수배,2024-004,\n"
    "56다7890,분실,2024-005,\n"
    '78라9012,도난차량,,"쉼표, 포함"\n'
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949"])
def test_csv_in_each_encoding_parses_with_bad_lines_reported(encoding):
    entries, errors = parse_hotlist_csv(KOREAN_CSV.encode(encoding))
    assert entries == [
        HotListEntry("12가3456", "wanted", "2024-001", "흰색 SUV"),
        HotListEntry("서울34나5678", "stolen", "2024-002", ""),
        HotListEntry("78라9012", "stolen", "", "쉼표, 포함"),
    ]
    assert [(e.line, e.code) for e in errors] == [(5, "duplicate_plate"), (6, "bad_plate"), (7, "unknown_reason")]
    assert "line 2" in errors[0].en and "2행" in errors[0].ko
    assert errors[1].en == "bad plate" and errors[1].ko == "잘못된 차량번호"
    assert "line 6" in str(errors[1])


def test_csv_with_an_english_header_in_any_order():
    data = b"reason,plate,note,case_ref\r\nstolen,12\xea\xb0\x803456,n,c\r\n"
    entries, errors = parse_hotlist_csv(data)
    assert entries == [HotListEntry("12가3456", "stolen", "c", "n")] and errors == []


def test_csv_without_optional_columns():
    entries, errors = parse_hotlist_csv("차량번호,구분\n12가3456,수배\n".encode())
    assert entries == [HotListEntry("12가3456", "wanted", "", "")] and errors == []


def test_csv_with_a_short_row_reports_it():
    entries, errors = parse_hotlist_csv("차량번호,구분,사건번호\n12가3456\n".encode())
    assert entries == [] and [(e.line, e.code) for e in errors] == [(2, "bad_row")]


def test_csv_without_the_header_or_content_is_refused():
    with pytest.raises(ValueError, match="header"):
        parse_hotlist_csv("번호,사유\n12가3456,수배\n".encode())
    with pytest.raises(ValueError, match="empty"):
        parse_hotlist_csv(b"\n\n")
    with pytest.raises(ValueError, match="CP949"):
        parse_hotlist_csv(b"plate,reason\n\xff\xff\xff,wanted\n")


def test_parsed_entries_build_a_list():
    entries, _ = parse_hotlist_csv(KOREAN_CSV.encode())
    hot = HotList.build(entries)
    assert hot.match("서울34노5678").kind == "confusable"
    assert all(tuple(e) == (e.plate, e.reason, e.case_ref, e.note) for e in entries)
