"""Optional backend: any Hugging Face audio-classification checkpoint as EGVS's speech-emotion model.

For users who have weights (e.g. a wav2vec2 SER model): ``HuggingFaceEmotionModel("path/or/hub-name")``
runs it with ``transformers`` (the ``hf`` extra, torch on the CPU) on the same 3 s windows per step
as the default model, and maps its labels onto EGVS's classes by name (``ang`` -> angry, ``hap``/
``exc`` -> happy, ...). Labels with no match are dropped; the rest are renormalised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from egvs.errors import SetupError
from egvs.features.audio_blocks import AudioBlock
from egvs.features.emotion import EmotionTrack
from egvs.ser.classes import CLASSES
from egvs.ser.features import WINDOW_SECONDS
from egvs.ser.vad import SileroVad
from egvs.timeline import Timeline, fit_length

SYNONYMS = {
    "neutral": ("neu", "neutral"),
    "calm": ("calm",),
    "happy": ("hap", "happy", "happiness", "joy", "exc", "excited", "pleasant_surprise", "ps"),
    "sad": ("sad", "sadness"),
    "angry": ("ang", "angry", "anger"),
    "fearful": ("fea", "fear", "fearful"),
    "disgust": ("dis", "disgust", "disgusted"),
    "surprised": ("sur", "surprise", "surprised"),
    "boredom": ("bor", "boredom", "bored"),
    "laughing": ("laugh", "laughing", "laughter"),
    "crying": ("cry", "crying"),
    "screaming": ("scream", "screaming"),
}


def canonical(label: str) -> str | None:
    """The EGVS class a checkpoint label names, or None."""
    key = label.strip().lower()
    for cls, names in SYNONYMS.items():
        if key in names:
            return cls
    return None


class _HfExtractor:
    name = "ser-hf"

    def __init__(self, model: HuggingFaceEmotionModel) -> None:
        self._model = model

    def config(self) -> dict:
        return self._model.config()

    def extract(self, block: AudioBlock) -> dict[str, np.ndarray]:
        m = self._model
        windows = np.stack([block.window(i, m.window) for i in range(block.n_steps)])
        probs = m.classify(windows)
        vad = m.vad(block.core())
        per_step = round(block.step / (512 / 16000))
        voiced = np.array(
            [
                vad[i * per_step : (i + 1) * per_step].mean() if len(vad) else 0.0
                for i in range(block.n_steps)
            ]
        )
        return {"ser.probs": probs, "ser.voiced": np.nan_to_num(voiced).astype(np.float32)}


class HuggingFaceEmotionModel:
    """`SpeechEmotionModel` over a local folder or hub name of an audio-classification checkpoint."""

    name = "hf-ser"

    def __init__(
        self, name_or_path: str | Path, window: float = WINDOW_SECONDS, batch: int = 16
    ) -> None:
        try:
            import torch
            from transformers import AutoFeatureExtractor, AutoModelForAudioClassification
        except ImportError as exc:
            raise SetupError(
                "the Hugging Face backend needs transformers: pip install 'egvs[hf]'"
            ) from exc
        self._torch = torch
        self.source = str(name_or_path)
        local = Path(name_or_path).exists()
        self.processor = AutoFeatureExtractor.from_pretrained(self.source, local_files_only=local)
        self.model = AutoModelForAudioClassification.from_pretrained(
            self.source, local_files_only=local
        ).eval()
        labels = self.model.config.id2label
        self.mapping = {int(i): canonical(str(lab)) for i, lab in labels.items()}
        if not any(self.mapping.values()):
            raise SetupError(
                f"{self.source}: none of its labels ({', '.join(map(str, labels.values()))}) maps onto EGVS's emotion classes"
            )
        self.window = window
        self.batch = batch
        self.vad = SileroVad()

    def config(self) -> dict:
        return {
            "model": self.name,
            "source": self.source,
            "window": self.window,
            "labels": self.mapping,
        }

    def extractor(self) -> _HfExtractor:
        return _HfExtractor(self)

    def classify(self, windows: np.ndarray) -> np.ndarray:
        """Probabilities over `CLASSES` (n, 12) for 16 kHz windows (n, samples)."""
        out = np.zeros((len(windows), len(CLASSES)), dtype=np.float32)
        for a in range(0, len(windows), self.batch):
            inputs = self.processor(
                list(windows[a : a + self.batch]), sampling_rate=16000, return_tensors="pt"
            )
            with self._torch.no_grad():
                p = self._torch.softmax(self.model(**inputs).logits, dim=-1).numpy()
            for i, cls in self.mapping.items():
                if cls is not None:
                    out[a : a + len(p), CLASSES.index(cls)] += p[:, i]
        return out / np.maximum(out.sum(1, keepdims=True), 1e-9)

    def predict(self, features: dict[str, np.ndarray], timeline: Timeline) -> EmotionTrack:
        from egvs.ser.model import to_track

        n = timeline.grid.n_steps
        probs = fit_length(features["ser.probs"], n)
        voiced = np.clip(fit_length(features["ser.voiced"], n), 0, 1)
        return to_track(probs, CLASSES, voiced)
