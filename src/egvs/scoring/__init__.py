"""Scoring: per-step importance from the timeline (training-free fusion, or a trained model)."""

from typing import Protocol

import numpy as np

from egvs.scoring.fusion import FusionScorer, FusionWeights
from egvs.timeline import Timeline


class Scorer(Protocol):
    name: str

    def config(self) -> dict: ...

    def score(self, timeline: Timeline) -> np.ndarray:
        """Importance per step, in [0, 1]."""
        ...


__all__ = ["FusionScorer", "FusionWeights", "Scorer"]
