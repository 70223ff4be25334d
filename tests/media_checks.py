"""Checks on rendered files, shared by the integration tests."""

from __future__ import annotations

from pathlib import Path

import av


def stream_durations(path: Path) -> dict[str, float]:
    """Duration in seconds of each stream kind, from the decoded frames (not the header)."""
    out: dict[str, float] = {}
    with av.open(str(path)) as c:
        for stream in c.streams:
            if stream.type not in ("video", "audio"):
                continue
        for kind in ("video", "audio"):
            streams = getattr(c.streams, kind)
            if not streams:
                continue
            c.seek(0)
            end = 0.0
            for frame in c.decode(streams[0]):
                t = float(frame.time)
                length = (
                    frame.samples / frame.sample_rate
                    if kind == "audio"
                    else 1 / float(streams[0].average_rate)
                )
                end = max(end, t + length)
            out[kind] = end
    return out
