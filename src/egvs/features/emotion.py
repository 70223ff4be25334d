"""Speech emotion: the interface every speech-emotion model implements, and its output track.

A model has two parts so that memory stays flat and normalisation can be per video:
``extractor()`` is streamed over audio blocks (per-step raw features), then ``predict()`` sees the
whole video's features at once (the video plays the role of the speaker, so features are normalised
against the video's own baseline) together with the timeline (prosody, audio events).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from egvs.features.audio_blocks import BlockExtractor
from egvs.timeline import Timeline

EMOTION_CLASSES = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
VOCALIZATIONS = ("laughing", "crying", "screaming")


@dataclass
class EmotionTrack:
    """Per-step speech emotion.

    probs: (n, 8) over `EMOTION_CLASSES`; arousal: (n,) in [0, 1]; valence: (n,) in [-1, 1];
    vocalizations: (n, 3) over `VOCALIZATIONS`; voiced: (n,) in [0, 1], how sure the step holds a
    voice (steps without voice carry neutral probabilities and no emotional vote); speakers: (n,)
    speaker id per step (0, 1, ... in order of first appearance; -1 = no voice), or None for a
    model that does not tell speakers apart.
    """

    probs: np.ndarray
    arousal: np.ndarray
    valence: np.ndarray
    vocalizations: np.ndarray
    voiced: np.ndarray
    speakers: np.ndarray | None = None

    def add_to(self, timeline: Timeline) -> None:
        """Write the track into the timeline: signals for people, one source matrix for models."""
        timeline.add_signal("arousal", self.arousal)
        timeline.add_signal("valence", self.valence)
        timeline.add_signal("voiced", self.voiced)
        speakers = self.speakers if self.speakers is not None else np.full(len(self.voiced), -1)
        timeline.add_signal("speaker", speakers.astype(np.float32))
        for i, name in enumerate(EMOTION_CLASSES):
            timeline.add_signal(f"emotion.{name}", self.probs[:, i])
        for i, name in enumerate(VOCALIZATIONS):
            timeline.add_signal(f"vocal.{name}", self.vocalizations[:, i])
        timeline.add_source(
            "emotion",
            np.column_stack(
                [self.probs, self.arousal, self.valence, self.vocalizations, self.voiced]
            ),
        )


class SpeechEmotionModel(Protocol):
    name: str

    def config(self) -> dict:
        """Everything that changes the output; part of the cache key."""
        ...

    def extractor(self) -> BlockExtractor | None:
        """The streamed part (e.g. a speech encoder's pooled embeddings per step), if any."""
        ...

    def predict(self, features: dict[str, np.ndarray], timeline: Timeline) -> EmotionTrack:
        """Per-step emotion from the whole video's features (``n_steps`` rows each)."""
        ...
