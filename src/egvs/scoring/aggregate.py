"""From per-step importance to per-shot scores."""

from __future__ import annotations

import numpy as np

from egvs.segments import Segment
from egvs.timeline import Timeline


def shot_scores(shots: list[Segment], importance: np.ndarray, timeline: Timeline) -> list[Segment]:
    """Each shot's score: mean importance over the steps it covers (fractional overlap weighted)."""
    out = []
    for shot in shots:
        steps, seconds = timeline.grid.steps_in(shot.start, shot.end)
        w = seconds.sum()
        score = float((importance[steps] * seconds).sum() / w) if w > 0 else 0.0
        out.append(Segment(shot.start, shot.end, score))
    return out
