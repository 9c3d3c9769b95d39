"""Korean particles chosen by how the last syllable is read (issue 9, §5: "사건 39이(가)")."""

from __future__ import annotations

import pytest

from gwanje.korean import final_consonant, particle, with_particle


@pytest.mark.parametrize(
    ("word", "subject"),
    [
        ("사건", "사건이"),
        ("경찰", "경찰이"),
        ("구청", "구청이"),
        ("모니터링 요원", "모니터링 요원이"),
        ("관리책임자", "관리책임자가"),
        ("112 상황실", "112 상황실이"),
        (1, "1이"),  # 일
        (2, "2가"),  # 이
        (3, "3이"),  # 삼
        (4, "4가"),  # 사
        (5, "5가"),  # 오
        (6, "6이"),  # 육
        (7, "7이"),  # 칠
        (8, "8이"),  # 팔
        (9, "9가"),  # 구
        (0, "0이"),  # 영
        (10, "10이"),  # 십
        (39, "39가"),  # 삼십구
        (100, "100이"),  # 백
        (2000, "2000이"),  # 이천
        ("C-102", "C-102가"),
        ("CCTV", "CCTV가"),  # 브이
        ("URL", "URL이"),  # 엘
        ("RAM", "RAM이"),  # 엠
        ("fan", "fan이"),  # 엔
        ("CAR", "CAR이"),  # 알
        ("'포착'", "'포착'이"),
        ("(사고)", "(사고)가"),
    ],
)
def test_subject_particle_follows_the_reading(word, subject):
    assert with_particle(word, "이/가") == subject


def test_each_pair_picks_by_final_consonant():
    assert with_particle(39, "을/를") == "39를"
    assert with_particle(36, "을/를") == "36을"
    assert with_particle("사건 7", "은/는") == "사건 7은"
    assert with_particle("사건 5", "은") == "사건 5는"
    assert with_particle("구청", "와") == "구청과"
    assert with_particle("경찰서", "과/와") == "경찰서와"


def test_ro_takes_no_eu_after_a_final_rieul():
    assert with_particle("서울", "으로/로") == "서울로"
    assert with_particle(1, "으로") == "1로"  # 일로
    assert with_particle(3, "으로") == "3으로"  # 삼으로
    assert with_particle("버스", "로") == "버스로"
    assert with_particle("현장", "으로/로") == "현장으로"


def test_an_unreadable_ending_keeps_both_forms_and_an_unknown_particle_is_refused():
    assert particle("#", "이/가") == "이(가)"
    assert particle("", "을/를") == "을(를)"
    assert particle("…", "으로/로") == "(으)로"
    assert final_consonant("각") == "ㄱ" and final_consonant("가") == "" and final_consonant("?") is None
    with pytest.raises(ValueError, match="unknown particle"):
        particle("사건", "의")
