"""A generated benchmark file whose importance is a known function of the emotion source.

It answers "does the training loop learn, and does it use the emotion stream?" without any
annotated video: annotators score ``0.6 * arousal + 0.4 * laughter`` (two columns of the emotion
source) plus their own noise, on TVSum's 1-5 scale. The visual source is per-shot content plus a
corrupted copy of the importance, so a visual-only model can beat random but stays well below a
model that reads the emotion source, which can recover the annotators' ranking. The file is
written by the dataset builder's own `write_video` (KTS shots, user summaries, eccv16 layout), so
it is read exactly like a built TVSum file. It also sizes the training speed benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np

from egvs.datasets.base import AnnotatedVideo
from egvs.evaluation.builder import LAYOUT, write_video
from egvs.media.probe import MediaInfo
from egvs.timeline import DEFAULT_STEP, TimeGrid, Timeline

EMOTION_DIM = 14  # 8 class probabilities, arousal, valence, 3 vocalizations, voiced
AROUSAL, LAUGHTER = 8, 10  # columns of the emotion source the importance is made from
DEFAULT_DIMS: dict[str, int] = {"visual": 1280, "motion": 8, "emotion": EMOTION_DIM}
FPS = 4.0  # frame rate of the imaginary original videos: 2 frames per step keeps evaluation cheap
# The visual source carries a corrupted copy of the importance along one direction: strong enough
# to learn from a few videos, but its per-shot corruption caps what visual-only can reach (the
# correlation of the copy with the truth is about 1 / sqrt(1 + VISUAL_CORRUPTION**2) = 0.55).
VISUAL_TRACE = 3.0
VISUAL_CORRUPTION = 1.5
USER_NOISE = 0.15  # each annotator's deviation from the true importance, before rounding to 1-5


def importance_of(emotion: np.ndarray) -> np.ndarray:
    """The ground-truth function: what annotators of the synthetic dataset respond to."""
    return 0.6 * emotion[:, AROUSAL] + 0.4 * emotion[:, LAUGHTER]


def write_synthetic_h5(
    path: str | Path,
    n_videos: int = 20,
    steps: tuple[int, int] = (120, 240),
    dims: Mapping[str, int] | None = None,
    n_users: int = 5,
    seed: int = 0,
) -> Path:
    """Write ``n_videos`` videos of ``steps`` (min, max) 0.5 s steps with the sources in ``dims``.

    ``dims`` must include ``emotion`` (14) and ``visual``; any other source gets noise features.
    """
    dims = dict(dims or DEFAULT_DIMS)
    if dims.get("emotion") != EMOTION_DIM or "visual" not in dims:
        raise ValueError(f"dims need visual and emotion ({EMOTION_DIM}), got {dims}")
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(dims["visual"]).astype(np.float32)
    path = Path(path)
    with h5py.File(path, "w") as h5:
        h5.attrs.update(dataset="synthetic", layout=LAYOUT)
        for i in range(n_videos):
            n_steps = int(rng.integers(steps[0], steps[1] + 1))
            timeline = _timeline(n_steps, dims, direction, rng)
            name = f"synthetic_{i + 1}"
            write_video(
                h5.create_group(f"video_{i + 1}"),
                _annotations(name, timeline, n_users, rng),
                _media(name, timeline),
                timeline,
            )
            h5.attrs["step"] = timeline.grid.step
    return path


def _timeline(
    n_steps: int, dims: Mapping[str, int], direction: np.ndarray, rng: np.random.Generator
) -> Timeline:
    timeline = Timeline(TimeGrid(DEFAULT_STEP, n_steps))
    emotion = _emotion(n_steps, rng)
    for name, dim in dims.items():
        timeline.add_source(name, rng.standard_normal((n_steps, dim)))
    timeline.add_source("emotion", emotion)
    timeline.add_source("visual", _visual(n_steps, importance_of(emotion), direction, rng))
    return timeline


def _annotations(
    name: str, timeline: Timeline, n_users: int, rng: np.random.Generator
) -> AnnotatedVideo:
    """Annotators' 1-5 frame scores: the true importance plus each one's noise, rounded like TVSum."""
    frames_per_step = int(round(FPS * timeline.grid.step))
    truth = np.repeat(importance_of(timeline.sources["emotion"]), frames_per_step)
    noisy = truth[None] + USER_NOISE * rng.standard_normal((n_users, len(truth)))
    return AnnotatedVideo(name=name, user_scores=np.clip(np.rint(1 + 4 * noisy), 1, 5), fps=FPS)


def _media(name: str, timeline: Timeline) -> MediaInfo:
    return MediaInfo(
        path=Path(f"{name}.mp4"),
        duration=timeline.grid.duration,
        has_video=True,
        has_audio=True,
        fps=FPS,
    )


def _emotion(n_steps: int, rng: np.random.Generator) -> np.ndarray:
    """Plausible emotion rows: smooth arousal bumps, sparse laughter, class probabilities."""
    t = np.arange(n_steps)
    arousal = np.zeros(n_steps)
    for _ in range(max(2, n_steps // 40)):
        centre, width = rng.uniform(0, n_steps), rng.uniform(3, 15)
        arousal += rng.uniform(0.3, 1.0) * np.exp(-0.5 * ((t - centre) / width) ** 2)
    laughter = np.zeros(n_steps)
    for _ in range(max(1, n_steps // 80)):
        start = int(rng.integers(0, n_steps))
        laughter[start : start + int(rng.integers(2, 8))] = rng.uniform(0.5, 1.0)
    logits = rng.standard_normal((n_steps, 8))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    valence = np.tanh(np.cumsum(rng.standard_normal(n_steps)) / 10)
    other = rng.uniform(0, 0.2, (n_steps, 2))
    voiced = (rng.random(n_steps) < 0.6).astype(np.float64)
    columns = [
        probs,
        np.clip(arousal, 0, 1)[:, None],
        valence[:, None],
        laughter[:, None],
        other,
        voiced[:, None],
    ]
    return np.concatenate(columns, axis=1).astype(np.float32)


def _visual(
    n_steps: int, importance: np.ndarray, direction: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Shots of 3-5 s with their own content vector, per-step jitter and a corrupted importance trace."""
    lengths = rng.integers(6, 11, size=n_steps // 6 + 1)
    shot_of_step = np.repeat(np.arange(len(lengths)), lengths)[:n_steps]
    dim = len(direction)
    content = rng.standard_normal((len(lengths), dim)).astype(np.float32)
    jitter = 0.3 * rng.standard_normal((n_steps, dim)).astype(np.float32)
    cue = (importance - importance.mean()) / (importance.std() + 1e-6)
    cue = cue + VISUAL_CORRUPTION * rng.standard_normal(len(lengths))[shot_of_step]
    unit = direction / np.linalg.norm(direction)
    trace = VISUAL_TRACE * cue[:, None] * unit[None, :]
    return (content[shot_of_step] + jitter + trace).astype(np.float32)
