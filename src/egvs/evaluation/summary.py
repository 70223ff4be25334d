"""From scores to keyshot summaries: frame upsampling, shot scores and the 15% knapsack.

Shots are ``change_points``: an ``(n_shots, 2)`` array of first and last frame (inclusive), the
eccv16 convention. The knapsack is the product's own (`egvs.selection.knapsack`), so a benchmark
number and a product summary come from the same selection rule.
"""

from __future__ import annotations

import math

import numpy as np

from egvs.selection import knapsack
from egvs.timeline import DEFAULT_STEP

SUMMARY_RATIO = 0.15
UNIFORM_SHOT_SECONDS = 2.0


def upsample(step_scores: np.ndarray, picks: np.ndarray, n_frames: int) -> np.ndarray:
    """Frame scores from per-step scores: frames ``[picks[i], picks[i+1])`` take step ``i``'s score."""
    step_scores = np.asarray(step_scores, dtype=np.float64).reshape(-1)
    picks = np.asarray(picks, dtype=np.int64).reshape(-1)
    if len(step_scores) != len(picks):
        raise ValueError(f"{len(step_scores)} scores for {len(picks)} picks")
    index = np.searchsorted(picks, np.arange(n_frames), side="right") - 1
    return step_scores[np.clip(index, 0, len(picks) - 1)]


def step_picks(n_frames: int, fps: float, step: float = DEFAULT_STEP) -> np.ndarray:
    """First source frame of each ``step``-second timeline step (step i covers [i*step, (i+1)*step))."""
    n_steps = max(1, math.ceil(round(n_frames / fps / step, 6)))
    picks = np.floor(np.arange(n_steps) * step * fps + 1e-9).astype(np.int64)
    return picks[picks < n_frames]


def uniform_shots(n_frames: int, fps: float, seconds: float = UNIFORM_SHOT_SECONDS) -> np.ndarray:
    """``seconds``-long shots as change points: the stand-in for KTS when no shots are given."""
    starts = np.unique(
        np.floor(np.arange(0, n_frames / fps, seconds) * fps + 1e-9).astype(np.int64)
    )
    starts = starts[starts < n_frames]
    ends = np.append(starts[1:], n_frames) - 1
    return np.column_stack([starts, ends])


def shots_from_steps(
    segments: list[tuple[int, int]], picks: np.ndarray, n_frames: int
) -> np.ndarray:
    """Change points in frames from ``(start_step, end_step)`` pairs (end exclusive)."""
    bounds = np.append(np.asarray(picks, dtype=np.int64), n_frames)
    return np.array([[bounds[a], bounds[b] - 1] for a, b in segments], dtype=np.int64).reshape(
        -1, 2
    )


def shot_scores(frame_scores: np.ndarray, change_points: np.ndarray) -> np.ndarray:
    """Mean frame score of each shot."""
    cps = np.asarray(change_points, dtype=np.int64).reshape(-1, 2)
    csum = np.concatenate([[0.0], np.cumsum(np.asarray(frame_scores, dtype=np.float64))])
    return (csum[cps[:, 1] + 1] - csum[cps[:, 0]]) / (cps[:, 1] - cps[:, 0] + 1)


def keyshot_summary(
    frame_scores: np.ndarray, change_points: np.ndarray, ratio: float = SUMMARY_RATIO
) -> np.ndarray:
    """Binary frame summary: the shots maximising total shot score within ``ratio`` of the frames."""
    frame_scores = np.asarray(frame_scores, dtype=np.float64).reshape(-1)
    cps = np.asarray(change_points, dtype=np.int64).reshape(-1, 2)
    lengths = cps[:, 1] - cps[:, 0] + 1
    chosen = knapsack(
        shot_scores(frame_scores, cps), lengths, math.floor(len(frame_scores) * ratio)
    )
    summary = np.zeros(len(frame_scores), dtype=bool)
    for i in chosen:
        summary[cps[i, 0] : cps[i, 1] + 1] = True
    return summary
