"""`.otio`: the summary as an OpenTimelineIO timeline at the source rate, written by OTIO itself."""

from __future__ import annotations

from collections.abc import Sequence

import opentimelineio as otio

from egvs.export.timeline.grid import MediaLike, cut, source_rate
from egvs.segments import Segment


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
    frames = cut(segments, media, rate)
    available = otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(frames.total, rate)
    )
    timeline = otio.schema.Timeline(name=frames.name)
    if metadata:
        timeline.metadata["egvs"] = metadata
    for kind in frames.kinds:
        track = otio.schema.Track(
            name="V1" if kind == "video" else "A1",
            kind=otio.schema.TrackKind.Video if kind == "video" else otio.schema.TrackKind.Audio,
        )
        for number, (first, last, _, segment) in enumerate(frames.clips, start=1):
            reference = otio.schema.ExternalReference(
                target_url=frames.source.as_uri(), available_range=available
            )
            reference.name = frames.source.name
            clip = otio.schema.Clip(
                name=frames.clip_name(number),
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


def otio_text(segments: Sequence[Segment], media: MediaLike, metadata: dict | None = None) -> str:
    """The `.otio` file (OTIO JSON) of `build_timeline` at the source rate."""
    return otio.adapters.write_to_string(
        build_timeline(segments, media, source_rate(media), metadata), adapter_name="otio_json"
    )
