"""The feature pipeline: decode once, run every extractor, assemble one aligned `Timeline`.

Each extractor's output is cached by (file hash, extractor config); only missing stages are
computed, and the file is decoded only for the streams they need. The decoding thread only decodes:
the CNN (in batches), optical flow and the audio extractors each run on a worker thread of their
own (`_Worker`; onnxruntime, OpenCV, CTranslate2 and FFmpeg release the GIL), so on two cores
the stages overlap with each other and with FFmpeg's decoder threads. The libraries' own pools
stay at one thread, which on two cores only waits or spins: BLAS during the pass, onnxruntime,
TFLite and CTranslate2 (which computes on a thread of its own while the audio worker waits).

Memory stays flat in the video's length: frames and audio are streamed, and the per-step outputs
that add up over the pass (CNN embeddings, AudioSet probabilities, speech features) are appended
to temporary files (`_Spool`), the wide ones in float16 (`compact`), and read back only once the
pass has freed its decoder buffers and batches.
"""

from __future__ import annotations

import ctypes
import logging
import tempfile
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import TypeVar

import numpy as np

from egvs.blas import one_blas_thread
from egvs.cache import FeatureCache
from egvs.features.audio_blocks import (
    AudioBlock,
    AudioFeatureExtractor,
    BlockExtractor,
    iter_blocks,
)
from egvs.features.audio_events import YamnetTagger
from egvs.features.emotion import SpeechEmotionModel
from egvs.features.emotion_prosody import ProsodyEmotionModel
from egvs.features.extractor import VideoFeatureExtractor, VideoPart
from egvs.features.faces import FaceExtractor
from egvs.features.prosody import ProsodyExtractor
from egvs.features.video import BATCH, VideoStage
from egvs.media.decode import AudioChunk, VideoSample, stream_media
from egvs.media.probe import MediaInfo
from egvs.progress import progress
from egvs.timeline import TimeGrid, Timeline, fit_length

logger = logging.getLogger("egvs")
T = TypeVar("T")

Extractor = AudioFeatureExtractor | VideoFeatureExtractor
WIDE = 64  # per-step matrices at least this wide are held in float16
VIDEO_AHEAD = 3 * BATCH  # frames a video part may fall behind the decoder
KEPT_BUFFER_BYTES = 64 << 20  # freed buffers up to this size stay in the heap
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (whose mallopt the pass tunes), else None."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") else None


def keep_large_buffers() -> bool:
    """Let glibc reuse freed buffers of up to `KEPT_BUFFER_BYTES` instead of unmapping them.

    The streamed pass allocates and frees the same large buffers block after block: the speech
    encoder's attention scores (~50 MB per 25 s audio block, on CTranslate2's thread), the
    spectrograms, the CNN's batches. glibc maps every allocation above its mmap threshold afresh
    (the threshold adapts, but never past 32 MiB) and hands freed memory above 128 KiB back to
    the kernel, so each block faulted its buffers in again page by page. An analysis of 2 minutes
    of 720p took 512k minor faults and 2.1 CPU-s in the kernel; with both thresholds at 64 MiB,
    183k and 1.0 CPU-s (README, "The rest of the pass"). Process-wide and lasting;
    `return_free_memory` gives the heap's free pages back after the pass. Returns whether it
    applied (glibc only).
    """
    libc = _glibc()
    if libc is None:
        return False
    return bool(
        libc.mallopt(_M_MMAP_THRESHOLD, KEPT_BUFFER_BYTES)
        and libc.mallopt(_M_TRIM_THRESHOLD, KEPT_BUFFER_BYTES)
    )


def return_free_memory() -> None:
    """Give the heap's free pages back to the kernel (glibc's malloc_trim), so the buffers
    `keep_large_buffers` kept for the pass do not stay in a long-lived process's memory."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


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
            self._wait_oldest()
        return future

    def _wait_oldest(self) -> None:
        """Wait for the oldest task (re-raising its error); it stays pending until it is done,
        so a stop raised meanwhile leaves it for `cancel` to wait for."""
        self._pending[0].result()
        self._pending.popleft()

    def finish(self) -> None:
        """Wait for every task (re-raising the first error) and stop the thread."""
        try:
            while self._pending:
                self._wait_oldest()
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Drop the queued tasks, wait until the running one has ended and stop the thread.

        It waits on the tasks before joining the thread: a stop (SIGTERM, Ctrl-C) raised inside
        `Thread.join` makes Python 3.11 take the thread for ended, so a second `cancel` would not
        wait, and the interpreter exited under a thread still in CTranslate2 or onnxruntime
        (an abort, "terminate called without an active exception", or a segfault). Interrupted
        here, the tasks stay pending and the caller's next `cancel` waits for them."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        wait([task for task in self._pending if not task.cancelled()])  # a cancelled one never runs
        self._pending.clear()
        self._pool.shutdown()  # the thread has nothing left to run: it ends now


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


def default_extractors() -> list[Extractor]:
    """Today's stages, in timeline order: picture, prosody, audio events, faces. Cheap to make:
    each loads its models only when it runs."""
    return [VideoStage(), ProsodyExtractor(), YamnetTagger(), FaceExtractor()]


class _Spools:
    """Every output of one stage, appended call by call (`_Spool`), read back as arrays."""

    def __init__(self) -> None:
        self.spools: defaultdict[str, _Spool] = defaultdict(_Spool)

    def append(self, outputs: dict[str, np.ndarray]) -> None:
        for key, values in outputs.items():
            self.spools[key].append(values)

    def read(self) -> dict[str, np.ndarray]:
        return {key: spool.read() for key, spool in self.spools.items()}


class _PartRunner:
    """A `VideoPart` on a worker thread of its own, its CPU time on the clock under its name."""

    def __init__(self, part: VideoPart, clock: StageClock, out: _Spools) -> None:
        self.part, self.clock, self.out = part, clock, out
        self.worker = _Worker(ahead=VIDEO_AHEAD)

    def update(self, sample: VideoSample) -> None:
        self.worker.submit(self._run, self.part.update, sample)

    def finish(self, n_steps: int) -> None:
        """Queue the part's last rows and wait for all (re-raising a failed task's error)."""
        self.worker.submit(self._run, self.part.finish, n_steps)
        self.worker.finish()

    def _run(self, method: Callable[[T], dict[str, np.ndarray]], arg: T) -> None:
        with self.clock.thread(self.part.name):
            self.out.append(method(arg))


def extract_features(
    info: MediaInfo,
    grid: TimeGrid,
    cache: FeatureCache,
    emotion_model: SpeechEmotionModel,
    clock: StageClock | None = None,
    extractors: Sequence[Extractor] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """Every stage's raw per-step outputs for one file (by stage name), from the cache or
    computed in one pass. A stage that cannot run on the file (no sound for an audio stage, no
    picture for a video stage, a missing optional package) is absent.

    ``extractors`` are the stages (default: `default_extractors`); the emotion model's streamed
    part runs beside them. ``clock`` collects CPU seconds per stage (also logged with ``-v``).
    """
    clock = clock or StageClock()
    extractors = default_extractors() if extractors is None else extractors
    audio: list[BlockExtractor] = []
    video: list[VideoFeatureExtractor] = []
    for ex in extractors:
        if isinstance(ex, AudioFeatureExtractor):
            audio += [ex] if info.has_audio else []
        elif isinstance(ex, VideoFeatureExtractor):
            video += [ex] if info.has_video else []
        else:
            raise TypeError(
                f"{ex!r} is neither an AudioFeatureExtractor nor a VideoFeatureExtractor"
            )
    with clock.process("models"):
        ser = emotion_model.extractor() if info.has_audio else None
    if ser is not None:
        audio.append(ser)
    stages: list[BlockExtractor | VideoFeatureExtractor] = [*audio, *video]
    configs = {stage.name: _stage_config(stage.config(), grid) for stage in stages}
    outputs: dict[str, dict[str, np.ndarray]] = {}
    for stage in stages:
        hit = cache.load(stage.name, configs[stage.name])
        if hit is not None:
            outputs[stage.name] = hit
    missing_audio = [a for a in audio if a.name not in outputs]
    running: dict[str, list[VideoPart]] = {}
    with clock.process("models"):
        for vex in video:
            if vex.name not in outputs and (parts := vex.start(info)):
                running[vex.name] = parts
    if not (running or missing_audio):
        return outputs

    bar = progress(total=round(info.duration, 1), desc="analysing", unit="s")

    def on_time(t: float) -> None:
        bar.update(max(0.0, round(min(t, info.duration), 1) - bar.n))

    spools = {name: _Spools() for name in [*running, *(ex.name for ex in missing_audio)]}
    runners = [
        _PartRunner(part, clock, spools[name]) for name, parts in running.items() for part in parts
    ]

    def on_video(sample: VideoSample) -> None:
        for runner in runners:
            runner.update(sample)

    def extract_block(block: AudioBlock) -> None:
        for ex in missing_audio:
            with clock.thread(ex.name):
                spools[ex.name].append(ex.extract(block))

    audio_worker = _Worker(ahead=2)  # blocks of 25 s
    keep_large_buffers()
    try:
        # One BLAS thread: every stage has a thread of its own, and OpenBLAS's second thread only
        # busy-waited beside them (0.26 CPU-s per 2 minutes of video in blas_thread_server, for
        # 0.04 s of YAMNet's mel products).
        with clock.process("decode"), one_blas_thread():
            decoded = stream_media(info, grid, video=bool(runners), audio=bool(missing_audio))
            chunks = _audio_chunks(decoded, on_video, on_time)
            if missing_audio:
                for block in iter_blocks(chunks, grid.n_steps, grid.step):
                    audio_worker.submit(extract_block, block)
            else:
                for _ in chunks:  # video only: drain the decoder
                    pass
            bar.close()
            audio_worker.finish()
            for runner in runners:
                runner.finish(grid.n_steps)  # waits
    finally:  # after an error: stop the workers (no-ops when they finished)
        audio_worker.cancel()
        for runner in runners:
            runner.worker.cancel()
        return_free_memory()
    for name in (a.name for a in missing_audio):
        arrays = spools[name].read()
        cache.store(name, configs[name], arrays)
        outputs[name] = arrays
    for name in running:
        arrays = {key: fit_length(v, grid.n_steps) for key, v in spools[name].read().items()}
        cache.store(name, configs[name], arrays)
        outputs[name] = arrays
    logger.info("analysis CPU seconds by stage: %s", clock.summary())
    return outputs


def build_timeline(
    info: MediaInfo,
    grid: TimeGrid,
    outputs: Mapping[str, Mapping[str, np.ndarray]],
    emotion_model: SpeechEmotionModel,
    clock: StageClock | None = None,
    extractors: Sequence[Extractor] | None = None,
) -> Timeline:
    """Assemble the stages' sources and signals from their outputs (by stage name; a stage
    without outputs did not run: its declared stand-ins), then run the emotion model."""
    clock = clock or StageClock()
    extractors = default_extractors() if extractors is None else extractors
    tl = Timeline(grid)
    with clock.process("timeline"):
        for ex in extractors:
            ran = outputs.get(ex.name)
            for source in ex.sources:
                tl.add_source(source.name, source.values(ran, grid.n_steps))
            before = set(tl.signals)
            if ran is None:
                for name, value in ex.signals.items():
                    if value is not None:
                        tl.add_signal(name, np.full(grid.n_steps, value, np.float32))
            else:
                ex.add_to(tl, ran)
            undeclared = set(tl.signals) - before - set(ex.signals)
            if undeclared:
                raise RuntimeError(
                    f"stage {ex.name!r} added undeclared signals {sorted(undeclared)}"
                )
        # Without audio there is no voice: the silent (all-unvoiced) track of the prosody model.
        model = emotion_model if info.has_audio else ProsodyEmotionModel()
        features = {key: value for stage in outputs.values() for key, value in stage.items()}
        with clock.thread("emotion"):
            model.predict(features, tl).add_to(tl)
    return tl
