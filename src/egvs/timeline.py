"""One time axis for every signal: stages read from a `Timeline` and add to it.

Step ``i`` covers ``[i * step, (i + 1) * step)`` seconds. The default step is 0.5 s (2 samples per
second, the field's standard sampling rate for video summarization).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_STEP = 0.5
ENVELOPE_HOP = 0.01  # seconds per value of the fine loudness envelope used to find speech pauses


@dataclass(frozen=True)
class TimeGrid:
    """Regular time steps over a media file."""

    step: float
    n_steps: int

    @classmethod
    def for_duration(cls, duration: float, step: float = DEFAULT_STEP) -> TimeGrid:
        return cls(step=step, n_steps=max(1, math.ceil(round(duration / step, 6))))

    @property
    def times(self) -> np.ndarray:
        """Start time of every step, in seconds."""
        return np.arange(self.n_steps, dtype=np.float64) * self.step

    @property
    def centers(self) -> np.ndarray:
        """Centre time of every step, in seconds."""
        return self.times + self.step / 2

    @property
    def duration(self) -> float:
        return self.n_steps * self.step

    def steps_in(self, start: float, end: float) -> tuple[slice, np.ndarray]:
        """The steps that overlap ``[start, end)`` and the seconds of each inside it.

        Only those steps are touched, so per-segment sums stay cheap on long videos.
        """
        first = min(max(math.floor(start / self.step + 1e-9), 0), self.n_steps)
        last = min(max(math.ceil(end / self.step - 1e-9), first), self.n_steps)
        times = np.arange(first, last) * self.step
        seconds = np.clip(np.minimum(times + self.step, end) - np.maximum(times, start), 0.0, None)
        return slice(first, last), seconds

    def index(self, t: float) -> int:
        """The step holding time ``t`` (clamped to the grid)."""
        return int(min(max(math.floor(t / self.step + 1e-9), 0), self.n_steps - 1))


def fit_length(values: np.ndarray, n: int) -> np.ndarray:
    """Trim or edge-pad ``values`` along axis 0 to exactly ``n`` rows.

    Decoders may deliver a frame or an audio block more or less than the probed duration implies;
    every per-step array is fitted to the grid with this one rule.
    """
    values = np.asarray(values)
    if len(values) == n:
        return values
    if len(values) > n:
        return values[:n]
    if len(values) == 0:
        return np.zeros((n, *values.shape[1:]), dtype=values.dtype if values.size else np.float32)
    pad = [(0, n - len(values))] + [(0, 0)] * (values.ndim - 1)
    return np.pad(values, pad, mode="edge")


class UnknownSignalError(KeyError):
    """A signal the timeline does not hold: names it and the ones it does."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown signal {self.name!r}; the timeline has: {', '.join(self.known) or 'none'}"


@dataclass
class Timeline:
    """Every aligned signal of one media file.

    ``signals`` holds named 1-D series (``arousal``, ``loudness``, ``event.laughter`` ...), one value
    per step. ``sources`` holds named feature matrices (``visual``, ``motion``, ``events``,
    ``emotion`` ...), one row per step: what a trained model reads (float32; the wide ``visual`` and
    ``events`` in float16). ``envelope`` is the loudness in dB at ``ENVELOPE_HOP`` resolution, used
    to place cuts in speech pauses.
    """

    grid: TimeGrid
    signals: dict[str, np.ndarray] = field(default_factory=dict)
    sources: dict[str, np.ndarray] = field(default_factory=dict)
    envelope: np.ndarray | None = None

    @property
    def n_steps(self) -> int:
        return self.grid.n_steps

    def add_signal(self, name: str, values: np.ndarray) -> None:
        self.signals[name] = fit_length(
            np.asarray(values, dtype=np.float32).reshape(-1), self.n_steps
        )

    def add_source(self, name: str, matrix: np.ndarray) -> None:
        """Float32, except a float16 matrix stays float16 (the wide ones: half the memory on
        long videos, see `egvs.pipeline.compact`)."""
        matrix = np.asarray(matrix)
        matrix = matrix.astype(np.float16 if matrix.dtype == np.float16 else np.float32, copy=False)
        if matrix.ndim == 1:
            matrix = matrix[:, None]
        self.sources[name] = fit_length(matrix, self.n_steps)

    def has_signal(self, name: str) -> bool:
        return name in self.signals

    def signal(self, name: str, default: float | None = None) -> np.ndarray:
        """A signal by name, or ``default`` as a constant series when it is given and the timeline
        lacks the signal (a stage that did not run). Without ``default`` a missing name raises
        `UnknownSignalError`, so a misspelt name cannot pass for a silent all-zero signal."""
        if name in self.signals:
            return self.signals[name]
        if default is None:
            raise UnknownSignalError(name, sorted(self.signals))
        return np.full(self.n_steps, default, dtype=np.float32)

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {"grid": np.array([self.grid.step, self.grid.n_steps])}
        arrays.update({f"signal/{k}": v for k, v in self.signals.items()})
        arrays.update({f"source/{k}": v for k, v in self.sources.items()})
        if self.envelope is not None:
            arrays["envelope"] = self.envelope
        np.savez(path, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: Path) -> Timeline:
        with np.load(path) as data:
            step, n = data["grid"]
            timeline = cls(TimeGrid(float(step), int(n)))
            for key in data.files:
                if key.startswith("signal/"):
                    timeline.signals[key[7:]] = data[key]
                elif key.startswith("source/"):
                    timeline.sources[key[7:]] = data[key]
            if "envelope" in data.files:
                timeline.envelope = data["envelope"]
        return timeline
