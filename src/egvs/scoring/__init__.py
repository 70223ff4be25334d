"""Scoring: per-step importance from the timeline (training-free fusion, or a trained model).

The fusion (scipy, the feature constants) is imported on first use, so the CLI's parser can read
`egvs.scoring.model_config` without paying for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from egvs.scoring.fusion import FusionScorer, FusionWeights
    from egvs.timeline import Timeline


class Scorer(Protocol):
    name: str

    def config(self) -> dict: ...

    def score(self, timeline: Timeline) -> np.ndarray:
        """Importance per step, in [0, 1]."""
        ...


def __getattr__(name: str) -> object:
    if name in ("FusionScorer", "FusionWeights"):
        return getattr(importlib.import_module("egvs.scoring.fusion"), name)
    raise AttributeError(f"module 'egvs.scoring' has no attribute {name!r}")


__all__ = ["FusionScorer", "FusionWeights", "Scorer"]
