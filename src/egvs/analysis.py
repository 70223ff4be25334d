"""What `egvs.analyze` and `egvs.summarize` return, and the analysis JSON (``egvs.analysis/1``).

Its own module, below rendering and export, so the exporters (plot, timeline) can read an
`Analysis` without importing the API that produces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from egvs.media.probe import MediaInfo
from egvs.request import SummaryRequest
from egvs.segments import Segment
from egvs.selection import Budget
from egvs.timeline import Timeline

SCHEMA = "egvs.analysis/1"


@dataclass
class Analysis:
    """Everything EGVS found in one file and the summary it chose (no video rendered).

    ``budget`` is the budget applied (a too-short one is raised to 0.5 s), ``request`` what was
    asked for.
    """

    media: MediaInfo
    timeline: Timeline
    importance: np.ndarray
    shots: list[Segment]
    segments: list[Segment]
    budget: Budget
    scorer: str = "fusion"
    warnings: list[str] = field(default_factory=list)
    request: SummaryRequest = field(default_factory=SummaryRequest)
    # how the summary video was made (`egvs.summarize`): the "requested" and "used" way and,
    # when "auto" had to re-encode everything, the "fallback" reason; with smart rendering, how
    # many segment edges were moved onto keyframes ("keyframe_edges"); None when not rendered
    render: dict[str, str | int] | None = None

    @property
    def budget_seconds(self) -> float:
        return self.budget.seconds_for(self.media.duration)

    @property
    def summary_duration(self) -> float:
        return float(sum(s.duration for s in self.segments))

    def speakers(self) -> list[dict]:
        """The voices told apart in the video: id and seconds of speech, in order of appearance."""
        from egvs.ser.speaker import speaker_summary

        ids = self.timeline.signal("speaker", -1.0).astype(int)
        return speaker_summary(ids, self.timeline.grid.step)

    def to_json(self) -> dict:
        """The versioned public contract (schema ``egvs.analysis/1``; see README)."""
        tl = self.timeline
        rnd = lambda a: [round(float(v), 4) for v in a]  # noqa: E731
        return {
            "schema": SCHEMA,
            "input": {
                "path": str(self.media.path),
                "duration": round(self.media.duration, 3),
                "has_audio": self.media.has_audio,
                "has_video": self.media.has_video,
                "width": self.media.width,
                "height": self.media.height,
                "fps": round(self.media.fps, 3),
            },
            "request": self.request.to_json(),
            "timeline": {
                "step": tl.grid.step,
                "times": rnd(tl.grid.times),
                "importance": rnd(self.importance),
                "signals": {name: rnd(values) for name, values in sorted(tl.signals.items())},
            },
            "speakers": self.speakers(),
            "shots": [s.to_dict(with_reasons=False) for s in self.shots],
            "summary": {
                "budget": self.budget.to_dict(self.media.duration),
                "duration": round(self.summary_duration, 3),
                "scorer": self.scorer,
                "segments": [s.to_dict() for s in self.segments],
                **({"render": dict(self.render)} if self.render else {}),
            },
            "warnings": list(self.warnings),
        }


@dataclass
class Summary:
    """A rendered summary: its analysis, the video written and that video's length in seconds."""

    analysis: Analysis
    output: Path
    duration: float
