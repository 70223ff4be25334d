"""The summary budget: a ratio of the input's duration or an absolute number of seconds."""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_RATIO = 0.15  # the field's standard summary length (TVSum/SumMe protocol)


@dataclass(frozen=True)
class Budget:
    """``seconds`` wins over ``ratio`` when both are given (e.g. 60 s for a Shorts cut)."""

    ratio: float | None = DEFAULT_RATIO
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.seconds is not None and not (math.isfinite(self.seconds) and self.seconds > 0):
            raise ValueError(f"budget seconds must be > 0, got {self.seconds}")
        if self.seconds is None and (self.ratio is None or not 0 < self.ratio <= 1):
            raise ValueError(f"budget ratio must be in (0, 1], got {self.ratio}")

    def requested(self, duration: float) -> float:
        """The length asked for, before capping at the video: the one place seconds win."""
        if self.seconds is not None:
            return self.seconds
        return duration * float(self.ratio or 0.0)

    def seconds_for(self, duration: float) -> float:
        """Target summary length for a video of ``duration`` seconds (never more than the video)."""
        return min(self.requested(duration), duration)

    def exceeds(self, duration: float) -> bool:
        """True when the requested length is at least the whole video."""
        return self.requested(duration) >= duration

    def to_dict(self, duration: float) -> dict:
        return {
            "ratio": round(self.seconds_for(duration) / duration, 6) if duration > 0 else None,
            "seconds": round(self.seconds_for(duration), 3),
        }
