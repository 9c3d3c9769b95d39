"""Evidence packages: a sealed package verifies; any changed byte fails and names its file."""

from __future__ import annotations

import json
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import pyzipper

from click.testing import CliRunner

from gwanje.evidence import package as pkg
from gwanje.cli.evidence import evidence_command

KEY = pkg.signing_key("unit-test-secret-key-that-is-long-enough")
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def built(tmp_path: Path) -> pkg.BuiltPackage:
    clips = []
    for i in (1, 2):
        path = tmp_path / f"source-{i}.mp4"
        path.write_bytes(bytes(range(256)) * (200 + i))  # stands in for a stream-copied clip
        clips.append(
            pkg.ClipInput(
                path, f"SD-{i:03d}", NOW - timedelta(minutes=10), NOW - timedelta(minutes=5), camera_name=f"왕십리 {i}"
            )
        )
    spec = pkg.PackageSpec(
        "EV-20261126-TEST01",
        "성동서-2026-117",
        "crime_prevention",
        7,
        "김수사",
        "police",
        "it_officer",
        "district",
        NOW,
        NOW + timedelta(days=30),
    )
    return pkg.build_package(tmp_path / "out", spec, clips, mask_faces=False, watermark=False, key=KEY)


def _flip_byte_in_member(zip_path: Path, member: str) -> None:
    """Change one byte of ``member``'s stored data, as a careless copy or a tamperer would."""
    with pyzipper.AESZipFile(zip_path) as zf:
        info = zf.getinfo(member)
    data = bytearray(zip_path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0x01
    zip_path.write_bytes(bytes(data))


def _repack(zip_path: Path, password: str, replace: dict[str, bytes | None]) -> None:
    """Rewrite the package with the right password, replacing (or dropping, with None) members."""
    with pyzipper.AESZipFile(zip_path) as zf:
        zf.setpassword(password.encode())
        members = {name: zf.read(name) for name in zf.namelist()}
    for name, content in replace.items():
        if content is None:
            members.pop(name, None)
        else:
            members[name] = content
    with pyzipper.AESZipFile(zip_path, "w", encryption=pyzipper.WZ_AES) as zf:
        zf.setpassword(password.encode())
        for name, content in members.items():
            zf.writestr(name, content)


def test_package_verifies_with_every_file_and_a_valid_signature(built):
    report = pkg.verify_package(built.path, built.password, key=KEY)
    assert report.ok, [p.line() for p in report.problems]
    assert report.files_ok == ["README.txt", "clips/clip-01.mp4", "clips/clip-02.mp4"]
    assert report.signature == "valid"
    assert report.package_sha256 == built.sha256
    assert report.manifest_sha256 == built.manifest_sha256


def test_manifest_names_cameras_times_request_recipient_and_hashes(built):
    m = built.manifest
    assert m["request"]["ref"] == "성동서-2026-117"
    assert m["recipient"]["name"] == "김수사"
    assert m["cameras"] == ["SD-001", "SD-002"]
    first = m["clips"][0]
    assert first["start"]["utc"] == "2026-11-26T02:50:00+00:00"
    assert first["start"]["kst"] == "2026-11-26T11:50:00+09:00"
    assert first["source_sha256"] == first["sha256"]  # copied byte for byte without masking
    assert set(m["files"]) == {"README.txt", "clips/clip-01.mp4", "clips/clip-02.mp4"}
    assert m["created_at"]["kst"].endswith("+09:00")


def test_password_is_random_and_not_in_the_package(built, tmp_path):
    assert len(built.password.replace("-", "")) == 20
    assert built.password.encode() not in built.path.read_bytes()
    assert pkg.random_password() != pkg.random_password()


def test_one_changed_byte_inside_the_zip_fails_and_names_that_clip(built):
    _flip_byte_in_member(built.path, "clips/clip-02.mp4")
    report = pkg.verify_package(built.path, built.password, key=KEY)
    assert not report.ok
    assert report.failed_files == ["clips/clip-02.mp4"]
    assert "clips/clip-01.mp4" in report.files_ok


def test_a_clip_swapped_by_someone_with_the_password_fails_on_its_sha256(built):
    _repack(built.path, built.password, {"clips/clip-01.mp4": b"another video"})
    report = pkg.verify_package(built.path, built.password, key=KEY)
    assert report.failed_files == ["clips/clip-01.mp4"]
    assert report.problems[0].kind == "sha256_mismatch"
    assert report.signature == "valid"


def test_an_edited_manifest_fails_its_signature(built):
    manifest = json.loads(json.dumps(built.manifest))
    manifest["files"]["clips/clip-01.mp4"] = "0" * 64
    _repack(built.path, built.password, {"manifest.json": json.dumps(manifest).encode()})
    report = pkg.verify_package(built.path, built.password, key=KEY)
    assert report.signature == "invalid"
    assert "manifest.json" in report.failed_files


def test_missing_and_unexpected_files_are_named(built):
    _repack(built.path, built.password, {"clips/clip-02.mp4": None, "clips/extra.mp4": b"x"})
    report = pkg.verify_package(built.path, built.password)
    kinds = {(p.file, p.kind) for p in report.problems}
    assert ("clips/clip-02.mp4", "missing") in kinds
    assert ("clips/extra.mp4", "unexpected") in kinds


def test_wrong_password_gives_a_clear_error(built):
    report = pkg.verify_package(built.path, "WRONG-PASS-WORD")
    assert not report.ok
    assert [p.kind for p in report.problems] == ["wrong_password"]
    assert "비밀번호" in report.problems[0].message_ko and "password" in report.problems[0].message_en


def test_truncated_zip_is_reported_as_damaged(built):
    built.path.write_bytes(built.path.read_bytes()[:1000])
    report = pkg.verify_package(built.path, built.password)
    assert [p.kind for p in report.problems] == ["corrupt_zip"]


def test_cli_verify_exits_zero_on_a_good_package(built):
    result = CliRunner().invoke(evidence_command, ["verify", str(built.path), "--password", built.password])
    assert result.exit_code == 0, result.output
    assert "verified: 3 files match" in result.output


def test_cli_verify_exits_one_and_names_the_changed_file(built):
    _flip_byte_in_member(built.path, "clips/clip-01.mp4")
    result = CliRunner().invoke(evidence_command, ["verify", str(built.path), "--password", built.password])
    assert result.exit_code == 1
    assert "검증 실패: clips/clip-01.mp4 / verification failed: clips/clip-01.mp4" in result.output


def test_cli_verify_wrong_password_exits_one(built):
    result = CliRunner().invoke(evidence_command, ["verify", str(built.path), "--password", "nope"])
    assert result.exit_code == 1
    assert "wrong password" in result.output
