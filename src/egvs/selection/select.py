"""Pick shots for a summary: knapsack on total importance, then merge neighbours into segments."""

from __future__ import annotations

from collections.abc import Sequence

from egvs.segments import Segment
from egvs.selection.knapsack import knapsack

RESOLUTION = 0.1  # seconds per knapsack weight unit


def select_segments(shots: Sequence[Segment], budget_seconds: float) -> list[Segment]:
    """Shots maximising total importance (score x duration) within ``budget_seconds``.

    The product objective is the importance mass of the selected time, so the budget is used as
    fully as the shot lengths allow. Selected shots that touch are merged; the result is in
    original order. Each merged segment's score is the duration-weighted mean of its shots.
    """
    if not shots:
        return []
    weights = [max(1, round(s.duration / RESOLUTION)) for s in shots]
    values = [max(s.score, 0.0) * s.duration + 1e-6 for s in shots]
    capacity = int(round(budget_seconds / RESOLUTION + 1e-9))
    chosen = knapsack(values, weights, capacity)
    if not chosen:  # budget below the shortest shot: take the best shot's start, cut to the budget
        best = max(shots, key=lambda s: s.score)
        return [Segment(best.start, min(best.end, best.start + budget_seconds), best.score)]
    return merge_adjacent([shots[i] for i in chosen])


def merge_adjacent(segments: Sequence[Segment], gap: float = 1e-3) -> list[Segment]:
    """Merge segments that touch (or overlap) into one, duration-weighting their scores."""
    merged: list[Segment] = []
    for seg in sorted(segments, key=lambda s: s.start):
        if merged and seg.start - merged[-1].end <= gap:
            last = merged[-1]
            total = last.duration + seg.duration
            score = (
                (last.score * last.duration + seg.score * seg.duration) / total
                if total
                else last.score
            )
            merged[-1] = Segment(last.start, max(last.end, seg.end), score)
        else:
            merged.append(Segment(seg.start, seg.end, seg.score))
    return merged
