"""Editor timelines of a summary: OTIO, CMX 3600 EDL, FCP 7 XML and FCPXML, one module each.

The timeline does not point at the rendered summary but at the ORIGINAL media, with one clip per
selected segment at the source frame rate, so an editor can re-cut, trim or extend every highlight
with full handles. Ranges are snapped to whole source frames (`grid`); the format follows the
extension. `.otio` keeps the source rate and is written by OpenTimelineIO (`otio_json`). The
editor formats (`edl`, `fcp7`, `fcpxml`) count in SMPTE timecode (the source rate for every
broadcast rate, see `timecode_rate` for the others) and are written here, in whole frames of the
exact rate (24000/1001 for 23.976), because OTIO's writers get them wrong (each module says how).
Every editor format here links each clip's audio to its picture (one FCPXML asset-clip, FCP 7
<link> elements, EDL channel B) and counts non-drop-frame timecode.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from egvs.atomic import write_text
from egvs.errors import OutputError
from egvs.export.timeline.edl import edl_text, edl_title_rate
from egvs.export.timeline.fcp7 import xmeml_text
from egvs.export.timeline.fcpxml import FCPXML_VERSION, fcpxml_text
from egvs.export.timeline.grid import (
    AUDIO_ONLY_RATE,
    MediaLike,
    cut,
    source_rate,
    timecode_rate,
)
from egvs.export.timeline.otio_json import build_timeline, otio_text
from egvs.segments import Segment

__all__ = [
    "AUDIO_ONLY_RATE",
    "FCPXML_VERSION",
    "FORMATS",
    "MediaLike",
    "build_timeline",
    "edl_title_rate",
    "source_rate",
    "timecode_rate",
    "timeline_format",
    "write_timeline",
]

# Extension -> the OTIO adapter that reads it (the three editor adapters come from the
# otio-*-adapter packages). For an EDL, pass the rate its TITLE states (`edl_title_rate`). OTIO's
# FCPXML reader still reads NTSC files at 23/29/59 fps (issue #903); editors read them exactly.
FORMATS: dict[str, str] = {
    ".otio": "otio_json",
    ".edl": "cmx_3600",
    ".xml": "fcp_xml",
    ".fcpxml": "fcpx_xml",
}


def timeline_format(path: str | os.PathLike[str]) -> str:
    """The OTIO adapter for ``path``'s extension; OutputError names the supported ones."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise OutputError(
            f"unsupported timeline format '{suffix or Path(path).name}': use one of {', '.join(FORMATS)}"
        )
    return FORMATS[suffix]


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
    if adapter == "otio_json":
        text = otio_text(segments, media, metadata)
    else:  # the editor formats: whole frames at the timecode rate
        frames = cut(segments, media, timecode_rate(source_rate(media)))
        if adapter == "cmx_3600":
            text = edl_text(frames)
        elif adapter == "fcp_xml":
            text = xmeml_text(frames)
        else:
            text = fcpxml_text(frames, media)
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {path.parent} does not exist")
    write_text(path, text)
    return path
