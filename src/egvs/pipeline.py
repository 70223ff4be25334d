"""The feature pipeline: decode once, run every extractor, assemble one aligned `Timeline`.

Each extractor's output is cached by (file hash, extractor config); only missing stages are
computed, and the file is decoded only for the streams they need. Video frames go to the CNN in
batches on a worker thread (onnxruntime and FFmpeg release the GIL), so decoding and embedding
overlap on two cores.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from egvs.cache import FeatureCache
from egvs.features.audio_blocks import AudioFeatureExtractor, iter_blocks
from egvs.features.audio_events import AFFECTIVE_EVENTS, YamnetTagger, event_columns
from egvs.features.emotion import SpeechEmotionModel
from egvs.features.emotion_prosody import ProsodyEmotionModel
from egvs.features.motion import MOTION_FEATURES, MotionAnalyzer
from egvs.features.prosody import PROSODY_FEATURES, SILENCE_DB, ProsodyExtractor
from egvs.features.visual import EMBEDDING_DIM, VisualEmbedder
from egvs.media.decode import AudioChunk, VideoSample, stream_media
from egvs.media.probe import MediaInfo
from egvs.progress import progress
from egvs.timeline import ENVELOPE_HOP, TimeGrid, Timeline, fit_length

logger = logging.getLogger("egvs")

BATCH = 16
NOVELTY_WINDOW = 10.0  # seconds of past frames a frame is compared with


class _VideoStage:
    """Visual embeddings (on a worker thread) and motion, fed one `VideoSample` at a time."""

    name = "video"

    def __init__(self) -> None:
        self.embedder = VisualEmbedder()
        self.motion = MotionAnalyzer()
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.batch: list[np.ndarray] = []
        self.futures: list[Future] = []
        self.motion_rows: list[np.ndarray] = []

    def config(self) -> dict:
        return {
            "visual": self.embedder.config(),
            "motion": self.motion.config(),
            "fast_decode": True,
        }

    def update(self, sample: VideoSample) -> None:
        self.motion_rows.append(self.motion.update(sample))
        self.batch.append(sample.image)
        if len(self.batch) == BATCH:
            self._flush()
        # Bound memory: never more than a few batches in flight.
        while sum(not f.done() for f in self.futures) > 3:
            self.futures[-4].result()

    def _flush(self) -> None:
        if self.batch:
            self.futures.append(self.pool.submit(self.embedder.embed, np.stack(self.batch)))
            self.batch = []

    def finish(self, n_steps: int) -> dict[str, np.ndarray]:
        self._flush()
        visual = [f.result() for f in self.futures]
        self.pool.shutdown()
        visual_arr = np.concatenate(visual) if visual else np.zeros((0, EMBEDDING_DIM), np.float32)
        motion = np.array(self.motion_rows, dtype=np.float32).reshape(-1, len(MOTION_FEATURES))
        return {"visual": fit_length(visual_arr, n_steps), "motion": fit_length(motion, n_steps)}


def _audio_chunks(items: Iterator, on_video, on_time) -> Iterator[np.ndarray]:
    """Route the decoder's output: video samples and times to callbacks, audio chunks out."""
    for item in items:
        if isinstance(item, AudioChunk):
            yield item.samples
        elif isinstance(item, VideoSample):
            on_video(item)
        else:
            on_time(item)


def extract_features(
    info: MediaInfo,
    grid: TimeGrid,
    cache: FeatureCache,
    emotion_model: SpeechEmotionModel,
) -> dict[str, np.ndarray]:
    """Every stage's raw per-step outputs for one file, from the cache or computed in one pass."""
    audio_extractors: list[AudioFeatureExtractor] = (
        [ProsodyExtractor(), YamnetTagger()] if info.has_audio else []
    )
    ser = emotion_model.extractor() if info.has_audio else None
    if ser is not None:
        audio_extractors.append(ser)
    outputs: dict[str, np.ndarray] = {}
    missing_audio = []
    for ex in audio_extractors:
        cfg = {**ex.config(), "step": grid.step}
        hit = cache.load(ex.name, cfg)
        if hit is None:
            missing_audio.append(ex)
        else:
            outputs.update(hit)
    video_stage = _VideoStage() if info.has_video else None
    video_cfg = {**video_stage.config(), "step": grid.step} if video_stage else {}
    need_video = video_stage is not None
    if need_video:
        hit = cache.load("video", video_cfg)
        if hit is not None:
            outputs.update(hit)
            need_video = False
    if not (need_video or missing_audio):
        return outputs

    bar = progress(total=round(info.duration, 1), desc="analysing", unit="s")

    def on_time(t: float) -> None:
        bar.update(max(0.0, round(min(t, info.duration), 1) - bar.n))

    on_video = video_stage.update if need_video else (lambda _s: None)
    decoded = stream_media(info, grid, video=need_video, audio=bool(missing_audio))
    chunks = _audio_chunks(decoded, on_video, on_time)
    per_stage: dict[str, dict[str, list[np.ndarray]]] = {ex.name: {} for ex in missing_audio}
    if missing_audio:
        for block in iter_blocks(chunks, grid.n_steps, grid.step):
            for ex in missing_audio:
                for key, value in ex.extract(block).items():
                    per_stage[ex.name].setdefault(key, []).append(value)
    else:
        for _ in chunks:  # video only: drain the decoder
            pass
    bar.close()
    for ex in missing_audio:
        arrays = {k: np.concatenate(v) for k, v in per_stage[ex.name].items()}
        cache.store(ex.name, {**ex.config(), "step": grid.step}, arrays)
        outputs.update(arrays)
    if need_video:
        arrays = video_stage.finish(grid.n_steps)
        cache.store("video", video_cfg, arrays)
        outputs.update(arrays)
    return outputs


def novelty(visual: np.ndarray, step: float, window: float = NOVELTY_WINDOW) -> np.ndarray:
    """Cosine distance of each frame's embedding to the mean of the previous ``window`` seconds."""
    if not visual.any():
        return np.zeros(len(visual), np.float32)
    unit = visual / (np.linalg.norm(visual, axis=1, keepdims=True) + 1e-8)
    csum = np.concatenate([np.zeros((1, unit.shape[1]), np.float32), np.cumsum(unit, axis=0)])
    w = max(1, round(window / step))
    idx = np.arange(len(unit))
    lo = np.maximum(idx - w, 0)
    past = (csum[idx] - csum[lo]) / np.maximum(idx - lo, 1)[:, None]
    past_norm = np.linalg.norm(past, axis=1) + 1e-8
    out = 1.0 - (unit * past).sum(1) / past_norm
    out[0] = 0.0
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def build_timeline(
    info: MediaInfo,
    grid: TimeGrid,
    outputs: dict[str, np.ndarray],
    emotion_model: SpeechEmotionModel,
) -> Timeline:
    """Assemble sources and named signals from raw stage outputs, then run the emotion model."""
    n = grid.n_steps
    tl = Timeline(grid)
    visual = outputs.get("visual", np.zeros((n, EMBEDDING_DIM), np.float32))
    motion = outputs.get("motion", np.zeros((n, len(MOTION_FEATURES)), np.float32))
    prosody = outputs.get("prosody")
    if prosody is None:
        prosody = np.zeros((n, len(PROSODY_FEATURES)), np.float32)
        prosody[:, :2] = SILENCE_DB
    tl.add_source("visual", visual)
    tl.add_source("motion", motion)
    tl.add_source("audio", prosody)
    tl.add_signal("motion", motion[:, 0])
    tl.add_signal("novelty", novelty(tl.sources["visual"], grid.step))
    tl.add_signal("loudness", prosody[:, 0])
    tl.add_signal("pitch", prosody[:, 2])
    tl.add_signal("pitch_std", prosody[:, 3])
    if "events" in outputs:
        events = fit_length(outputs["events"], n)
        tl.add_source("events", events)
        for name, cols in event_columns().items():
            tl.add_signal(f"event.{name}", events[:, cols].max(axis=1) if cols else np.zeros(n))
    else:
        tl.add_source("events", np.zeros((n, 521), np.float32))
        for name in AFFECTIVE_EVENTS:
            tl.add_signal(f"event.{name}", np.zeros(n))
    if "envelope" in outputs:
        per_step = round(grid.step / ENVELOPE_HOP)
        tl.envelope = fit_length(outputs["envelope"], n * per_step)
    # Without audio there is no voice: the silent (all-unvoiced) track of the prosody model.
    model = emotion_model if info.has_audio else ProsodyEmotionModel()
    model.predict(outputs, tl).add_to(tl)
    return tl
