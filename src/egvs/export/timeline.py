"""Editor timelines of a summary: OTIO, CMX 3600 EDL, FCP 7 XML and FCPXML.

The timeline does not point at the rendered summary but at the ORIGINAL media, with one clip per
selected segment at the source frame rate, so an editor can re-cut, trim or extend every highlight
with full handles. Ranges are snapped to whole source frames; the format follows the extension.
`.otio` keeps the source rate and is written by OpenTimelineIO. The editor formats count in SMPTE
timecode (the source rate for every broadcast rate, see `timecode_rate` for the others) and are
written here, in whole frames of the exact rate (24000/1001 for 23.976), because OTIO's writers
get them wrong: its FCPXML adapter truncates NTSC rates (1001/24000s -> 23 fps, a 4% drift; OTIO
issue #903), puts the audio on lanes of its own and clips outside any event, its FCP 7 writer
leaves audio unlinked, and its EDL writer cannot link audio or state the rate and timecode mode.
Every editor format here links each clip's audio to its picture (one FCPXML asset-clip, FCP 7
<link> elements, EDL channel B) and counts non-drop-frame timecode.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol
from xml.etree import ElementTree

import opentimelineio as otio

from egvs.atomic import write_text
from egvs.errors import OutputError
from egvs.segments import Segment

# Extension -> the OTIO adapter that reads it (the three editor adapters come from the
# otio-*-adapter packages). For an EDL, pass the rate its TITLE states (`edl_title_rate`). OTIO's
# FCPXML reader still reads NTSC files at 23/29/59 fps (issue #903); editors read them exactly.
FORMATS: dict[str, str] = {
    ".otio": "otio_json",
    ".edl": "cmx_3600",
    ".xml": "fcp_xml",
    ".fcpxml": "fcpx_xml",
}
# Audio-only input has no frame rate; 25 fps is a timecode rate every editor accepts.
AUDIO_ONLY_RATE = 25.0
_STANDARD_RATES = (24.0, 25.0, 30.0, 48.0, 50.0, 60.0)
FCPXML_VERSION = "1.9"  # assets with media-rep; imported by current Final Cut Pro and Resolve


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


def _exact_rate(rate: float) -> Fraction:
    """The exact frames per second a timecode rate stands for: 23.976... -> 24000/1001, 25 -> 25."""
    return Fraction(rate).limit_denominator(1001)


def _rate_label(rate: Fraction) -> str:
    """'23.976 fps = 24000/1001' or '25 fps': how an EDL title states its rate."""
    label = f"{float(rate):.3f}".rstrip("0").rstrip(".") + " fps"
    return label if rate.denominator == 1 else f"{label} = {rate}"


def edl_title_rate(text: str) -> float:
    """The rate an EGVS EDL was written at, from its TITLE line: pass it to OTIO's cmx_3600 reader
    (``read_from_file(path, rate=edl_title_rate(text))``) to read its timecodes back exactly."""
    found = re.search(r"^TITLE: .* at ([\d.]+) fps(?: = (\d+/\d+))?\r?$", text, re.MULTILINE)
    if not found:
        raise ValueError("not an EGVS EDL: its TITLE states no rate")
    return float(Fraction(found.group(2) or found.group(1)))


@dataclass(frozen=True)
class _Cut:
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


def _cut(segments: Sequence[Segment], media: MediaLike, rate: float) -> _Cut:
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
    return _Cut(Path(media.path).resolve(), rate, round(total * rate / src), clips, kinds)


def build_timeline(
    segments: Sequence[Segment],
    media: MediaLike,
    rate: float | None = None,
    metadata: dict | None = None,
) -> otio.schema.Timeline:
    """An OTIO timeline: a video and/or audio track of the selected ranges of the original file.

    Ranges are snapped to source frames, then expressed at ``rate`` (default: the source rate).
    Clips carry ``metadata["egvs"]`` (score and reasons) so an editor can see why each was chosen;
    ``metadata`` (e.g. a short's crop window) goes to the timeline's ``metadata["egvs"]``.
    """
    rate = rate or source_rate(media)
    cut = _cut(segments, media, rate)
    available = otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(cut.total, rate)
    )
    timeline = otio.schema.Timeline(name=cut.name)
    if metadata:
        timeline.metadata["egvs"] = metadata
    for kind in cut.kinds:
        track = otio.schema.Track(
            name="V1" if kind == "video" else "A1",
            kind=otio.schema.TrackKind.Video if kind == "video" else otio.schema.TrackKind.Audio,
        )
        for number, (first, last, _, segment) in enumerate(cut.clips, start=1):
            reference = otio.schema.ExternalReference(
                target_url=cut.source.as_uri(), available_range=available
            )
            reference.name = cut.source.name
            clip = otio.schema.Clip(
                name=cut.clip_name(number),
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


def _timecode(frame: int, timebase: int) -> str:
    """Non-drop-frame SMPTE timecode: frames counted at the integer ``timebase``, so frame 107999
    of a 29.97 fps file is 00:59:59:29 and every frame keeps an exact label over any length."""
    seconds, frames = divmod(frame, timebase)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"


def _edl_text(cut: _Cut, media: MediaLike) -> str:
    """CMX 3600 with the rate in the TITLE (the format has no field for it) and `FCM: NON-DROP
    FRAME`; channel B (picture + first audio track) keeps the audio linked to each event."""
    rate = _exact_rate(cut.rate)
    channel = {("video", "audio"): "B", ("video",): "V", ("audio",): "A"}[tuple(cut.kinds)]
    lines = [f"TITLE: {cut.name} at {_rate_label(rate)}", "FCM: NON-DROP FRAME", ""]
    for number, (first, last, record, _) in enumerate(cut.clips, start=1):
        times = (first, last, record, record + last - first)
        lines.append(
            f"{number:03d}  AX       {channel:5} C        "
            + " ".join(_timecode(t, round(rate)) for t in times)
        )
        lines.append(f"* FROM CLIP NAME: {cut.source.name}")
        lines.append(f"* FROM CLIP: {cut.source.as_uri()}")
    return "\n".join(lines) + "\n"


def _xml_document(root: ElementTree.Element) -> str:
    """An XML file with the declaration and DOCTYPE both Final Cut formats begin with."""
    ElementTree.indent(root)
    body = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE {root.tag}>\n{body}\n'


def _sub(
    parent: ElementTree.Element, tag: str, text: object = None, **attrib: str
) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = str(text)
    return element


def _xmeml_rate(parent: ElementTree.Element, rate: Fraction) -> None:
    """FCP 7 rates: the integer timebase and whether it runs 1000/1001 slower (NTSC)."""
    element = _sub(parent, "rate")
    _sub(element, "timebase", round(rate))
    _sub(element, "ntsc", "TRUE" if rate.denominator == 1001 else "FALSE")


def _xmeml_text(cut: _Cut, media: MediaLike) -> str:
    """FCP 7 XML (xmeml 4, read by Premiere Pro and DaVinci Resolve): a video and an audio track
    whose clip items of the same segment are linked to each other, timecode non-drop-frame."""
    rate = _exact_rate(cut.rate)
    root = ElementTree.Element("xmeml", version="4")
    sequence = _sub(root, "sequence", id="sequence-1")
    _sub(sequence, "name", cut.name)
    _sub(sequence, "duration", cut.length)
    _xmeml_rate(sequence, rate)
    timecode = _sub(sequence, "timecode")
    _xmeml_rate(timecode, rate)
    _sub(timecode, "string", _timecode(0, round(rate)))
    _sub(timecode, "frame", 0)
    _sub(timecode, "displayformat", "NDF")
    tracks = _sub(sequence, "media")
    for kind in cut.kinds:
        track = _sub(_sub(tracks, kind), "track")
        for number, (first, last, record, _) in enumerate(cut.clips, start=1):
            item = _sub(track, "clipitem", id=f"clipitem-{kind}-{number}")
            _sub(item, "name", cut.clip_name(number))
            _sub(item, "enabled", "TRUE")
            _sub(item, "duration", cut.total)
            _xmeml_rate(item, rate)
            _sub(item, "start", record)
            _sub(item, "end", record + last - first)
            _sub(item, "in", first)
            _sub(item, "out", last)
            if kind == cut.kinds[0] and number == 1:
                _xmeml_file(item, cut, rate)
            else:  # a reference to the one file element
                _sub(item, "file", id="file-1")
            if kind == "audio":
                source_track = _sub(item, "sourcetrack")
                _sub(source_track, "mediatype", "audio")
                _sub(source_track, "trackindex", 1)
            for linked in cut.kinds:
                link = _sub(item, "link")
                _sub(link, "linkclipref", f"clipitem-{linked}-{number}")
                _sub(link, "mediatype", linked)
                _sub(link, "trackindex", 1)
                _sub(link, "clipindex", number)
    return _xml_document(root)


def _xmeml_file(item: ElementTree.Element, cut: _Cut, rate: Fraction) -> None:
    """The one file element: the source's path, length in frames and streams."""
    file = _sub(item, "file", id="file-1")
    _sub(file, "name", cut.source.name)
    _sub(file, "pathurl", cut.source.as_uri())
    _xmeml_rate(file, rate)
    _sub(file, "duration", cut.total)
    streams = _sub(file, "media")
    for kind in cut.kinds:
        _sub(streams, kind)


def _fcpx_time(frames: int, rate: Fraction) -> str:
    """FCPXML time: a whole number of frame durations in seconds, as Final Cut writes it
    (48 frames at 23.976 = '48048/24000s'), so no value falls between frames."""
    frame = 1 / rate
    return f"{frames * frame.numerator}/{frame.denominator}s" if frames else "0s"


def _fcpxml_text(cut: _Cut, media: MediaLike) -> str:
    """FCPXML: library > event > project > sequence > spine of asset-clips, each carrying the
    source's picture and sound together, so the audio stays linked and cannot drift."""
    if not media.has_video:
        raise OutputError(
            "FCPXML export needs a video stream; use .otio, .edl or .xml for audio-only input"
        )
    rate = _exact_rate(cut.rate)
    root = ElementTree.Element("fcpxml", version=FCPXML_VERSION)
    resources = _sub(root, "resources")
    size = {"width": str(media.width), "height": str(media.height)}
    _sub(
        resources,
        "format",
        id="r1",
        frameDuration=_fcpx_time(1, rate),
        **(size if media.width and media.height else {}),
    )
    asset = _sub(
        resources,
        "asset",
        id="r2",
        name=cut.source.name,
        start="0s",
        duration=_fcpx_time(cut.total, rate),
        hasVideo="1",
        format="r1",
        **({"hasAudio": "1", "audioSources": "1"} if media.has_audio else {}),
    )
    _sub(asset, "media-rep", kind="original-media", src=cut.source.as_uri())
    event = _sub(_sub(root, "library"), "event", name="EGVS")
    project = _sub(event, "project", name=cut.name)
    sequence = _sub(
        project,
        "sequence",
        format="r1",
        duration=_fcpx_time(cut.length, rate),
        tcStart="0s",
        tcFormat="NDF",
    )
    spine = _sub(sequence, "spine")
    for number, (first, last, record, segment) in enumerate(cut.clips, start=1):
        clip = _sub(
            spine,
            "asset-clip",
            ref="r2",
            name=cut.clip_name(number),
            offset=_fcpx_time(record, rate),
            start=_fcpx_time(first, rate),
            duration=_fcpx_time(last - first, rate),
            tcFormat="NDF",
        )
        if segment.reasons:  # shown in Final Cut's browser, so the editor sees why it was chosen
            _sub(clip, "note", ", ".join(segment.reasons))
    return _xml_document(root)


_WRITERS = {"cmx_3600": _edl_text, "fcp_xml": _xmeml_text, "fcpx_xml": _fcpxml_text}


def write_timeline(
    segments: Sequence[Segment],
    media: MediaLike,
    path: str | os.PathLike[str],
    metadata: dict | None = None,
) -> Path:
    """Write the editor timeline of ``segments`` over ``media`` to ``path`` (format by extension).

    ``metadata`` is kept in the ``.otio`` format only (the others have no place for it).

    Written to a temporary file beside ``path`` and renamed, so an editor watching the folder never
    reads a half-written timeline and a failure leaves no partial file.
    """
    path = Path(path)
    adapter = timeline_format(path)
    if not segments:
        raise OutputError("no segments selected: nothing to write to the timeline")
    rate = source_rate(media)
    if adapter in _WRITERS:
        text = _WRITERS[adapter](_cut(segments, media, timecode_rate(rate)), media)
    else:
        text = otio.adapters.write_to_string(
            build_timeline(segments, media, rate, metadata), adapter_name=adapter
        )
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {path.parent} does not exist")
    write_text(path, text)
    return path
