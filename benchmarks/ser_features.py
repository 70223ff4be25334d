"""Which features carry speech emotion to corpora never heard: prosody, Whisper layers, L2.

    .venv/bin/python benchmarks/ser_features.py [--labels labels.csv --labels labels_extra.csv]
                                                [--loco] [--layers 2 6] [--l2 0.001 0.1]
                                                [--vocal-fusion] [--out features.json]

Table 1, the data check (`egvs.ser_training.data_check`): per corpus and emotion, the mean of
each clip's prosody z-scored within its speaker (loudness: 90th percentile of active 20 ms frames
in dB; pitch: median F0 of voiced frames; brightness: median spectral centroid; rate: loudness
peaks per active second). A corpus whose "angry" sits below its "sad" on at least two of
loudness, pitch and brightness is FLAGGED: its angry and sad labels may be swapped (as
emotiontts_ko's were until 4 December 2026), or it acts anger cold and sadness aroused; either
way an acoustic arousal model trained elsewhere hears it the other way round. Exit status 0
either way; the flags are printed and in ``--out``'s ``flagged``.

With --loco, table 2: leave-one-corpus-out UAR and arousal UAR of the linear head on clean clips
(`egvs.ser_training.train.cross_validate` with one fold per corpus): the shipped features (Whisper-base
encoder layer 3, pooled), those with 20 prosody functionals added (loudness, F0, voicing,
brightness, spectral tilt, rate; z-scored per speaker like the Whisper features), the prosody
alone, the output of other encoder layers (``--layers``: features computed here, ~8 min each for
the 14k clips) alone and beside layer 3, and other L2 strengths (``--l2``). Clean clips only
(no in-context or augmented views), so the layer-3 row is below the full training's figure.

With --vocal-fusion, table 3: does YAMNet's own laughter/crying/screaming evidence (its clip
maximum over 0.96 s patches at a 0.48 s hop) add to the head's vocalization recall on held-out
speakers (the shipped training's speaker-grouped out-of-fold predictions, ~25 min), and at what
cost in false vocalizations on non-voice and other nonverbal sounds? Fused: each vocalization's
probability is the larger of the head's and YAMNet's (as the importance score's event term
does), the classes renormalised, the top class decides.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from ser import DEFAULT_LABELS

from egvs.ser.audio import load_audio
from egvs.ser.backbone import KEEP_LAYERS, WhisperEncoder
from egvs.ser.classes import CLASSES, VOCALIZATIONS
from egvs.ser.features import Featurizer
from egvs.ser.head import softmax
from egvs.ser_training.data_check import (
    SUMMARY,
    acted_prosody,
    arousal_swaps,
    calm_above_anger,
    functionals,
)
from egvs.ser_training.labels import read_many
from egvs.ser_training.train import (
    DEFAULT_L2,
    augmented_features,
    clip_features,
    context_features,
    cross_validate,
)

CORPORA = ("ravdess", "emodb", "emotiontts_ko", "nemo", "ased")


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


# YAMNet's event for each vocalization class of the head
YAMNET_EVENT = {"laughing": "laughter", "crying": "crying", "screaming": "screaming"}


def yamnet_vocal(items, rows: np.ndarray) -> np.ndarray:
    """(n, 3) YAMNet's clip maximum of each `VOCALIZATIONS` event, for ``rows`` (others 0)."""
    from egvs.features.audio_events import _PATCH, YamnetTagger, event_columns, log_mel

    tagger, columns = YamnetTagger(), event_columns()
    out = np.zeros((len(items), len(VOCALIZATIONS)), np.float32)
    for i in rows:
        mel = log_mel(load_audio(items[i].path))
        if len(mel) < _PATCH:
            mel = np.pad(mel, ((0, _PATCH - len(mel)), (0, 0)), constant_values=mel.min())
        patches = np.stack([mel[s : s + _PATCH] for s in range(0, len(mel) - _PATCH + 1, 48)])
        probs = tagger.predict(patches[:, None])
        for k, vocal in enumerate(VOCALIZATIONS):
            out[i, k] = probs[:, columns[YAMNET_EVENT[vocal]]].max()
    return out


def vocal_fusion(items) -> dict:
    labels = np.array([it.label for it in items])
    datasets = np.array([it.dataset for it in items])
    rows = np.flatnonzero(np.isin(labels, [*VOCALIZATIONS, "other"]))
    _, oof = cross_validate(
        clip_features(items),
        items,
        x_context=context_features(items),
        x_augmented=augmented_features(items),
    )
    head = softmax(oof["emotion"])
    yamnet = yamnet_vocal(items, rows)
    columns = [CLASSES.index(v) for v in VOCALIZATIONS]
    fused = head.copy()
    fused[:, columns] = np.maximum(head[:, columns], yamnet)
    fused /= fused.sum(1, keepdims=True)
    vocal = np.isin(labels, VOCALIZATIONS)
    other = labels == "other"
    out = {}
    for name, probs in (("head", head), ("max(head, YAMNet)", fused)):
        top = np.array(CLASSES)[probs.argmax(1)]
        out[name] = {
            str(d): float(np.mean(top[vocal & (datasets == d)] == labels[vocal & (datasets == d)]))
            for d in sorted(set(datasets[vocal]))
        }
        out[name]["false_vocalization_rate"] = float(
            np.mean(probs[other][:, columns].sum(1) >= 0.5)
        )
    out["yamnet_laughter_median_on_laughs"] = {
        str(d): float(np.median(yamnet[(labels == "laughing") & (datasets == d), 0]))
        for d in sorted(set(datasets[labels == "laughing"]))
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=Path, action="append")
    parser.add_argument("--loco", action="store_true", help="also the held-out-corpus comparison")
    parser.add_argument("--layers", type=int, nargs="*", default=[], help="other encoder depths")
    parser.add_argument("--l2", type=float, nargs="*", default=[], help="other L2 strengths")
    parser.add_argument(
        "--vocal-fusion", action="store_true", help="YAMNet's evidence beside the head's"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    items = read_many(args.labels or DEFAULT_LABELS)
    needed = [i for i, it in enumerate(items) if args.loco or it.dataset in CORPORA]
    print(f"prosody of {len(needed)} clips...", flush=True)
    prosody = np.zeros((len(items), 20), np.float32)
    for i in needed:
        prosody[i] = functionals(load_audio(items[i].path))
    prosody = np.nan_to_num(prosody)
    acted = [i for i in needed if items[i].dataset in CORPORA]
    result: dict = {"acted": acted_prosody([items[i] for i in acted], prosody[acted])}
    result["flagged"] = flagged = arousal_swaps(result["acted"])
    print("\nProsody per emotion, z-scored within each speaker (mean over clips)\n")
    print("| corpus | emotion | " + " | ".join(SUMMARY) + " |")
    print("|---|---|" + "---|" * len(SUMMARY))
    for corpus, table in result["acted"].items():
        for label, values in table.items():
            print(
                f"| {corpus} | {label} | " + " | ".join(f"{values[k]:+.2f}" for k in SUMMARY) + " |"
            )
    print()
    for corpus in result["acted"]:
        if corpus in flagged:
            print(f"FLAGGED {corpus}: angry below sad on {', '.join(flagged[corpus])}")
        elif {"angry", "sad"} <= result["acted"][corpus].keys():
            print(f"ok {corpus}: angry above sad on at least two of loudness, pitch, brightness")
    result["calm_above_anger"] = speakers = calm_above_anger(
        [items[i] for i in acted], prosody[acted, : len(SUMMARY)]
    )
    print("\nSpeakers whose angry clips sit below their own neutral/calm ones on two or more cues:")
    for corpus in result["acted"]:
        named = speakers.get(corpus, {})
        own = [items[i] for i in acted if items[i].dataset == corpus]
        calm = {it.speaker for it in own if it.label in ("neutral", "calm")}
        total = len(calm & {it.speaker for it in own if it.label == "angry"})
        cells = [f"{s} ({', '.join(cues)})" for s, cues in named.items()]
        print(
            f"  {corpus}: {len(named)} of {total} speakers with calm and angry clips"
            + (": " if cells else "")
            + "; ".join(cells)
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
    if args.vocal_fusion:
        result["vocal_fusion"] = fusion = vocal_fusion(items)
        print("\nVocalization recall on held-out speakers (top class of all 13), false vocal %\n")
        corpora = [k for k in fusion["head"] if k != "false_vocalization_rate"]
        print("| | " + " | ".join(corpora) + " | false vocalizations |")
        print("|---|" + "---|" * (len(corpora) + 1))
        for name in ("head", "max(head, YAMNet)"):
            cells = [f"{100 * fusion[name][c]:.1f}" for c in corpora]
            false = 100 * fusion[name]["false_vocalization_rate"]
            print(f"| {name} | " + " | ".join(cells) + f" | {false:.2f} |")
        print("YAMNet laughter, median on laughs:", fusion["yamnet_laughter_median_on_laughs"])
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
