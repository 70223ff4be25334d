"""What a feature extractor declares, so the pipeline runs it without knowing its columns.

An extractor is one pipeline stage. It names itself and its config (the cache key), declares the
timeline sources its outputs become (with their widths) and the signals it derives, each with the
value that stands in when the stage does not run (no sound, no picture, a missing optional
package) or ``None`` when the signal is then left out. The pipeline (`egvs.pipeline`) runs every
declared extractor over one decode, caches its per-step outputs, adds its sources, and asks it for
its signals (`FeatureExtractor.add_to`) or writes the stand-ins.

Two kinds run: an `egvs.features.audio_blocks.AudioFeatureExtractor` is fed audio blocks; a
`VideoFeatureExtractor` starts `VideoPart`s, each fed every sampled frame on a thread of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from egvs.media.decode import VideoSample
from egvs.media.probe import MediaInfo
from egvs.timeline import Timeline, fit_length


@dataclass(frozen=True)
class Source:
    """A timeline source (``name``, ``width`` columns per step) read from the stage's output
    ``output`` (default: the same name). ``absent`` is the row that stands in when the stage did
    not run: one value for every column, or one per column."""

    name: str
    width: int
    output: str = ""
    absent: float | tuple[float, ...] = 0.0
    dtype: type = np.float32

    @property
    def key(self) -> str:
        """The output it is read from."""
        return self.output or self.name

    def values(self, outputs: Mapping[str, np.ndarray] | None, n_steps: int) -> np.ndarray:
        """The source over ``n_steps``: the stage's output fitted to the grid, or the stand-in
        when the stage did not run or emitted no row."""
        found = None if outputs is None else outputs.get(self.key)
        if found is None or len(found) == 0:
            return np.broadcast_to(
                np.asarray(self.absent, self.dtype), (n_steps, self.width)
            ).copy()
        if found.ndim != 2 or found.shape[1] != self.width:
            raise ValueError(
                f"output {self.key!r} has shape {found.shape}; the source {self.name!r} is "
                f"declared {self.width} wide"
            )
        return fit_length(found, n_steps)


@runtime_checkable
class FeatureExtractor(Protocol):
    """A pipeline stage: its cache key, the sources and signals it adds to the timeline."""

    name: str

    @property
    def sources(self) -> tuple[Source, ...]:
        """The timeline sources its outputs become, in timeline order."""
        ...

    @property
    def signals(self) -> Mapping[str, float | None]:
        """Every signal it derives, each with its stand-in value when the stage did not run
        (``None``: the signal is left out then, and readers ask `Timeline.has_signal`)."""
        ...

    def config(self) -> dict:
        """Everything that changes the output; part of the cache key."""
        ...

    def add_to(self, timeline: Timeline, outputs: Mapping[str, np.ndarray]) -> None:
        """Add its signals (only declared ones) from its outputs and the timeline's sources,
        which already hold its own."""
        ...


class VideoPart(Protocol):
    """One piece of a video stage's work for one file, run on a worker thread of its own and fed
    every sampled frame in step order. Its outputs are concatenated over calls and fitted to the
    grid, so a part may return rows late (a batch at a time) or all at the end."""

    name: str  # its line in the CPU-seconds table (`egvs.pipeline.StageClock`)

    def update(self, sample: VideoSample) -> dict[str, np.ndarray]: ...

    def finish(self, n_steps: int) -> dict[str, np.ndarray]: ...


@runtime_checkable
class VideoFeatureExtractor(FeatureExtractor, Protocol):
    """A stage on the picture."""

    def start(self, info: MediaInfo) -> list[VideoPart]:
        """Load its models and return the parts that run on ``info``; none when it cannot run
        here (e.g. an optional package is missing: it logs why)."""
        ...
