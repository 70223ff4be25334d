"""A generated eccv16-layout dataset whose importance is a known function of the emotion source.

It answers "does the training loop learn, and does it use the emotion stream?" without any
annotated video: annotators score ``0.6 * arousal + 0.4 * laughter`` (two columns of the emotion
source) plus their own noise. The visual source is per-shot content with only a faint trace of the
importance, so a visual-only model can do a little better than random but no more, while a model
that reads the emotion source can recover the annotators' ranking. Also sizes the speed benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np

from egvs.evaluation.summary import keyshot_summary, step_picks, uniform_shots
from egvs.timeline import DEFAULT_STEP

EMOTION_DIM = 14  # 8 class probabilities, arousal, valence, 3 vocalizations, voiced
AROUSAL, LAUGHTER = 8, 10  # columns of the emotion source the importance is made from
DEFAULT_DIMS: dict[str, int] = {"visual": 1280, "motion": 8, "emotion": EMOTION_DIM}
FPS = 5.0  # frames per second of the imaginary original videos (10 frames per 2 s shot)
VISUAL_TRACE = 0.15  # how much of the importance leaks into the visual source (SNR well below 1)


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

    ``dims`` must include ``emotion`` (14) and ``visual``; any other name gets noise features.
    """
    dims = dict(dims or DEFAULT_DIMS)
    if dims.get("emotion") != EMOTION_DIM or "visual" not in dims:
        raise ValueError(f"dims need visual and emotion ({EMOTION_DIM}), got {dims}")
    rng = np.random.default_rng(seed)
    visual_direction = rng.standard_normal(dims["visual"]).astype(np.float32)
    path = Path(path)
    with h5py.File(path, "w") as h5:
        h5.attrs["dataset"] = "synthetic"
        for i in range(n_videos):
            n_steps = int(rng.integers(steps[0], steps[1] + 1))
            _write_video(
                h5.create_group(f"video_{i + 1}"),
                f"synthetic_{i + 1}",
                n_steps,
                dims,
                visual_direction,
                n_users,
                rng,
            )
    return path


def _write_video(
    group: h5py.Group,
    name: str,
    n_steps: int,
    dims: Mapping[str, int],
    visual_direction: np.ndarray,
    n_users: int,
    rng: np.random.Generator,
) -> None:
    n_frames = int(round(n_steps * DEFAULT_STEP * FPS))
    picks = step_picks(n_frames, FPS)
    n_steps = len(picks)
    emotion = _emotion(n_steps, rng)
    importance = importance_of(emotion)
    sources = {s: rng.standard_normal((n_steps, d)).astype(np.float32) for s, d in dims.items()}
    sources["emotion"] = emotion
    shots = uniform_shots(n_frames, FPS)
    sources["visual"] = _visual(shots, picks, importance, visual_direction, rng)
    frame_of_step = np.searchsorted(picks, np.arange(n_frames), side="right") - 1
    noisy = importance[frame_of_step][None] + 0.15 * rng.standard_normal((n_users, n_frames))
    # Integer levels 1-5 like TVSum's annotators (which also keeps the rank metrics fast).
    user_scores = np.clip(np.rint(1 + 4 * noisy), 1, 5)
    group["features"] = sources["visual"]
    for source, matrix in sources.items():
        group[f"sources/{source}"] = matrix
    group["gtscore"] = user_scores.mean(axis=0)[picks].astype(np.float32)
    group["user_scores"] = user_scores.astype(np.float32)
    group["user_summary"] = np.stack([keyshot_summary(u, shots) for u in user_scores]).astype(
        np.float32
    )
    group["change_points"] = shots.astype(np.int32)
    group["n_frame_per_seg"] = (shots[:, 1] - shots[:, 0] + 1).astype(np.int32)
    group["n_frames"] = n_frames
    group["picks"] = picks.astype(np.int32)
    group["video_name"] = name


def _emotion(n_steps: int, rng: np.random.Generator) -> np.ndarray:
    """Plausible emotion rows: smooth arousal bumps, sparse laughter, class probabilities."""
    t = np.arange(n_steps)
    arousal = np.zeros(n_steps)
    for _ in range(max(2, n_steps // 40)):
        centre, width = rng.uniform(0, n_steps), rng.uniform(3, 15)
        arousal += rng.uniform(0.3, 1.0) * np.exp(-0.5 * ((t - centre) / width) ** 2)
    arousal = np.clip(arousal, 0, 1)
    laughter = np.zeros(n_steps)
    for _ in range(max(1, n_steps // 80)):
        start = int(rng.integers(0, n_steps))
        laughter[start : start + int(rng.integers(2, 8))] = rng.uniform(0.5, 1.0)
    logits = rng.standard_normal((n_steps, 8))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    valence = np.tanh(np.cumsum(rng.standard_normal(n_steps)) / 10)
    other = rng.uniform(0, 0.2, (n_steps, 2))
    voiced = (rng.random(n_steps) < 0.6).astype(np.float64)
    columns = [probs, arousal[:, None], valence[:, None], laughter[:, None], other, voiced[:, None]]
    return np.concatenate(columns, axis=1).astype(np.float32)


def _visual(
    shots: np.ndarray,
    picks: np.ndarray,
    importance: np.ndarray,
    direction: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per-shot content vectors plus per-step jitter and a faint trace of the importance."""
    dim = len(direction)
    shot_of_step = np.searchsorted(shots[:, 0], picks, side="right") - 1
    content = rng.standard_normal((len(shots), dim)).astype(np.float32)
    jitter = 0.3 * rng.standard_normal((len(picks), dim)).astype(np.float32)
    trace = VISUAL_TRACE * (importance - importance.mean())[:, None] * direction[None, :]
    return (content[shot_of_step] + jitter + trace).astype(np.float32)
