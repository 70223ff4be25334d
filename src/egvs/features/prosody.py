"""Prosody: loudness and pitch per step, and a fine loudness envelope for finding speech pauses.

Pitch is a normalised-autocorrelation estimate (60-500 Hz, voiced when the peak is clear), batched
with FFTs over 40 ms frames at a 20 ms hop: cheap enough to run on hours of audio.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from egvs.features.audio_blocks import AudioBlock
from egvs.features.extractor import Source
from egvs.timeline import ENVELOPE_HOP, Timeline, fit_length

PROSODY_FEATURES = (
    "loudness_db",
    "loudness_max_db",
    "pitch_hz",
    "pitch_std",
    "voiced_fraction",
    "spectral_centroid",
)
SILENCE_DB = -90.0
_FRAME, _HOP = 0.04, 0.02
_FMIN, _FMAX = 60.0, 500.0


def _frames(x: np.ndarray, frame: int, hop: int) -> np.ndarray:
    if len(x) < frame:
        x = np.pad(x, (0, frame - len(x)))
    n = 1 + (len(x) - frame) // hop
    return np.lib.stride_tricks.as_strided(x, (n, frame), (x.strides[0] * hop, x.strides[0]))


def db(power: np.ndarray) -> np.ndarray:
    return np.maximum(10 * np.log10(np.maximum(power, 1e-12)), SILENCE_DB)


def loudness_envelope(x: np.ndarray, sr: int) -> np.ndarray:
    """Loudness in dB per `ENVELOPE_HOP` of ``x`` (the timeline's fine envelope)."""
    hop = round(ENVELOPE_HOP * sr)
    return db((_frames(x, hop, hop) ** 2).mean(1))


def pitch_track(x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pitch Hz or 0, voicing strength, spectral centroid Hz) per 20 ms frame."""
    frame, hop = round(_FRAME * sr), round(_HOP * sr)
    frames = _frames(x, frame, hop) * np.hanning(frame)
    spec = np.fft.rfft(frames, n=2 * frame)
    power = np.abs(spec) ** 2
    ac = np.fft.irfft(power, axis=1)[:, :frame]
    lo, hi = int(sr / _FMAX), int(sr / _FMIN)
    energy = ac[:, :1] + 1e-9
    norm = ac[:, lo:hi] / energy
    lag = norm.argmax(axis=1)
    strength = norm[np.arange(len(norm)), lag]
    pitch = np.where(strength > 0.45, sr / (lag + lo), 0.0)
    freqs = np.fft.rfftfreq(2 * frame, 1 / sr)
    centroid = (power * freqs).sum(1) / (power.sum(1) + 1e-9)
    return pitch, strength, centroid


class ProsodyExtractor:
    """Loudness, pitch and brightness per step, plus the 10 ms loudness envelope of each block.

    Without sound the ``audio`` source is silence (`SILENCE_DB`, no pitch) and there is no
    envelope."""

    name = "prosody"
    sources = (
        Source(
            "audio",
            len(PROSODY_FEATURES),
            output="prosody",
            absent=(SILENCE_DB, SILENCE_DB) + (0.0,) * (len(PROSODY_FEATURES) - 2),
        ),
    )
    signals: Mapping[str, float | None] = {"loudness": SILENCE_DB, "pitch": 0.0, "pitch_std": 0.0}

    def config(self) -> dict:
        return {
            "features": list(PROSODY_FEATURES),
            "frame": _FRAME,
            "hop": _HOP,
            "env_hop": ENVELOPE_HOP,
        }

    def extract(self, block: AudioBlock) -> dict[str, np.ndarray]:
        sr = block.sample_rate
        core = block.core()
        envelope = loudness_envelope(core, sr)
        pitch, strength, centroid = pitch_track(core, sr)
        per_step = round(block.step / _HOP)
        feats = np.zeros((block.n_steps, len(PROSODY_FEATURES)), dtype=np.float32)
        env_per_step = round(block.step / ENVELOPE_HOP)
        for i in range(block.n_steps):
            env = envelope[i * env_per_step : (i + 1) * env_per_step]
            p = pitch[i * per_step : (i + 1) * per_step]
            voiced = p[p > 0]
            if len(env):
                feats[i, 0] = db(np.mean(10 ** (env / 10), keepdims=True))[0]
                feats[i, 1] = env.max()
            else:
                feats[i, :2] = SILENCE_DB
            feats[i, 2] = np.median(voiced) if len(voiced) else 0.0
            feats[i, 3] = np.std(np.log2(voiced)) if len(voiced) > 2 else 0.0
            feats[i, 4] = len(voiced) / max(len(p), 1)
            c = centroid[i * per_step : (i + 1) * per_step]
            feats[i, 5] = c.mean() / 1000.0 if len(c) else 0.0
        expected = block.n_steps * env_per_step
        envelope = np.pad(
            envelope, (0, max(0, expected - len(envelope))), constant_values=SILENCE_DB
        )[:expected]
        return {"prosody": feats, "envelope": envelope.astype(np.float32)}

    def add_to(self, timeline: Timeline, outputs: Mapping[str, np.ndarray]) -> None:
        audio = timeline.sources["audio"]
        timeline.add_signal("loudness", audio[:, 0])
        timeline.add_signal("pitch", audio[:, 2])
        timeline.add_signal("pitch_std", audio[:, 3])
        per_step = round(timeline.grid.step / ENVELOPE_HOP)
        timeline.envelope = fit_length(outputs["envelope"], timeline.n_steps * per_step)
