"""The picture stage: CNN embeddings and optical flow of every sampled frame, cached together.

Its two parts (`Embeddings` in batches, `Motion` frame by frame) each run on a thread of their
own. The timeline gets the ``visual`` and ``motion`` sources and the ``motion`` and ``novelty``
signals (how much a frame differs from the last `NOVELTY_WINDOW` seconds).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from egvs.features.extractor import Source, VideoPart
from egvs.features.motion import MOTION_FEATURES, MotionAnalyzer
from egvs.features.visual import EMBEDDING_DIM, VisualEmbedder
from egvs.media.decode import VideoSample
from egvs.media.probe import MediaInfo
from egvs.timeline import Timeline

BATCH = 16  # frames per CNN call
NOVELTY_WINDOW = 10.0  # seconds of past frames a frame is compared with
NOVELTY_CHUNK = 2048  # steps per block of the novelty computation (bounds its float32 copies)


class Embeddings:
    """The CNN's embedding of every frame, run a batch at a time."""

    name = "visual"

    def __init__(self) -> None:
        self.embedder = VisualEmbedder()
        self.batch: list[np.ndarray] = []

    def update(self, sample: VideoSample) -> dict[str, np.ndarray]:
        self.batch.append(sample.image)
        return self._flush() if len(self.batch) == BATCH else {}

    def finish(self, n_steps: int) -> dict[str, np.ndarray]:
        return self._flush() if self.batch else {}

    def _flush(self) -> dict[str, np.ndarray]:
        frames, self.batch = np.stack(self.batch), []
        return {"visual": self.embedder.embed(frames)}


class Motion:
    """The optical-flow descriptors of every frame (`MotionAnalyzer`)."""

    name = "motion"

    def __init__(self) -> None:
        self.analyzer = MotionAnalyzer()

    def update(self, sample: VideoSample) -> dict[str, np.ndarray]:
        return {"motion": self.analyzer.update(sample)[None]}

    def finish(self, n_steps: int) -> dict[str, np.ndarray]:
        return {}


class VideoStage:
    """Embeddings and motion: one cache entry (``video``), two parts."""

    name = "video"
    sources = (
        Source("visual", EMBEDDING_DIM, dtype=np.float16),
        Source("motion", len(MOTION_FEATURES)),
    )
    signals: Mapping[str, float | None] = {"motion": 0.0, "novelty": 0.0}

    def config(self) -> dict:
        return {
            "visual": VisualEmbedder.config(),
            "motion": MotionAnalyzer.config(),
            "fast_decode": True,
        }

    def start(self, info: MediaInfo) -> list[VideoPart]:
        return [Embeddings(), Motion()]

    def add_to(self, timeline: Timeline, outputs: Mapping[str, np.ndarray]) -> None:
        timeline.add_signal("motion", timeline.sources["motion"][:, 0])
        timeline.add_signal("novelty", novelty(timeline.sources["visual"], timeline.grid.step))


def novelty(visual: np.ndarray, step: float, window: float = NOVELTY_WINDOW) -> np.ndarray:
    """Cosine distance of each frame's embedding to the mean of the previous ``window`` seconds.

    Computed in blocks of `NOVELTY_CHUNK` steps, so its float32 copies do not grow with the video.
    """
    out = np.zeros(len(visual), np.float32)
    if not visual.any():
        return out
    w = max(1, round(window / step))
    for start in range(1, len(visual), NOVELTY_CHUNK):
        stop = min(start + NOVELTY_CHUNK, len(visual))
        first = max(start - w, 0)  # the block's steps and the window before them
        block = visual[first:stop].astype(np.float32)
        unit = block / (np.linalg.norm(block, axis=1, keepdims=True) + 1e-8)
        csum = np.concatenate([np.zeros((1, unit.shape[1]), np.float32), np.cumsum(unit, axis=0)])
        idx = np.arange(start, stop) - first
        lo = np.maximum(idx - w, 0)
        past = (csum[idx] - csum[lo]) / np.maximum(idx - lo, 1)[:, None]
        past_norm = np.linalg.norm(past, axis=1) + 1e-8
        out[start:stop] = 1.0 - (unit[idx] * past).sum(1) / past_norm
    return np.clip(out, 0.0, 1.0)
