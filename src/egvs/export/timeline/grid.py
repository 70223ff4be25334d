"""The frame grid every timeline format shares: which rate the clips are cut at, the exact rate a
timecode rate stands for, SMPTE timecode, and the summary snapped to whole frames (`Cut`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import opentimelineio as otio

from egvs.segments import Segment

# Audio-only input has no frame rate; 25 fps is a timecode rate every editor accepts.
AUDIO_ONLY_RATE = 25.0
_STANDARD_RATES = (24.0, 25.0, 30.0, 48.0, 50.0, 60.0)


class MediaLike(Protocol):
    """What the export needs to know about the source (egvs.media.MediaInfo fits)."""

    @property
    def path(self) -> str | os.PathLike[str]: ...
    @property
    def duration(self) -> float: ...
    @property
    def fps(self) -> float | None: ...
    @property
    def has_video(self) -> bool: ...
    @property
    def has_audio(self) -> bool: ...
    @property
    def width(self) -> int | None: ...
    @property
    def height(self) -> int | None: ...


def source_rate(media: MediaLike) -> float:
    """The frame rate clips are cut at: the source's, snapped to an exact NTSC rate (29.97 -> 30000/1001)."""
    fps = float(media.fps or 0.0) if media.has_video else 0.0
    if fps <= 0:
        return AUDIO_ONLY_RATE
    nearest = otio.opentime.RationalTime.nearest_valid_timecode_rate(fps)
    return nearest if nearest and abs(nearest - fps) / fps < 1e-3 else fps


def timecode_rate(rate: float) -> float:
    """A SMPTE timecode rate for the editor formats, so every source frame keeps its own timecode.

    ``rate`` itself when it is one (23.976, 25, 29.97 ...); else the smallest standard rate that is
    a whole multiple of it (15 -> 30, 12.5 -> 25); else the smallest standard rate above it.
    """
    if otio.opentime.RationalTime.is_valid_timecode_rate(rate):
        return rate
    multiples = [c for c in _STANDARD_RATES if abs(c / rate - round(c / rate)) < 1e-6]
    above = [c for c in _STANDARD_RATES if c >= rate]
    return (multiples or above or [_STANDARD_RATES[-1]])[0]


def exact_rate(rate: float) -> Fraction:
    """The exact frames per second a timecode rate stands for: 23.976... -> 24000/1001, 25 -> 25."""
    return Fraction(rate).limit_denominator(1001)


def timecode(frame: int, timebase: int) -> str:
    """Non-drop-frame SMPTE timecode: frames counted at the integer ``timebase``, so frame 107999
    of a 29.97 fps file is 00:59:59:29 and every frame keeps an exact label over any length."""
    seconds, frames = divmod(frame, timebase)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"


@dataclass(frozen=True)
class Cut:
    """The summary in whole frames at one rate: what every timeline writer needs."""

    source: Path
    rate: float
    total: int  # frames in the source
    # (first, last, record, segment): source frames [first, last) placed at frame `record` of the
    # timeline; clips follow each other from frame 0 in source order.
    clips: list[tuple[int, int, int, Segment]]
    kinds: list[str]  # "video" and/or "audio"

    @property
    def name(self) -> str:
        return f"{self.source.stem} (EGVS summary)"

    @property
    def length(self) -> int:
        """Frames in the timeline."""
        return sum(last - first for first, last, _, _ in self.clips)

    def clip_name(self, number: int) -> str:
        return f"{self.source.stem} #{number}"


def cut(segments: Sequence[Segment], media: MediaLike, rate: float) -> Cut:
    """Snap ``segments`` to source frames (inside the media), then count them at ``rate``."""
    src = source_rate(media)
    total = max(1, round(media.duration * src))
    clips, record = [], 0
    for segment in sorted(segments, key=lambda s: s.start):
        first = min(max(round(segment.start * src), 0), total - 1)
        last = min(max(round(segment.end * src), first + 1), total)
        first, last = round(first * rate / src), round(last * rate / src)
        clips.append((first, last, record, segment))
        record += last - first
    kinds = ["video"] if media.has_video or not media.has_audio else []
    kinds += ["audio"] if media.has_audio else []
    return Cut(Path(media.path).resolve(), rate, round(total * rate / src), clips, kinds)
