"""A data check for labelled emotional speech: does each corpus act its emotions as labelled?

Per corpus and emotion, the plain prosody of each clip z-scored within its speaker and averaged
(`acted_prosody`): loudness (90th percentile of active 20 ms frames, dB), pitch (median log F0
of voiced frames), brightness (median log spectral centroid) and rate (loudness peaks per active
second). `arousal_swaps` flags a corpus whose angry clips sit below its sad ones on most of
loudness, pitch and brightness: either that corpus acts anger cold and sadness aroused, or its
angry and sad labels are swapped (emotiontts_ko's were, until 4 December 2026). Either way a
model that learns arousal from the voice elsewhere hears it the other way round, so look before
training on it (``benchmarks/ser_features.py`` prints the table and the flags).
`calm_above_anger` asks the same of each speaker against their own calm clips: a speaker whose
neutral readings sit above their anger (emotiontts_ko's ned) has calm talk that a voice model
hears as aroused, which shows up as false moments in videos of that speaker.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from egvs.features.prosody import pitch_track
from egvs.media.decode import SAMPLE_RATE
from egvs.ser.classes import EMOTION_CLASSES
from egvs.ser_training.labels import Item

SUMMARY = ("loudness", "pitch", "brightness", "rate")
AROUSAL_CUES = ("loudness", "pitch", "brightness")  # what `arousal_swaps` compares
MIN_CUES_BELOW = 2  # anger below on this many of them is flagged (one alone: EmoDB's quiet anger)
HOP = 320  # 20 ms, as pitch_track's frames
FRAME = 640


def functionals(audio: np.ndarray) -> np.ndarray:
    """20 prosody functionals of one clip; the first four are `SUMMARY`."""
    pitch, strength, centroid = pitch_track(audio, SAMPLE_RATE)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(audio, (0, FRAME)), FRAME)[::HOP]
    frames = frames[: len(pitch)]
    power = np.abs(np.fft.rfft(frames * np.hanning(FRAME), axis=1)) ** 2
    freqs = np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)
    energy = power.sum(1) + 1e-10
    level = 10 * np.log10(energy)
    active = level > level.max() - 35
    if active.sum() < 5:
        return np.zeros(20, np.float32)
    voiced = (pitch > 0) & active
    log_f0 = np.log(pitch[voiced]) if voiced.sum() > 2 else np.zeros(3)
    loud = level[active]
    low = power[:, freqs < 1000].sum(1) + 1e-10
    tilt = (10 * np.log10(low / (power[:, freqs >= 1000].sum(1) + 1e-10)))[active]
    high = (10 * np.log10((power[:, freqs >= 3000].sum(1) + 1e-10) / energy))[active]
    bright = np.log(centroid[active] + 1)
    peaks = (level[1:-1] > level[:-2]) & (level[1:-1] >= level[2:]) & (level[1:-1] > loud.mean())
    rate = peaks.sum() / (active.sum() * HOP / SAMPLE_RATE)
    d_level = np.abs(np.diff(level))[active[1:]]
    both = voiced[1:] & voiced[:-1]
    d_f0 = np.abs(np.diff(np.log(np.maximum(pitch, 1.0))))[both]
    return np.array(
        [
            np.percentile(loud, 90),
            np.median(log_f0),
            np.median(bright),
            rate,
            loud.mean(),
            loud.std(),
            np.percentile(loud, 90) - np.percentile(loud, 10),
            log_f0.std(),
            np.percentile(log_f0, 10),
            np.percentile(log_f0, 90),
            voiced.sum() / active.sum(),
            strength[active].mean(),
            strength[active].std(),
            bright.std(),
            tilt.mean(),
            tilt.std(),
            high.mean(),
            d_level.mean() if len(d_level) else 0.0,
            np.median(d_f0) if len(d_f0) else 0.0,
            active.mean(),
        ],
        np.float32,
    )


def speaker_z(values: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    """``values`` (n, k) z-scored within each speaker."""
    out = np.zeros_like(values, dtype=np.float64)
    for s in np.unique(speakers):
        idx = speakers == s
        out[idx] = (values[idx] - values[idx].mean(0)) / (values[idx].std(0) + 1e-9)
    return out


def acted_prosody(items: Sequence[Item], feats: np.ndarray) -> dict[str, dict[str, dict]]:
    """Per corpus with emotion labels, per emotion: the mean speaker-z-scored `SUMMARY` prosody.

    ``feats`` (n, >= 4) holds each item's `functionals` (its first four columns are used); rows
    without an emotion label (vocalizations, other sounds, valence-only clips) are skipped.
    """
    out: dict[str, dict[str, dict]] = {}
    for corpus in sorted({it.dataset for it in items}):
        idx = np.array(
            [
                i
                for i, it in enumerate(items)
                if it.dataset == corpus and it.label in (*EMOTION_CLASSES, "boredom")
            ]
        )
        if len(idx) == 0 or len({items[i].label for i in idx}) < 2:
            continue
        z = speaker_z(feats[idx, : len(SUMMARY)], np.array([items[i].speaker for i in idx]))
        labels = np.array([items[i].label for i in idx])
        out[corpus] = {
            label: dict(zip(SUMMARY, np.round(z[labels == label].mean(0), 2).tolist(), strict=True))
            for label in sorted(set(labels))
        }
    return out


def arousal_swaps(table: dict[str, dict[str, dict]]) -> dict[str, list[str]]:
    """Corpora of `acted_prosody` whose angry clips sit below their sad ones on at least two of
    loudness, pitch and brightness: {corpus: the cues on which angry < sad}."""
    flagged = {}
    for corpus, emotions in table.items():
        if not {"angry", "sad"} <= emotions.keys():
            continue
        below = _cues_below(
            [emotions["angry"][c] for c in AROUSAL_CUES], [emotions["sad"][c] for c in AROUSAL_CUES]
        )
        if below:
            flagged[corpus] = below
    return flagged


def calm_above_anger(items: Sequence[Item], feats: np.ndarray) -> dict[str, dict[str, list[str]]]:
    """Speakers whose angry clips sit below their own neutral and calm clips on at least two of
    loudness, pitch and brightness (each clip z-scored within its speaker, as in
    `acted_prosody`): {corpus: {speaker: the cues on which angry < calm}}."""
    speakers = np.array([it.speaker for it in items])
    labels = np.array([it.label for it in items])
    z = speaker_z(feats[:, : len(AROUSAL_CUES)], speakers)
    flagged: dict[str, dict[str, list[str]]] = {}
    for corpus, speaker in sorted({(it.dataset, it.speaker) for it in items}):
        own = speakers == speaker
        calm, angry = own & np.isin(labels, ("neutral", "calm")), own & (labels == "angry")
        if not calm.any() or not angry.any():
            continue
        below = _cues_below(z[angry].mean(0), z[calm].mean(0))
        if below:
            flagged.setdefault(corpus, {})[speaker] = below
    return flagged


def _cues_below(angry: Sequence[float], other: Sequence[float]) -> list[str]:
    """The `AROUSAL_CUES` on which ``angry`` sits below ``other`` (both in that order), when
    they are at least `MIN_CUES_BELOW` of them; else none."""
    below = [cue for cue, a, o in zip(AROUSAL_CUES, angry, other, strict=True) if a < o]
    return below if len(below) >= MIN_CUES_BELOW else []
