"""Pure rules of the picture checks: sampled frames in, verdicts out. No I/O.

Frames are numpy arrays as OpenCV gives them (grayscale ``HxW`` or BGR ``HxWx3``, ``uint8``). Each is
first brought to a small fixed size (:data:`SIZE`, area interpolation) so every check costs the same
whatever the camera's resolution, and so sensor noise is averaged a little, never amplified.

How ``frozen`` is decided: a live camera's successive frames always differ a little, if only by sensor
noise, even when nothing in the scene moves; a stalled source repeats the same picture. The encoder
blurs that line: fed the same picture, H.264 sends "skip" blocks, so frames within a group of pictures
decode bit-identical, while the next keyframe and the frames refining it differ slightly (measured
≈0.01–0.3 mean grey levels on the small frames). A live still scene with noise never decodes two
identical frames (≥0.02 within a group, ≈0.1–0.7 in the sample clips). So the sampled frames are
frozen when, over at least ``frozen_span_s``, at least ``frozen_share`` of the successive pairs are
identical (mean absolute difference ≤ ``frozen_diff``, i.e. equal but for rounding) and no pair
changed more than ``frozen_motion`` (a real change in the scene). A perfectly noiseless static scene
(a synthetic picture, an encoder that drops all noise) cannot be told from a frozen one by the
picture alone: it is judged frozen, the safe side — a person looks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np

SIZE = (160, 90)  # width, height of the frames the checks look at (16:9; a 4:3 picture is squeezed alike)


class Kind(str, Enum):
    unreachable = "unreachable"
    no_frames = "no_frames"
    black = "black"
    frozen = "frozen"
    covered = "covered"
    defocused = "defocused"
    moved = "moved"
    healthy = "healthy"


LABELS: dict[Kind, tuple[str, str]] = {
    Kind.unreachable: ("연결 불가", "unreachable"),
    Kind.no_frames: ("영상 수신 없음", "no frames arriving"),
    Kind.black: ("검은 화면", "black picture"),
    Kind.frozen: ("화면 정지", "frozen picture"),
    Kind.covered: ("렌즈 가림", "lens covered"),
    Kind.defocused: ("초점 흐림", "defocused"),
    Kind.moved: ("화각 변경", "moved from its reference view"),
    Kind.healthy: ("정상", "healthy"),
}


@dataclass(frozen=True)
class PictureThresholds:
    """The limits of the picture checks. A later ``maintenance:`` policy section may fill these; the
    defaults are what the checks were tuned on (generated scenes and the sample clips).

    - ``black_mean``: mean luminance (0–255) under which a picture is black, provided also its
      standard deviation is under ``black_std`` (a night scene is dark but has texture and lights:
      dark, not black). A lens covered in the dark reads as black.
    - ``frozen_diff``: mean absolute difference between successive samples at or under which they are
      the same frame; ``frozen_share``: the least share of successive pairs that must be the same;
      ``frozen_motion``: a pair that differs more is a live picture; ``frozen_span_s``: the least time
      the samples must cover to call it frozen.
    - ``covered_edges``: share of edge pixels (Canny) under which there is no detail; ``covered_std``:
      standard deviation of luminance under which the picture is uniform. Both must hold.
    - ``defocus_ratio``: sharpness (variance of the Laplacian) as a share of the reference's under
      which the picture is defocused; ``defocus_min_reference``: a reference softer than this says
      nothing about focus (no verdict).
    - ``moved_shift``: shift found by phase correlation, as a share of the frame's width/height, over
      which the view has moved; ``moved_correlation``: correlation with the reference under which the
      view is another one (rotated, zoomed, turned away).
    """

    black_mean: float = 16.0
    black_std: float = 5.0
    frozen_diff: float = 0.005
    frozen_share: float = 0.5
    frozen_motion: float = 1.0
    frozen_span_s: float = 1.0
    covered_edges: float = 0.004
    covered_std: float = 8.0
    defocus_ratio: float = 0.2
    defocus_min_reference: float = 50.0
    moved_shift: float = 0.06
    moved_correlation: float = 0.5


DEFAULT_THRESHOLDS = PictureThresholds()


@dataclass(frozen=True)
class Verdict:
    """One finding: its kind, the figure measured and the threshold it was held against."""

    kind: Kind
    figure: float | None = None
    threshold: float | None = None
    ko: str = ""
    en: str = ""

    @property
    def healthy(self) -> bool:
        return self.kind is Kind.healthy


def _verdict(kind: Kind, figure: float | None, threshold: float | None, ko: str, en: str) -> Verdict:
    label_ko, label_en = LABELS[kind]
    return Verdict(kind, figure, threshold, f"{label_ko}: {ko}", f"{label_en}: {en}")


def small_gray(frame: np.ndarray) -> np.ndarray:
    """The frame in grey at :data:`SIZE` (area interpolation), ``uint8``."""
    if frame.ndim == 3:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if (frame.shape[1], frame.shape[0]) != SIZE:
        frame = cv2.resize(frame, SIZE, interpolation=cv2.INTER_AREA)
    return frame


@dataclass(frozen=True)
class Measures:
    """What the checks measure of one small grey frame."""

    mean: float
    std: float
    edges: float  # share of edge pixels
    sharpness: float  # variance of the Laplacian


def measure(gray: np.ndarray) -> Measures:
    """The figures of one small grey frame (see :func:`small_gray`)."""
    mean, std = cv2.meanStdDev(gray)
    edges = cv2.Canny(gray, 20, 60)
    lap = cv2.Laplacian(gray, cv2.CV_32F)
    _, lap_std = cv2.meanStdDev(lap)
    return Measures(
        mean=float(mean[0, 0]),
        std=float(std[0, 0]),
        edges=float(cv2.countNonZero(edges)) / gray.size,
        sharpness=float(lap_std[0, 0]) ** 2,
    )


_WINDOW = cv2.createHanningWindow(SIZE, cv2.CV_32F)


def view_change(reference: np.ndarray, gray: np.ndarray) -> tuple[float, float]:
    """(shift as a share of the frame, correlation) between the reference and a frame, both small grey.

    The shift is phase correlation's (Hanning window against the borders); the correlation is the
    zero-mean normalised correlation of the two lightly blurred pictures once that shift is undone,
    so a shifted view shows as a shift and a rotated, zoomed or other view as a low correlation.
    """
    a = cv2.GaussianBlur(reference, (5, 5), 0).astype(np.float32)
    b = cv2.GaussianBlur(gray, (5, 5), 0).astype(np.float32)
    (dx, dy), _response = cv2.phaseCorrelate(a, b, _WINDOW)
    shift = max(abs(dx) / SIZE[0], abs(dy) / SIZE[1])
    matrix = np.float32([[1, 0, -dx], [0, 1, -dy]])
    back = cv2.warpAffine(b, matrix, SIZE, borderMode=cv2.BORDER_REFLECT)
    m = 8  # leave out the borders the shift brought in
    x, y = a[m:-m, m:-m], back[m:-m, m:-m]
    x = x - x.mean()
    y = y - y.mean()
    denom = float(np.sqrt((x * x).sum() * (y * y).sum()))
    correlation = float((x * y).sum()) / denom if denom > 0 else 0.0
    return shift, correlation


def _frozen(grays: Sequence[np.ndarray], times: Sequence[float] | None, t: PictureThresholds) -> Verdict | None:
    if len(grays) < 2:
        return None
    span = (times[-1] - times[0]) if times else float("inf")
    if span < t.frozen_span_s:
        return None
    diffs = [float(cv2.norm(grays[i], grays[i + 1], cv2.NORM_L1)) / grays[i].size for i in range(len(grays) - 1)]
    same = sum(d <= t.frozen_diff for d in diffs)
    if not same or same < t.frozen_share * len(diffs) or max(diffs) > t.frozen_motion:
        return None
    return _verdict(
        Kind.frozen,
        min(diffs),
        t.frozen_diff,
        f"{span:.1f}초 동안 프레임 {len(diffs)}쌍 중 {same}쌍이 같음 (차이 {min(diffs):.3f} ≤ {t.frozen_diff})",
        f"{same} of {len(diffs)} successive frame pairs the same (difference {min(diffs):.3f} ≤ {t.frozen_diff} "
        f"mean grey levels) over {span:.1f} s",
    )


def check_pictures(
    frames: Sequence[np.ndarray],
    *,
    times: Sequence[float] | None = None,
    reference: np.ndarray | None = None,
    thresholds: PictureThresholds = DEFAULT_THRESHOLDS,
) -> list[Verdict]:
    """The verdicts on a camera's sampled frames (oldest first), taken at ``times`` (seconds, any origin;
    without them the frames are taken to cover enough time). The picture judged for black, covered,
    defocused and moved is the last one; frozen looks at all. A black or covered picture is not also
    judged for focus or view (it has neither). No problem found → one ``healthy`` verdict."""
    t = thresholds
    if not frames:
        return [_verdict(Kind.no_frames, 0, 1, "받은 프레임 없음", "no frame received")]
    grays = [small_gray(f) for f in frames]
    last = measure(grays[-1])
    found: list[Verdict] = []
    if last.mean < t.black_mean and last.std < t.black_std:
        found.append(
            _verdict(
                Kind.black,
                last.mean,
                t.black_mean,
                f"평균 밝기 {last.mean:.1f} < {t.black_mean}",
                f"mean luminance {last.mean:.1f} < {t.black_mean}",
            )
        )
    elif last.edges < t.covered_edges and last.std < t.covered_std:
        found.append(
            _verdict(
                Kind.covered,
                last.edges,
                t.covered_edges,
                f"윤곽 비율 {last.edges:.4f} < {t.covered_edges}, 밝기 편차 {last.std:.1f} < {t.covered_std}",
                f"edge density {last.edges:.4f} < {t.covered_edges}, luminance deviation {last.std:.1f} "
                f"< {t.covered_std}",
            )
        )
    frozen = None if found and found[0].kind is Kind.black else _frozen(grays, times, t)  # black is black
    if frozen is not None:
        found.append(frozen)
    if reference is not None and not found:
        ref = small_gray(reference)
        ref_sharpness = measure(ref).sharpness
        if ref_sharpness >= t.defocus_min_reference:
            ratio = last.sharpness / ref_sharpness
            if ratio < t.defocus_ratio:
                found.append(
                    _verdict(
                        Kind.defocused,
                        ratio,
                        t.defocus_ratio,
                        f"선명도가 기준 화면의 {ratio:.2f}배 < {t.defocus_ratio}",
                        f"sharpness {ratio:.2f} of the reference's < {t.defocus_ratio}",
                    )
                )
        if not found:
            shift, correlation = view_change(ref, grays[-1])
            if shift > t.moved_shift:
                found.append(
                    _verdict(
                        Kind.moved,
                        shift,
                        t.moved_shift,
                        f"기준 화면에서 {shift:.0%} 이동 > {t.moved_shift:.0%}",
                        f"shifted {shift:.0%} from the reference view > {t.moved_shift:.0%}",
                    )
                )
            elif correlation < t.moved_correlation:
                found.append(
                    _verdict(
                        Kind.moved,
                        correlation,
                        t.moved_correlation,
                        f"기준 화면과의 상관 {correlation:.2f} < {t.moved_correlation}",
                        f"correlation with the reference view {correlation:.2f} < {t.moved_correlation}",
                    )
                )
    return found or [_verdict(Kind.healthy, None, None, "이상 없음", "no problem found")]


def stream_verdict(reachable: bool, frames: int, wanted: int, problem: str | None = None) -> Verdict | None:
    """The stream's own verdict before any picture check: unreachable, or not enough frames arriving."""
    if not reachable:
        detail = problem or "연결 실패"
        return _verdict(Kind.unreachable, 0, 1, detail, problem or "cannot connect")
    if frames < wanted:
        return _verdict(
            Kind.no_frames,
            frames,
            wanted,
            f"제한 시간 안에 프레임 {frames}/{wanted}개",
            f"{frames} of {wanted} frames within the time limit",
        )
    return None
