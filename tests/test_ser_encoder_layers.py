"""The torch rebuild of Whisper-base's encoder (training-side experiments) matches the shipped one."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ctranslate2")


def test_torch_layer_3_matches_the_shipped_int8_encoder() -> None:
    from egvs.ser.backbone import WhisperEncoder
    from egvs.ser_training.encoder_layers import TorchEncoder

    t = np.arange(16000 * 2) / 16000
    rng = np.random.default_rng(0)
    # A voiced-like signal: a 150 Hz tone with harmonics, amplitude-modulated, plus a little noise.
    audio = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 8)) * (
        0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    )
    audio = (0.1 * audio + 0.003 * rng.standard_normal(len(t))).astype(np.float32)
    layers = TorchEncoder(n_layers=4).layers(audio)
    shipped = WhisperEncoder().encode(audio)
    assert layers.shape == (4, *shipped.shape)
    corr = [np.corrcoef(layer.ravel(), shipped.ravel())[0, 1] for layer in layers]
    assert corr[2] > 0.98  # int8 quantisation noise only
    assert max(corr[0], corr[1], corr[3]) < corr[2] - 0.05  # and the other layers differ


def test_audio_past_30_seconds_is_encoded_in_pieces() -> None:
    from egvs.ser_training.encoder_layers import TorchEncoder

    audio = (0.01 * np.random.default_rng(1).standard_normal(16000 * 31)).astype(np.float32)
    layers = TorchEncoder(n_layers=1).layers(audio)
    assert layers.shape[0] == 1 and layers.shape[2] == 512
    assert abs(layers.shape[1] - 31 * 50) <= 2  # one frame per 20 ms, across the piece boundary
