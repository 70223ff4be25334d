"""The training-free importance score: emotion, affective events, visual interest and faces, fused.

    base = (w_e * E + w_a * A + w_v * V) / (w_e + w_a + w_v)
    importance = base + (1 - base) * w_f / (w_e + w_a + w_v + w_f) * F, smoothed over ~1.5 s

- E, emotion: speech arousal where there is a voice (``arousal``; no voice, no vote), plus how far
  the voice is from neutral (1 - P(neutral) - P(calm)), each scaled within the video.
- A, events: the strongest affective sound event (laughter, applause, cheering, screaming, crying,
  shouting from the audio tagger; laughing, crying, screaming from the voice model), as an
  absolute probability (a video with no laughter is not made to have some), with
  exciting/angry/scary music, explosions/gunfire and loud passages (up to 15 dB above the video's
  median loudness) counting half.
- V, visual: motion (optical flow, scaled within the video) and novelty (how new the picture is
  against the last 10 s).
- F, faces: a clear smile or surprise on the most prominent face (`face_reaction`) above
  `FACE_FLOOR`, times the share of steps with a face. Only these two expressions vote: the model
  reads them reliably (FER-2013 recall 85% and 82%), while its negative classes (recall 40-59%)
  also catch faces viewers see as neutral (CREMA-D's sad clip, seen as neutral, reads 0.86
  negative). F can only add: no face, or a face without a clear smile or surprise, leaves the
  score exactly as the other three make it ("no face, no vote"; a neutral face is no vote
  against). The default ``faces`` weight was chosen by measurement (docs/faces.md).

Scaling within the video maps the 5th..95th percentile to 0..1 (with a minimum range per signal,
so a flat signal stays flat), so a quiet video still has highlights; absolute event probabilities
keep real laughter above everything else.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from egvs.features.audio_events import MOMENT_EVENTS
from egvs.features.emotion import VOCALIZATIONS
from egvs.timeline import Timeline

SMOOTH_SECONDS = 1.5
LOUDNESS_RANGE_DB = 15.0
# The smallest within-video range of each visual signal that is stretched to full scale: about
# what a real change looks like. Optical flow of a moving shot reaches 0.05-2 (a still talking
# head stays under 0.01); a cut to another scene moves the picture embedding by a cosine distance
# of 0.3-0.6 against the last 10 s, while a still or slowly drifting shot stays under 0.1. So a
# static video's visual noise stays low instead of reading as motion or new scenes.
VISUAL_MIN_RANGE = {"motion": 0.05, "novelty": 0.25}
# A smile or surprise counts from FACE_FLOOR (above what neutral and talking faces reach in the
# FER-2013 model's happy/surprise output: CREMA-D's neutral clip 0.06) to full scale at
# FACE_FLOOR + FACE_RANGE.
FACE_FLOOR = 0.3
FACE_RANGE = 0.5


@dataclass(frozen=True)
class FusionWeights:
    emotion: float = 0.4
    events: float = 0.35
    visual: float = 0.25
    faces: float = 0.5

    def __post_init__(self) -> None:
        values = asdict(self).values()
        if not all(math.isfinite(w) for w in values):
            raise ValueError("fusion weights must be finite numbers")
        if any(w < 0 for w in values) or self.emotion + self.events + self.visual <= 0:
            raise ValueError(
                "fusion weights must be >= 0 and emotion, events, visual not all zero "
                "(faces only adds to them)"
            )

    @classmethod
    def parse(cls, text: str) -> FusionWeights:
        """From ``"emotion=0.5,events=0.3,visual=0.2,faces=0.2"`` (missing names keep their
        default)."""
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            if not sep or name.strip() not in cls.__dataclass_fields__:
                raise ValueError(
                    f"bad weight {part!r}: use emotion=..,events=..,visual=..,faces=.."
                )
            try:
                values[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"bad weight value in {part!r}") from None
        return cls(**values)


def scale_within(x: np.ndarray, min_range: float) -> np.ndarray:
    """Map the 5th..95th percentile of ``x`` to 0..1 (clipped).

    The range is at least ``min_range`` (in the signal's units), so a signal that barely moves (no
    voice, a static shot) stays near 0 instead of having its noise stretched to full scale.
    """
    if not len(x):
        return np.zeros(0, np.float32)
    lo, hi = np.percentile(x, [5, 95])
    return np.clip((x - lo) / max(hi - lo, min_range), 0, 1).astype(np.float32)


def face_reaction(timeline: Timeline) -> np.ndarray:
    """Per step, how clear a smile or surprise the face in the picture shows (0 without a face,
    and where the face stage did not run: no picture, or its optional packages missing)."""
    sig = timeline.signal
    clearest = np.maximum(sig("face_happy", 0.0), sig("face_surprise", 0.0))
    return np.clip((clearest - FACE_FLOOR) / FACE_RANGE, 0, 1) * sig("face_present", 0.0)


def components(timeline: Timeline) -> dict[str, np.ndarray]:
    """The fusion components E (emotion), A (events), V (visual), F (faces), each in [0, 1] per
    step."""
    sig = timeline.signal
    voiced = sig("voiced")
    intensity = np.clip(1.0 - sig("emotion.neutral") - sig("emotion.calm"), 0, 1) * voiced
    emotion = 0.6 * scale_within(sig("arousal") * voiced, 0.3) + 0.4 * scale_within(intensity, 0.3)
    moment = np.max(
        [sig(f"event.{e}") for e in MOMENT_EVENTS] + [sig(f"vocal.{v}") for v in VOCALIZATIONS],
        axis=0,
    )
    mood = np.max(
        [sig(f"event.music_{m}") for m in ("exciting", "angry", "scary")]
        + [sig("event.explosion")],
        axis=0,
    )
    # Loud passages count as half an event: crowd noise, bangs and bursts YAMNet may not name.
    loudness = sig("loudness", -90.0)
    loud = np.clip((loudness - np.median(loudness)) / LOUDNESS_RANGE_DB, 0, 1)
    events = np.clip(np.maximum.reduce([moment / 0.6, 0.5 * mood / 0.6, 0.5 * loud]), 0, 1)
    visual = 0.6 * scale_within(sig("motion"), VISUAL_MIN_RANGE["motion"]) + 0.4 * scale_within(
        sig("novelty"), VISUAL_MIN_RANGE["novelty"]
    )
    return {
        "emotion": emotion,
        "events": events,
        "visual": visual,
        "faces": face_reaction(timeline),
    }


class FusionScorer:
    """Weighted fusion of `components`; see the module docstring for the formula."""

    name = "fusion"

    def __init__(self, weights: FusionWeights | None = None) -> None:
        self.weights = weights or FusionWeights()

    def config(self) -> dict:
        return {"name": self.name, "weights": asdict(self.weights), "smooth": SMOOTH_SECONDS}

    def score(self, timeline: Timeline) -> np.ndarray:
        parts = components(timeline)
        w = asdict(self.weights)
        base_total = w["emotion"] + w["events"] + w["visual"]
        base = sum(w[k] * parts[k] for k in ("emotion", "events", "visual")) / base_total
        face_share = w["faces"] / (base_total + w["faces"])
        fused = base + (1.0 - base) * face_share * parts["faces"]
        size = max(1, round(SMOOTH_SECONDS / timeline.grid.step))
        return np.clip(
            uniform_filter1d(fused.astype(np.float64), size, mode="nearest"), 0, 1
        ).astype(np.float32)
