"""The optional Hugging Face backend, with a tiny randomly initialised wav2vec2 built here (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
pytest.importorskip("torch")

from egvs.features.emotion import EMOTION_CLASSES  # noqa: E402
from egvs.ser import analyze_audio  # noqa: E402
from egvs.ser.hf import HuggingFaceEmotionModel, canonical  # noqa: E402


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.manual_seed(0)
    labels = ["ang", "hap", "neu", "sad", "xyz"]
    config = transformers.Wav2Vec2Config(
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8),
        conv_stride=(5, 4),
        conv_kernel=(10, 4),
        num_conv_pos_embeddings=4,
        num_conv_pos_embedding_groups=2,
        classifier_proj_size=8,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={n: i for i, n in enumerate(labels)},
    )
    path = tmp_path_factory.mktemp("tiny-ser")
    transformers.Wav2Vec2ForSequenceClassification(config).save_pretrained(path)
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000).save_pretrained(path)
    return path


def test_label_mapping() -> None:
    assert canonical("ANG") == "angry" and canonical("exc") == "happy" and canonical("xyz") is None


def test_hf_backend_runs_on_generated_audio(tiny_checkpoint: Path) -> None:
    model = HuggingFaceEmotionModel(tiny_checkpoint)
    assert model.mapping[4] is None
    t = np.arange(16000 * 5) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 200 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    step, track = analyze_audio(audio, model)
    assert len(track.voiced) == 10
    np.testing.assert_allclose(track.probs.sum(1), 1, atol=1e-4)
    # only the mapped classes can carry probability
    unmapped = [EMOTION_CLASSES.index(c) for c in ("calm", "fearful", "disgust", "surprised")]
    assert np.allclose(track.probs[:, unmapped], 0)
