"""Hand-made timelines for unit tests: every signal the pipeline writes, as for a silent, still
video, so a test sets only the signals it is about (`Timeline.signal` raises on a missing one)."""

from __future__ import annotations

from pathlib import Path

from egvs.features.emotion_prosody import ProsodyEmotionModel
from egvs.media.probe import MediaInfo
from egvs.pipeline import build_timeline
from egvs.timeline import TimeGrid, Timeline


def silent_timeline(grid: TimeGrid) -> Timeline:
    """The pipeline's timeline of a file with neither picture nor sound over ``grid``."""
    info = MediaInfo(Path("silent"), grid.duration, has_video=False, has_audio=False)
    return build_timeline(info, grid, {}, ProsodyEmotionModel())
