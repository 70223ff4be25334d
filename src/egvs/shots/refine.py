"""Make KTS shots fit for cutting: split long shots where the audio changes, cut in speech pauses.

An emotional moment often lives inside one long shot (an interview, a vlog), so every shot is also
segmented on its sound (KTS on loudness, voice, arousal, valence, vocalizations and events), which
cuts where the audio changes and keeps pieces under ``max_len``. Every
boundary inside speech is then moved to the nearest pause (so a cut never halves a word): up to
``visual_snap`` s for a picture cut, ``audio_snap`` s for an audio split. Shots shorter than
``min_len`` are merged into a neighbour. Once a summary's segments are chosen, their edges move
into nearby pauses too (`snap_edges`), the silence at them is cut to a breath (`trim_dead_air`),
and, for smart rendering, they move onto keyframes (`snap_to_keyframes`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from egvs.segments import Segment
from egvs.shots.kts import kts_segments
from egvs.timeline import ENVELOPE_HOP, Timeline

AUDIO_CHANGE_SIGNALS = (
    "loudness",
    "voiced",
    "arousal",
    "valence",
    "emotion.neutral",
    "vocal.laughing",
    "vocal.crying",
    "vocal.screaming",
    "event.speech",
    "event.music",
    "event.laughter",
    "event.applause",
    "event.cheering",
    "event.screaming",
    "event.crying",
    "event.shouting",
)
MIN_AUDIO_SPLIT = 2.0  # seconds: the shortest piece a sound change may cut out of a shot
MIN_PAUSE = 0.12  # seconds below the pause threshold that count as a pause
PAUSE_DROP_DB = 18.0  # how far below the loud (90th percentile) level a pause is
SILENT_DB = -60.0
# A cut in a pause keeps this much of it before the speech a segment starts with, and after the
# speech it ends with: a breath, not dead air (docs/speech_emotion.md, "Dead air at the cuts").
LEAD_IN = 0.25
TAIL_OUT = 0.35


@dataclass
class _Cut:
    t: float
    snap: float  # how far this boundary may move to reach a pause


def _audio_descriptor(timeline: Timeline) -> np.ndarray:
    """Standardised audio signals, scaled so a step's squared norm is about 1 (as KTS expects)."""
    cols = []
    for name in AUDIO_CHANGE_SIGNALS:
        x = timeline.signal(name).astype(np.float64)
        spread = x.std()
        cols.append((x - x.mean()) / spread if spread > 1e-6 else np.zeros_like(x))
    return np.column_stack(cols) / np.sqrt(len(cols))


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


def in_pause(t: float, pauses: np.ndarray) -> bool:
    """Whether ``t`` (seconds) falls in a pause of `pause_mask`'s ``pauses``."""
    i = int(round(t / ENVELOPE_HOP))
    return bool(0 <= i < len(pauses) and pauses[i])


def snap_to_pause(t: float, pauses: np.ndarray, radius: float) -> float:
    """The centre of the nearest pause within ``radius`` s of ``t`` (``t`` itself if in a pause)."""
    if len(pauses) == 0 or radius <= 0 or in_pause(t, pauses):
        return t
    i = int(round(t / ENVELOPE_HOP))
    r = int(round(radius / ENVELOPE_HOP))
    lo, hi = max(0, i - r), min(len(pauses), i + r + 1)
    idx = np.flatnonzero(pauses[lo:hi]) + lo
    if len(idx) == 0:
        return t
    nearest = idx[np.argmin(np.abs(idx - i))]
    # Centre of the pause run holding `nearest`, limited to the search window.
    left, right = _pause_run(pauses, int(nearest), lo, hi)
    return (left + right) / 2 * ENVELOPE_HOP


def _pause_run(pauses: np.ndarray, i: int, lo: int, hi: int) -> tuple[int, int]:
    """The envelope frames ``[left, right)`` of the pause run holding frame ``i``, within
    ``[lo, hi)``."""
    left = i
    while left > lo and pauses[left - 1]:
        left -= 1
    right = i + 1
    while right < hi and pauses[right]:
        right += 1
    return left, right


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
    audio_snap = min(audio_snap, max_len / 4)  # short pieces: a long move would undo the split
    desc = _audio_descriptor(timeline)
    max_steps = max(2, round(max_len / step))
    split_steps = max(2, min(round(MIN_AUDIO_SPLIT / step), max_steps // 2))
    cuts: list[_Cut] = []
    for a, b in shots:
        if a > 0:
            cuts.append(_Cut(a * step, visual_snap))
        if b - a >= 2 * split_steps:
            # KTS on the sound inside the shot: cuts where the audio changes, and no piece longer
            # than max_len (its penalised cost decides how many changes are real).
            pieces = kts_segments(
                desc[a:b],
                min_len=split_steps,
                max_len=max_steps,
                mean_len=split_steps,
                normalize=False,
            )
            cuts.extend(_Cut((a + start) * step, audio_snap) for start, _ in pieces[1:])
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
    return _move_edges(segments, duration, target, lambda t, _: snap_to_pause(t, pauses, radius))


def trim_dead_air(
    segments: list[Segment],
    timeline: Timeline,
    duration: float,
    target: float,
    lead: float = LEAD_IN,
    tail: float = TAIL_OUT,
) -> list[Segment]:
    """Shorten the pause at each segment's edges to ``lead`` s before its first speech and
    ``tail`` s after its last.

    Shots are cut at the centres of speech pauses, so a selected segment can open and close on
    half a pause of silence. The rules of `snap_edges` hold: a move is only taken while the
    total stays within 5% of ``target`` seconds, and a segment keeps half its length.
    """
    if timeline.envelope is None or not segments:
        return segments
    pauses = pause_mask(timeline.envelope)

    def move(t: float, edge: str) -> float:
        if not in_pause(t, pauses):
            return t
        left, right = _pause_run(pauses, int(round(t / ENVELOPE_HOP)), 0, len(pauses))
        if edge == "start":
            return max(t, right * ENVELOPE_HOP - lead)
        return min(t, left * ENVELOPE_HOP + tail)

    return _move_edges(segments, duration, target, move)


def snap_to_keyframes(
    segments: list[Segment],
    keyframes: Sequence[float],
    timeline: Timeline,
    duration: float,
    target: float,
    radius: float,
    one_shot: Callable[[float, float], bool] | None = None,
) -> list[Segment]:
    """Move each segment's edges onto the nearest keyframe within ``radius`` s.

    Smart rendering copies a segment's whole GOPs and re-encodes the pictures from a cut to the
    next keyframe: an edge on a keyframe needs no re-encoding at all. Shots are found on the
    timeline's steps (``radius`` is one step), so a segment starts up to a step after the picture
    cut it starts at, where encoders put a keyframe. A move that drops pictures is always safe;
    one that adds pictures could add a flash of the neighbouring shot, so a start moves earlier
    only where ``one_shot(keyframe, start)`` says the pictures between show one shot, and an end
    never moves later. An edge in a speech pause is never moved into speech; otherwise the rules
    of `snap_edges` hold.
    """
    if not segments or not len(keyframes):
        return segments
    keys = np.sort(np.asarray(keyframes, float))
    pauses = pause_mask(timeline.envelope) if timeline.envelope is not None else np.zeros(0, bool)

    def move(t: float, edge: str) -> float:
        k = float(keys[np.argmin(np.abs(keys - t))])
        if abs(k - t) > radius or (in_pause(t, pauses) and not in_pause(k, pauses)):
            return t
        if edge == "start" and k < t:
            return k if one_shot is not None and one_shot(k, t) else t
        return k if edge == "start" or k <= t else t

    # a summary asked for in seconds (a 60 s Shorts cut) must not grow past them for a keyframe
    ceiling = max(sum(s.duration for s in segments), target)
    return _move_edges(segments, duration, target, move, ceiling)


def _move_edges(
    segments: list[Segment],
    duration: float,
    target: float,
    move: Callable[[float, str], float],
    ceiling: float = math.inf,
) -> list[Segment]:
    """Each segment with its edges at ``move(time, "start" or "end")`` where the total then stays
    within 5% of ``target`` and under ``ceiling``, the segment keeps half its length and no edge
    crosses a neighbour or the file's ends; other moves are not taken."""
    total = sum(s.duration for s in segments)
    out: list[Segment] = []
    for i, seg in enumerate(segments):
        lo = out[-1].end if out else 0.0
        hi = segments[i + 1].start if i + 1 < len(segments) else duration
        start, end = seg.start, seg.end
        for edge in ("start", "end"):
            moved = move(start if edge == "start" else end, edge)
            new_start, new_end = (
                (min(max(moved, lo), end), end)
                if edge == "start"
                else (start, max(min(moved, hi), start))
            )
            new_total = total - (end - start) + (new_end - new_start)
            if (
                abs(new_total - target) <= 0.05 * target
                and new_total <= ceiling + 1e-9
                and new_end - new_start >= 0.5 * seg.duration
            ):
                start, end, total = new_start, new_end, new_total
        out.append(Segment(start, end, seg.score, list(seg.reasons)))
    return out
