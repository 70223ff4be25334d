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


def cpd_nonlin(
    kernel: np.ndarray, n_cps: int, lmin: int = 1, lmax: int | None = None
) -> tuple[list[int], np.ndarray]:
    """Best change points for every count up to ``n_cps``; returns those for ``n_cps`` and all costs.

    ``costs[m]`` is the minimal total scatter with ``m`` change points (inf when infeasible).
    Segment lengths lie in [lmin, lmax].
    """
    n = len(kernel)
    lmax = lmax or n
    diag, block = _segment_costs(kernel)
    inf = np.inf
    cost = np.full((n_cps + 1, n + 1), inf)
    back = np.zeros((n_cps + 1, n + 1), dtype=np.int64)
    ends = np.arange(n + 1)
    first = (ends >= lmin) & (ends <= lmax)
    cost[0, first] = _scatter(diag, block, np.zeros_like(ends[first]), ends[first])
    for k in range(1, n_cps + 1):
        best = np.full(n + 1, inf)
        arg = np.zeros(n + 1, dtype=np.int64)
        for length in range(lmin, min(lmax, n) + 1):
            b = ends[length:]
            a = b - length
            cand = cost[k - 1, a] + _scatter(diag, block, a, b)
            better = cand < best[length:]
            best[length:][better] = cand[better]
            arg[length:][better] = a[better]
        cost[k] = best
        back[k] = arg
    cps: list[int] = []
    pos = n
    for k in range(n_cps, 0, -1):
        pos = int(back[k, pos])
        cps.append(pos)
    return sorted(cps), cost[:, n]


def cpd_auto(
    kernel: np.ndarray, max_cps: int, vmax: float = 1.0, lmin: int = 1, lmax: int | None = None
) -> list[int]:
    """Change points with their number picked by KTS's penalised cost."""
    n = len(kernel)
    max_cps = max(0, min(max_cps, n // max(lmin, 1) - 1))
    if max_cps == 0:
        return []
    _, costs = cpd_nonlin(kernel, max_cps, lmin, lmax)
    m = np.arange(1, max_cps + 1)
    penalties = np.zeros(max_cps + 1)
    penalties[1:] = vmax * m / (2.0 * n) * (np.log(n / m) + 1)
    total = costs / n + penalties
    if not np.isfinite(total).any():  # no segmentation satisfies the length bounds
        return []
    best = int(np.nanargmin(np.where(np.isfinite(total), total, np.nan)))
    if best == 0:
        return []
    cps, _ = cpd_nonlin(kernel, best, lmin, lmax)
    return cps


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
