"""The first, training-free speech-emotion model: prosody plus YAMNet's vocal classes.

It needs no streamed features of its own: it reads loudness and pitch (prosody) and the AudioSet
event probabilities already on the timeline. Arousal rises with loudness, pitch and pitch movement
relative to the video's own voiced baseline, and with shouting, screaming and laughter; valence
follows laughter and happy music up, crying, screaming and dark music down. Class probabilities
come from each class's place on the arousal/valence circumplex. The trained model in `egvs.ser`
replaces it through the same `SpeechEmotionModel` interface.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from egvs.features.emotion import EMOTION_CLASSES, EmotionTrack
from egvs.timeline import Timeline

# (arousal in [0, 1], valence in [-1, 1]) of each class (Russell's circumplex, roughly).
CIRCUMPLEX = {
    "neutral": (0.35, 0.0),
    "calm": (0.2, 0.35),
    "happy": (0.7, 0.7),
    "sad": (0.25, -0.6),
    "angry": (0.85, -0.65),
    "fearful": (0.75, -0.45),
    "disgust": (0.55, -0.7),
    "surprised": (0.85, 0.25),
}


def robust_z(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Standardise ``x`` against the median and spread of its masked (voiced) values."""
    ref = x[mask] if mask.any() else x
    centre = np.median(ref)
    spread = np.subtract(*np.percentile(ref, [75, 25])) / 1.35
    return (x - centre) / max(spread, 1e-3)


class ProsodyEmotionModel:
    name = "prosody+yamnet"

    def config(self) -> dict:
        return {"name": self.name, "v": 1}

    def extractor(self) -> None:
        return None

    def predict(self, features: dict[str, np.ndarray], timeline: Timeline) -> EmotionTrack:
        ev = timeline.signal
        laughter, crying, screaming = (
            ev("event.laughter"),
            ev("event.crying"),
            ev("event.screaming"),
        )
        shouting = ev("event.shouting")
        vocal = np.maximum.reduce([laughter, crying, screaming, shouting])
        voiced = np.clip(np.maximum(ev("event.speech"), vocal) * 1.5, 0, 1)
        mask = voiced > 0.5
        loud = robust_z(ev("loudness", -90.0), mask)
        pitch = ev("pitch")
        pitch_z = robust_z(
            np.where(pitch > 0, np.log2(np.maximum(pitch, 1.0)), 0.0), mask & (pitch > 0)
        )
        movement = robust_z(ev("pitch_std"), mask)
        raw = (
            0.45 * loud
            + 0.25 * pitch_z * (pitch > 0)
            + 0.2 * movement
            + 3.0 * (shouting + screaming + laughter)
        )
        arousal = expit(raw - 0.5) * voiced
        valence = (
            np.tanh(
                2.0
                * (
                    laughter
                    + ev("event.music_happy")
                    - crying
                    - screaming
                    - 0.5 * shouting
                    - ev("event.music_sad")
                    - ev("event.music_scary")
                    - ev("event.music_angry")
                )
            )
            * voiced
        )
        coords = np.array([CIRCUMPLEX[c] for c in EMOTION_CLASSES])
        dist = (arousal[:, None] - coords[:, 0]) ** 2 / 0.04 + (
            valence[:, None] - coords[:, 1]
        ) ** 2 / 0.25
        logits = -dist
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        neutral = np.eye(len(EMOTION_CLASSES))[EMOTION_CLASSES.index("neutral")]
        probs = voiced[:, None] * probs + (1 - voiced[:, None]) * neutral
        return EmotionTrack(
            probs=probs.astype(np.float32),
            arousal=arousal.astype(np.float32),
            valence=valence.astype(np.float32),
            vocalizations=np.column_stack([laughter, crying, screaming]).astype(np.float32),
            voiced=voiced.astype(np.float32),
        )
