"""Audio is analysed in blocks aligned to the timeline, so memory stays flat in video length.

The decoder's 16 kHz mono samples are cut into blocks of whole timeline steps, each carried with
``context`` seconds of audio before and after (zeros beyond the file's ends), so an extractor can look
at a window centred on any step of its block. Every audio stage implements
`AudioFeatureExtractor` (a `BlockExtractor` that declares its timeline sources and signals, see
`egvs.features.extractor`); its per-step outputs are concatenated over blocks by the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from egvs.features.extractor import FeatureExtractor
from egvs.media.decode import SAMPLE_RATE

BLOCK_STEPS = 50  # 25 s of audio per block at the default 0.5 s step
CONTEXT_SECONDS = 1.5  # enough for 3 s windows centred on a step


@dataclass
class AudioBlock:
    """``samples`` covers steps ``[first_step, first_step + n_steps)`` plus ``context`` s each side."""

    samples: np.ndarray
    first_step: int
    n_steps: int
    step: float
    context: float = CONTEXT_SECONDS
    sample_rate: int = SAMPLE_RATE

    @property
    def start_time(self) -> float:
        """Media time (s) of ``samples[0]``; negative at the start of the file (zero padding)."""
        return self.first_step * self.step - self.context

    def core(self) -> np.ndarray:
        """The samples of the block's own steps, without context."""
        c = round(self.context * self.sample_rate)
        return self.samples[c : c + round(self.n_steps * self.step * self.sample_rate)]

    def window(self, local_step: int, length: float) -> np.ndarray:
        """``length`` seconds of audio centred on the centre of step ``first_step + local_step``."""
        centre = self.context + (local_step + 0.5) * self.step
        a = round((centre - length / 2) * self.sample_rate)
        n = round(length * self.sample_rate)
        out = self.samples[max(a, 0) : a + n]
        if a < 0:
            out = np.concatenate([np.zeros(-a, dtype=np.float32), out])
        if len(out) < n:
            out = np.concatenate([out, np.zeros(n - len(out), dtype=np.float32)])
        return out


class BlockExtractor(Protocol):
    """Streamed audio features: per-step arrays for each block (``n_steps`` rows each). Alone,
    the streamed part of a speech-emotion model (its outputs go to the model only)."""

    name: str

    def config(self) -> dict:
        """Everything that changes the output; part of the cache key."""
        ...

    def extract(self, block: AudioBlock) -> dict[str, np.ndarray]: ...


@runtime_checkable
class AudioFeatureExtractor(BlockExtractor, FeatureExtractor, Protocol):
    """A stage on the sound (e.g. an audio tagger): streamed blocks in, timeline sources and
    signals declared; pass it to `egvs.extract` (``extractors=``)."""


def iter_blocks(
    chunks: Iterable[np.ndarray],
    n_steps: int,
    step: float,
    block_steps: int = BLOCK_STEPS,
    context: float = CONTEXT_SECONDS,
    sample_rate: int = SAMPLE_RATE,
) -> Iterator[AudioBlock]:
    """Cut a stream of float32 sample chunks into `AudioBlock`s covering ``n_steps`` steps.

    Only one block plus its context is held at a time. Missing audio at the end (a stream shorter
    than the video) is zero-filled, so every step gets exactly one block.
    """
    ctx = round(context * sample_rate)
    step_samples = step * sample_rate
    buffer = np.zeros(ctx, dtype=np.float32)  # left context of the first block: silence
    buffer_start = -ctx  # sample index (media time) of buffer[0]
    chunk_iter = iter(chunks)
    exhausted = False
    first = 0
    while first < n_steps:
        count = min(block_steps, n_steps - first)
        a = round(first * step_samples) - ctx
        b = round((first + count) * step_samples) + ctx
        if not exhausted and buffer_start + len(buffer) < b:
            # Gather chunks in a list and join once: appending each chunk would copy the block.
            parts, have = [buffer], buffer_start + len(buffer)
            while have < b:
                try:
                    chunk = np.asarray(next(chunk_iter), dtype=np.float32)
                except StopIteration:
                    exhausted = True
                    break
                parts.append(chunk)
                have += len(chunk)
            buffer = np.concatenate(parts)
        samples = buffer[a - buffer_start : b - buffer_start]
        if len(samples) < b - a:
            samples = np.concatenate([samples, np.zeros(b - a - len(samples), dtype=np.float32)])
        yield AudioBlock(samples, first, count, step, context, sample_rate)
        first += count
        keep_from = round(first * step_samples) - ctx
        buffer = buffer[max(keep_from - buffer_start, 0) :]
        buffer_start = max(keep_from, buffer_start)
