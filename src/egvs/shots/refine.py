"""Make KTS shots fit for cutting: split long shots where the audio changes, cut in speech pauses.

An emotional moment often lives inside one long shot (an interview, a vlog), so shots longer than
``max_len`` are split where the sound changes most (loudness, voice, events, arousal). Every
boundary inside speech is then moved to the nearest pause (so a cut never halves a word): up to
``visual_snap`` s for a picture cut, ``audio_snap`` s for an audio split. Shots shorter than
``min_len`` are merged into a neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from egvs.segments import Segment
from egvs.timeline import ENVELOPE_HOP, Timeline

AUDIO_CHANGE_SIGNALS = (
    "loudness",
    "voiced",
    "arousal",
    "event.speech",
    "event.music",
    "event.laughter",
    "event.applause",
    "event.cheering",
    "event.screaming",
    "event.crying",
    "event.shouting",
)
MIN_PAUSE = 0.12  # seconds below the pause threshold that count as a pause
PAUSE_DROP_DB = 18.0  # how far below the loud (90th percentile) level a pause is
SILENT_DB = -60.0


@dataclass
class _Cut:
    t: float
    snap: float  # how far this boundary may move to reach a pause


def _audio_descriptor(timeline: Timeline) -> np.ndarray:
    cols = []
    for name in AUDIO_CHANGE_SIGNALS:
        x = timeline.signal(name).astype(np.float64)
        spread = x.std()
        cols.append((x - x.mean()) / spread if spread > 1e-6 else np.zeros_like(x))
    return np.column_stack(cols)


def _split_long(
    a: int, b: int, desc: np.ndarray, max_steps: int, min_steps: int, window: int
) -> list[int]:
    """Split points (steps) of [a, b) at the largest audio changes until no piece exceeds max_steps."""
    if b - a <= max_steps:
        return []
    candidates = np.arange(a + min_steps, b - min_steps + 1)
    if len(candidates) == 0:
        return []
    change = np.array(
        [
            np.linalg.norm(
                desc[max(a, s - window) : s].mean(0) - desc[s : min(b, s + window)].mean(0)
            )
            for s in candidates
        ]
    )
    # Prefer the middle when the sound is uniform, so pieces stay balanced.
    middle = 1.0 - np.abs(candidates - (a + b) / 2) / (b - a)
    s = int(candidates[np.argmax(change + 0.05 * middle)])
    return [
        *_split_long(a, s, desc, max_steps, min_steps, window),
        s,
        *_split_long(s, b, desc, max_steps, min_steps, window),
    ]


def pause_mask(envelope: np.ndarray) -> np.ndarray:
    """True where the 10 ms loudness envelope is in a pause (quiet for at least MIN_PAUSE)."""
    if len(envelope) == 0:
        return np.zeros(0, bool)
    # A pause is well below the speech level (or silent), whatever the noise floor.
    level = np.percentile(envelope, 90)
    quiet = (envelope < level - PAUSE_DROP_DB) | (envelope < SILENT_DB)
    run = round(MIN_PAUSE / ENVELOPE_HOP)
    # Keep only quiet runs of at least `run` frames.
    padded = np.concatenate([[False], quiet, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    mask = np.zeros(len(envelope), bool)
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if end - start >= run:
            mask[start:end] = True
    return mask


def snap_to_pause(t: float, pauses: np.ndarray, radius: float) -> float:
    """The centre of the nearest pause within ``radius`` s of ``t`` (``t`` itself if in a pause)."""
    if len(pauses) == 0 or radius <= 0:
        return t
    i = int(round(t / ENVELOPE_HOP))
    if 0 <= i < len(pauses) and pauses[i]:
        return t
    r = int(round(radius / ENVELOPE_HOP))
    lo, hi = max(0, i - r), min(len(pauses), i + r + 1)
    idx = np.flatnonzero(pauses[lo:hi]) + lo
    if len(idx) == 0:
        return t
    nearest = idx[np.argmin(np.abs(idx - i))]
    # Centre of the pause run holding `nearest`, limited to the search window.
    left = nearest
    while left > lo and pauses[left - 1]:
        left -= 1
    right = nearest
    while right < hi - 1 and pauses[right + 1]:
        right += 1
    return (left + right + 1) / 2 * ENVELOPE_HOP


def refine_shots(
    shots: list[tuple[int, int]],
    timeline: Timeline,
    duration: float,
    *,
    min_len: float = 1.0,
    max_len: float = 8.0,
    visual_snap: float = 0.5,
    audio_snap: float = 1.5,
) -> list[Segment]:
    """Shots in seconds covering [0, duration), split at audio changes and cut in pauses."""
    step = timeline.grid.step
    desc = _audio_descriptor(timeline)
    max_steps = max(2, round(max_len / step))
    min_steps = max(1, round(min_len / step))
    cuts: list[_Cut] = []
    for a, b in shots:
        if a > 0:
            cuts.append(_Cut(a * step, visual_snap))
        cuts.extend(
            _Cut(s * step, audio_snap)
            for s in _split_long(a, b, desc, max_steps, min_steps, window=4)
        )
    pauses = pause_mask(timeline.envelope) if timeline.envelope is not None else np.zeros(0, bool)
    times = sorted(
        {round(snap_to_pause(c.t, pauses, c.snap), 3) for c in cuts if 0 < c.t < duration}
    )
    bounds = [0.0, *[t for t in times if 0 < t < duration], duration]
    segments = [Segment(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b - a > 1e-3]
    return merge_short(segments, min_len)


def merge_short(segments: list[Segment], min_len: float) -> list[Segment]:
    """Merge every segment shorter than ``min_len`` into its shorter neighbour."""
    segs = list(segments)
    while len(segs) > 1:
        short = [i for i, s in enumerate(segs) if s.duration < min_len - 1e-6]
        if not short:
            break
        i = min(short, key=lambda j: segs[j].duration)
        if i == 0:
            j = 1
        elif i == len(segs) - 1:
            j = i - 1
        else:
            j = i - 1 if segs[i - 1].duration <= segs[i + 1].duration else i + 1
        a, b = sorted((i, j))
        segs[a : b + 1] = [Segment(segs[a].start, segs[b].end)]
    return segs


def snap_edges(
    segments: list[Segment], timeline: Timeline, duration: float, target: float, radius: float = 0.4
) -> list[Segment]:
    """Move each selected segment's edges into the nearest speech pause within ``radius`` s.

    Filling the budget can leave an edge mid-word; a short move lands the cut in a pause. A move is
    only taken while the total stays within 5% of ``target`` seconds, and edges never cross a
    neighbour or the file's ends.
    """
    if timeline.envelope is None or not segments:
        return segments
    pauses = pause_mask(timeline.envelope)
    radius = min(radius, 0.05 * target)
    total = sum(s.duration for s in segments)
    out: list[Segment] = []
    for i, seg in enumerate(segments):
        lo = out[-1].end if out else 0.0
        hi = segments[i + 1].start if i + 1 < len(segments) else duration
        start, end = seg.start, seg.end
        for edge in ("start", "end"):
            moved = snap_to_pause(start if edge == "start" else end, pauses, radius)
            new_start, new_end = (
                (min(max(moved, lo), end), end)
                if edge == "start"
                else (start, max(min(moved, hi), start))
            )
            new_total = total - (end - start) + (new_end - new_start)
            if (
                abs(new_total - target) <= 0.05 * target
                and new_end - new_start >= 0.5 * seg.duration
            ):
                start, end, total = new_start, new_end, new_total
        out.append(Segment(start, end, seg.score, list(seg.reasons)))
    return out
