"""EGVS's default speech-emotion model: Whisper-base encoder features + a trained numpy head.

``extractor()`` streams audio blocks into per-step pooled encoder features and a VAD score;
``predict()`` then normalises the features against the whole video's voiced steps (the video plays
the role of the speaker, as each speaker did in training) and applies the head.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

from egvs.features.audio_blocks import AudioBlock
from egvs.features.emotion import EMOTION_CLASSES, VOCALIZATIONS, EmotionTrack
from egvs.ser import backbone
from egvs.ser.features import WINDOW_SECONDS, Featurizer
from egvs.ser.head import LogisticHead, baseline
from egvs.ser.labels import AROUSAL, VALENCE
from egvs.timeline import Timeline, fit_length

HEAD_FILE = "ser_head.npz"
VOICED_LOW, VOICED_HIGH = 0.15, 0.5  # VAD score ramp from "no vote" to a full emotional vote
VOCAL_EMOTION = {"laughing": "happy", "crying": "sad", "screaming": "fearful"}
SOUND_FLOOR_DB = -50.0  # steps quieter than this (dBFS) hold no vocalization; -40 dB and up fully


def shipped_head_path() -> Path:
    return Path(str(resources.files("egvs.ser") / "weights" / HEAD_FILE))


class SerExtractor:
    """The streamed part: per-step ``ser`` features and ``voiced`` score for each audio block."""

    name = "ser"

    def __init__(self, model: WhisperEmotionModel) -> None:
        self._model = model

    def config(self) -> dict:
        """Backbone and window only: a new head reuses the cached features."""
        return {
            "features": "whisper-ser",
            "v": 2,
            "window": self._model.window,
            **backbone.config(),
        }

    def extract(self, block: AudioBlock) -> dict[str, np.ndarray]:
        return self._model.featurizer.block(block, self._model.window)


class WhisperEmotionModel:
    """`SpeechEmotionModel` over Whisper-base encoder features and a `LogisticHead`."""

    name = "whisper-ser"

    def __init__(self, head_path: Path | None = None, window: float = WINDOW_SECONDS) -> None:
        self.head_path = Path(head_path) if head_path else shipped_head_path()
        self.head = LogisticHead.load(self.head_path)
        self.window = window

    @cached_property
    def featurizer(self) -> Featurizer:
        """Loaded on first use: the encoder takes ~2 s to load."""
        return Featurizer()

    def config(self) -> dict:
        digest = hashlib.sha256(self.head_path.read_bytes()).hexdigest()[:16]
        return {"model": self.name, "head": digest, "window": self.window, **backbone.config()}

    def extractor(self) -> SerExtractor:
        return SerExtractor(self)

    def class_probs(self, feats: np.ndarray, voiced: np.ndarray) -> np.ndarray:
        """Head probabilities (n, n_classes) for one video's per-step features, normalised per video."""
        x = feats.astype(np.float32)
        base = voiced >= VOICED_HIGH
        gm, gs = baseline(x[base] if base.sum() >= 2 else x, self.head.mean, self.head.std)
        return self.head.proba((x - gm) / gs)

    def predict(self, features: dict[str, np.ndarray], timeline: Timeline) -> EmotionTrack:
        n = timeline.grid.n_steps
        feats = fit_length(features["ser.features"], n)
        voiced = np.clip(fit_length(features["ser.voiced"], n).astype(np.float32), 0, 1)
        level = fit_length(features.get("ser.level", np.zeros(n)), n)
        return to_track(self.class_probs(feats, voiced), self.head.classes, voiced, level)


def to_track(
    p: np.ndarray, classes: tuple[str, ...], voiced: np.ndarray, level: np.ndarray | None = None
) -> EmotionTrack:
    """Map class probabilities onto the canonical track; steps without voice fade to a neutral no-vote.

    The VAD rejects nonverbal vocalizations, so a step also counts as voiced when it is audible
    (``level`` in dBFS above `SOUND_FLOOR_DB`) and the head calls it a laugh, cry or scream.
    """
    col = {c: i for i, c in enumerate(classes)}
    probs = np.stack([p[:, col[c]] if c in col else np.zeros(len(p)) for c in EMOTION_CLASSES], 1)
    if "boredom" in col:  # boredom is a low-arousal, neutral-like state
        probs[:, EMOTION_CLASSES.index("neutral")] += p[:, col["boredom"]]
    for vocal_class, emotion in VOCAL_EMOTION.items():  # a laugh is also a happy moment, etc.
        if vocal_class in col:
            probs[:, EMOTION_CLASSES.index(emotion)] += p[:, col[vocal_class]]
    vocal = np.stack([p[:, col[c]] if c in col else np.zeros(len(p)) for c in VOCALIZATIONS], 1)
    arousal = p @ np.array([AROUSAL[c] for c in classes])
    valence = p @ np.array([VALENCE[c] for c in classes])
    probs /= np.maximum(probs.sum(1, keepdims=True), 1e-9)
    if level is not None:
        audible = np.clip((level - SOUND_FLOOR_DB) / 10.0, 0, 1)
        voiced = np.maximum(voiced, audible * vocal.sum(1))
    gate = np.clip((voiced - VOICED_LOW) / (VOICED_HIGH - VOICED_LOW), 0, 1)[:, None]
    neutral = np.eye(len(EMOTION_CLASSES))[EMOTION_CLASSES.index("neutral")]
    return EmotionTrack(
        probs=(gate * probs + (1 - gate) * neutral).astype(np.float32),
        arousal=(gate[:, 0] * arousal).astype(np.float32),
        valence=(gate[:, 0] * valence).astype(np.float32),
        vocalizations=(gate * vocal).astype(np.float32),
        voiced=voiced.astype(np.float32),
    )
