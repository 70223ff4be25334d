"""The metrics of the video-summarization protocol, on frame-level arrays.

Pure functions, vectorised over annotators: ``refs`` is always ``(n_users, n_frames)``.
"""

from __future__ import annotations

import math

import numpy as np

HIGHLIGHT_RATIO = 0.15
# Largest contingency table (annotators x prediction levels x annotator levels) built for the fast
# rank correlations; bigger problems (two continuous series) go to scipy.stats one annotator at a time.
_MAX_TABLE_CELLS = 20_000_000


def f1_score(machine: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """Frame-level F1 between a binary summary ``(n,)`` and each binary reference ``(u, n)``.

    Precision = overlap / machine length, recall = overlap / reference length; 0 when they do not
    overlap (the convention of every public TVSum/SumMe evaluation script).
    """
    machine = np.asarray(machine, dtype=bool)
    refs = np.atleast_2d(np.asarray(refs, dtype=bool))
    if refs.shape[1] != machine.shape[0]:
        raise ValueError(f"summary has {machine.shape[0]} frames, references have {refs.shape[1]}")
    overlap = (refs & machine).sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = overlap / machine.sum()
        recall = overlap / refs.sum(axis=1)
        f1 = 2 * precision * recall / (precision + recall)
    return np.where(overlap > 0, f1, 0.0)


def keyshot_f1(machine: np.ndarray, refs: np.ndarray, aggregate: str = "mean") -> float:
    """F1 against every user summary, aggregated by ``mean`` (TVSum) or ``max`` (SumMe)."""
    scores = f1_score(machine, refs)
    if aggregate == "mean":
        return float(scores.mean())
    if aggregate == "max":
        return float(scores.max())
    raise ValueError(f"aggregate must be 'mean' or 'max', got {aggregate!r}")


def rank_correlation(pred: np.ndarray, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kendall's tau-b and Spearman's rho between ``pred`` ``(n,)`` and each row of ``refs``.

    Equal to ``scipy.stats.kendalltau`` / ``spearmanr`` per annotator (ties handled the same way;
    NaN when either series is constant).
    """
    refs = np.atleast_2d(np.asarray(refs, dtype=np.float64))
    levels, codes = np.unique(refs, return_inverse=True)
    return rank_correlation_coded(pred, codes.reshape(refs.shape), len(levels), refs)


def change_starts(codes: np.ndarray) -> np.ndarray:
    """Frames where any row of ``codes`` ``(u, n)`` changes value (always including frame 0)."""
    codes = np.atleast_2d(codes)
    return np.flatnonzero(np.concatenate([[True], (np.diff(codes, axis=1) != 0).any(axis=0)]))


def rank_correlation_coded(
    pred: np.ndarray,
    codes: np.ndarray,
    n_levels: int,
    refs: np.ndarray,
    ref_starts: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`rank_correlation` with the annotators' scores coded as dense levels ``0..n_levels-1``.

    Annotator scores have few distinct values (TVSum: 1-5), so both statistics are computed exactly
    from a prediction-level x annotator-level contingency table instead of O(n log n) pair counting.
    Frames are first merged into runs where neither the prediction nor any annotator changes
    (``ref_starts``, from `change_starts`, can be cached per video): scores are piecewise constant
    at the 2 s annotation and 0.5 s prediction rates, so this makes the 100-trial random baseline
    affordable. Problems whose table would be huge (two continuous series) go to scipy.stats.
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    codes = np.atleast_2d(codes)
    n_users, n = codes.shape
    if pred.shape[0] != n:
        raise ValueError(f"prediction has {pred.shape[0]} frames, references have {n}")
    if ref_starts is None:
        ref_starts = change_starts(codes)
    is_start = np.zeros(n, dtype=bool)
    is_start[ref_starts] = True
    is_start[1:] |= pred[1:] != pred[:-1]
    starts = np.flatnonzero(is_start)
    lengths = np.diff(np.append(starts, n))
    levels, ix = np.unique(pred[starts], return_inverse=True)
    lx = len(levels)
    if n_users * lx * n_levels > _MAX_TABLE_CELLS:
        return _scipy_rank_correlation(pred, np.atleast_2d(refs))
    flat = (np.arange(n_users)[:, None] * n_levels + codes[:, starts]) * lx + ix[None, :]
    size = n_users * n_levels * lx
    weights = np.broadcast_to(lengths, flat.shape).ravel()
    table = np.bincount(flat.ravel(), weights=weights, minlength=size)
    return _correlations_from_table(table.reshape(n_users, n_levels, lx), n)


def _mid_ranks(counts: np.ndarray) -> np.ndarray:
    """Average rank (1-based) of each level given how many items hold it (last axis)."""
    return np.cumsum(counts, axis=-1) - (counts - 1) / 2


def _correlations_from_table(table: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Tau-b and rho from counts ``(users, annotator levels, prediction levels)``.

    Kendall: with ``before[b, a]`` = items at a lower prediction level and annotator level ``b``,
    a cell is concordant with the earlier items below ``b`` and discordant with those above it, so
    ``S = sum table * (2 * cumsum_b(before) - before - total_b(before))``. Spearman: the Pearson
    correlation of mid-ranks, weighted by the counts. Float64 is exact here: every count and
    product stays below 2**53. Prediction levels are the last, contiguous axis (fast reductions).
    """
    before = np.cumsum(table, axis=2) - table
    below_or_at = np.cumsum(before, axis=1)
    s = (table * (2 * below_or_at - before - below_or_at[:, -1:, :])).sum(axis=(1, 2))
    x_counts, y_counts = table.sum(axis=1), table.sum(axis=2)
    n0 = n * (n - 1) / 2
    x_ties = n0 - (x_counts * (x_counts - 1) / 2).sum(axis=1)
    y_ties = n0 - (y_counts * (y_counts - 1) / 2).sum(axis=1)
    rx = _mid_ranks(x_counts) - (n + 1) / 2
    ry = _mid_ranks(y_counts) - (n + 1) / 2
    cov = ((table @ rx[:, :, None])[:, :, 0] * ry).sum(axis=1)
    var = (x_counts * rx**2).sum(axis=1) * (y_counts * ry**2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where(x_ties * y_ties > 0, s / np.sqrt(x_ties * y_ties), np.nan)
        rho = np.where(var > 0, cov / np.sqrt(var), np.nan)
    return tau, rho


def _scipy_rank_correlation(pred: np.ndarray, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy import stats  # imported here: scipy.stats alone takes ~0.3 s to import

    taus = [stats.kendalltau(pred, ref).statistic for ref in refs]
    rhos = [stats.spearmanr(pred, ref).statistic for ref in refs]
    return np.asarray(taus, dtype=np.float64), np.asarray(rhos, dtype=np.float64)


def top_fraction(scores: np.ndarray, ratio: float = HIGHLIGHT_RATIO) -> np.ndarray:
    """Frames whose score is in the top ``ratio``: at least the ceil(ratio * n)-th largest score.

    Frames tied with that score are all included, so the result never depends on frame order
    (a tie-broken top-k would reward whichever frames happen to come first).
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    k = max(1, math.ceil(ratio * len(scores)))
    threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
    return scores >= threshold


def highlight_f1(pred: np.ndarray, human_mean: np.ndarray, ratio: float = HIGHLIGHT_RATIO) -> float:
    """The "top-15% highlight" F1: top frames by prediction vs top frames by mean human score."""
    return float(f1_score(top_fraction(pred, ratio), top_fraction(human_mean, ratio)[None])[0])
