"""Which features carry speech emotion to corpora never heard: prosody, Whisper layers, L2.

    .venv/bin/python benchmarks/ser_features.py [--labels labels.csv --labels labels_extra.csv]
                                                [--loco] [--layers 2 6] [--l2 0.001 0.1]
                                                [--out features.json]

Table 1: per corpus and emotion, the mean of each clip's prosody z-scored within its speaker
(loudness: 90th percentile of active 20 ms frames in dB; pitch: median F0 of voiced frames;
brightness: median spectral centroid; rate: loudness peaks per active second). A corpus whose
"angry" sits below its "sad" on loudness, pitch and brightness acts anger cold and sadness
aroused: an acoustic arousal model trained elsewhere cannot get it right.

With --loco, table 2: leave-one-corpus-out UAR and arousal UAR of the linear head on clean clips
(`egvs.ser.train.cross_validate` with one fold per corpus): the shipped features (Whisper-base
encoder layer 3, pooled), those with 20 prosody functionals added (loudness, F0, voicing,
brightness, spectral tilt, rate; z-scored per speaker like the Whisper features), the prosody
alone, the output of other encoder layers (``--layers``: features computed here, ~8 min each for
the 14k clips) alone and beside layer 3, and other L2 strengths (``--l2``). Clean clips only
(no in-context or augmented views), so the layer-3 row is below the full training's figure.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from egvs.features.prosody import pitch_track
from egvs.ser.audio import load_audio
from egvs.ser.backbone import KEEP_LAYERS, WhisperEncoder
from egvs.ser.features import Featurizer
from egvs.ser.labels import read_many
from egvs.ser.train import DEFAULT_L2, clip_features, cross_validate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "ser"
DEFAULT_LABELS = [SHARED / "labels.csv", SHARED / "labels_extra.csv"]
CORPORA = ("ravdess", "emodb", "emotiontts_ko", "nemo", "ased")
SUMMARY = ("loudness", "pitch", "brightness", "rate")
RATE = 16000
HOP = 320  # 20 ms, as pitch_track's frames
FRAME = 640


def functionals(audio: np.ndarray) -> np.ndarray:
    """20 prosody functionals of one clip; the first four are `SUMMARY`."""
    pitch, strength, centroid = pitch_track(audio, RATE)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(audio, (0, FRAME)), FRAME)[::HOP]
    frames = frames[: len(pitch)]
    power = np.abs(np.fft.rfft(frames * np.hanning(FRAME), axis=1)) ** 2
    freqs = np.fft.rfftfreq(FRAME, 1 / RATE)
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
    rate = peaks.sum() / (active.sum() * HOP / RATE)
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
    out = np.zeros_like(values, dtype=np.float64)
    for s in np.unique(speakers):
        idx = speakers == s
        out[idx] = (values[idx] - values[idx].mean(0)) / (values[idx].std(0) + 1e-9)
    return out


def acted_prosody(items, feats: np.ndarray) -> dict:
    """Per corpus, per emotion: the mean speaker-z-scored `SUMMARY` prosody."""
    out: dict = {}
    for corpus in CORPORA:
        idx = np.array([i for i, it in enumerate(items) if it.dataset == corpus and it.label])
        if not len(idx):
            continue
        z = speaker_z(feats[idx, : len(SUMMARY)], np.array([items[i].speaker for i in idx]))
        labels = np.array([items[i].label for i in idx])
        out[corpus] = {
            label: dict(zip(SUMMARY, np.round(z[labels == label].mean(0), 2).tolist(), strict=True))
            for label in sorted(set(labels))
        }
    return out


def layer_features(items, layers: int) -> np.ndarray:
    """Pooled clip features from the first ``layers`` encoder layers (not cached)."""
    featurizer = Featurizer(encoder=WhisperEncoder(keep_layers=layers, threads=2))
    return np.stack([featurizer.clip(load_audio(it.path))[0] for it in items])


def loco(items, feature_sets: dict[str, tuple[np.ndarray, float]]) -> dict:
    """Per feature set (features, L2): UAR and arousal UAR of each held-out corpus."""
    datasets = np.array([it.dataset for it in items])
    folds = np.full(len(items), -1)
    for k, corpus in enumerate(CORPORA):
        folds[datasets == corpus] = k
    out = {}
    for name, (feats, l2) in feature_sets.items():
        report, _ = cross_validate(feats, items, folds=folds, l2=l2)
        out[name] = {
            c: {
                "uar": report["datasets"][c]["uar"],
                "arousal_uar": report["datasets"][c]["arousal_uar"],
            }
            for c in CORPORA
        }
        print(f"  {name}: done", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=Path, action="append")
    parser.add_argument("--loco", action="store_true", help="also the held-out-corpus comparison")
    parser.add_argument("--layers", type=int, nargs="*", default=[], help="other encoder depths")
    parser.add_argument("--l2", type=float, nargs="*", default=[], help="other L2 strengths")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    items = read_many(args.labels or DEFAULT_LABELS)
    needed = [i for i, it in enumerate(items) if args.loco or it.dataset in CORPORA]
    print(f"prosody of {len(needed)} clips...", flush=True)
    prosody = np.zeros((len(items), 20), np.float32)
    for i in needed:
        prosody[i] = functionals(load_audio(items[i].path))
    prosody = np.nan_to_num(prosody)
    result: dict = {"acted": acted_prosody(items, prosody)}
    print("\nProsody per emotion, z-scored within each speaker (mean over clips)\n")
    print("| corpus | emotion | " + " | ".join(SUMMARY) + " |")
    print("|---|---|" + "---|" * len(SUMMARY))
    for corpus, table in result["acted"].items():
        for label, values in table.items():
            print(
                f"| {corpus} | {label} | " + " | ".join(f"{values[k]:+.2f}" for k in SUMMARY) + " |"
            )
    if args.loco:
        x = clip_features(items)
        sets = {
            f"layer {KEEP_LAYERS} (shipped)": (x, DEFAULT_L2),
            f"layer {KEEP_LAYERS} + prosody": (np.hstack([x, prosody]), DEFAULT_L2),
            "prosody alone": (prosody, DEFAULT_L2),
        }
        for layers in args.layers:
            other = layer_features(items, layers)
            sets[f"layer {layers}"] = (other, DEFAULT_L2)
            sets[f"layers {KEEP_LAYERS} + {layers}"] = (np.hstack([x, other]), DEFAULT_L2)
        for l2 in args.l2:
            sets[f"layer {KEEP_LAYERS}, L2 {l2:g}"] = (x, l2)
        result["loco"] = loco(items, sets)
        print("\nLeave one corpus out, clean clips: UAR % / arousal UAR %\n")
        print("| features | " + " | ".join(CORPORA) + " | mean UAR |")
        print("|---|" + "---|" * (len(CORPORA) + 1))
        for name, table in result["loco"].items():
            cells = [
                f"{100 * table[c]['uar']:.1f} / {100 * table[c]['arousal_uar']:.1f}"
                for c in CORPORA
            ]
            mean = 100 * np.mean([table[c]["uar"] for c in CORPORA])
            print(f"| {name} | " + " | ".join(cells) + f" | {mean:.1f} |")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
