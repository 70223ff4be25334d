"""`.fcpxml`: FCPXML 1.9 for Final Cut Pro and DaVinci Resolve. OTIO's FCPXML adapter truncates
NTSC rates (1001/24000s -> 23 fps, a 4% drift; OTIO issue #903), puts the audio on lanes of its
own and clips outside any event; here every time is a whole number of exact frame durations and
each asset-clip carries the source's picture and sound together."""

from __future__ import annotations

from fractions import Fraction
from xml.etree import ElementTree

from egvs.errors import OutputError
from egvs.export.timeline.grid import Cut, MediaLike, exact_rate
from egvs.export.timeline.xmldoc import sub, xml_document

FCPXML_VERSION = "1.9"  # assets with media-rep; imported by current Final Cut Pro and Resolve


def _fcpx_time(frames: int, rate: Fraction) -> str:
    """FCPXML time: a whole number of frame durations in seconds, as Final Cut writes it
    (48 frames at 23.976 = '48048/24000s'), so no value falls between frames."""
    frame = 1 / rate
    return f"{frames * frame.numerator}/{frame.denominator}s" if frames else "0s"


def fcpxml_text(cut: Cut, media: MediaLike) -> str:
    """Library > event > project > sequence > spine of asset-clips, so the audio stays linked and
    cannot drift. OutputError for audio-only media (FCPXML needs a picture format)."""
    if not media.has_video:
        raise OutputError(
            "FCPXML export needs a video stream; use .otio, .edl or .xml for audio-only input"
        )
    rate = exact_rate(cut.rate)
    root = ElementTree.Element("fcpxml", version=FCPXML_VERSION)
    resources = sub(root, "resources")
    size = {"width": str(media.width), "height": str(media.height)}
    sub(
        resources,
        "format",
        id="r1",
        frameDuration=_fcpx_time(1, rate),
        **(size if media.width and media.height else {}),
    )
    asset = sub(
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
    sub(asset, "media-rep", kind="original-media", src=cut.source.as_uri())
    event = sub(sub(root, "library"), "event", name="EGVS")
    project = sub(event, "project", name=cut.name)
    sequence = sub(
        project,
        "sequence",
        format="r1",
        duration=_fcpx_time(cut.length, rate),
        tcStart="0s",
        tcFormat="NDF",
    )
    spine = sub(sequence, "spine")
    for number, (first, last, record, segment) in enumerate(cut.clips, start=1):
        clip = sub(
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
            sub(clip, "note", ", ".join(segment.reasons))
    return xml_document(root)
