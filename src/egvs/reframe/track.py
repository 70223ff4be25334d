"""Faces over a span of a video: detections a few times a second, linked into people per shot.

Each detection frame also yields what the virtual camera needs besides boxes: who is moving their
mouth (``Face.mouth_activity``, compared with the same person's previous detection) and where the
picture changes when there is no face (``FaceTrack.saliency``, the frame-difference centroid).
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import av
import cv2
import numpy as np

from egvs.errors import InputError, reason
from egvs.features.face_detect import KEYPOINTS, Face, FaceDetector
from egvs.media.cuts import CutFinder
from egvs.media.decode import upright
from egvs.media.probe import picture_stream

DETECT_FPS = 5.0  # detections per second: 2.5 per 0.5 s timeline step, enough for smoothing
LINK_GAP = 0.8  # s: a person unseen for longer gets a new id
LINK_DISTANCE = 1.0  # face widths a person may move between two detections and keep the id
_PATCH = (24, 12)  # width, height of the normalised mouth / eye patches
_SALIENCY_WIDTH = 160
_MOVED = 20  # grey levels: a pixel whose change is above this moved
# Fraction of pixels that must move for a saliency centre: fewer is noise, more is a camera move.
_MOVED_RANGE = (0.002, 0.5)
_IN_FLIGHT = 4  # sampled frames (2.8 MB each at 720p) queued for face detection at most


@dataclass
class FaceTrack:
    """Faces detected on ``times`` (seconds from the file's start) in the span [start, end)."""

    start: float
    end: float
    times: np.ndarray  # (n,)
    faces: list[list[Face]]  # per time, best score first
    source_size: tuple[int, int]  # upright width, height
    saliency: np.ndarray  # (n, 2) centre of the picture's change since the previous time, or NaN
    cuts: list[float] = field(default_factory=list)  # shot cuts in [start, end): first new frames

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The track as arrays (`egvs.cache.FeatureCache` stores no Python objects): one row
        per face, with the index of its time."""
        rows = [(i, face) for i, found in enumerate(self.faces) for face in found]
        return {
            "span": np.array([self.start, self.end]),
            "times": self.times,
            "source_size": np.array(self.source_size),
            "saliency": self.saliency,
            "cuts": np.array(self.cuts, dtype=np.float64),
            "face_time": np.array([i for i, _ in rows], dtype=np.int64),
            "face_box": np.array([f.box for _, f in rows], dtype=np.float64).reshape(-1, 4),
            "face_score": np.array([f.score for _, f in rows], dtype=np.float64),
            "face_keypoints": np.array([f.keypoints for _, f in rows], dtype=np.float64).reshape(
                len(rows), len(KEYPOINTS), 2
            ),
            "face_id": np.array([f.track_id for _, f in rows], dtype=np.int64),
            "face_mouth": np.array([f.mouth_activity for _, f in rows], dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> FaceTrack:
        """The track `to_arrays` stored."""
        faces: list[list[Face]] = [[] for _ in arrays["times"]]
        for i, box, score, keypoints, ident, mouth in zip(
            arrays["face_time"],
            arrays["face_box"],
            arrays["face_score"],
            arrays["face_keypoints"],
            arrays["face_id"],
            arrays["face_mouth"],
            strict=True,
        ):
            faces[int(i)].append(
                Face(
                    (float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                    float(score),
                    tuple((float(x), float(y)) for x, y in keypoints),
                    int(ident),
                    float(mouth),
                )
            )
        start, end = (float(t) for t in arrays["span"])
        width, height = (int(n) for n in arrays["source_size"])
        cuts = [float(t) for t in arrays["cuts"]]
        return cls(start, end, arrays["times"], faces, (width, height), arrays["saliency"], cuts)


def _decoded(path: str, start: float, end: float) -> Iterator[tuple[float, av.VideoFrame]]:
    """Every frame of [start, end) with its time (seconds from the file's first sample), after
    one seek."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"cannot open {path}: {reason(exc)}") from None
    with container:
        stream = picture_stream(container)
        if stream is None:
            raise InputError(f"no video stream in {path}")
        # As egvs.media.probe: times count from the file's first sample (probe itself refuses
        # files under 2 s, which are fine to reframe).
        origin = container.start_time / av.time_base if container.start_time else 0.0
        stream.thread_type = "AUTO"
        if start > 0.5:
            # Not seekable (some FLV): decode from the start, the frames before are skipped.
            with contextlib.suppress(av.error.FFmpegError):
                container.seek(
                    int((start + origin - 0.5) / stream.time_base), stream=stream, backward=True
                )
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            t = float(frame.time) - origin
            if t >= end:
                break
            if t >= start - 1e-3:
                yield t, frame


def _pixels(frame: av.VideoFrame) -> np.ndarray:
    """The frame as upright RGB: the display matrix says how a phone video is meant to be seen."""
    return upright(frame.to_ndarray(format="rgb24"), round(frame.rotation / 90) % 4 * 90)


class _Sampler:
    """Picks the first frame at or after each of ``start + k / fps``."""

    def __init__(self, start: float, fps: float) -> None:
        self.start, self.step, self.k = start, 1.0 / fps, 0

    def wants(self, t: float) -> bool:
        if t < self.start + self.k * self.step - 1e-3:
            return False
        while self.start + self.k * self.step - 1e-3 <= t:
            self.k += 1
        return True


def sample_frames(
    path: str, start: float, end: float, fps: float
) -> Iterator[tuple[float, np.ndarray]]:
    """Upright RGB frames of [start, end) at ``fps``: the first frame at or after each sample time.

    Times count from the file's first sample, like every EGVS time. One seek, then a streamed
    decode: only the sampled frames are converted to pixels.
    """
    sampler = _Sampler(start, fps)
    for t, frame in _decoded(path, start, end):
        if sampler.wants(t):
            yield t, _pixels(frame)


def _patch(gray: np.ndarray, centre: tuple[float, float], size: tuple[float, float]) -> np.ndarray:
    """A (PATCH) grey patch around ``centre`` scaled from ``size`` pixels, zero mean, unit std.

    Scaling to the face's size aligns the patch with the face (head motion cancels), and the
    normalisation removes light changes.
    """
    w, h = max(size[0], 2.0), max(size[1], 2.0)
    scale = np.array(
        [
            [_PATCH[0] / w, 0, _PATCH[0] / 2 - centre[0] * _PATCH[0] / w],
            [0, _PATCH[1] / h, _PATCH[1] / 2 - centre[1] * _PATCH[1] / h],
        ]
    )
    patch = cv2.warpAffine(
        gray, scale, _PATCH, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    ).astype(np.float32)
    return (patch - patch.mean()) / (patch.std() + 4.0)


def face_patches(gray: np.ndarray, face: Face) -> tuple[np.ndarray, np.ndarray]:
    """The mouth patch and an eye-band patch (the reference for changes that are not speech)."""
    eyes = np.mean(face.keypoints[:2], axis=0)
    mouth = _patch(gray, face.mouth, (0.6 * face.width, 0.3 * face.height))
    upper = _patch(gray, (float(eyes[0]), float(eyes[1])), (0.6 * face.width, 0.3 * face.height))
    return mouth, upper


def mouth_activity(
    before: tuple[np.ndarray, np.ndarray], after: tuple[np.ndarray, np.ndarray]
) -> float:
    """How much more the mouth changed than the eyes between two patch pairs (>= 0)."""
    mouth = float(np.abs(after[0] - before[0]).mean())
    upper = float(np.abs(after[1] - before[1]).mean())
    return max(0.0, mouth - upper)


def _saliency(before: np.ndarray, after: np.ndarray, scale: float) -> tuple[float, float]:
    """Centroid of the pixels that changed, in source pixels, or NaN when too few or too many did."""
    diff = cv2.absdiff(before, after)
    moved = diff > _MOVED
    if not _MOVED_RANGE[0] < moved.mean() < _MOVED_RANGE[1]:
        return float("nan"), float("nan")
    ys, xs = np.nonzero(moved)
    weights = diff[ys, xs].astype(np.float64)
    return (
        float(np.average(xs, weights=weights) * scale + scale / 2),
        float(np.average(ys, weights=weights) * scale + scale / 2),
    )


def _same_person(a: Face, b: Face) -> float:
    """Distance between two faces' centres in face widths (lower is more alike)."""
    (ax, ay), (bx, by) = a.centre, b.centre
    return float(np.hypot(ax - bx, ay - by) / max(a.width, b.width, 1.0))


class _Linker:
    """Gives each face the id of the nearest face seen within LINK_GAP, greedily, best first."""

    def __init__(self) -> None:
        self.next_id = 0
        self.recent: dict[int, tuple[float, Face, tuple[np.ndarray, np.ndarray]]] = {}

    def reset(self) -> None:
        self.recent.clear()

    def link(self, t: float, faces: list[Face], gray: np.ndarray) -> list[Face]:
        self.recent = {i: r for i, r in self.recent.items() if t - r[0] <= LINK_GAP}
        pairs = sorted(
            (_same_person(face, r[1]), n, i)
            for n, face in enumerate(faces)
            for i, r in self.recent.items()
        )
        assigned: dict[int, int] = {}
        for dist, n, i in pairs:
            if dist < LINK_DISTANCE and n not in assigned and i not in assigned.values():
                assigned[n] = i
        out = []
        for n, face in enumerate(faces):
            patches = face_patches(gray, face)
            if n in assigned:
                ident = assigned[n]
                activity = mouth_activity(self.recent[ident][2], patches)
            else:
                ident, activity = self.next_id, 0.0
                self.next_id += 1
            self.recent[ident] = (t, face, patches)
            out.append(face.with_(track_id=ident, mouth_activity=activity))
        return out


def detect_track(
    path: str,
    start: float,
    end: float,
    *,
    fps: float = DETECT_FPS,
    detector: FaceDetector | None = None,
) -> FaceTrack:
    """Detect and link faces in [start, end) of ``path`` at ``fps``, and find the shot cuts.

    One decode: every frame is checked for a cut (`CutFinder`), every
    ``1/fps`` s one is searched for faces. Ids, mouth activity and saliency never carry across
    a cut.
    """
    detector = detector or FaceDetector()
    linker = _Linker()
    sampler = _Sampler(start, fps)
    finder = CutFinder()
    times, faces, saliency, cuts = [], [], [], []
    size = (0, 0)
    previous: tuple[int, np.ndarray] | None = None  # (shot, small grey frame)

    def detect_and_link(t: float, rgb: np.ndarray, gray: np.ndarray, new_shot: bool) -> list[Face]:
        if new_shot:
            linker.reset()
        return linker.link(t, detector.detect(rgb), gray)

    # Faces are detected and linked in order on one thread (LiteRT releases the GIL) while
    # this one decodes and looks for cuts; at most `_IN_FLIGHT` frames wait for it.
    with ThreadPoolExecutor(1, thread_name_prefix="egvs-faces") as pool:
        pending: deque[Future[list[Face]]] = deque()
        for t, frame in _decoded(path, start, end):
            if finder.is_cut(frame):
                cuts.append(t)
            if not sampler.wants(t):
                continue
            rgb = _pixels(frame)
            size = (rgb.shape[1], rgb.shape[0])
            gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            scale = size[0] / _SALIENCY_WIDTH
            small = cv2.resize(
                gray,
                (_SALIENCY_WIDTH, max(1, round(size[1] / scale))),
                interpolation=cv2.INTER_AREA,
            )
            new_shot = previous is None or previous[0] != len(cuts)
            if previous is not None and not new_shot:
                saliency.append(_saliency(previous[1], small, scale))
            else:
                saliency.append((np.nan, np.nan))
            previous = (len(cuts), small)
            times.append(t)
            pending.append(pool.submit(detect_and_link, t, rgb, gray, new_shot))
            while len(pending) > _IN_FLIGHT:
                faces.append(pending.popleft().result())
        faces += [done.result() for done in pending]
    if not times:
        raise InputError(f"no video frames in {start:.2f}-{end:.2f} s of {path}")
    return FaceTrack(
        start,
        end,
        np.array(times),
        faces,
        size,
        np.array(saliency, dtype=np.float64).reshape(-1, 2),
        cuts,
    )
