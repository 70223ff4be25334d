"""Time segments: the unit shots, selection, rendering and exports share."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Segment:
    """A half-open time range ``[start, end)`` in seconds, with a score and the reasons for it."""

    start: float
    end: float
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self, with_reasons: bool = True) -> dict:
        out: dict = {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "score": round(self.score, 4),
        }
        if with_reasons:
            out["reasons"] = list(self.reasons)
        return out
