"""`.edl`: CMX 3600, with the rate in the TITLE (the format has no field for it), `FCM: NON-DROP
FRAME`, and channel B (picture + first audio track), which keeps the audio linked to each event.
OTIO's own EDL writer can neither link audio nor state the rate and timecode mode."""

from __future__ import annotations

import re
from fractions import Fraction

from egvs.export.timeline.grid import Cut, exact_rate, timecode


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


def edl_text(cut: Cut) -> str:
    """The EDL of ``cut``: one event per clip, source and record timecodes at its exact rate."""
    rate = exact_rate(cut.rate)
    channel = {("video", "audio"): "B", ("video",): "V", ("audio",): "A"}[tuple(cut.kinds)]
    lines = [f"TITLE: {cut.name} at {_rate_label(rate)}", "FCM: NON-DROP FRAME", ""]
    for number, (first, last, record, _) in enumerate(cut.clips, start=1):
        times = (first, last, record, record + last - first)
        lines.append(
            f"{number:03d}  AX       {channel:5} C        "
            + " ".join(timecode(t, round(rate)) for t in times)
        )
        lines.append(f"* FROM CLIP NAME: {cut.source.name}")
        lines.append(f"* FROM CLIP: {cut.source.as_uri()}")
    return "\n".join(lines) + "\n"
