"""Kernel Temporal Segmentation (Potapov et al., ECCV 2014), as used by the TVSum/SumMe protocol.

Change points minimise the within-segment kernel scatter of L2-normalised features, with the number
of segments chosen by the penalised cost of ``cpd_auto``. Long inputs are segmented in chunks of at
most ``chunk`` steps (a forced boundary between chunks), so memory stays O(chunk^2) whatever the
video's length.
"""

from __future__ import annotations

import numpy as np

DEFAULT_CHUNK = 1200  # steps (10 minutes at 2 per second)


def _segment_costs(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative sums giving the scatter of any segment [a, b) in O(1)."""
    diag = np.concatenate([[0.0], np.cumsum(np.diag(kernel))])
    block = np.zeros((len(kernel) + 1, len(kernel) + 1))
    block[1:, 1:] = kernel.cumsum(0).cumsum(1)
    return diag, block


def _scatter(diag: np.ndarray, block: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    inner = block[b, b] - block[a, b] - block[b, a] + block[a, a]
    return (diag[b] - diag[a]) - inner / np.maximum(b - a, 1)


def _best_splits(
    kernel: np.ndarray, n_cps: int, lmin: int, lmax: int
) -> tuple[np.ndarray, np.ndarray]:
    """The dynamic programme of every count up to ``n_cps`` at once: ``cost[m, e]`` is the least
    scatter of steps ``[0, e)`` in ``m + 1`` segments, ``back[m, e]`` where its last one starts.

    The scatter of every segment ending at each step is computed once per length, outside the
    loop over counts (it does not depend on the count), and each count is one minimum over the
    (length, end) table; the first (shortest) length wins a tie.
    """
    n = len(kernel)
    diag, block = _segment_costs(kernel)
    ends = np.arange(n + 1)
    lengths = np.arange(lmin, min(lmax, n) + 1)
    starts = ends[None, :] - lengths[:, None]  # (length, end)
    valid = starts >= 0
    scatter = np.full(starts.shape, np.inf)
    scatter[valid] = _scatter(
        diag, block, starts[valid], np.broadcast_to(ends, starts.shape)[valid]
    )
    safe_starts = np.where(valid, starts, 0)
    cost = np.full((n_cps + 1, n + 1), np.inf)
    back = np.zeros((n_cps + 1, n + 1), dtype=np.int64)
    first = (ends >= lmin) & (ends <= lmax)
    cost[0, first] = _scatter(diag, block, np.zeros_like(ends[first]), ends[first])
    if not len(lengths):  # no segment length fits: every count is infeasible
        return cost, back
    for k in range(1, n_cps + 1):
        cand = cost[k - 1, safe_starts] + scatter  # inf where the segment cannot start
        pick = cand.argmin(0)
        cost[k] = cand[pick, ends]
        back[k] = np.where(np.isfinite(cost[k]), starts[pick, ends], 0)
    return cost, back


def _change_points(back: np.ndarray, m: int) -> list[int]:
    """The ``m`` change points of the best segmentation of the whole input (from `_best_splits`)."""
    cps: list[int] = []
    pos = back.shape[1] - 1
    for k in range(m, 0, -1):
        pos = int(back[k, pos])
        cps.append(pos)
    return sorted(cps)


def cpd_nonlin(
    kernel: np.ndarray, n_cps: int, lmin: int = 1, lmax: int | None = None
) -> tuple[list[int], np.ndarray]:
    """Best change points for every count up to ``n_cps``; returns those for ``n_cps`` and all costs.

    ``costs[m]`` is the minimal total scatter with ``m`` change points (inf when infeasible).
    Segment lengths lie in [lmin, lmax].
    """
    cost, back = _best_splits(kernel, n_cps, lmin, lmax or len(kernel))
    return _change_points(back, n_cps), cost[:, -1]


def cpd_auto(
    kernel: np.ndarray, max_cps: int, vmax: float = 1.0, lmin: int = 1, lmax: int | None = None
) -> list[int]:
    """Change points with their number picked by KTS's penalised cost (one dynamic programme
    gives the cost of every count and the change points of the one picked)."""
    n = len(kernel)
    max_cps = max(0, min(max_cps, n // max(lmin, 1) - 1))
    if max_cps == 0:
        return []
    cost, back = _best_splits(kernel, max_cps, lmin, lmax or n)
    m = np.arange(1, max_cps + 1)
    penalties = np.zeros(max_cps + 1)
    penalties[1:] = vmax * m / (2.0 * n) * (np.log(n / m) + 1)
    total = cost[:, n] / n + penalties
    if not np.isfinite(total).any():  # no segmentation satisfies the length bounds
        return []
    best = int(np.nanargmin(np.where(np.isfinite(total), total, np.nan)))
    return _change_points(back, best) if best else []


def kts_segments(
    features: np.ndarray,
    *,
    min_len: int = 2,
    max_len: int = 60,
    mean_len: int = 8,
    vmax: float = 1.0,
    chunk: int = DEFAULT_CHUNK,
    normalize: bool = True,
) -> list[tuple[int, int]]:
    """Segments ``[start, end)`` in steps covering ``features`` (n, d), from KTS change points.

    ``mean_len`` bounds how many change points are considered (n / mean_len), the usual KTS setting.
    Rows that are all zero (no picture) get one segment per chunk. ``normalize=False`` keeps the
    features' own scale (for standardised descriptors, e.g. of the audio), instead of L2-normalising
    each row as KTS does for CNN features.
    """
    n = len(features)
    if n == 0:
        return []
    unit = (
        features / (np.linalg.norm(features, axis=1, keepdims=True) + 1e-8)
        if normalize
        else features
    )
    bounds = [0]
    for start in range(0, n, chunk):
        part = unit[start : start + chunk].astype(np.float64)
        kernel = part @ part.T
        # Enough change points that segments no longer than max_len can cover the chunk.
        max_cps = max(len(part) // mean_len, -(-len(part) // max_len))
        cps = (
            cpd_auto(kernel, max_cps, vmax, lmin=min_len, lmax=max_len)
            if len(part) > 2 * min_len
            else []
        )
        bounds.extend(start + c for c in cps)
        bounds.append(min(start + chunk, n))
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
