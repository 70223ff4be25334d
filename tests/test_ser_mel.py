"""The numpy log-mel must match Whisper's reference (torch STFT) closely enough for the encoder."""

from __future__ import annotations

import numpy as np
import pytest

from egvs.ser.backbone import log_mel


def test_log_mel_matches_torch_reference() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 2) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.normal(size=t.size)).astype(np.float32)
    ours = log_mel(audio)
    # Whisper's own recipe (openai/whisper audio.py), with our mel filterbank.
    from egvs.ser.backbone import _mel_filters

    stft = torch.stft(
        torch.from_numpy(audio), 400, 160, window=torch.hann_window(400), return_complex=True
    )
    mag = stft[..., :-1].abs() ** 2
    mel = torch.from_numpy(_mel_filters()) @ mag
    ref = torch.clamp(mel, min=1e-10).log10()
    ref = torch.maximum(ref, ref.max() - 8.0)
    ref = ((ref + 4.0) / 4.0).numpy()
    n = min(ours.shape[1], ref.shape[1])
    assert ours.shape[0] == 80 and abs(ours.shape[1] - ref.shape[1]) <= 1
    np.testing.assert_allclose(ours[:, :n], ref[:, :n], atol=2e-3)


def test_mel_filters_are_slaney() -> None:
    from egvs.ser.backbone import _mel_filters

    f = _mel_filters()
    assert f.shape == (80, 201)
    assert (f >= 0).all() and (f.sum(1) > 0).all()
