"""Reasons in words for a chosen segment: which signals made it stand out."""

from __future__ import annotations

import numpy as np

from egvs.features.audio_events import MOMENT_EVENTS
from egvs.features.emotion import EMOTION_CLASSES, VOCALIZATIONS
from egvs.scoring.fusion import VISUAL_MIN_RANGE
from egvs.segments import Segment
from egvs.timeline import Timeline

EVENT_THRESHOLD = 0.3
EMOTION_THRESHOLD = 0.35
FACE_THRESHOLD = 0.5  # a face's expression probability (smoothed) named as a reason
FACE_PRESENT = 0.5  # ... on steps where a face was seen in at least half the window
FACE_REASONS = {"face_happy": "smiling face", "face_surprise": "surprised face"}
MAX_REASONS = 3


def _steps(segment: Segment, timeline: Timeline) -> slice:
    a = timeline.grid.index(segment.start)
    b = max(a + 1, int(np.ceil(segment.end / timeline.grid.step - 1e-9)))
    return slice(a, min(b, timeline.n_steps))


def _voice_reason(sl: slice, timeline: Timeline) -> list[tuple[float, str]]:
    """One reason for the voice: the segment's strongest vocalization, else its dominant emotion.

    The dominant emotion is the class with the highest mean probability over the segment's
    voiced steps (weighted by how sure each step holds a voice), so a segment is called "angry"
    when it mostly sounds angry, not because one step peaked there among contradictory others.
    """
    peaks = {v: float(timeline.signal(f"vocal.{v}")[sl].max()) for v in VOCALIZATIONS}
    vocal = max(peaks, key=peaks.__getitem__)
    if peaks[vocal] >= EVENT_THRESHOLD:
        return [(1.0 + peaks[vocal], f"{vocal} voice {peaks[vocal]:.2f}")]
    voiced = timeline.signal("voiced")[sl]
    if voiced.mean() <= 0.3:
        return []
    w = voiced / voiced.sum()
    means = {e: float((timeline.signal(f"emotion.{e}")[sl] * w).sum()) for e in EMOTION_CLASSES}
    dominant = max(means, key=means.__getitem__)
    if dominant in ("neutral", "calm") or means[dominant] < EMOTION_THRESHOLD:
        return []
    return [(0.8 + means[dominant], f"{dominant} voice {means[dominant]:.2f}")]


def _face_reasons(sl: slice, timeline: Timeline) -> list[tuple[float, str]]:
    """A smile or surprise on the face in the picture, by its peak where a face is seen.

    Only the two expressions the model reads reliably (FER-2013 recall 85% and 82%) are named;
    its negative classes confuse one another and talking faces.
    """
    seen = timeline.signal("face_present", 0.0)[sl] >= FACE_PRESENT
    if not seen.any():
        return []
    found = []
    for signal, label in FACE_REASONS.items():
        peak = float(timeline.signal(signal)[sl][seen].max())
        if peak >= FACE_THRESHOLD:
            found.append((0.9 + peak, f"{label} {peak:.2f}"))
    return found


def reasons_for(segment: Segment, timeline: Timeline) -> list[str]:
    """Up to three reasons, strongest first (e.g. "laughter 0.82", "high arousal")."""
    sl = _steps(segment, timeline)
    found: list[tuple[float, str]] = []
    for event in MOMENT_EVENTS:
        peak = float(timeline.signal(f"event.{event}")[sl].max())
        if peak >= EVENT_THRESHOLD:
            found.append((1.0 + peak, f"{event} {peak:.2f}"))
    found += _voice_reason(sl, timeline)
    found += _face_reasons(sl, timeline)
    for signal, label in (
        ("arousal", "high arousal"),
        ("motion", "fast motion"),
        ("novelty", "new scene"),
        ("loudness", "loud"),
    ):
        values = timeline.signal(signal)
        if values.std() < 1e-6:
            continue
        level = values[sl].mean()
        if level < VISUAL_MIN_RANGE.get(signal, -np.inf):
            continue  # the top of a still video's picture noise is no "fast motion"
        # The segment's percentile in the video, ties counted half: a signal that is 0 almost
        # everywhere (arousal where hardly anyone speaks) must not call a 0 segment "high".
        q = float(np.mean(values < level) + 0.5 * np.mean(values == level))
        if q >= 0.8:
            found.append((q, label))
    if not found:
        found.append((0.0, "above-average importance"))
    found.sort(key=lambda r: -r[0])
    return [text for _, text in found[:MAX_REASONS]]
