"""Face masking on a real clip: faces are found before masking and none after.

The sample CCTV clips in shared/data show people from behind and far away: OpenCV's cascades
find no real face in them (only a few false hits on the floor). So the clip here is made from
a real photograph shipped in a registry package — scikit-image's ``astronaut`` (NASA, public
domain) — moved across a 1280×720 frame at two sizes, 30 fps, encoded with ffmpeg.

"None after" is checked by the detector the masking used (OpenCV Haar) *and* by an independent
one (scikit-image's own LBP cascade implementation), so the test is not the detector grading
its own homework.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import cv2
import skimage.data as skdata

from gwanje.evidence import masking
from gwanje.evidence.watermark import Watermark
from tests.conftest import IN_CI

# Under CI ffmpeg is installed by scripts/test; a missing one must fail there, not skip.
pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None and not IN_CI, reason="ffmpeg is not installed")

W, H, FPS, FRAMES = 1280, 720, 30, 45


def make_face_clip(path: Path, frames: int = FRAMES) -> Path:
    face = cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)[10:250, 110:340]  # head and shoulders
    big, small = cv2.resize(face, (345, 360)), cv2.resize(face, (192, 200))
    background = np.full((H, W, 3), (90, 110, 100), np.uint8)
    proc = subprocess.Popen(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "bgr24",
            "-s",
            f"{W}x{H}",
            "-framerate",
            str(FPS),
            "-i",
            "-",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "18",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        stdin=subprocess.PIPE,
    )
    assert proc.stdin is not None
    for i in range(frames):
        frame = background.copy()
        x = 40 + i * 8  # walking right, faces ~140 px
        frame[150:510, x : x + 345] = big
        x2 = W - 240 - i * 5  # walking left, faces ~80 px
        frame[460:660, x2 : x2 + 192] = small
        proc.stdin.write(frame.tobytes())
    proc.stdin.close()
    assert proc.wait() == 0
    return path


class SkimageLBP:
    """An independent detector: scikit-image's LBP frontal-face cascade, its own implementation."""

    name = "skimage-lbp"

    def __init__(self) -> None:
        from skimage.feature import Cascade

        self._cascade = Cascade(skdata.lbp_frontal_face_cascade_filename())

    def detect(self, gray: np.ndarray) -> list:
        small = cv2.resize(gray, (640, 360), interpolation=cv2.INTER_AREA)
        return self._cascade.detect_multi_scale(
            img=small, scale_factor=1.2, step_ratio=1, min_size=(24, 24), max_size=(240, 240)
        )


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_face_clip(tmp_path_factory.mktemp("faces") / "faces.mp4")


@pytest.fixture(scope="module")
def masked_clip(face_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, masking.MaskReport]:
    out = tmp_path_factory.mktemp("masked") / "masked.mp4"
    report = masking.mask_video(
        face_clip,
        out,
        detector=masking.HaarFaceDetector(),
        watermark=Watermark("성동서-2026-117", "김수사", "EV-20261126-TEST01"),
    )
    return out, report


def test_detectors_find_both_faces_in_the_clip_before_masking(face_clip):
    haar = masking.count_faces(face_clip, masking.HaarFaceDetector())
    assert haar.frames == FRAMES
    assert haar.frames_with_faces >= FRAMES * 0.9
    assert haar.faces >= FRAMES * 1.8  # two people in nearly every frame
    lbp = masking.count_faces(face_clip, SkimageLBP(), every=9)
    assert lbp.frames_with_faces == lbp.frames


def test_no_detector_finds_a_face_after_masking(masked_clip):
    out, report = masked_clip
    assert report.frames == FRAMES and report.frames_masked == FRAMES
    assert masking.count_faces(out, masking.HaarFaceDetector()).faces == 0
    assert masking.count_faces(out, masking.HaarFaceDetector(profile=True, min_neighbors=3), every=3).faces == 0
    assert masking.count_faces(out, SkimageLBP(), every=3).faces == 0


def test_masked_clip_keeps_size_frame_rate_and_length(face_clip, masked_clip):
    out, _ = masked_clip
    before, after = masking.probe(face_clip), masking.probe(out)
    assert (after.width, after.height, after.fps) == (before.width, before.height, before.fps)
    assert after.frames == before.frames == FRAMES


def test_watermark_is_burned_into_every_frame_corner_and_leaves_the_middle(face_clip, masked_clip):
    out, _ = masked_clip
    src = list(masking.iter_frames(face_clip, pix_fmt="gray"))
    dst = list(masking.iter_frames(out, pix_fmt="gray"))
    for a, b in zip(src[::11], dst[::11]):
        corner = np.abs(a[H - 40 :, W - 500 :].astype(int) - b[H - 40 :, W - 500 :].astype(int)).mean()
        top = np.abs(a[:40, :300].astype(int) - b[:40, :300].astype(int)).mean()
        middle = np.abs(a[300:400, 700:800].astype(int) - b[300:400, 700:800].astype(int)).mean()
        assert corner > 10 and top > 10, "watermark text missing"
        assert middle < 4


def test_sample_cctv_clip_is_masked_end_to_end(shared_data, tmp_path):
    """The real camera clip goes through the pipeline and keeps every frame."""
    src = shared_data / "video" / "intel_one-by-one-person-detection.mp4"
    cut = tmp_path / "cut.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-t", "3", "-c", "copy", str(cut)], check=True)
    report = masking.mask_video(cut, tmp_path / "out.mp4")
    assert report.frames == masking.probe(tmp_path / "out.mp4").frames
    assert report.keyframes >= report.frames // report.stride


def test_a_masked_watermarked_package_verifies_and_its_clip_shows_no_face(face_clip, tmp_path):
    import pyzipper
    from datetime import datetime, timedelta, timezone

    from gwanje.evidence import package as pkg

    now = datetime.now(timezone.utc)
    spec = pkg.PackageSpec(
        "EV-20261126-MASK01",
        "성동서-2026-117",
        "crime_prevention",
        7,
        "김수사",
        "police",
        "it_park",
        "district",
        now,
        now + timedelta(days=30),
    )
    built = pkg.build_package(
        tmp_path / "out",
        spec,
        [pkg.ClipInput(face_clip, "SD-T-001", now, now)],
        mask_faces=True,
        watermark=True,
        key=b"k" * 32,
    )
    assert pkg.verify_package(built.path, built.password, key=b"k" * 32).ok
    clip = built.manifest["clips"][0]
    assert clip["source_sha256"] != clip["sha256"]
    assert clip["processing"]["masking"]["faces_detected"] > 0
    assert built.manifest["processing"]["detector"].startswith("opencv-haar")
    assert "김수사" in built.manifest["processing"]["watermark_text"]
    with pyzipper.AESZipFile(built.path) as zf:
        zf.setpassword(built.password.encode())
        (tmp_path / "inside.mp4").write_bytes(zf.read("clips/clip-01.mp4"))
    assert masking.count_faces(tmp_path / "inside.mp4", masking.HaarFaceDetector(), every=2).faces == 0


def test_a_damaged_clip_fails_instead_of_becoming_a_shorter_copy(face_clip, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(face_clip.read_bytes()[: face_clip.stat().st_size // 2])
    with pytest.raises(masking.MaskingFailed):
        masking.mask_video(broken, tmp_path / "out.mp4")


def test_a_detector_error_stops_the_pipeline_without_hanging(face_clip, tmp_path):
    class Broken:
        name = "broken"
        calls = 0

        def detect(self, gray):
            Broken.calls += 1
            if Broken.calls == 3:
                raise RuntimeError("detector crashed")
            return []

    with pytest.raises(RuntimeError, match="detector crashed"):
        masking.mask_video(face_clip, tmp_path / "out.mp4", detector=Broken())
