"""The feature pipeline: decode once, run every extractor, assemble one aligned `Timeline`.

Each extractor's output is cached by (file hash, extractor config); only missing stages are
computed, and the file is decoded only for the streams they need. The decoding thread only decodes:
the CNN (in batches), optical flow and the audio extractors each run on a worker thread of their
own (`_Worker`; onnxruntime, OpenCV, CTranslate2 and FFmpeg release the GIL), so on two cores
the stages overlap with each other and with FFmpeg's decoder threads.

Memory stays flat in the video's length: frames and audio are streamed, and the per-step outputs
that add up over the pass (CNN embeddings, AudioSet probabilities, speech features) are appended
to temporary files (`_Spool`), the wide ones in float16 (`compact`), and read back only once the
pass has freed its decoder buffers and batches.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import numpy as np

from egvs.cache import FeatureCache
from egvs.errors import SetupError
from egvs.features.audio_blocks import AudioBlock, AudioFeatureExtractor, iter_blocks
from egvs.features.audio_events import AFFECTIVE_EVENTS, YamnetTagger, event_columns
from egvs.features.emotion import SpeechEmotionModel
from egvs.features.emotion_prosody import ProsodyEmotionModel
from egvs.features.faces import FaceStage, face_signals
from egvs.features.motion import MOTION_FEATURES, MotionAnalyzer
from egvs.features.prosody import PROSODY_FEATURES, SILENCE_DB, ProsodyExtractor
from egvs.features.visual import EMBEDDING_DIM, VisualEmbedder
from egvs.media.decode import AudioChunk, VideoSample, stream_media
from egvs.media.probe import MediaInfo
from egvs.progress import progress
from egvs.timeline import ENVELOPE_HOP, TimeGrid, Timeline, fit_length

logger = logging.getLogger("egvs")
T = TypeVar("T")

BATCH = 16
NOVELTY_WINDOW = 10.0  # seconds of past frames a frame is compared with
NOVELTY_CHUNK = 2048  # steps per block of the novelty computation (bounds its float32 copies)
WIDE = 64  # per-step matrices at least this wide are held in float16


def compact(values: np.ndarray) -> np.ndarray:
    """A per-step output as it is kept until the timeline is built: wide float matrices in
    float16 (3 significant digits, plenty for embeddings and probabilities; half the bytes of
    float32), everything else unchanged."""
    if values.ndim == 2 and values.shape[1] >= WIDE and values.dtype.kind == "f":
        return values.astype(np.float16)
    return values


class _Spool:
    """One per-step output, appended block by block to an unnamed temporary file.

    What accumulates over the streamed pass lives on disk rather than in memory (~6 kB per step in
    all, 45 MB per hour of video), so the pass's memory does not grow with the video's length.
    """

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (open until read(), gone on exit)
        self._dtype: np.dtype | None = None
        self._tail: tuple[int, ...] = ()
        self.rows = 0

    def append(self, values: np.ndarray) -> None:
        values = np.ascontiguousarray(compact(values))
        if self._dtype is None:
            self._dtype, self._tail = values.dtype, values.shape[1:]
        self._file.write(values.data)
        self.rows += len(values)

    def read(self) -> np.ndarray:
        """Everything appended, as one array (the file is closed and gone afterwards)."""
        with self._file:
            self._file.seek(0)
            return np.fromfile(self._file, dtype=self._dtype).reshape(-1, *self._tail)


class StageClock:
    """CPU seconds per analysis stage, for the log (``-v``) and benchmarks/speed.py.

    Each stage is timed on its own thread's CPU clock, so the CNN on its worker thread and the
    stages on the decoding thread are not counted twice; ``decode`` is what the streamed pass cost
    beyond the stages timed inside it (FFmpeg's decoder threads, demuxing, frame conversion).
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @contextmanager
    def thread(self, stage: str) -> Iterator[None]:
        """Time a block on the calling thread's CPU clock."""
        start = time.thread_time()
        try:
            yield
        finally:
            self.add(stage, time.thread_time() - start)

    def total(self) -> float:
        with self._lock:
            return sum(self.seconds.values())

    @contextmanager
    def process(self, stage: str) -> Iterator[None]:
        """Time a block on the process CPU clock, less the stages timed inside it."""
        start, inner = time.process_time(), self.total()
        try:
            yield
        finally:
            self.add(stage, time.process_time() - start - (self.total() - inner))

    def summary(self) -> str:
        return ", ".join(f"{name} {s:.1f}" for name, s in self.seconds.items())


class _Worker:
    """One thread running tasks in submission order, at most ``ahead`` tasks behind the caller.

    The decoding thread hands every stage its work here and goes on decoding: the stages (their
    numpy, OpenCV, onnxruntime and CTranslate2 calls release the GIL) run beside FFmpeg's decoder
    threads, so both cores stay busy. One thread per stage keeps stateful stages (motion, the audio
    extractors) in order; the caller waits when a stage falls ``ahead`` tasks behind, which bounds
    memory.
    """

    def __init__(self, ahead: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: deque[Future] = deque()
        self._ahead = ahead

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        future = self._pool.submit(fn, *args)
        self._pending.append(future)
        while len(self._pending) > self._ahead:
            self._pending.popleft().result()  # re-raises a failed task's error
        return future

    def finish(self) -> None:
        """Wait for every task (re-raising the first error) and stop the thread."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Drop the queued tasks and stop the thread once its running task ends."""
        self._pool.shutdown(cancel_futures=True)


class _VideoStage:
    """Visual embeddings and motion, each on its own worker, fed one `VideoSample` at a time."""

    name = "video"

    def __init__(self, clock: StageClock) -> None:
        self.clock = clock
        self.embedder = VisualEmbedder()
        self.motion = MotionAnalyzer()
        self.cnn = _Worker(ahead=3)  # batches
        self.flow = _Worker(ahead=2 * BATCH)  # samples
        self.batch: list[np.ndarray] = []
        self.visual = _Spool()
        self.motion_rows: list[np.ndarray] = []  # 6 floats per step

    def config(self) -> dict:
        return {
            "visual": self.embedder.config(),
            "motion": self.motion.config(),
            "fast_decode": True,
        }

    def update(self, sample: VideoSample) -> None:
        self.flow.submit(self._motion, sample)
        self.batch.append(sample.image)
        if len(self.batch) == BATCH:
            self._flush()

    def _motion(self, sample: VideoSample) -> None:
        with self.clock.thread("motion"):
            self.motion_rows.append(self.motion.update(sample))

    def _flush(self) -> None:
        if self.batch:
            self.cnn.submit(self._embed, np.stack(self.batch))
            self.batch = []

    def _embed(self, frames: np.ndarray) -> None:
        with self.clock.thread("visual"):
            self.visual.append(self.embedder.embed(frames))

    def finish(self, n_steps: int) -> dict[str, np.ndarray]:
        self._flush()
        self.cnn.finish()
        self.flow.finish()
        visual_arr = (
            self.visual.read() if self.visual.rows else np.zeros((0, EMBEDDING_DIM), np.float16)
        )
        motion = np.array(self.motion_rows, dtype=np.float32).reshape(-1, len(MOTION_FEATURES))
        return {"visual": fit_length(visual_arr, n_steps), "motion": fit_length(motion, n_steps)}

    def cancel(self) -> None:
        self.cnn.cancel()
        self.flow.cancel()


class _FacesWorker:
    """The facial-expression stage (`FaceStage`) on a worker thread of its own."""

    name = FaceStage.name

    def __init__(self, clock: StageClock, aspect: float) -> None:
        self.clock = clock
        self.stage = FaceStage(aspect)
        self.worker = _Worker(ahead=2 * BATCH)

    @staticmethod
    def config() -> dict:
        return FaceStage.config()

    def update(self, sample: VideoSample) -> None:
        self.worker.submit(self._update, sample)

    def _update(self, sample: VideoSample) -> None:
        with self.clock.thread(self.name):
            self.stage.update(sample.step, sample.image)

    def finish(self, n_steps: int) -> dict[str, np.ndarray]:
        self.worker.finish()
        return self.stage.finish(n_steps)

    def cancel(self) -> None:
        self.worker.cancel()


def _face_stage(info: MediaInfo, clock: StageClock) -> _FacesWorker | None:
    """The optional face stage, or None (with a note) when its packages are missing."""
    try:
        return _FacesWorker(clock, info.width / info.height if info.height else 1.0)
    except SetupError as exc:
        logger.warning("facial expressions skipped: %s", exc)
        return None


def _audio_chunks(items: Iterator, on_video, on_time) -> Iterator[np.ndarray]:
    """Route the decoder's output: video samples and times to callbacks, audio chunks out."""
    for item in items:
        if isinstance(item, AudioChunk):
            yield item.samples
        elif isinstance(item, VideoSample):
            on_video(item)
        else:
            on_time(item)


def _stage_config(config: dict, grid: TimeGrid) -> dict:
    """A stage's cache key: its own config, the grid, and how wide outputs are held."""
    return {**config, "step": grid.step, "wide": "float16"}


def extract_features(
    info: MediaInfo,
    grid: TimeGrid,
    cache: FeatureCache,
    emotion_model: SpeechEmotionModel,
    clock: StageClock | None = None,
) -> dict[str, np.ndarray]:
    """Every stage's raw per-step outputs for one file, from the cache or computed in one pass.

    ``clock`` collects CPU seconds per stage (also logged with ``-v``).
    """
    clock = clock or StageClock()
    with clock.process("models"):
        audio_extractors: list[AudioFeatureExtractor] = (
            [ProsodyExtractor(), YamnetTagger()] if info.has_audio else []
        )
        ser = emotion_model.extractor() if info.has_audio else None
        if ser is not None:
            audio_extractors.append(ser)
        video_stage = _VideoStage(clock) if info.has_video else None
    outputs: dict[str, np.ndarray] = {}
    missing_audio = []
    for ex in audio_extractors:
        hit = cache.load(ex.name, _stage_config(ex.config(), grid))
        if hit is None:
            missing_audio.append(ex)
        else:
            outputs.update(hit)
    video_cfg = _stage_config(video_stage.config(), grid) if video_stage else {}
    need_video = video_stage is not None
    if need_video:
        hit = cache.load("video", video_cfg)
        if hit is not None:
            outputs.update(hit)
            need_video = False
    face_cfg = _stage_config(FaceStage.config(), grid)
    need_faces = info.has_video
    if need_faces:
        hit = cache.load(FaceStage.name, face_cfg)
        if hit is not None:
            outputs.update(hit)
            need_faces = False
    face_stage = None
    if need_faces:
        with clock.process("models"):
            face_stage = _face_stage(info, clock)
        need_faces = face_stage is not None
    if not (need_video or need_faces or missing_audio):
        return outputs

    bar = progress(total=round(info.duration, 1), desc="analysing", unit="s")

    def on_time(t: float) -> None:
        bar.update(max(0.0, round(min(t, info.duration), 1) - bar.n))

    video_stages: list[_VideoStage | _FacesWorker] = []
    if need_video and video_stage:
        video_stages.append(video_stage)
    if need_faces and face_stage:
        video_stages.append(face_stage)

    def on_video(sample: VideoSample) -> None:
        for stage in video_stages:
            stage.update(sample)

    per_stage: dict[str, defaultdict[str, _Spool]] = {
        ex.name: defaultdict(_Spool) for ex in missing_audio
    }

    def extract_block(block: AudioBlock) -> None:
        for ex in missing_audio:
            with clock.thread(ex.name):
                for key, value in ex.extract(block).items():
                    per_stage[ex.name][key].append(value)

    audio_worker = _Worker(ahead=2)  # blocks of 25 s
    try:
        with clock.process("decode"):
            decoded = stream_media(info, grid, video=bool(video_stages), audio=bool(missing_audio))
            chunks = _audio_chunks(decoded, on_video, on_time)
            if missing_audio:
                for block in iter_blocks(chunks, grid.n_steps, grid.step):
                    audio_worker.submit(extract_block, block)
            else:
                for _ in chunks:  # video only: drain the decoder
                    pass
            bar.close()
            audio_worker.finish()
            video_arrays = {s.name: s.finish(grid.n_steps) for s in video_stages}  # waits
    finally:  # after an error: stop the workers (no-ops when they finished)
        audio_worker.cancel()
        for stage in video_stages:
            stage.cancel()
    for ex in missing_audio:
        arrays = {key: spool.read() for key, spool in per_stage[ex.name].items()}
        cache.store(ex.name, _stage_config(ex.config(), grid), arrays)
        outputs.update(arrays)
    for stage in video_stages:
        cfg = video_cfg if stage is video_stage else face_cfg
        cache.store(stage.name, cfg, video_arrays[stage.name])
        outputs.update(video_arrays[stage.name])
    logger.info("analysis CPU seconds by stage: %s", clock.summary())
    return outputs


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


def build_timeline(
    info: MediaInfo,
    grid: TimeGrid,
    outputs: dict[str, np.ndarray],
    emotion_model: SpeechEmotionModel,
    clock: StageClock | None = None,
) -> Timeline:
    """Assemble sources and named signals from raw stage outputs, then run the emotion model."""
    clock = clock or StageClock()
    n = grid.n_steps
    tl = Timeline(grid)
    visual = outputs.get("visual", np.zeros((n, EMBEDDING_DIM), np.float16))
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
        tl.add_source("events", np.zeros((n, 521), np.float16))
        for name in AFFECTIVE_EVENTS:
            tl.add_signal(f"event.{name}", np.zeros(n))
    if "faces" in outputs:
        for name, values in face_signals(fit_length(outputs["faces"], n), grid.step).items():
            tl.add_signal(name, values)
    if "envelope" in outputs:
        per_step = round(grid.step / ENVELOPE_HOP)
        tl.envelope = fit_length(outputs["envelope"], n * per_step)
    # Without audio there is no voice: the silent (all-unvoiced) track of the prosody model.
    model = emotion_model if info.has_audio else ProsodyEmotionModel()
    with clock.thread("emotion"):
        model.predict(outputs, tl).add_to(tl)
    return tl
