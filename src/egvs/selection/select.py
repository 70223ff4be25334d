"""Pick shots for a summary: knapsack on total importance, then merge neighbours into segments."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from egvs.segments import Segment
from egvs.selection.knapsack import knapsack
from egvs.timeline import TimeGrid

RESOLUTION = 0.1  # seconds per knapsack weight unit
# Selected segments closer than this are joined: a jump over a few seconds inside one moment (the
# pause between two sentences of one outburst, between two bursts of laughter) is a jarring cut,
# and the pause belongs to the moment. Chosen on the moments benchmark's tuning sets
# (docs/speech_emotion.md, "Pauses inside a moment").
BRIDGE_GAP = 4.0
# ... and never one wider than this share of the budget: in a short summary a 4 s pause would
# crowd out the moments it sits between.
BRIDGE_BUDGET_SHARE = 1 / 6


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


def merge_adjacent(
    segments: Sequence[Segment], gap: float = 1e-3, keep_reasons: bool = False
) -> list[Segment]:
    """Merge segments that touch (or overlap) into one, duration-weighting their scores."""
    merged: list[Segment] = []
    for seg in sorted(segments, key=lambda s: s.start):
        reasons = list(seg.reasons) if keep_reasons else []
        if merged and seg.start - merged[-1].end <= gap:
            last = merged[-1]
            total = last.duration + seg.duration
            score = (
                (last.score * last.duration + seg.score * seg.duration) / total
                if total
                else last.score
            )
            reasons = last.reasons + [r for r in reasons if r not in last.reasons]
            merged[-1] = Segment(last.start, max(last.end, seg.end), score, reasons)
        else:
            merged.append(Segment(seg.start, seg.end, seg.score, reasons))
    return merged


def fill_to_budget(
    segments: Sequence[Segment],
    importance: np.ndarray,
    step: float,
    duration: float,
    budget_seconds: float,
    quantum: float = 0.5,
    fine: float = 0.1,
) -> list[Segment]:
    """Grow selected segments into their most important neighbouring time until the budget is used.

    The knapsack can only take whole shots, so it may leave part of the budget unused. Each round
    extends one segment edge by ``quantum`` seconds (``fine`` for the last bit) where the importance
    just outside the edge is highest. Segments that meet are merged.
    """
    segs = [Segment(s.start, s.end, s.score, list(s.reasons)) for s in segments]
    if not segs:
        return segs

    mean_importance = _mean_importance(importance, step)
    leftover = budget_seconds - sum(s.duration for s in segs)
    while leftover >= fine - 1e-9:
        q = quantum if leftover >= quantum else np.floor(leftover / fine + 1e-9) * fine
        best: tuple[float, int, str] | None = None
        for i, s in enumerate(segs):
            lo = segs[i - 1].end if i > 0 else 0.0
            hi = segs[i + 1].start if i + 1 < len(segs) else duration
            if s.start - lo >= q - 1e-9:
                cand = (mean_importance(s.start - q, s.start), i, "left")
                best = cand if best is None or cand[0] > best[0] else best
            if hi - s.end >= q - 1e-9:
                cand = (mean_importance(s.end, s.end + q), i, "right")
                best = cand if best is None or cand[0] > best[0] else best
        if best is None:
            if q <= fine + 1e-9:
                break
            quantum = fine  # only small gaps are left
            continue
        _, i, side = best
        if side == "left":
            segs[i].start = round(segs[i].start - q, 6)
        else:
            segs[i].end = round(segs[i].end + q, 6)
        leftover -= q
        segs = merge_adjacent(segs, keep_reasons=True)
    return segs


def shrink_to_budget(
    segments: Sequence[Segment],
    importance: np.ndarray,
    step: float,
    budget_seconds: float,
    min_len: float = 1.0,
    quantum: float = 0.5,
    fine: float = 0.1,
) -> list[Segment] | None:
    """Trim the least important edge time until the segments fit ``budget_seconds``.

    The mirror of `fill_to_budget`: each round takes ``quantum`` seconds (``fine`` for the last
    bit) off the segment edge whose time is least important. No segment is cut under
    ``min_len``; None when the budget cannot be met that way.
    """
    segs = [Segment(s.start, s.end, s.score, list(s.reasons)) for s in segments]
    mean_importance = _mean_importance(importance, step)
    excess = sum(s.duration for s in segs) - budget_seconds
    while excess > 1e-9:
        q = quantum if excess >= quantum else np.ceil(excess / fine - 1e-9) * fine
        edges = [
            (mean_importance(a, b), i, side)
            for i, s in enumerate(segs)
            if s.duration - q >= min_len - 1e-9
            for side, (a, b) in (("left", (s.start, s.start + q)), ("right", (s.end - q, s.end)))
        ]
        if not edges:
            return None
        _, i, side = min(edges)
        if side == "left":
            segs[i].start = round(segs[i].start + q, 6)
        else:
            segs[i].end = round(segs[i].end - q, 6)
        excess -= q
    return segs


def bridge_gaps(
    segments: Sequence[Segment],
    importance: np.ndarray,
    step: float,
    budget_seconds: float,
    max_gap: float = BRIDGE_GAP,
) -> list[Segment]:
    """Join selected segments less than ``max_gap`` apart (and less than `BRIDGE_BUDGET_SHARE`
    of the budget), the smallest gap first.

    The gap's time is paid for with the least important edge time of the selection
    (`shrink_to_budget`), so the total stays within the budget; a gap that cannot be paid for
    stays a cut.
    """
    max_gap = min(max_gap, BRIDGE_BUDGET_SHARE * budget_seconds)
    segs = list(segments)  # never changed in place: each trial is a new list of new segments
    while True:
        gaps = sorted(
            (b.start - a.end, i) for i, (a, b) in enumerate(zip(segs[:-1], segs[1:], strict=True))
        )
        for gap, i in gaps:
            if gap >= max_gap:
                return segs
            pair = merge_adjacent(segs[i : i + 2], gap=gap, keep_reasons=True)
            joined = [*segs[:i], *pair, *segs[i + 2 :]]
            trial = shrink_to_budget(joined, importance, step, budget_seconds)
            if trial is not None:
                segs = trial
                break
        else:
            return segs


def _mean_importance(importance: np.ndarray, step: float) -> Callable[[float, float], float]:
    """The mean per-step importance over a time range (fractional steps weighted)."""
    grid = TimeGrid(step, len(importance))

    def mean(a: float, b: float) -> float:
        steps, seconds = grid.steps_in(a, b)
        return (
            float((importance[steps] * seconds).sum() / seconds.sum()) if seconds.sum() > 0 else 0.0
        )

    return mean


def importance_mass(segments: Sequence[Segment], importance: np.ndarray, step: float) -> float:
    """Sum of per-step importance over the selected time (fractional steps weighted)."""
    grid = TimeGrid(step, len(importance))
    total = 0.0
    for segment in segments:
        steps, seconds = grid.steps_in(segment.start, segment.end)
        total += float((importance[steps] * seconds).sum())
    return total


def improve_selection(
    segments: Sequence[Segment],
    importance: np.ndarray,
    step: float,
    duration: float,
    budget_seconds: float,
) -> list[Segment]:
    """Fill the budget, then drop the weakest segment while regrowing the rest gains importance.

    Whole shots can leave the knapsack with a weak filler shot where a strong shot did not quite
    fit; giving that time to the strong segments' surroundings is often better.
    """
    best = fill_to_budget(segments, importance, step, duration, budget_seconds)
    best_mass = importance_mass(best, importance, step)
    while len(best) > 1:
        weakest = min(
            best, key=lambda s: importance_mass([s], importance, step) / max(s.duration, 1e-9)
        )
        trial = fill_to_budget(
            [s for s in best if s is not weakest], importance, step, duration, budget_seconds
        )
        mass = importance_mass(trial, importance, step)
        if mass <= best_mass + 1e-9:
            break
        best, best_mass = trial, mass
    return best
