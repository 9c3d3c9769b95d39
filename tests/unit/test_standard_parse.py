"""The national CCTV standard data format: decoding, headers, values, rejections, writing. No I/O but tmp files."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date

import pytest

from gwanje.registry import standard
from gwanje.registry.standard import (
    STANDARD_COLUMNS,
    StandardFormatError,
    StandardOut,
    open_standard,
    parse_month,
    parse_standard,
    purpose_from_standard,
    standard_purpose_for,
    write_standard,
    write_standard_file,
)

HEADER = ",".join(STANDARD_COLUMNS)
ROW = (
    "서울특별시 성동구청,서울특별시 성동구 용답길 133,서울특별시 성동구 용답동 24-37,생활방범,4,200,360도 전방면,30,"
    "17-Dec,02-2286-5879,37.5607872,127.054718,2018-03-28"
)


def row(**changes: str) -> str:
    values = dict(zip(STANDARD_COLUMNS, next(csv.reader([ROW]))))
    values.update({getattr(standard, k): v for k, v in changes.items()})
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([values[c] for c in STANDARD_COLUMNS])
    return buf.getvalue()


def doc(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8")


def only(data: bytes) -> standard.StandardRow:
    rows = parse_standard(data).rows
    assert len(rows) == 1
    return rows[0]


def codes(r: standard.StandardRow) -> list[str]:
    return [reason.code for reason in r.reasons]


# ---- encodings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encode", "expected"),
    [
        (lambda t: t.encode("utf-8"), "utf-8"),
        (lambda t: t.encode("utf-8-sig"), "utf-8-sig"),
        (lambda t: t.encode("cp949"), "cp949"),
    ],
)
def test_every_supported_encoding_reads_the_same_values(encode, expected):
    text = HEADER + "\n" + ROW + "\n"
    parsed = parse_standard(encode(text))
    assert parsed.header.encoding == expected
    rec = parsed.rows[0].record
    assert rec.managing_agency == "서울특별시 성동구청"
    assert rec.road_address == "서울특별시 성동구 용답길 133"
    assert rec.digest == parse_standard(text.encode("utf-8")).rows[0].record.digest


def test_bom_does_not_leak_into_the_first_column_name():
    parsed = parse_standard(("\ufeff" + HEADER + "\n" + ROW).encode("utf-8"))
    assert parsed.header.columns[0] == "관리기관명"
    assert parsed.rows[0].ok


def test_a_file_that_is_neither_utf8_nor_cp949_is_refused_with_a_clear_error():
    with pytest.raises(StandardFormatError) as err:
        parse_standard(HEADER.encode("utf-8") + b"\n\xff\xfe\xff\xfe,\x80\x80\n")
    assert "UTF-8" in err.value.message_en and "CP949" in err.value.message_en
    assert err.value.field == "encoding"


def test_source_may_be_a_path_or_a_binary_file(tmp_path):
    path = tmp_path / "std.csv"
    path.write_bytes(doc(ROW))
    assert parse_standard(path).rows[0].ok
    assert parse_standard(str(path)).rows[0].ok
    with open(path, "rb") as fh:
        assert parse_standard(fh).rows[0].ok


# ---- header forms ------------------------------------------------------------------------------


def test_columns_are_found_by_name_not_position():
    cols = list(STANDARD_COLUMNS)
    values = next(csv.reader([ROW]))
    order = list(reversed(range(len(cols))))
    text = ",".join(cols[i] for i in order) + "\n" + ",".join(f'"{values[i]}"' for i in order) + "\n"
    rec = only(text.encode()).record
    assert (rec.latitude, rec.longitude, rec.camera_count) == (37.5607872, 127.054718, 4)


def test_numbered_form_with_a_leading_row_number_column():
    parsed = parse_standard(doc("1," + ROW, header="번호," + HEADER))
    assert parsed.header.form == "numbered"
    assert parsed.rows[0].record.site_key.startswith("STD-")


def test_localdata_form_keys_sites_by_local_government_code_and_management_number():
    header = "개방자치단체코드,관리번호," + HEADER + ",데이터갱신구분,데이터갱신시점,최종수정시점"
    data = doc("3030000,CCTV-0001," + ROW + ",I,2021-01-01 00:00:00,2021-01-01", header=header)
    parsed = parse_standard(data)
    assert parsed.header.form == "localdata"
    assert parsed.header.has_management_number
    assert parsed.rows[0].record.site_key == "3030000-CCTV-0001"


def test_provider_columns_are_tolerated():
    parsed = parse_standard(doc(ROW + ",3030000,서울특별시 성동구", header=HEADER + ",제공기관코드,제공기관명"))
    assert parsed.rows[0].ok
    assert parsed.header.form == "extended"


def test_standard_13_column_form_is_recognised():
    assert parse_standard(doc(ROW)).header.form == "standard13"


@pytest.mark.parametrize("missing", ["WGS84위도", "카메라대수", "설치목적구분", "데이터기준일자"])
def test_a_missing_required_column_is_named(missing):
    header = ",".join(c for c in STANDARD_COLUMNS if c != missing)
    with pytest.raises(StandardFormatError) as err:
        parse_standard((header + "\n").encode())
    assert missing in err.value.message_ko and missing in err.value.message_en
    assert err.value.field == missing


def test_an_empty_file_is_refused():
    with pytest.raises(StandardFormatError):
        parse_standard(b"")


# ---- quoting and line numbers ---------------------------------------------------------------------


def test_quoted_fields_with_commas_and_line_breaks_keep_their_text_and_line_numbers_follow_the_records():
    text = (
        "\n".join(
            [
                HEADER,
                row(LAT="37.561"),
                row(LAT="37.562", DIRECTION="북,남\n(교차로)"),  # csv quotes it: one record over two lines
                row(LAT="37.563"),
            ]
        )
        + "\n"
    )
    assert '"북,남\n(교차로)"' in text
    rows = parse_standard(text.encode()).rows
    assert [r.line for r in rows] == [2, 3, 5]
    assert rows[1].record.direction == "북,남\n(교차로)"
    assert all(r.ok for r in rows)


def test_a_rejected_row_after_a_multi_line_record_names_its_own_line():
    text = "\n".join([HEADER, row(ROAD="서울 성동구\n2층, 3층"), row(LAT="0", LON="0")]) + "\n"
    rows = parse_standard(text.encode()).rows
    assert rows[0].record.road_address == "서울 성동구\n2층, 3층"
    assert (rows[1].line, codes(rows[1])) == (4, ["position_zero"])


def test_blank_lines_are_skipped_but_counted_in_line_numbers():
    text = HEADER + "\n" + ROW + "\n\n" + row(LAT="37.57") + "\n"
    rows = parse_standard(text.encode()).rows
    assert [r.line for r in rows] == [2, 4]


def test_crlf_line_endings():
    rows = parse_standard(doc(ROW, row(LAT="37.57"))).rows
    assert [r.line for r in rows] == [2, 3]
    assert all(r.ok for r in rows)


def test_a_row_with_extra_non_empty_fields_is_rejected():
    r = only(doc(ROW + ",oops,more"))
    assert codes(r) == ["field_count"]


def test_a_short_row_is_padded_and_judged_on_its_values():
    r = only(doc(",".join(next(csv.reader([ROW]))[:10])))
    assert "position_missing" in codes(r)


# ---- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018-09", "2018-09"),
        ("200910", "2009-10"),
        ("17-Dec", "2017-12"),
        ("07-Jan", "2007-01"),
        ("Dec-17", "2017-12"),
        ("2018.09", "2018-09"),
        ("2018.9", "2018-09"),
        ("2018-09-01", "2018-09"),
        ("2018/09", "2018-09"),
        ("2018년 9월", "2018-09"),
        ("", None),
        ("  ", None),
    ],
)
def test_installation_month_formats(text, expected):
    assert parse_month(text) == expected
    r = only(doc(row(INSTALLED=text)))
    assert r.ok and r.record.installed_month == expected


@pytest.mark.parametrize("text", ["2018-13", "18", "sometime", "17-Foo", "2018-00"])
def test_an_unparseable_month_rejects_the_row(text):
    r = only(doc(row(INSTALLED=text)))
    assert codes(r) == ["installed_month_invalid"]
    assert text in r.reasons[0].ko and text in r.reasons[0].en


@pytest.mark.parametrize(
    ("value", "purpose"),
    [
        ("생활방범", "crime_prevention"),
        ("차량방범", "crime_prevention"),
        ("어린이보호", "child_protection"),
        ("교통단속", "traffic_enforcement"),
        ("교통정보수집", "traffic_info"),
        ("쓰레기단속", "illegal_dumping"),
        ("시설물관리", "facility_management"),
        ("재난재해", "disaster"),
        ("다목적", "crime_prevention"),
        ("기타", "other"),
        ("산불감시", "other"),
    ],
)
def test_purpose_mapping_keeps_the_original_text(value, purpose):
    rec = only(doc(row(PURPOSE=value))).record
    assert rec.primary_purpose == purpose
    assert rec.standard_purpose == value
    assert purpose_from_standard(value) == purpose


@pytest.mark.parametrize(
    ("purpose", "value"),
    [
        ("crime_prevention", "생활방범"),
        ("illegal_parking", "교통단속"),
        ("green_parking", "교통단속"),
        ("traffic_enforcement", "교통단속"),
        ("illegal_dumping", "쓰레기단속"),
        ("facility_management", "시설물관리"),
        ("disaster", "재난재해"),
        ("child_protection", "어린이보호"),
        ("traffic_info", "교통정보수집"),
        ("bicycle_storage", "기타"),
        ("other", "기타"),
        ("unknown", "기타"),
    ],
)
def test_reverse_purpose_mapping(purpose, value):
    assert standard_purpose_for(purpose) == value


def test_parsed_values():
    rec = only(doc(ROW)).record
    assert rec.camera_count == 4
    assert rec.pixels == 200 and rec.resolution_mp == 2.0
    assert rec.retention_days == 30
    assert rec.installed_month == "2017-12"
    assert rec.data_date == date(2018, 3, 28)
    assert rec.owner_organisation == "district"
    assert rec.direction == "360도 전방면"


def test_police_agencies_own_their_cameras():
    assert only(doc(row(AGENCY="서울성동경찰서"))).record.owner_organisation == "police"


def test_empty_optional_values():
    rec = only(doc(row(RETENTION="", PIXELS="", DIRECTION="", PHONE="", ROAD=""))).record
    assert rec.retention_days == 30
    assert rec.pixels is None and rec.resolution_mp is None
    assert rec.direction is None and rec.agency_phone is None and rec.road_address is None


def test_site_key_without_management_number_is_a_hash_of_addresses_purpose_month_and_position():
    rec = only(doc(ROW)).record
    basis = (
        "서울특별시 성동구청|서울특별시 성동구 용답길 133|서울특별시 성동구 용답동 24-37|생활방범|2017-12"
        "|37.560787|127.054718"
    )
    assert rec.site_key == "STD-" + hashlib.sha1(basis.encode()).hexdigest()[:20]
    # the camera count (and other attributes) are not part of the key, so a changed count is the same site
    assert only(doc(row(COUNT="2"))).record.site_key == rec.site_key
    assert only(doc(row(RETENTION="60", PIXELS="500"))).record.site_key == rec.site_key


@pytest.mark.parametrize(
    "changes",
    [{"ROAD": "서울특별시 성동구 용답길 135"}, {"LOT": "서울특별시 성동구 용답동 24-38"}, {"INSTALLED": "2019-03"}],
)
def test_sites_sharing_coordinates_are_distinct_when_address_or_month_differ(changes):
    rows = parse_standard(doc(ROW, row(**changes))).rows
    assert [r.ok for r in rows] == [True, True]
    assert rows[0].record.site_key != rows[1].record.site_key
    assert rows[1].warnings == ()


def test_digest_changes_with_any_value_and_not_with_formatting():
    base = only(doc(ROW)).record.digest
    assert only(doc(row(COUNT="2"))).record.digest != base
    assert only(doc(row(PHONE="02-000-0000"))).record.digest != base
    assert only(doc(row(INSTALLED="2017-12"))).record.digest == base
    assert only(doc(row(COUNT=" 4 ", LAT="37.56078720"))).record.digest == base


# ---- rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"LAT": "0", "LON": "0"}, "position_zero"),
        ({"LAT": "35.0", "LON": "139.7"}, "position_outside_korea"),
        ({"LAT": "127.054718", "LON": "37.5607872"}, "position_swapped"),
        ({"LAT": ""}, "position_missing"),
        ({"LON": ""}, "position_missing"),
        ({"LAT": "북위37"}, "position_invalid"),
        ({"COUNT": "네대"}, "camera_count_invalid"),
        ({"COUNT": "-1"}, "camera_count_invalid"),
        ({"COUNT": "0"}, "camera_count_invalid"),
        ({"COUNT": "2.5"}, "camera_count_invalid"),
        ({"COUNT": ""}, "camera_count_invalid"),
        ({"RETENTION": "한달"}, "retention_invalid"),
        ({"RETENTION": "-30"}, "retention_invalid"),
        ({"PIXELS": "HD"}, "pixels_invalid"),
        ({"PIXELS": "-200"}, "pixels_invalid"),
        ({"AGENCY": ""}, "agency_missing"),
        ({"DIRECTION": "가" * 121}, "field_too_long"),
    ],
)
def test_each_rejection_reason_names_the_line(changes, code):
    rows = parse_standard(doc(ROW.replace("37.5607872", "37.6"), row(**changes))).rows
    assert rows[0].ok
    bad = rows[1]
    assert bad.line == 3
    assert not bad.ok and bad.record is None
    assert codes(bad) == [code]
    assert bad.reasons[0].ko and bad.reasons[0].en
    assert str(bad.reasons[0]) == f"{bad.reasons[0].ko} / {bad.reasons[0].en}"


def test_a_row_can_have_several_reasons():
    r = only(doc(row(COUNT="0", INSTALLED="soon", LAT="0", LON="0")))
    assert codes(r) == ["camera_count_invalid", "installed_month_invalid", "position_zero"]


def test_a_repeated_row_keeps_its_cameras_as_a_site_of_its_own_and_names_the_first():
    rows = parse_standard(doc(ROW, row(COUNT="2"), ROW)).rows
    assert all(r.ok for r in rows)
    keys = [r.record.site_key for r in rows]
    assert len(set(keys)) == 3
    assert [r.record.camera_count for r in rows] == [4, 2, 4]
    assert rows[0].warnings == ()
    assert [w.code for w in rows[1].warnings] == ["repeated_row"] == [w.code for w in rows[2].warnings]
    assert "line 2" in rows[1].warnings[0].en and "2행" in rows[1].warnings[0].ko
    # the same file read again gives the same keys: the n-th repeat is always the same site
    assert [r.record.site_key for r in parse_standard(doc(ROW, row(COUNT="2"), ROW)).rows] == keys


def test_repeated_management_numbers_keep_their_cameras_even_at_other_positions():
    header = "개방자치단체코드,관리번호," + HEADER
    rows = parse_standard(doc("3030000,A1," + ROW, "3030000,A1," + row(LAT="37.6"), header=header)).rows
    assert rows[0].ok and rows[1].ok
    assert (rows[0].record.site_key, rows[1].record.site_key) == ("3030000-A1", "3030000-A1-R2")
    assert [w.code for w in rows[1].warnings] == ["repeated_row"]


@pytest.mark.parametrize("value", ["0", "", "0.0"])
def test_an_unknown_retention_is_kept_with_the_policy_default_and_flagged(value):
    from gwanje.policy import load_default

    r = only(doc(row(RETENTION=value)))
    assert r.ok
    assert r.record.retention_days == load_default().retention.default_days
    assert [w.code for w in r.warnings] == ["retention_default"]
    assert r.warnings[0].ko and r.warnings[0].en


@pytest.mark.parametrize(
    ("lat", "lon"), [("99.999999", "999.999999"), ("37.56", "999.999999"), ("99.999999", "127.05")]
)
def test_placeholder_positions_are_refused_as_sentinels(lat, lon):
    r = only(doc(row(LAT=lat, LON=lon)))
    assert codes(r) == ["position_sentinel"]
    assert r.reasons[0].ko and r.reasons[0].en


def test_field_limits_match_the_registry_columns():
    from gwanje.registry.models import Camera, Site

    assert Site.__table__.c.managing_agency.type.length == 120
    assert Site.__table__.c.road_address.type.length == 300
    assert Site.__table__.c.lot_address.type.length == 300
    assert Site.__table__.c.agency_phone.type.length == 40
    assert Site.__table__.c.standard_purpose.type.length == 40
    assert Camera.__table__.c.direction.type.length == 120
    assert Camera.__table__.c.management_number.type.length >= standard.MAX_SITE_KEY + 4


def test_reader_estimates_rows_from_lines_and_iterates_once():
    reader = open_standard(doc(ROW, row(LAT="37.6"), row(LAT="37.7")))
    assert reader.estimated_rows() == 3
    assert len(list(reader)) == 3
    with pytest.raises(RuntimeError):
        list(reader)


# ---- writing ------------------------------------------------------------------------------------


def out(**changes: object) -> StandardOut:
    values = dict(
        managing_agency="서울특별시 성동구청",
        road_address="서울특별시 성동구 용답길 133",
        lot_address="서울특별시 성동구 용답동 24-37",
        standard_purpose="생활방범",
        primary_purpose="crime_prevention",
        camera_count=4,
        resolution_mp=2.0,
        direction="북,남\n교차로",
        retention_days=30,
        installed_month="2017-12",
        agency_phone="02-2286-5879",
        latitude=37.5607872,
        longitude=127.054718,
        data_date=date(2018, 3, 28),
    )
    values.update(changes)
    return StandardOut(**values)


def test_written_rows_parse_back_to_the_same_values():
    buf = io.StringIO()
    assert (
        write_standard(
            [out(), out(latitude=37.6, resolution_mp=0.41, standard_purpose=None, primary_purpose="illegal_parking")],
            buf,
        )
        == 2
    )
    rows = parse_standard(buf.getvalue().encode("utf-8")).rows
    first, second = rows[0].record, rows[1].record
    assert first.direction == "북,남\n교차로"
    assert (first.camera_count, first.resolution_mp, first.installed_month) == (4, 2.0, "2017-12")
    assert second.pixels == 41 and second.standard_purpose == "교통단속"
    assert buf.getvalue().splitlines()[0] == HEADER


def test_standard_file_is_utf8_with_bom_by_default_and_cp949_on_request(tmp_path):
    path = tmp_path / "out.csv"
    write_standard_file([out()], path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert parse_standard(path).header.encoding == "utf-8-sig"
    write_standard_file([out()], path, encoding="cp949")
    assert parse_standard(path).header.encoding == "cp949"
    assert parse_standard(path).rows[0].record.managing_agency == "서울특별시 성동구청"


def test_cp949_export_of_a_character_cp949_cannot_hold_fails_cleanly(tmp_path):
    path = tmp_path / "out.csv"
    with pytest.raises(StandardFormatError) as err:
        write_standard_file([out(road_address="서울 🚓 길")], path, encoding="cp949")
    assert "UTF-8" in err.value.message_en
    assert not path.exists() and not (tmp_path / "out.csv.part").exists()


# ---- the policy maps purposes and agencies -------------------------------------------------------


@pytest.fixture(scope="module")
def hanbit():
    from gwanje.policy import load_policy
    from tests.fixtures.districts import HANBIT_POLICY

    return load_policy(HANBIT_POLICY)


def test_a_purpose_the_policy_maps_is_taken_without_a_warning():
    r = only(doc(row(PURPOSE="어린이보호")))
    assert r.record.primary_purpose == "child_protection" and r.warnings == ()


def test_an_unmapped_purpose_is_kept_as_other_with_a_warning_that_names_it():
    parsed = parse_standard(doc(ROW, row(PURPOSE="산불감시", LAT="37.57")))
    first, second = parsed.rows
    assert first.warnings == ()
    assert second.record.primary_purpose == "other" and second.record.standard_purpose == "산불감시"
    (warning,) = second.warnings
    assert warning.code == "purpose_unmapped" and "산불감시" in warning.ko and "'other'" in warning.en
    assert parsed.warned == [second] and parsed.rejected == []


def test_another_districts_policy_maps_its_own_texts_and_organisations(hanbit):
    # Hanbit's standard data calls parking enforcement 주정차단속 and has no 교통단속 or 교통정보수집.
    data = doc(
        row(AGENCY="한빛구청", PURPOSE="주정차단속"),
        row(AGENCY="한빛경찰서", PURPOSE="방범", LAT="37.57"),
        row(AGENCY="한빛구청", PURPOSE="교통단속", LAT="37.58"),
        row(AGENCY="한빛구청", PURPOSE="교통정보수집", LAT="37.59"),
    )
    rows = parse_standard(data, hanbit).rows
    assert [(r.record.primary_purpose, r.record.owner_organisation) for r in rows] == [
        ("illegal_parking", "gu_office"),
        ("crime_prevention", "hanbit_police"),
        ("other", "gu_office"),
        ("other", "gu_office"),
    ]
    assert [[w.code for w in r.warnings] for r in rows] == [[], [], ["purpose_unmapped"], ["purpose_unmapped"]]
    # The same file under the shipped policy: Seongdong maps the other two texts, to its own codes.
    shipped = parse_standard(data).rows
    assert [r.record.primary_purpose for r in shipped] == ["other", "other", "traffic_enforcement", "traffic_info"]
    assert [bool(r.warnings) for r in shipped] == [True, True, False, False]
    assert [r.record.owner_organisation for r in shipped] == ["district", "police", "district", "district"]


def test_an_unmapped_purpose_is_refused_where_the_policy_has_no_other_purpose(hanbit):
    import dataclasses

    without_other = dataclasses.replace(hanbit, purposes=tuple(p for p in hanbit.purposes if p.code != "other"))
    rows = parse_standard(doc(row(PURPOSE="교통단속"), row(PURPOSE="방범", LAT="37.57")), without_other).rows
    assert rows[0].record is None and codes(rows[0]) == ["purpose_unmapped"]
    assert rows[1].record.primary_purpose == "crime_prevention"


def test_purpose_and_owner_helpers_follow_the_policy(hanbit):
    from gwanje.registry.standard import owner_for_agency

    assert purpose_from_standard("주정차단속", hanbit) == "illegal_parking"
    assert purpose_from_standard("교통단속", hanbit) == "other"
    assert owner_for_agency("한빛경찰서", hanbit) == "hanbit_police"
    assert owner_for_agency("한빛구청", hanbit) == "gu_office"
    assert owner_for_agency("서울성동경찰서") == "police" and owner_for_agency("서울특별시 성동구청") == "district"


# ---- a header that is not the standard's, and --columns -------------------------------------------

ENGLISH = "agency,road,lot,purpose,cameras,pixels,direction,retention,installed,phone,lat,lon,date"  # standard order


def test_a_renamed_header_is_refused_naming_every_missing_column_and_the_way_out():
    with pytest.raises(StandardFormatError) as err:
        parse_standard(doc(ROW, header=ENGLISH))
    assert err.value.details["missing"] == list(STANDARD_COLUMNS)
    for name in STANDARD_COLUMNS:
        assert name in err.value.message_ko and name in err.value.message_en
    assert "--columns" in err.value.message_ko and "--columns" in err.value.message_en


def test_columns_standard_reads_a_renamed_file_as_the_standard_one():
    plain = only(doc(ROW)).record
    mapped = parse_standard(doc(ROW, header=ENGLISH), columns="standard").records
    assert mapped == [plain]


def test_columns_by_name_take_english_aliases_and_korean_names():
    header = ENGLISH.replace("agency", "Agency Name")
    spec = (
        "Agency Name=agency,road=road_address,lot=lot_address,purpose=설치목적구분,cameras=camera_count,"
        "pixels=pixels,direction=direction,retention=retention_days,installed=installed_month,phone=phone,"
        "lat=latitude,lon=longitude,date=데이터기준일자"
    )
    assert parse_standard(doc(ROW, header=header), columns=spec).records == [only(doc(ROW)).record]


def test_columns_by_position_can_skip_a_column():
    header = "no," + ENGLISH
    spec = "-," + ",".join(STANDARD_COLUMNS)
    assert parse_standard(doc("1," + ROW, header=header), columns=spec).records == [only(doc(ROW)).record]


def test_a_mapping_that_leaves_columns_unmapped_names_them():
    with pytest.raises(StandardFormatError) as err:
        parse_standard(doc(ROW, header=ENGLISH), columns="agency=관리기관명")
    assert err.value.details["missing"] == list(STANDARD_COLUMNS[1:])
    assert "--columns" in err.value.message_en


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("agency=owner", "owner"),  # not a standard column
        ("nosuch=관리기관명", "nosuch"),  # not a column of the file
        ("agency=관리기관명,road=관리기관명", "관리기관명"),  # one standard column twice
        ("agency=관리기관명,agency=소재지도로명주소", "agency"),  # one file column twice
        ("agency=관리기관명,소재지도로명주소", "FILE=STANDARD"),  # pairs and positions mixed
        (",".join(["-"] * 14), "names no standard column"),
        (",".join([*STANDARD_COLUMNS, "-"]), "14"),  # longer than the file
        ("  ", "empty"),
        ("=관리기관명", "FILE=STANDARD"),
    ],
)
def test_bad_mappings_are_refused_clearly(spec, words):
    with pytest.raises(StandardFormatError) as err:
        parse_standard(doc(ROW, header=ENGLISH), columns=spec)
    assert err.value.field == "columns"
    assert words in err.value.message_en
    assert err.value.message_ko


def test_a_mapping_onto_a_column_the_file_already_has_is_refused():
    with pytest.raises(StandardFormatError) as err:
        parse_standard(doc(ROW), columns="소재지지번주소=소재지도로명주소")
    assert "appears twice" in err.value.message_en and "소재지도로명주소" in err.value.message_ko


# ---- gwanje's own columns (an extended export) -------------------------------------------------------

EXT_HEADER = HEADER + ",관리번호,담당부서코드,주목적코드,카메라그룹코드,저장방식코드"


def test_gwanje_columns_give_department_purpose_group_and_storage():
    r = only(doc(ROW + ",SD-GP-001,traffic_guidance,green_parking,green_parking,central", header=EXT_HEADER))
    assert r.ok and r.warnings == ()
    rec = r.record
    assert (rec.site_key, rec.department, rec.primary_purpose, rec.camera_group, rec.storage_mode) == (
        "SD-GP-001",
        "traffic_guidance",
        "green_parking",
        "green_parking",
        "central",
    )
    assert parse_standard(doc(ROW + ",SD-GP-001,,,,", header=EXT_HEADER)).header.form == "gwanje"


@pytest.mark.parametrize(
    "tail",
    [
        ",A1,no_such_dept,,,",  # not in the policy
        ",A1,police_station,,,",  # the police's department on a district agency's site
        ",A1,autonomous_admin,no_such_purpose,,",
        ",A1,autonomous_admin,,,in_the_cloud",
    ],
)
def test_gwanje_columns_the_policy_does_not_know_fall_back_with_a_warning(tail):
    r = only(doc(ROW + tail, header=EXT_HEADER))
    assert r.ok
    assert [w.code for w in r.warnings] == ["extension_unknown"]
    assert r.record.primary_purpose == "crime_prevention"  # as 생활방범 says
    assert r.record.storage_mode is None


def test_columns_standard_is_refused_for_a_file_that_is_not_13_columns_wide():
    with pytest.raises(StandardFormatError) as err:
        parse_standard(doc("1," + ROW, header="no," + ENGLISH), columns="standard")
    assert "exactly 13" in err.value.message_en and "'-'" in err.value.message_ko
