"""Editor timelines of a summary (OTIO, CMX 3600 EDL, FCP 7 XML, FCPXML) via OpenTimelineIO.

The timeline does not point at the rendered summary but at the ORIGINAL media, with one clip per
selected segment at the source frame rate, so an editor can re-cut, trim or extend every highlight
with full handles. Ranges are snapped to whole source frames; the format follows the extension.
`.otio` keeps the exact source rate; EDL and the Final Cut formats count in SMPTE timecode, which is
the source rate for every broadcast rate (see `timecode_rate` for the others).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import opentimelineio as otio

from egvs.errors import OutputError
from egvs.segments import Segment

# Extension -> OTIO adapter. The three editor adapters come from the otio-*-adapter packages.
FORMATS: dict[str, str] = {
    ".otio": "otio_json",
    ".edl": "cmx_3600",
    ".xml": "fcp_xml",
    ".fcpxml": "fcpx_xml",
}
# Audio-only input has no frame rate; 25 fps is a timecode rate every editor accepts.
AUDIO_ONLY_RATE = 25.0
# Editor formats count in SMPTE timecode; their adapters reject any other rate.
_TIMECODE_ADAPTERS = {"cmx_3600", "fcp_xml", "fcpx_xml"}
_STANDARD_RATES = (24.0, 25.0, 30.0, 48.0, 50.0, 60.0)


class MediaLike(Protocol):
    """What the export needs to know about the source (egvs.media.MediaInfo fits)."""

    path: str | os.PathLike[str]
    duration: float
    fps: float | None
    has_video: bool
    has_audio: bool
    width: int | None
    height: int | None


def timeline_format(path: str | os.PathLike[str]) -> str:
    """The OTIO adapter for ``path``'s extension; OutputError names the supported ones."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise OutputError(
            f"unsupported timeline format '{suffix or Path(path).name}': use one of {', '.join(FORMATS)}"
        )
    return FORMATS[suffix]


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


def build_timeline(
    segments: Sequence[Segment], media: MediaLike, rate: float | None = None
) -> otio.schema.Timeline:
    """An OTIO timeline: a video and/or audio track of the selected ranges of the original file.

    Ranges are snapped to source frames, then expressed at ``rate`` (default: the source rate).
    Clips carry ``metadata["egvs"]`` (score and reasons) so an editor can see why each was chosen.
    """
    src = source_rate(media)
    rate = rate or src
    source = Path(media.path).resolve()
    total = max(1, round(media.duration * src))
    available = otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, rate),
        otio.opentime.RationalTime(round(total * rate / src), rate),
    )
    timeline = otio.schema.Timeline(name=f"{source.stem} (EGVS summary)")
    kinds = [otio.schema.TrackKind.Video] if media.has_video or not media.has_audio else []
    kinds += [otio.schema.TrackKind.Audio] if media.has_audio else []
    for kind in kinds:
        track = otio.schema.Track(
            name="V1" if kind == otio.schema.TrackKind.Video else "A1", kind=kind
        )
        for number, segment in enumerate(sorted(segments, key=lambda s: s.start), start=1):
            first = min(max(round(segment.start * src), 0), total - 1)
            last = min(max(round(segment.end * src), first + 1), total)
            first, last = round(first * rate / src), round(last * rate / src)
            reference = otio.schema.ExternalReference(
                target_url=source.as_uri(), available_range=available
            )
            reference.name = source.name
            clip = otio.schema.Clip(
                name=f"{source.stem} #{number}",
                media_reference=reference,
                source_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(first, rate),
                    otio.opentime.RationalTime(last - first, rate),
                ),
            )
            clip.metadata["egvs"] = {
                "score": round(float(segment.score), 4),
                "reasons": list(segment.reasons),
            }
            track.append(clip)
        timeline.tracks.append(track)
    return timeline


def _edl_text(timeline: otio.schema.Timeline, rate: float) -> str:
    """CMX 3600 text; the adapter writes only the first track and insists on one video track."""
    if timeline.tracks[0].kind == otio.schema.TrackKind.Audio:
        # Audio-only: 'A' events from the audio track; an empty video track satisfies the check.
        timeline.tracks.append(otio.schema.Track(kind=otio.schema.TrackKind.Video))
    else:  # the events are the video track's; editors link the source audio to them
        for track in list(timeline.tracks)[1:]:
            track.enabled = False
    return otio.adapters.write_to_string(timeline, adapter_name="cmx_3600", rate=rate)


def _fcpx_text(timeline: otio.schema.Timeline, media: MediaLike, rate: float) -> str:
    """FCPXML text. The adapter knows frame durations for whole rates only and cannot place
    audio-only clips, so NTSC rates are added to its table and audio-only input is refused."""
    if not media.has_video:
        raise OutputError(
            "FCPXML export needs a video stream; use .otio, .edl or .xml for audio-only input"
        )
    table = otio.adapters.from_name("fcpx_xml").module().FRAMERATE_FRAMEDURATION
    table.setdefault(rate, f"{Fraction(1 / rate).limit_denominator(60000)}s")
    return otio.adapters.write_to_string(timeline, adapter_name="fcpx_xml")


def write_timeline(
    segments: Sequence[Segment], media: MediaLike, path: str | os.PathLike[str]
) -> Path:
    """Write the editor timeline of ``segments`` over ``media`` to ``path`` (format by extension).

    Written to a temporary file beside ``path`` and renamed, so an editor watching the folder never
    reads a half-written timeline and a failure leaves no partial file.
    """
    path = Path(path)
    adapter = timeline_format(path)
    if not segments:
        raise OutputError("no segments selected: nothing to write to the timeline")
    rate = source_rate(media)
    if adapter in _TIMECODE_ADAPTERS:
        rate = timecode_rate(rate)
    timeline = build_timeline(segments, media, rate)
    if adapter == "cmx_3600":
        text = _edl_text(timeline, rate)
    elif adapter == "fcpx_xml":
        text = _fcpx_text(timeline, media, rate)
    else:
        text = otio.adapters.write_to_string(timeline, adapter_name=adapter)
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a timeline is a normal document
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
