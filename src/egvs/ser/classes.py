"""The label space of the speech-emotion head, shared by the model and its training.

The head predicts the 8 canonical emotions, ``boredom`` (EmoDB's low-arousal class, folded into
neutral in the analysis track), the 3 nonverbal vocalizations and ``other``: a sound that is no
emotional voice (a cough, a dog, an engine, music), so the model learns what not to score.
Arousal (low/high) and valence (negative/neutral/positive) have their own small tasks.
"""

from __future__ import annotations

from egvs.features.emotion import EMOTION_CLASSES, VOCALIZATIONS

__all__ = [
    "AROUSAL",
    "AROUSAL_LABELS",
    "CLASSES",
    "EMOTION_CLASSES",
    "HIGH_AROUSAL",
    "LOW_AROUSAL",
    "OTHER",
    "VALENCE",
    "VALENCE_CLASSES",
    "VOCALIZATIONS",
]

OTHER = "other"
CLASSES: tuple[str, ...] = (*EMOTION_CLASSES, "boredom", *VOCALIZATIONS, OTHER)
HIGH_AROUSAL = ("angry", "happy", "fearful", "surprised", "laughing", "screaming")
LOW_AROUSAL = ("neutral", "calm", "sad", "boredom")
AROUSAL = {
    c: 1.0 if c in HIGH_AROUSAL else 0.0 if c in LOW_AROUSAL + (OTHER,) else 0.6 for c in CLASSES
}
# Fixed per-class valence in [-1, 1], for models without a valence head (the HF backend).
VALENCE = {
    "neutral": 0.0, "calm": 0.2, "happy": 0.8, "sad": -0.6, "angry": -0.7, "fearful": -0.6,
    "disgust": -0.6, "surprised": 0.3, "boredom": -0.2, "laughing": 0.8, "crying": -0.7,
    "screaming": -0.5, OTHER: 0.0,
}  # fmt: skip
AROUSAL_LABELS = ("low", "high")
VALENCE_CLASSES = ("negative", "neutral", "positive")
