"""What videos do to a voice, simulated deterministically: beds, rooms, codecs and levels.

The speech-emotion head learns from clean studio speech; in a video the voice comes with music or
noise under it, a room around it, a lossy channel and any level. `augment` applies one random but
fully deterministic (given its seed) chain of those, each step with the probability named by a
``P_*`` constant below:

1. reverberation (`reverberate`, `P_REVERB`): the speech is convolved with a synthetic room
   impulse response, exponentially decaying noise with an RT60 of 0.2-0.9 s behind a kept direct
   path. It is applied to the speech *before* the bed is mixed in, as in a video: the voice is
   recorded in a room, music is added in the edit and a noise recording carries its own acoustics;
2. a bed (`P_BED`) of music (`synth_music`, share `P_MUSIC`) or noise (`NoiseBank`) mixed at an
   SNR drawn from `SNR_CHOICES_DB` (`mix_at_snr`; levels on the active part, `active_power`);
3. mild soft clipping (`soft_clip`, `P_SOFT_CLIP`), then a codec-like band limit (`band_limit`,
   `P_BAND_LIMIT`): low-pass at 3.4/4/6/7 kHz, with a high-pass at 100-300 Hz half the time
   (`P_HIGHPASS`). Clipping comes first, as it happens upstream of the codec, so the band limit
   also removes the harmonics it adds;
4. a level change of -25 to +6 dB (`P_LEVEL`).

Whatever was applied, the output goes through a look-ahead peak limiter (`peak_limit`) so it stays
within [-1, 1] without hard clipping; it is float32 and as long as the input. `describe` says what
a seed does before any audio is seen; `augment_with_record` returns the full record (music genre
and tempo, noise sources) of an actual run. Everything is numpy/scipy: no file assets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from egvs.media.decode import SAMPLE_RATE
from egvs.ser.audio import load_audio

# --- The chain: probabilities and parameter ranges -------------------------------------------------
P_REVERB = 0.4  # chance the speech is reverberated (before any bed is mixed in)
RT60_RANGE_S = (0.2, 0.9)  # reverberation time, uniform
DRR_RANGE_DB = (-3.0, 12.0)  # direct-to-reverberant energy ratio, uniform (far mic .. close mic)
P_BED = 0.7  # chance of a bed of music or noise under the speech
P_MUSIC = 0.4  # given a bed, the chance it is music (otherwise noise from the bank)
SNR_CHOICES_DB = (0.0, 5.0, 10.0, 15.0, 20.0)  # bed SNR, uniform over these
P_BAND_LIMIT = 0.4  # chance of a codec-like low-pass
LOWPASS_CHOICES_HZ = (3400.0, 4000.0, 6000.0, 7000.0)  # its cutoff, uniform over these
P_HIGHPASS = 0.5  # given a band limit, the chance of a high-pass too (phone/small speaker)
HIGHPASS_RANGE_HZ = (100.0, 300.0)  # its cutoff, uniform
P_SOFT_CLIP = 0.15  # chance of mild soft clipping (tanh, see `soft_clip`)
SOFT_CLIP_DRIVE_RANGE = (1.0, 2.5)  # its drive, uniform
P_LEVEL = 0.8  # chance of a level change
LEVEL_RANGE_DB = (-25.0, 6.0)  # the gain, uniform
LIMIT_CEILING = 0.99  # peak ceiling of the final limiter (always applied)
LIMIT_WINDOW_S = 0.01  # limiter look-ahead = hold = release smoothing

# --- Levels ---------------------------------------------------------------------------------------
ACTIVE_FLOOR_DB = 30.0  # a frame is active when within this many dB of the loudest frame
ACTIVE_FRAME_S = 0.02  # frame length for the active level

# --- Noise bank -----------------------------------------------------------------------------------
P_RECORDING = 0.75  # with recordings in the bank, the chance a noise bed is a recording
SYNTHETIC_KINDS = ("pink", "brown", "babble", "hum", "hvac")
CROSSFADE_S = 0.01  # recordings chained to fill a bed are crossfaded over this
LAZY_CACHE = 64  # recordings a lazy bank keeps decoded

# --- Music ----------------------------------------------------------------------------------------
GENRES = ("pad", "plucked", "percussive")
TEMPO_RANGE_BPM = (70.0, 160.0)
P_DRUMS = {"pad": 0.2, "plucked": 0.5, "percussive": 1.0}  # chance of percussion per genre
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_PROGRESSIONS = {  # scale degrees (0 = tonic), one chord each
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (1, 4, 0, 0), (0, 3, 0, 4), (0, 5, 1, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2)),
}


# ==================================================================================================
# Levels and mixing
# ==================================================================================================


def active_power(x: np.ndarray, sr: int = SAMPLE_RATE, floor_db: float = ACTIVE_FLOOR_DB) -> float:
    """Mean power of the active part of ``x``: its 20 ms frames within ``floor_db`` of the loudest.

    0.0 for an empty or silent signal.
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return 0.0
    frame = max(int(round(ACTIVE_FRAME_S * sr)), 1)
    n_frames = -(-len(x) // frame)
    pad = np.zeros(n_frames * frame)
    pad[: len(x)] = x * x
    energy = pad.reshape(n_frames, frame).sum(1)
    lengths = np.full(n_frames, frame, dtype=np.float64)
    lengths[-1] = len(x) - (n_frames - 1) * frame
    power = energy / lengths
    top = power.max()
    if top <= 0.0:
        return 0.0
    active = power >= top * 10 ** (-floor_db / 10)
    return float(energy[active].sum() / lengths[active].sum())


def snr_db(speech: np.ndarray, noise: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    """SNR of ``speech`` over ``noise`` in dB, both on their active part (`active_power`)."""
    return 10 * math.log10(active_power(speech, sr) / max(active_power(noise, sr), 1e-30))


def mix_at_snr(
    speech: np.ndarray, noise: np.ndarray, snr: float, sr: int = SAMPLE_RATE
) -> np.ndarray:
    """``speech`` plus ``noise`` scaled so that `snr_db` of the two is ``snr`` (float64).

    Both levels are taken on the active part (`active_power`): the speech's pauses do not lower
    its level, and a sparse noise (a bark, a slammed door) is set by its events, not diluted by
    its quiet stretches. ``noise`` must be as long as ``speech``; a silent side returns the speech.
    """
    speech = np.asarray(speech, dtype=np.float64)
    noise = np.asarray(noise, dtype=np.float64)
    if len(noise) != len(speech):
        raise ValueError(f"noise has {len(noise)} samples, speech {len(speech)}")
    ps, pn = active_power(speech, sr), active_power(noise, sr)
    if ps <= 0.0 or pn <= 1e-20:
        return speech.copy()
    gain = math.sqrt(ps / pn * 10 ** (-snr / 10))
    return speech + gain * noise


def _scale_to_power(x: np.ndarray, power: float, sr: int) -> np.ndarray:
    p = active_power(x, sr)
    return x * math.sqrt(power / p) if p > 0 and power > 0 else x


# ==================================================================================================
# Room, channel and level
# ==================================================================================================


def room_impulse_response(
    rt60: float,
    rng: np.random.Generator,
    sr: int = SAMPLE_RATE,
    drr_db: float = 6.0,
    predelay_s: float | None = None,
) -> np.ndarray:
    """A synthetic room impulse response (float64): a direct path of 1 then a diffuse tail.

    The tail is Gaussian noise under an exponential envelope whose energy falls 60 dB in ``rt60``
    seconds, starting ``predelay_s`` (default: drawn, 2-15 ms) after the direct path with a 5 ms
    fade-in, and scaled so that direct / tail energy is ``drr_db``. It lasts ``rt60`` (to -60 dB).
    """
    if predelay_s is None:
        predelay_s = rng.uniform(0.002, 0.015)
    delay = max(int(round(predelay_s * sr)), 1)
    n_tail = max(int(round(rt60 * sr)), 1)
    t = np.arange(n_tail) / sr
    tail = rng.standard_normal(n_tail) * 10 ** (-3.0 * t / rt60)  # amplitude: -60 dB energy at rt60
    fade = min(int(0.005 * sr), n_tail)
    tail[:fade] *= np.linspace(0.0, 1.0, fade, endpoint=False)
    tail *= math.sqrt(10 ** (-drr_db / 10) / max(float(np.sum(tail**2)), 1e-30))
    rir = np.zeros(delay + n_tail)
    rir[0] = 1.0
    rir[delay:] += tail
    return rir


def reverberate(
    x: np.ndarray,
    rt60: float,
    rng: np.random.Generator,
    sr: int = SAMPLE_RATE,
    drr_db: float = 6.0,
) -> np.ndarray:
    """``x`` in a synthetic room (`room_impulse_response`), same length and active level (float64).

    The reverberant tail past the end of ``x`` is cut, as a clip cut from a longer recording is.
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return x.copy()
    rir = room_impulse_response(rt60, rng, sr, drr_db)
    y = signal.fftconvolve(x, rir)[: len(x)]
    return _scale_to_power(y, active_power(x, sr), sr)


def band_limit(
    x: np.ndarray,
    lowpass_hz: float | None,
    highpass_hz: float | None = None,
    sr: int = SAMPLE_RATE,
) -> np.ndarray:
    """A codec-like channel: order-10 Butterworth low-pass, optional order-4 high-pass (float64).

    A cutoff at or above 95% of Nyquist is skipped (nothing to remove at that sample rate).
    """
    y = np.asarray(x, dtype=np.float64)
    if lowpass_hz is not None and lowpass_hz < 0.95 * sr / 2:
        y = signal.sosfilt(signal.butter(10, lowpass_hz, "low", fs=sr, output="sos"), y)
    if highpass_hz is not None:
        y = signal.sosfilt(signal.butter(4, highpass_hz, "high", fs=sr, output="sos"), y)
    return y


def soft_clip(x: np.ndarray, drive: float) -> np.ndarray:
    """Mild tanh saturation keeping the peak: ``tanh(drive * x / peak) * peak / tanh(drive)``.

    Quiet parts get ``drive / tanh(drive)`` louder relative to the peaks (1.3x at drive 1, 2.5x at
    2.5): the squashed, over-driven sound of a hot recording or an aggressive loudness chain.
    """
    x = np.asarray(x, dtype=np.float64)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak <= 0.0 or drive <= 0.0:
        return x.copy()
    return np.tanh(drive * x / peak) * (peak / math.tanh(drive))


def peak_limit(
    x: np.ndarray,
    ceiling: float = LIMIT_CEILING,
    sr: int = SAMPLE_RATE,
    window_s: float = LIMIT_WINDOW_S,
) -> np.ndarray:
    """A look-ahead brick-wall limiter: peaks above ``ceiling`` are turned down smoothly (float64).

    The gain each sample needs is min-filtered over a centred ``window_s`` window and then box-
    smoothed over the same window, so it never exceeds what any sample needs and ramps over
    ``2 * window_s``; a signal already under the ceiling is returned unchanged.
    """
    x = np.asarray(x, dtype=np.float64)
    mag = np.abs(x)
    if len(x) == 0 or mag.max() <= ceiling:
        return x.copy()
    need = np.minimum(1.0, ceiling / np.maximum(mag, 1e-30))
    size = 2 * max(int(window_s * sr / 2), 1) + 1
    gain = uniform_filter1d(minimum_filter1d(need, size, mode="nearest"), size, mode="nearest")
    return x * np.minimum(gain, need * (1 + 1e-9))


# ==================================================================================================
# Synthetic noise
# ==================================================================================================


def _coloured(n: int, rng: np.random.Generator, sr: int, exponent: float) -> np.ndarray:
    """Noise with power ~ 1/f**exponent above 20 Hz, nothing below (no inaudible rumble)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    shape = np.where(f >= 20.0, np.maximum(f, 20.0) ** (-exponent / 2), 0.0)
    return np.fft.irfft(spec * shape, n)


def _slow(n: int, rng: np.random.Generator, sr: int, cutoff_hz: float) -> np.ndarray:
    """Smooth random control signal (zero mean, unit std) varying below ``cutoff_hz``."""
    ctrl_sr = 100
    m = n * ctrl_sr // sr + 2
    warm = 2 * ctrl_sr
    sos = signal.butter(2, cutoff_hz, "low", fs=ctrl_sr, output="sos")
    c = signal.sosfilt(sos, rng.standard_normal(m + warm))[warm:]
    c = (c - c.mean()) / (c.std() + 1e-12)
    return np.interp(np.arange(n) * ctrl_sr / sr, np.arange(m), c)


def _babble(n: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Several far-off talkers: syllable-rate modulated voiced buzz through formants, plus breath."""
    out = np.zeros(n)
    speech_shape = signal.butter(2, [150.0, min(3500.0, 0.45 * sr)], "band", fs=sr, output="sos")
    for _ in range(int(rng.integers(4, 9))):
        env = np.maximum(_slow(n, rng, sr, rng.uniform(3.0, 6.0)) - rng.uniform(-0.3, 0.5), 0.0)
        f0 = rng.uniform(90.0, 250.0) * 2 ** (0.2 * _slow(n, rng, sr, 2.0))
        buzz = signal.sawtooth(2 * np.pi * np.cumsum(f0) / sr)
        f1, f2 = rng.uniform(300.0, 900.0), rng.uniform(1000.0, min(2600.0, 0.4 * sr))
        voiced = signal.sosfilt(
            signal.butter(2, [f1 * 0.8, f1 * 1.25], "band", fs=sr, output="sos"), buzz
        ) + 0.5 * signal.sosfilt(
            signal.butter(2, [f2 * 0.85, f2 * 1.2], "band", fs=sr, output="sos"), buzz
        )
        breath = signal.sosfilt(speech_shape, rng.standard_normal(n))
        talker = voiced / (voiced.std() + 1e-12) + 0.3 * breath / (breath.std() + 1e-12)
        out += rng.uniform(0.4, 1.0) * env * talker
    return signal.sosfilt(signal.butter(4, min(4000.0, 0.45 * sr), "low", fs=sr, output="sos"), out)


def _hum(n: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Mains hum: 50 or 60 Hz and its harmonics (odd ones stronger), slightly wavering, over hiss."""
    t = np.arange(n) / sr
    base = float(rng.choice([50.0, 60.0])) * (1 + rng.uniform(-0.002, 0.002))
    out = np.zeros(n)
    for k in range(1, 16):
        if k * base >= 0.45 * sr:
            break
        amp = rng.uniform(0.2, 1.0) * k ** -rng.uniform(0.5, 1.5) * (1.5 if k % 2 else 1.0)
        out += amp * np.sin(2 * np.pi * k * base * t + rng.uniform(0, 2 * np.pi))
    out *= 1 + 0.05 * _slow(n, rng, sr, 1.0)
    floor = _coloured(n, rng, sr, 1.0)
    return out / (out.std() + 1e-12) + 0.03 * floor / (floor.std() + 1e-12)


def _hvac(n: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Fan, air conditioning or engine rumble: low-passed noise with a slow level drift."""
    cutoff = rng.uniform(200.0, 1000.0)
    x = signal.sosfilt(signal.butter(2, cutoff, "low", fs=sr, output="sos"), rng.standard_normal(n))
    return x * (1 + 0.1 * _slow(n, rng, sr, 0.5))


def synth_noise(
    kind: str, n_samples: int, rng: np.random.Generator, sr: int = SAMPLE_RATE
) -> np.ndarray:
    """``n_samples`` of a synthetic noise (float32, unit RMS); ``kind`` is one of `SYNTHETIC_KINDS`.

    pink (1/f) and brown (1/f^2) noise above 20 Hz, babble (`_babble`), mains hum at 50/60 Hz with
    harmonics, hvac (low-passed noise).
    """
    if kind == "pink":
        x = _coloured(n_samples, rng, sr, 1.0)
    elif kind == "brown":
        x = _coloured(n_samples, rng, sr, 2.0)
    elif kind == "babble":
        x = _babble(n_samples, rng, sr)
    elif kind == "hum":
        x = _hum(n_samples, rng, sr)
    elif kind == "hvac":
        x = _hvac(n_samples, rng, sr)
    else:
        raise ValueError(f"unknown noise kind {kind!r} (one of {', '.join(SYNTHETIC_KINDS)})")
    return (
        (x / (np.sqrt(np.mean(x * x)) + 1e-12)).astype(np.float32)
        if n_samples
        else x.astype(np.float32)
    )


# ==================================================================================================
# Music
# ==================================================================================================


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _place(buf: np.ndarray, sig: np.ndarray, start: int) -> None:
    """Add ``sig`` into ``buf`` at ``start`` (may begin before 0 or run past the end)."""
    a, b = max(start, 0), min(start + len(sig), len(buf))
    if b > a:
        buf[a:b] += sig[a - start : b - start]


def _tone(
    freq: float,
    n: int,
    sr: int,
    rng: np.random.Generator,
    partials: int,
    rolloff: float,
    vibrato: tuple[float, float] = (0.0, 0.0),
    decay_s: float | None = None,
    partial_decay: float = 0.0,
) -> np.ndarray:
    """A harmonic tone: ``partials`` partials at ``k**-rolloff`` (jittered), vibrato (rate Hz,
    depth as a frequency fraction), each partial optionally decaying (higher ones faster)."""
    t = np.arange(n) / sr
    rate, depth = vibrato
    inst = freq * (1 + depth * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi)))
    phase = 2 * np.pi * np.cumsum(inst) / sr
    out = np.zeros(n)
    for k in range(1, partials + 1):
        if k * freq * (1 + depth) >= 0.45 * sr:
            break
        comp = k**-rolloff * rng.uniform(0.6, 1.4) * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
        if decay_s is not None:
            comp *= np.exp(-t * (1 + partial_decay * (k - 1)) / decay_s)
        out += comp
    return out


def _ar_envelope(n: int, sr: int, attack_s: float, release_s: float, hold: int) -> np.ndarray:
    """Linear attack, sustain until sample ``hold``, linear release after it."""
    env = np.ones(n)
    a = min(max(int(attack_s * sr), 1), n)
    env[:a] = np.linspace(0.0, 1.0, a, endpoint=False)
    r = min(max(int(release_s * sr), 1), max(n - hold, 0))
    if r > 0:
        env[hold : hold + r] *= np.linspace(1.0, 0.0, r)
        env[hold + r :] = 0.0
    return env


def _pluck(
    freq: float, sr: int, rng: np.random.Generator, decay_s: float, partials: int = 10
) -> np.ndarray:
    n = int(min(1.5, 4 * decay_s) * sr)
    x = _tone(
        freq, n, sr, rng, partials, rng.uniform(0.8, 1.4), decay_s=decay_s, partial_decay=0.35
    )
    attack = min(int(0.004 * sr), n)
    x[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False)
    return x


def _kick(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Pitched-down decaying sine (about 130 -> 50 Hz) with a short click."""
    n = int(0.4 * sr)
    t = np.arange(n) / sr
    f_hi, f_lo = rng.uniform(100.0, 160.0), rng.uniform(40.0, 60.0)
    freq = f_lo + (f_hi - f_lo) * np.exp(-t / rng.uniform(0.02, 0.06))
    x = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / rng.uniform(0.08, 0.2))
    click = min(int(0.003 * sr), n)
    x[:click] += 0.3 * rng.standard_normal(click)
    return x


def _hat(sr: int, rng: np.random.Generator, sos: np.ndarray, open_: bool) -> np.ndarray:
    """High-passed noise burst, 20-60 ms (closed) or 100-250 ms (open)."""
    decay = rng.uniform(0.08, 0.2) if open_ else rng.uniform(0.015, 0.05)
    n = int(4 * decay * sr)
    return signal.sosfilt(sos, rng.standard_normal(n)) * np.exp(-np.arange(n) / (decay * sr))


def _snare(sr: int, rng: np.random.Generator, sos: np.ndarray) -> np.ndarray:
    """Band-passed noise burst plus a short ~200 Hz body."""
    n = int(0.3 * sr)
    t = np.arange(n) / sr
    noise = signal.sosfilt(sos, rng.standard_normal(n)) * np.exp(-t / rng.uniform(0.06, 0.15))
    body = np.sin(2 * np.pi * rng.uniform(170.0, 240.0) * t) * np.exp(-t / 0.04)
    return noise / (noise.std() + 1e-12) + 0.8 * body / (body.std() + 1e-12)


def _drums(
    n: int, sr: int, rng: np.random.Generator, beat: int, offset: int, n_beats: int
) -> np.ndarray:
    buf = np.zeros(n)
    hat_sos = signal.butter(4, min(6000.0, 0.4 * sr), "high", fs=sr, output="sos")
    snare_sos = signal.butter(2, [1000.0, min(5000.0, 0.45 * sr)], "band", fs=sr, output="sos")
    four_floor = rng.random() < 0.5
    extra_kick = rng.random() < 0.5
    hats_per_beat = int(rng.choice([2, 4]))
    kick, snare = _kick(sr, rng), _snare(sr, rng, snare_sos)
    snare *= np.sqrt(np.mean(kick**2)) / (np.sqrt(np.mean(snare**2)) + 1e-12) * 0.8
    jitter = int(0.004 * sr)
    for b in range(n_beats):
        start = offset + b * beat
        in_bar = b % 4
        vel = rng.uniform(0.75, 1.0)
        if four_floor or in_bar in (0, 2):
            _place(buf, vel * kick, start + int(rng.integers(-jitter, jitter + 1)))
        if extra_kick and in_bar == 2:
            _place(buf, 0.7 * vel * kick, start + beat // 2)
        if in_bar in (1, 3):
            _place(buf, vel * snare, start + int(rng.integers(-jitter, jitter + 1)))
        for h in range(hats_per_beat):
            accent = 1.0 if h == 0 else rng.uniform(0.4, 0.8)
            hat = _hat(sr, rng, hat_sos, open_=(h == hats_per_beat - 1 and rng.random() < 0.15))
            hat *= 0.35 * accent / (np.sqrt(np.mean(hat**2)) + 1e-12) * np.sqrt(np.mean(kick**2))
            _place(
                buf, hat, start + h * beat // hats_per_beat + int(rng.integers(-jitter, jitter + 1))
            )
    return buf


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0


def _music(
    n: int, rng: np.random.Generator, sr: int, genre: str | None
) -> tuple[np.ndarray, dict[str, Any]]:
    genre = genre or str(rng.choice(GENRES))
    if genre not in GENRES:
        raise ValueError(f"unknown genre {genre!r} (one of {', '.join(GENRES)})")
    bpm = float(rng.uniform(*TEMPO_RANGE_BPM))
    beat = int(round(60.0 / bpm * sr))
    mode = str(rng.choice(["major", "minor"]))
    scale = _MAJOR if mode == "major" else _MINOR
    progs = _PROGRESSIONS[mode]
    progression = progs[int(rng.integers(len(progs)))]
    key = int(rng.integers(12))
    base = 52 + key  # chord root octave: E3 .. D#4
    beats_per_chord = int(rng.choice([4, 8])) if genre == "pad" else int(rng.choice([2, 4]))
    chord_len = beats_per_chord * beat
    offset = -int(rng.integers(chord_len))  # start somewhere inside a chord, not on a downbeat
    n_chords = (n - offset) // chord_len + 1
    sevenths = rng.random() < 0.4
    chords, bass = np.zeros(n), np.zeros(n)
    sub = 2 if bpm >= 110 else 4  # plucked arpeggio notes per beat
    arp = str(rng.choice(["up", "updown", "random"]))
    stab_pattern = rng.random(8) < 0.45
    stab_pattern[0] = True
    bass_pattern = rng.integers(0, 3, size=8)  # percussive bass per eighth: root, octave, fifth
    timbre: dict[str, Any] = {
        "partials": int(rng.integers(5, 11)),
        "rolloff": rng.uniform(1.0, 2.0),
        "vibrato": (rng.uniform(4.0, 6.5), rng.uniform(0.001, 0.005)),
        "decay_s": rng.uniform(0.25, 0.8),
    }
    for c in range(n_chords):
        degree = progression[c % len(progression)]
        notes = [
            base + scale[(degree + 2 * j) % 7] + 12 * ((degree + 2 * j) // 7)
            for j in range(4 if sevenths else 3)
        ]
        root = base - 24 + scale[degree % 7]
        start = offset + c * chord_len
        if genre == "pad":
            release = int(0.4 * sr)
            length = chord_len + release
            env = _ar_envelope(length, sr, rng.uniform(0.1, 0.5) * chord_len / sr, 0.4, chord_len)
            for m in notes:
                for detune in (-1, 1):
                    f = _hz(m + detune * rng.uniform(0.03, 0.08))
                    tone = _tone(
                        f,
                        length,
                        sr,
                        rng,
                        timbre["partials"],
                        timbre["rolloff"] + 0.3,
                        timbre["vibrato"],
                    )
                    _place(chords, env * tone, start)
            benv = _ar_envelope(length, sr, 0.03, 0.3, chord_len)
            _place(bass, benv * _tone(_hz(root), length, sr, rng, 4, 1.5), start)
        elif genre == "plucked":
            seq = notes + [notes[0] + 12]
            if arp == "updown":
                seq = seq + seq[-2:0:-1]
            step = beat // sub
            for i in range(chord_len // step):
                m = seq[int(rng.integers(len(seq)))] if arp == "random" else seq[i % len(seq)]
                note = rng.uniform(0.6, 1.0) * _pluck(
                    _hz(m), sr, rng, timbre["decay_s"], timbre["partials"]
                )
                _place(chords, note, start + i * step)
            for i in range(beats_per_chord):
                _place(
                    bass,
                    rng.uniform(0.8, 1.0) * _pluck(_hz(root), sr, rng, 0.4, 5),
                    start + i * beat,
                )
        else:  # percussive: chord stabs and a busy bass on eighths
            eighth = beat // 2
            for i in range(chord_len // eighth):
                if stab_pattern[i % 8]:
                    for m in notes:
                        stab = _tone(
                            _hz(m), int(0.3 * sr), sr, rng, 6, 1.2, decay_s=rng.uniform(0.06, 0.15)
                        )
                        _place(chords, stab, start + i * eighth)
                interval = (0, 12, 7)[int(bass_pattern[i % 8])]
                pl = _pluck(_hz(root + interval), sr, rng, 0.15, 5)
                _place(bass, rng.uniform(0.8, 1.0) * pl, start + i * eighth)
    stems = [chords / (_rms(chords) + 1e-12), rng.uniform(0.6, 1.0) * bass / (_rms(bass) + 1e-12)]
    drums = rng.random() < P_DRUMS[genre]
    if drums:
        n_beats = (n - offset) // beat + 1
        d = _drums(n, sr, rng, beat, offset, n_beats)
        level = rng.uniform(0.8, 1.3) if genre == "percussive" else rng.uniform(0.3, 0.8)
        stems.append(level * d / (_rms(d) + 1e-12))
    out = np.sum(stems, axis=0)
    out *= 0.1 / (_rms(out) + 1e-12)
    peak = float(np.max(np.abs(out))) if n else 0.0
    if peak > 0.95:
        out *= 0.95 / peak
    info = {
        "genre": genre,
        "bpm": round(bpm, 1),
        "mode": mode,
        "key": key,
        "progression": list(progression),
        "drums": bool(drums),
    }
    return out.astype(np.float32), info


def synth_music(
    n_samples: int, rng: np.random.Generator, sr: int = SAMPLE_RATE, genre: str | None = None
) -> np.ndarray:
    """A music bed of ``n_samples`` (float32, RMS 0.1), made of numpy tones only.

    A chord progression (major or minor key, triads or sevenths, 2-8 beats a chord) of harmonic
    tones, a bass line on the chord roots (41-78 Hz) and, depending on the genre, percussion (kick:
    pitched-down decaying sine; snare; hats: high-passed noise bursts), at 70-160 bpm. ``genre``
    (default: drawn) is one of `GENRES`: "pad" (slow-attack sustained chords with vibrato, rare
    soft drums), "plucked" (arpeggiated decaying notes, drums half the time) or "percussive"
    (chord stabs, eighth-note bass, drums). The bed starts at a random point inside a chord.
    """
    return _music(n_samples, rng, sr, genre)[0]


# ==================================================================================================
# Noise bank
# ==================================================================================================


class NoiseBank:
    """Noise to mix under speech: recordings (e.g. UrbanSound8K training-fold clips) and/or
    synthetic noises (`SYNTHETIC_KINDS`, generated on demand).

    With recordings and ``synthetic``, a draw is a recording with probability ``p_recording``.
    Recordings are kept as int16 (peak-normalised; ~2x less memory than float32), or with
    ``from_paths(..., lazy=True)`` decoded on demand with a small cache. Silent recordings and
    ones under 50 ms are dropped. A bank pickles, so worker processes can share its definition.
    """

    def __init__(
        self,
        recordings: Sequence[np.ndarray] = (),
        names: Sequence[str] | None = None,
        synthetic: bool = True,
        p_recording: float = P_RECORDING,
        sr: int = SAMPLE_RATE,
    ) -> None:
        if names is not None and len(names) != len(recordings):
            raise ValueError(f"{len(names)} names for {len(recordings)} recordings")
        self.sr = sr
        self.synthetic = synthetic
        self.p_recording = p_recording
        self._items: list[np.ndarray | Path] = []
        self.names: list[str] = []
        self._cache: dict[int, np.ndarray | None] = {}  # None: the file is unusable
        for i, rec in enumerate(recordings):
            kept = self._keep(np.asarray(rec, dtype=np.float32))
            if kept is not None:
                self._items.append(kept)
                self.names.append(names[i] if names is not None else f"recording{i}")
        if not self._items and not synthetic:
            raise ValueError("a NoiseBank needs recordings or synthetic=True")

    def _keep(self, x: np.ndarray) -> np.ndarray | None:
        x = x.reshape(-1)
        x = x - x.mean() if len(x) else x
        peak = float(np.max(np.abs(x))) if len(x) else 0.0
        if len(x) < 0.05 * self.sr or peak < 1e-5 or not np.isfinite(peak):
            return None
        return np.round(x / peak * 32767).astype(np.int16)

    @classmethod
    def from_paths(
        cls,
        paths: Sequence[str | Path],
        synthetic: bool = True,
        lazy: bool = False,
        p_recording: float = P_RECORDING,
    ) -> NoiseBank:
        """A bank of the audio files at ``paths`` (read with `egvs.ser.audio.load_audio`, 16 kHz).

        ``lazy`` keeps only the paths and decodes a file when it is drawn (the `LAZY_CACHE` most
        recent stay decoded); a file found silent or too short then is skipped for another draw.
        Lazy and eager banks of the same files draw the same noise when every file is usable (an
        eager bank drops unusable files up front, which shifts its draws).
        """
        if lazy:
            bank = cls(synthetic=True, p_recording=p_recording)
            bank.synthetic = synthetic
            bank._items = [Path(p) for p in paths]
            bank.names = [Path(p).name for p in paths]
            if not bank._items and not synthetic:
                raise ValueError("a NoiseBank needs recordings or synthetic=True")
            return bank
        files = [Path(p) for p in paths]
        return cls(
            [load_audio(p) for p in files],
            [p.name for p in files],
            synthetic=synthetic,
            p_recording=p_recording,
        )

    def __len__(self) -> int:
        """Number of recordings (synthetic noises not counted)."""
        return len(self._items)

    def recording(self, i: int) -> np.ndarray | None:
        """Recording ``i`` as float32 (peak 1), or None when a lazily read file is unusable."""
        item = self._items[i]
        if isinstance(item, np.ndarray):
            return item.astype(np.float32) / 32767
        if i not in self._cache:
            kept = self._keep(load_audio(item))
            if len(self._cache) >= LAZY_CACHE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[i] = kept
        kept = self._cache[i]
        return None if kept is None else kept.astype(np.float32) / 32767

    def _chain(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
        """``n`` samples of randomly drawn recordings, each at unit active power, crossfaded."""
        fade = max(int(CROSSFADE_S * self.sr), 1)
        out = np.zeros(n + fade)
        names: list[str] = []
        pos, failures = 0, 0
        while pos < n:
            i = int(rng.integers(len(self._items)))
            rec = self.recording(i)
            if rec is None:
                failures += 1
                if failures > 100:
                    raise ValueError("no usable recording in the NoiseBank")
                continue
            if not names:  # start anywhere in the first recording
                rec = rec[int(rng.integers(max(len(rec) - 2 * fade, 1))) :]
            piece = rec.astype(np.float64)
            piece *= 1 / math.sqrt(max(active_power(piece, self.sr), 1e-20))
            f = min(fade, len(piece) // 2)
            ramp = np.sin(np.linspace(0, np.pi / 2, f, endpoint=False)) ** 2
            if names:
                piece[:f] *= ramp
            piece[len(piece) - f :] *= ramp[::-1]
            _place(out, piece, pos)
            names.append(self.names[i])
            pos += len(piece) - f
        return out[:n], names

    def draw(self, n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        """``n_samples`` of noise (float32) and what it is: ``{"source": "recording", "names": [...]}``
        (recordings chained to fill the length) or ``{"source": "synthetic", "kind": ...}``."""
        coin, kind_pick = rng.random(), int(rng.integers(len(SYNTHETIC_KINDS)))
        if n_samples <= 0:
            return np.zeros(0, dtype=np.float32), {"source": "none"}
        use_rec = bool(self._items) and (not self.synthetic or coin < self.p_recording)
        if use_rec:
            x, names = self._chain(n_samples, rng)
            return x.astype(np.float32), {"source": "recording", "names": names}
        kind = SYNTHETIC_KINDS[kind_pick]
        return synth_noise(kind, n_samples, rng, self.sr), {"source": "synthetic", "kind": kind}

    def sample(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """``n_samples`` of noise (float32); see `draw`."""
        return self.draw(n_samples, rng)[0]


_SYNTHETIC_BANK = NoiseBank()


# ==================================================================================================
# The chain
# ==================================================================================================


def describe(seed: int) -> dict[str, Any]:
    """What `augment` does with ``seed``, before seeing any audio: the steps and their parameters.

    Keys: ``seed``; ``reverb`` (None or ``{"rt60_s", "drr_db"}``); ``bed`` (None, "music" or
    "noise") and ``snr_db``; ``lowpass_hz`` and ``highpass_hz`` (None when not applied);
    ``soft_clip_drive``; ``gain_db``. Every value is drawn whether or not its step applies, so
    changing one probability does not reshuffle the others. The music genre/tempo and the noise
    source depend on the bank and come with `augment_with_record`. JSON-serialisable.
    """
    return {k: v for k, v in _plan(seed).items() if not k.startswith("_")}


def _plan(seed: int) -> dict[str, Any]:
    """`describe` plus the seeds of the bed and room generators (``_bed_seed``, ``_reverb_seed``)."""
    rng = np.random.default_rng(seed)
    coins = rng.random(7)
    snr = float(rng.choice(SNR_CHOICES_DB))
    rt60 = float(rng.uniform(*RT60_RANGE_S))
    drr = float(rng.uniform(*DRR_RANGE_DB))
    lowpass = float(rng.choice(LOWPASS_CHOICES_HZ))
    highpass = float(rng.uniform(*HIGHPASS_RANGE_HZ))
    drive = float(rng.uniform(*SOFT_CLIP_DRIVE_RANGE))
    gain = float(rng.uniform(*LEVEL_RANGE_DB))
    bed_seed, reverb_seed = (int(s) for s in rng.integers(0, 2**63 - 1, size=2))
    bed = None
    if coins[0] < P_BED:
        bed = "music" if coins[1] < P_MUSIC else "noise"
    band = coins[3] < P_BAND_LIMIT
    return {
        "seed": int(seed),
        "reverb": {"rt60_s": round(rt60, 3), "drr_db": round(drr, 2)}
        if coins[2] < P_REVERB
        else None,
        "bed": bed,
        "snr_db": snr if bed else None,
        "lowpass_hz": lowpass if band else None,
        "highpass_hz": round(highpass, 1) if band and coins[4] < P_HIGHPASS else None,
        "soft_clip_drive": round(drive, 3) if coins[5] < P_SOFT_CLIP else None,
        "gain_db": round(gain, 2) if coins[6] < P_LEVEL else None,
        "_bed_seed": bed_seed,
        "_reverb_seed": reverb_seed,
    }


def augment_with_record(
    x: np.ndarray, seed: int, bank: NoiseBank | None = None, sr: int = SAMPLE_RATE
) -> tuple[np.ndarray, dict[str, Any]]:
    """`augment`, plus the record of what was applied (`describe`'s keys and ``music`` /
    ``noise``: the genre, tempo and key of a music bed, or the noise source)."""
    plan = _plan(seed)
    record = describe(seed)
    y = np.asarray(x, dtype=np.float64).reshape(-1)
    n = len(y)
    if n == 0:
        return y.astype(np.float32), record
    if not np.all(np.isfinite(y)):
        y = np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=-1.0)
    if plan["reverb"]:
        rng = np.random.default_rng(plan["_reverb_seed"])
        y = reverberate(y, plan["reverb"]["rt60_s"], rng, sr, plan["reverb"]["drr_db"])
    if plan["bed"]:
        rng = np.random.default_rng(plan["_bed_seed"])
        if plan["bed"] == "music":
            bed, record["music"] = _music(n, rng, sr, None)
        else:
            bank = bank if bank is not None else _SYNTHETIC_BANK
            if bank.sr != sr:
                raise ValueError(f"the NoiseBank is at {bank.sr} Hz, the audio at {sr} Hz")
            bed, record["noise"] = bank.draw(n, rng)
        y = mix_at_snr(y, bed, plan["snr_db"], sr)
    if plan["soft_clip_drive"]:  # before the band limit: distortion happens upstream of the codec
        y = soft_clip(y, plan["soft_clip_drive"])
    if plan["lowpass_hz"]:
        y = band_limit(y, plan["lowpass_hz"], plan["highpass_hz"], sr)
    if plan["gain_db"] is not None:
        y = y * 10 ** (plan["gain_db"] / 20)
    y = np.clip(peak_limit(y, LIMIT_CEILING, sr), -1.0, 1.0)
    return y.astype(np.float32), record


def augment(
    x: np.ndarray, seed: int, bank: NoiseBank | None = None, sr: int = SAMPLE_RATE
) -> np.ndarray:
    """One random, seed-determined chain of video conditions applied to speech ``x`` (see module).

    Float32, as long as ``x``, within [-1, 1]; the same ``x``, ``seed`` and bank give the same
    output bit for bit. ``bank=None`` draws noise beds from synthetic noises only. ``seed`` must be
    a non-negative integer.
    """
    return augment_with_record(x, seed, bank, sr)[0]


def variant_seed(seed: int, i: int) -> int:
    """The seed of `augment_many`'s variant ``i`` (independent streams for every (seed, i))."""
    return int(np.random.SeedSequence([seed, i]).generate_state(1, np.uint64)[0] >> 1)


def augment_many(
    x: np.ndarray,
    seed: int,
    n_variants: int,
    bank: NoiseBank | None = None,
    sr: int = SAMPLE_RATE,
) -> list[np.ndarray]:
    """``n_variants`` augmentations of ``x``; variant ``i`` is ``augment(x, variant_seed(seed, i))``.

    Nearby seeds (e.g. one per clip) give unrelated variants, unlike ``seed + i``.
    """
    return [augment(x, variant_seed(seed, i), bank, sr) for i in range(n_variants)]
