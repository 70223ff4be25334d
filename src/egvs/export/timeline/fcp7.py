"""`.xml`: FCP 7 XML (xmeml 4, read by Premiere Pro and DaVinci Resolve). OTIO's FCP 7 writer
leaves the audio unlinked; here each segment's video and audio clip items are `<link>`ed."""

from __future__ import annotations

from fractions import Fraction
from xml.etree import ElementTree

from egvs.export.timeline.grid import Cut, exact_rate, timecode
from egvs.export.timeline.xmldoc import sub, xml_document


def _xmeml_rate(parent: ElementTree.Element, rate: Fraction) -> None:
    """FCP 7 rates: the integer timebase and whether it runs 1000/1001 slower (NTSC)."""
    element = sub(parent, "rate")
    sub(element, "timebase", round(rate))
    sub(element, "ntsc", "TRUE" if rate.denominator == 1001 else "FALSE")


def xmeml_text(cut: Cut) -> str:
    """A video and an audio track whose clip items of the same segment are linked to each other,
    timecode non-drop-frame."""
    rate = exact_rate(cut.rate)
    root = ElementTree.Element("xmeml", version="4")
    sequence = sub(root, "sequence", id="sequence-1")
    sub(sequence, "name", cut.name)
    sub(sequence, "duration", cut.length)
    _xmeml_rate(sequence, rate)
    start = sub(sequence, "timecode")
    _xmeml_rate(start, rate)
    sub(start, "string", timecode(0, round(rate)))
    sub(start, "frame", 0)
    sub(start, "displayformat", "NDF")
    tracks = sub(sequence, "media")
    for kind in cut.kinds:
        track = sub(sub(tracks, kind), "track")
        for number, (first, last, record, _) in enumerate(cut.clips, start=1):
            item = sub(track, "clipitem", id=f"clipitem-{kind}-{number}")
            sub(item, "name", cut.clip_name(number))
            sub(item, "enabled", "TRUE")
            sub(item, "duration", cut.total)
            _xmeml_rate(item, rate)
            sub(item, "start", record)
            sub(item, "end", record + last - first)
            sub(item, "in", first)
            sub(item, "out", last)
            if kind == cut.kinds[0] and number == 1:
                _xmeml_file(item, cut, rate)
            else:  # a reference to the one file element
                sub(item, "file", id="file-1")
            if kind == "audio":
                source_track = sub(item, "sourcetrack")
                sub(source_track, "mediatype", "audio")
                sub(source_track, "trackindex", 1)
            for linked in cut.kinds:
                link = sub(item, "link")
                sub(link, "linkclipref", f"clipitem-{linked}-{number}")
                sub(link, "mediatype", linked)
                sub(link, "trackindex", 1)
                sub(link, "clipindex", number)
    return xml_document(root)


def _xmeml_file(item: ElementTree.Element, cut: Cut, rate: Fraction) -> None:
    """The one file element: the source's path, length in frames and streams."""
    file = sub(item, "file", id="file-1")
    sub(file, "name", cut.source.name)
    sub(file, "pathurl", cut.source.as_uri())
    _xmeml_rate(file, rate)
    sub(file, "duration", cut.total)
    streams = sub(file, "media")
    for kind in cut.kinds:
        sub(streams, kind)
