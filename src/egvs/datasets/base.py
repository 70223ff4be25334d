"""The annotation record every dataset recipe returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class AnnotatedVideo:
    """Human annotations of one video, on its original frame axis.

    ``user_scores`` ``(n_users, n_frames)`` are the per-annotator frame scores (TVSum: 1-5; SumMe:
    1 for selected frames, else 0). ``user_summary`` holds the annotators' own binary summaries when
    the dataset has them (SumMe); for TVSum it is None and summaries are made from the scores over
    shots, the eccv16 protocol. ``fps`` is None when the source does not say (the TVSum TSV alone).
    """

    name: str
    user_scores: np.ndarray
    fps: float | None
    user_summary: np.ndarray | None = None
    category: str = ""
    title: str = ""

    @property
    def n_frames(self) -> int:
        return int(self.user_scores.shape[1])

    @property
    def n_users(self) -> int:
        return int(self.user_scores.shape[0])
