"""Building and verifying an evidence package; files only, no database.

A package is an AES-256 ZIP (WinZip AE-2, opens in 7-Zip and Windows tools that read AES
ZIPs) holding::

    README.txt        how to check the package, in Korean and English
    manifest.json     cameras, time ranges, request, recipient, processing, SHA-256 of every file
    manifest.sig      HMAC-SHA256 of manifest.json under a key derived from the app secret
    clips/clip-01.mp4 the clips, named by number only: ZIP member names are not encrypted,
                      so camera names and places stay inside the encrypted manifest

Two independent checks catch a changed byte: the AE-2 authentication code of each member
(a byte changed inside the ZIP), and the SHA-256 in the manifest (a member replaced by
someone who knows the password). The manifest's own integrity rests on the HMAC, which only
the center can check, and on its SHA-256 kept in the center's custody log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyzipper

from gwanje import __version__
from gwanje.core.clock import to_kst
from gwanje.evidence import masking
from gwanje.evidence.watermark import FontMissing, Watermark

log = logging.getLogger(__name__)

FORMAT = "gwanje-evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
README = "README.txt"
CONTROL_FILES = (README, MANIFEST, SIGNATURE)
PASSWORD_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud over the phone
CHUNK = 1 << 20


class PackageError(Exception):
    def __init__(self, message_ko: str, message_en: str):
        super().__init__(f"{message_ko} / {message_en}")
        self.message_ko = message_ko
        self.message_en = message_en


# --- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipInput:
    """A recorded clip to export, already cut to the requested range (video/clips.py)."""

    path: Path
    camera_id: str
    start: datetime
    end: datetime
    camera_name: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class PackageSpec:
    package_uid: str
    request_ref: str
    purpose: str
    recipient_user_id: int
    recipient_name: str
    recipient_organisation: str | None
    created_by: str
    created_by_organisation: str | None
    created_at: datetime
    expires_at: datetime
    note: str | None = None


@dataclass
class BuiltPackage:
    path: Path
    sha256: str
    size_bytes: int
    manifest_sha256: str
    manifest: dict[str, Any]
    password: str = field(repr=False)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def random_password(groups: int = 5, size: int = 4) -> str:
    """20 characters from a 32-letter alphabet: 100 bits, e.g. ``K7QM-2XPA-…``."""
    return "-".join("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(size)) for _ in range(groups))


def new_package_uid(now: datetime) -> str:
    kst = to_kst(now)
    assert kst is not None
    return f"EV-{kst:%Y%m%d}-" + "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(6))


def signing_key(secret_key: str) -> bytes:
    """A key used for nothing else than manifests, derived from the application secret."""
    return hmac.new(secret_key.encode("utf-8"), b"gwanje evidence manifest v1", hashlib.sha256).digest()


def sign(manifest_bytes: bytes, key: bytes) -> str:
    return hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest()


def _stamp(value: datetime) -> dict[str, str]:
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: give aware times")
    kst = to_kst(value)
    assert kst is not None
    return {"utc": value.astimezone(timezone.utc).isoformat(), "kst": kst.isoformat()}


# --- rendering clips -----------------------------------------------------------------------------


@dataclass
class RenderedClip:
    source: ClipInput
    path: Path
    source_sha256: str
    processing: dict[str, Any]


def render_clip(clip: ClipInput, dst: Path, *, mask_faces: bool, watermark, detector=None) -> RenderedClip:  # noqa: ANN001
    """Mask and/or watermark one clip into ``dst`` in a single encode; copy it byte for byte otherwise."""
    if not clip.path.is_file():
        raise PackageError(f"영상 파일이 없습니다: {clip.path.name}", f"clip file not found: {clip.path.name}")
    source_sha = sha256_file(clip.path)
    try:
        if mask_faces:
            report = masking.mask_video(clip.path, dst, detector=detector, watermark=watermark)
            processing = {"reencoded": True, "masking": report.summary(), "seconds": round(report.seconds, 3)}
        elif watermark is not None:
            seconds = masking.transcode(clip.path, dst, watermark=watermark)
            processing = {"reencoded": True, "masking": None, "seconds": round(seconds, 3)}
    except (masking.MaskingFailed, FontMissing, OSError) as exc:
        raise PackageError(
            f"영상을 처리할 수 없습니다: {clip.path.name} ({exc})", f"cannot process clip {clip.path.name} ({exc})"
        ) from exc
    if not (mask_faces or watermark is not None):
        shutil.copyfile(clip.path, dst)
        processing = {"reencoded": False, "masking": None}
    return RenderedClip(clip, dst, source_sha, processing)


# --- building ------------------------------------------------------------------------------------


def build_manifest(
    spec: PackageSpec,
    rendered: list[RenderedClip],
    files: dict[str, str],
    *,
    mask_faces: bool,
    watermark_text: str | None,
    detector_name: str | None,
) -> dict[str, Any]:
    try:
        import cv2  # heavy (and only needed for masking): loaded when a package is built, not to verify one

        opencv = cv2.__version__
    except ImportError:  # watermark-only or copy exports need no OpenCV
        opencv = None
    clips = []
    for i, item in enumerate(rendered, start=1):
        name = f"clips/{item.path.name}"
        clips.append(
            {
                "file": name,
                "camera_id": item.source.camera_id,
                "camera_name": item.source.camera_name,
                "location": item.source.location,
                "start": _stamp(item.source.start),
                "end": _stamp(item.source.end),
                "source_file": item.source.path.name,
                "source_sha256": item.source_sha256,
                "sha256": files[name],
                "processing": item.processing,
            }
        )
    return {
        "format": FORMAT,
        "package_id": spec.package_uid,
        "request": {"ref": spec.request_ref, "purpose": spec.purpose, "note": spec.note},
        "recipient": {
            "user_id": spec.recipient_user_id,
            "name": spec.recipient_name,
            "organisation": spec.recipient_organisation,
        },
        "created_by": {"name": spec.created_by, "organisation": spec.created_by_organisation},
        "created_at": _stamp(spec.created_at),
        "expires_at": _stamp(spec.expires_at),
        "tool": {"gwanje": __version__, "ffmpeg": masking.ffmpeg_version(), "opencv": opencv},
        "processing": {
            "face_masking": mask_faces,
            "detector": detector_name,
            "watermark": watermark_text is not None,
            "watermark_text": watermark_text,
        },
        "cameras": sorted({c["camera_id"] for c in clips}),
        "clips": clips,
        "files": files,
        "hash": "sha256",
    }


README_TEXT = """gwanje 증거영상 패키지 / evidence package {package_id}

요청 / request: {request_ref}
수령인 / recipient: {recipient}

[확인 방법]
1. manifest.json 의 "files" 에 적힌 SHA-256 값과 각 파일의 SHA-256 값을 비교하십시오
   (예: sha256sum clips/clip-01.mp4, Windows: certutil -hashfile clips\\clip-01.mp4 SHA256).
2. manifest.json 의 SHA-256 값은 관제센터의 반출 기록(chain of custody)에 남아 있습니다.
3. 관제센터에서는 `gwanje evidence verify 패키지.zip --password …` 로 한 번에 확인합니다.
이 영상은 수사 목적 외 이용·제3자 제공이 금지됩니다 (개인정보 보호법 제18조).

[How to check]
1. Compare the SHA-256 of each file with the value under "files" in manifest.json.
2. The SHA-256 of manifest.json is kept in the center's chain-of-custody log.
3. At the center, `gwanje evidence verify PACKAGE.zip --password …` checks everything at once.
Use for any other purpose, or disclosure to third parties, is prohibited (PIPA Art. 18).
"""


def seal(build_dir: Path, out_path: Path, password: str) -> None:
    """Write every file of ``build_dir`` into an AES-256 ZIP (video stored, text deflated)."""
    tmp = out_path.with_name(out_path.name + ".part")
    with pyzipper.AESZipFile(tmp, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as zf:
        zf.setpassword(password.encode("utf-8"))
        zf.setencryption(pyzipper.WZ_AES, nbits=256)
        for path in sorted(p for p in build_dir.rglob("*") if p.is_file()):
            arcname = path.relative_to(build_dir).as_posix()
            stored = path.suffix.lower() in {".mp4", ".mkv", ".ts", ".jpg", ".png"}
            zf.write(path, arcname, compress_type=pyzipper.ZIP_STORED if stored else pyzipper.ZIP_DEFLATED)
    tmp.replace(out_path)


def build_package(
    out_dir: Path,
    spec: PackageSpec,
    clips: list[ClipInput],
    *,
    mask_faces: bool,
    watermark: bool,
    key: bytes,
    detector_kind: str = "haar",
    password: str | None = None,
) -> BuiltPackage:
    """Render the clips, write manifest and signature, seal them. The password is returned once."""
    if not clips:
        raise PackageError("내보낼 영상이 없습니다", "no clips to export")
    out_dir.mkdir(parents=True, exist_ok=True)
    password = password or random_password()
    mark = Watermark(spec.request_ref, spec.recipient_name, spec.package_uid) if watermark else None
    detector = None
    if mask_faces:
        detector = masking.make_detector(detector_kind)
    with tempfile.TemporaryDirectory(prefix="gwanje-ev-", dir=out_dir) as work:
        build = Path(work) / spec.package_uid
        (build / "clips").mkdir(parents=True)
        rendered = [
            render_clip(
                clip, build / "clips" / f"clip-{i:02d}.mp4", mask_faces=mask_faces, watermark=mark, detector=detector
            )
            for i, clip in enumerate(clips, start=1)
        ]
        (build / README).write_text(
            README_TEXT.format(
                package_id=spec.package_uid, request_ref=spec.request_ref, recipient=spec.recipient_name
            ),
            encoding="utf-8",
        )
        files = {p.relative_to(build).as_posix(): sha256_file(p) for p in sorted(build.rglob("*")) if p.is_file()}
        manifest = build_manifest(
            spec,
            rendered,
            files,
            mask_faces=mask_faces,
            watermark_text=mark.text() if mark else None,
            detector_name=detector.name if detector else None,
        )
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8")
        (build / MANIFEST).write_bytes(manifest_bytes)
        (build / SIGNATURE).write_text(sign(manifest_bytes, key) + "\n", encoding="ascii")
        out_path = out_dir / f"{spec.package_uid}.zip"
        seal(build, out_path, password)
    return BuiltPackage(
        out_path,
        sha256_file(out_path),
        out_path.stat().st_size,
        hashlib.sha256(manifest_bytes).hexdigest(),
        manifest,
        password,
    )


# --- verifying -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    file: str | None
    kind: str  # corrupt_zip, wrong_password, altered, sha256_mismatch, missing, unexpected, manifest, signature
    message_ko: str
    message_en: str

    def line(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.message_ko} / {self.message_en}"


@dataclass
class VerifyReport:
    package: str
    package_sha256: str | None = None
    package_id: str | None = None
    manifest_sha256: str | None = None
    files_ok: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    signature: str = "unchecked"  # valid, invalid, unchecked, absent

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def failed_files(self) -> list[str]:
        return sorted({p.file for p in self.problems if p.file})

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["ok"] = self.ok
        body["failed_files"] = self.failed_files
        return body


def _problem(report: VerifyReport, file: str | None, kind: str, ko: str, en: str) -> VerifyReport:
    report.problems.append(Problem(file, kind, ko, en))
    return report


def _read_member(zf, name: str) -> tuple[str | None, bytes | None, str | None]:  # noqa: ANN001
    """SHA-256 of a member (and its bytes when small), or the reason it cannot be read."""
    digest = hashlib.sha256()
    keep = name in CONTROL_FILES
    kept = bytearray()
    try:
        with zf.open(name) as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                if keep:
                    kept.extend(chunk)
    except RuntimeError as exc:  # pyzipper: "Bad password for file ..."
        if "password" in str(exc).lower():
            return None, None, "password"
        return None, None, str(exc)
    except (pyzipper.BadZipFile, zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        # pyzipper's BadZipFile ("Bad HMAC check for file …") is its own class, not zipfile's.
        return None, None, str(exc) or type(exc).__name__
    return digest.hexdigest(), bytes(kept) if keep else None, None


def verify_package(path: Path, password: str, *, key: bytes | None = None) -> VerifyReport:
    """Re-check a package: every file against the manifest, and the manifest against its signature.

    Each problem names its file: a changed byte, a missing or an unexpected file, a wrong
    password or a damaged ZIP.
    """
    report = VerifyReport(package=str(path))
    if not path.is_file():
        return _problem(report, None, "corrupt_zip", f"패키지 파일이 없습니다: {path}", f"package not found: {path}")
    report.package_sha256 = sha256_file(path)
    try:
        zf = pyzipper.AESZipFile(path)
    except (pyzipper.BadZipFile, zipfile.BadZipFile, OSError, EOFError) as exc:
        return _problem(
            report,
            None,
            "corrupt_zip",
            f"ZIP 파일이 손상되었거나 ZIP이 아닙니다 ({exc})",
            f"the ZIP file is damaged or not a ZIP ({exc})",
        )
    with zf:
        zf.setpassword(password.encode("utf-8"))
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        if MANIFEST not in names:
            return _problem(report, MANIFEST, "missing", "manifest.json 이 없습니다", "manifest.json is missing")
        _, manifest_bytes, error = _read_member(zf, MANIFEST)
        if error == "password":
            return _problem(report, None, "wrong_password", "비밀번호가 올바르지 않습니다", "wrong password")
        if error or manifest_bytes is None:
            return _problem(
                report,
                MANIFEST,
                "altered",
                f"manifest.json 을 읽을 수 없습니다 (변경 또는 손상: {error})",
                f"manifest.json cannot be read (changed or damaged: {error})",
            )
        report.manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        try:
            manifest = json.loads(manifest_bytes.decode("utf-8"))
            expected: dict[str, str] = dict(manifest["files"])
            report.package_id = manifest.get("package_id")
        except (ValueError, KeyError, TypeError) as exc:
            return _problem(
                report, MANIFEST, "manifest", f"manifest.json 형식 오류 ({exc})", f"manifest.json is malformed ({exc})"
            )

        if SIGNATURE not in names:
            report.signature = "absent"
            _problem(report, SIGNATURE, "missing", "manifest.sig 가 없습니다", "manifest.sig is missing")
        elif key is not None:
            _, sig_bytes, error = _read_member(zf, SIGNATURE)
            good = (
                error is None
                and sig_bytes is not None
                and hmac.compare_digest(sig_bytes.decode("ascii", "replace").strip(), sign(manifest_bytes, key))
            )
            report.signature = "valid" if good else "invalid"
            if not good:
                _problem(
                    report,
                    MANIFEST,
                    "signature",
                    "manifest.json 서명이 맞지 않습니다 (목록이 변경되었거나 다른 센터의 패키지)",
                    "manifest.json signature does not match (list changed, or another center's package)",
                )

        for name in sorted(expected):
            if name not in names:
                _problem(report, name, "missing", "파일이 없습니다", "file is missing")
                continue
            digest, _, error = _read_member(zf, name)
            if error == "password":
                _problem(
                    report,
                    name,
                    "wrong_password",
                    "이 파일의 비밀번호가 다릅니다",
                    "this file has a different password",
                )
            elif error:
                _problem(
                    report,
                    name,
                    "altered",
                    f"파일이 변경되었거나 손상되었습니다 ({error})",
                    f"file was changed or damaged ({error})",
                )
            elif digest != expected[name]:
                _problem(
                    report,
                    name,
                    "sha256_mismatch",
                    f"SHA-256 불일치: 목록 {expected[name][:16]}…, 실제 {digest[:16]}…",
                    f"SHA-256 mismatch: manifest {expected[name][:16]}…, actual {digest[:16]}…",
                )
            else:
                report.files_ok.append(name)
        for name in sorted(set(names) - set(expected) - {MANIFEST, SIGNATURE}):
            _problem(report, name, "unexpected", "목록에 없는 파일이 들어 있습니다", "file is not in the manifest")
    return report
