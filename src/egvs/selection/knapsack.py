"""Exact 0/1 knapsack, the selection rule of the TVSum/SumMe protocol.

Shared by the summarizer and the evaluation code, so a benchmark number and a product summary come
from the same selection.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def knapsack(
    values: Sequence[float] | np.ndarray, weights: Sequence[int] | np.ndarray, capacity: int
) -> list[int]:
    """Indices (ascending) of the items maximising total value with total weight <= capacity.

    ``weights`` and ``capacity`` are non-negative integers (e.g. frames, or tenths of a second).
    Ties are broken towards the earlier item set, deterministically. Runs in O(n * capacity) time with
    a boolean keep-table of the same size; the value row is vectorised with numpy.
    """
    values_arr = np.asarray(values, dtype=np.float64)
    weights_arr = np.asarray(weights, dtype=np.int64)
    if values_arr.shape != weights_arr.shape:
        raise ValueError("values and weights must have the same length")
    if (weights_arr < 0).any():
        raise ValueError("weights must be non-negative")
    capacity = int(capacity)
    n = len(values_arr)
    if n == 0 or capacity < 0:
        return []
    best = np.zeros(capacity + 1, dtype=np.float64)
    keep = np.zeros((n, capacity + 1), dtype=bool)
    for i in range(n):
        w, v = int(weights_arr[i]), values_arr[i]
        if w > capacity:
            continue
        candidate = best[: capacity + 1 - w] + v
        better = candidate > best[w:] + 1e-12
        keep[i, w:] = better
        best[w:] = np.where(better, candidate, best[w:])
    chosen = []
    c = capacity
    for i in range(n - 1, -1, -1):
        if keep[i, c]:
            chosen.append(i)
            c -= int(weights_arr[i])
    return sorted(chosen)
