"""Pooled Whisper-encoder features: per clip for training, per timeline step for analysis.

The same pooling is used for both, so the head sees the same kind of vector at training and at
analysis time: the VAD-weighted mean and standard deviation of the encoder frames (20 ms each) in
a window. At analysis the encoder runs once per audio block and each step pools a window centred on
it; encoding each window separately would cost ~6x more.
"""

from __future__ import annotations

import numpy as np

from egvs.features.audio_blocks import AudioBlock
from egvs.ser.backbone import FRAME_SECONDS, WhisperEncoder
from egvs.ser.head import FRAME_DIM
from egvs.ser.vad import SileroVad

WINDOW_SECONDS = (
    3.0  # analysis window centred on each 0.5 s step (inside the blocks' 1.5 s context)
)
MIN_WEIGHT = 0.05  # floor on VAD weights so unvoiced frames still count a little (laughs score low)
DIM = 2 * FRAME_DIM  # the frames' mean, then their std (a head may read the mean alone)


def _weights(vad: np.ndarray) -> np.ndarray:
    return np.maximum(vad, MIN_WEIGHT).astype(np.float64)


def pool(frames: np.ndarray, vad: np.ndarray) -> np.ndarray:
    """(1024,) VAD-weighted mean and std of ``frames`` (n, 512); zeros for an empty clip."""
    if len(frames) == 0:
        return np.zeros(DIM, dtype=np.float32)
    w = _weights(vad)[:, None]
    x = frames.astype(np.float64)
    mean = (w * x).sum(0) / w.sum()
    var = (w * (x - mean) ** 2).sum(0) / w.sum()
    return np.concatenate([mean, np.sqrt(var)]).astype(np.float32)


def pool_windows(frames: np.ndarray, vad: np.ndarray, centres: np.ndarray, half: int) -> np.ndarray:
    """`pool` over windows ``[c - half, c + half)`` of frame indices, for every centre, via cumsums."""
    w = _weights(vad)
    x = frames.astype(np.float64)
    zero = np.zeros((1, x.shape[1]))
    s0 = np.concatenate([[0.0], np.cumsum(w)])
    s1 = np.concatenate([zero, np.cumsum(w[:, None] * x, axis=0)])
    s2 = np.concatenate([zero, np.cumsum(w[:, None] * x * x, axis=0)])
    a = np.clip(centres - half, 0, len(x))
    b = np.clip(centres + half, 0, len(x))
    n = np.maximum(s0[b] - s0[a], 1e-9)[:, None]
    mean = (s1[b] - s1[a]) / n
    var = np.maximum((s2[b] - s2[a]) / n - mean**2, 0.0)
    return np.concatenate([mean, np.sqrt(var)], axis=1).astype(np.float32)


class Featurizer:
    """Encoder + VAD: pooled features for a clip, or per-step features for an audio block."""

    def __init__(self, encoder: WhisperEncoder | None = None, vad: SileroVad | None = None) -> None:
        self.encoder = encoder or WhisperEncoder()
        self.vad = vad or SileroVad()

    def frames(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Encoder frames (n, 512) and the VAD probability of each frame (n,)."""
        enc = self.encoder.encode(audio)
        return enc, SileroVad.resample(self.vad(audio), len(enc), FRAME_SECONDS)

    def clip(self, audio: np.ndarray) -> tuple[np.ndarray, float]:
        """Pooled features of a whole clip and its voiced share (mean VAD probability)."""
        enc, vad = self.frames(audio)
        return pool(enc, vad), float(vad.mean()) if len(vad) else 0.0

    def block(self, block: AudioBlock, window: float = WINDOW_SECONDS) -> dict[str, np.ndarray]:
        """Per-step ``ser.features`` (n_steps, 1024), ``ser.voiced`` and ``ser.level`` (dB) for a block.

        Only the audio the step windows reach is encoded (the block's core plus half a window each side).
        """
        sr = block.sample_rate
        lead = max(block.context - window / 2, 0.0)
        a = round(lead * sr)
        b = len(block.samples) - a
        enc, vad = self.frames(block.samples[a:b])
        centres_s = block.context - lead + (np.arange(block.n_steps) + 0.5) * block.step
        centres = np.round(centres_s / FRAME_SECONDS).astype(int)
        half = round(window / 2 / FRAME_SECONDS)
        feats = pool_windows(enc, vad, centres, half)
        # Voiced: the VAD probability averaged over the step's central second.
        core = round(0.5 / FRAME_SECONDS)
        c0 = np.concatenate([[0.0], np.cumsum(vad)])
        lo, hi = np.clip(centres - core, 0, len(vad)), np.clip(centres + core, 0, len(vad))
        voiced = (c0[hi] - c0[lo]) / np.maximum(hi - lo, 1)
        # Level: RMS (dBFS) of the step's central second; silero rejects laughs, cries and screams,
        # so the model needs to know where there is sound at all to let those through.
        level = np.array([block.window(i, 1.0) for i in range(block.n_steps)], dtype=np.float64)
        level = 10 * np.log10(np.mean(level**2, axis=1) + 1e-10)
        return {
            "ser.features": feats,
            "ser.voiced": voiced.astype(np.float32),
            "ser.level": level.astype(np.float32),
        }
