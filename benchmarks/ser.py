"""Speech-emotion benchmark: held-out speakers and held-out corpora, and the CPU cost of the stage.

    .venv/bin/python benchmarks/ser.py [--labels labels.csv --labels labels_extra.csv] [--out ser.json]
                                       [--speed-only | --no-speed]

Tables (every figure on speakers, or whole corpora, the scoring model never saw; features cached
by `egvs.ser_training.train`, trained exactly as ``egvs ser train`` trains the shipped head: clean clips,
clips in context and one augmented copy each):
  * all corpora: one head on every corpus, speaker-grouped folds (8): per corpus accuracy, UAR,
    arousal and valence UAR, vocalization recall, false vocalizations/voices on non-voice
    sounds, calibration error;
  * leave one corpus out: for every corpus with emotion or valence labels, a head trained on all
    the other corpora, tested on that one (the figure that predicts unlabelled videos).
Speed: CPU seconds (user + sys, all threads) per minute of audio for the whole voice stage (VAD,
log-mel, encoder, pooling, speaker embeddings and turns, head), streamed in the pipeline's 25 s
blocks over a 3-minute signal built from corpus clips, once the engines are warm and with the
pass's heap settings (`egvs.pipeline.keep_large_buffers`); model loading
and the first block's extra cost (the engines' first calls) are reported separately.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from egvs.features.audio_blocks import iter_blocks
from egvs.pipeline import keep_large_buffers
from egvs.ser import default_model
from egvs.ser.audio import load_audio
from egvs.ser.classes import VALENCE_CLASSES
from egvs.ser.head import softmax
from egvs.ser_training import train as train_module
from egvs.ser_training.evaluate import report
from egvs.ser_training.labels import Item, read_many
from egvs.ser_training.train import (
    DEFAULT_HIDDEN,
    augmented_features,
    clip_features,
    content_targets,
    context_features,
    cross_validate,
)
from egvs.timeline import TimeGrid, Timeline

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "ser"
DEFAULT_LABELS = [SHARED / "labels.csv", SHARED / "labels_extra.csv"]
# Corpora with emotion (or valence) labels: each is held out in turn.
HELD_OUT_CORPORA = ("ravdess", "emodb", "emotiontts_ko", "nemo", "ased", "deeply_korean_read")


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def accuracy_tables(
    labels: list[Path], hidden: int = DEFAULT_HIDDEN, seed: int = 0, leave_out: Sequence[str] = ()
) -> dict:
    items = [it for it in read_many(labels) if it.dataset not in leave_out]
    x = clip_features(items)
    xc = context_features(items)
    xa = augmented_features(items)
    datasets = np.array([it.dataset for it in items])
    all_corpora, oof = cross_validate(
        x, items, seed=seed, x_context=xc, x_augmented=xa, hidden=hidden
    )
    folds = np.full(len(items), -1)
    for k, corpus in enumerate(HELD_OUT_CORPORA):
        folds[datasets == corpus] = k
    present = [c for c in HELD_OUT_CORPORA if c in set(datasets)]
    loco, _ = cross_validate(
        x, items, seed=seed, x_context=xc, x_augmented=xa, folds=folds, hidden=hidden
    )
    chance = {}
    for corpus in present:
        sub = [it for it in items if it.dataset == corpus]
        n_classes = len({it.label for it in sub if it.label})
        n_valence = len({it.valence for it in sub if it.valence})
        chance[corpus] = {
            "uar": 1 / n_classes if n_classes > 1 else None,
            "valence_uar": 1 / n_valence if n_valence > 1 else None,
        }
    return {
        "all_corpora": all_corpora,
        "same_sentences": same_sentence_uar(items, oof["emotion"], all_corpora["datasets"]),
        "leave_one_corpus_out": loco["datasets"],
        "chance": chance,
        "valence_classes": VALENCE_CLASSES,
    }


def same_sentence_uar(
    items: Sequence[Item], logits: np.ndarray, everything: dict[str, dict]
) -> dict[str, dict]:
    """Per corpus whose clips name their sentence: held-out speakers' emotion UAR (%) on the
    clips whose sentence is read in several emotions, where the words cannot tell the emotion,
    beside all its clips (``everything``: the main table's per-corpus report of the same
    out-of-fold ``logits``; ASED's own scripts per emotion, for one, can tell). Scored as the
    main table is (`egvs.ser_training.evaluate.report`: each corpus's own classes, two or more)."""
    rows, _, _ = content_targets(items)
    shared = report([items[i] for i in rows], softmax(logits[rows]))["datasets"]
    return {
        corpus: {
            "uar_same_sentences": round(100 * m["uar"], 1),
            "uar_all": round(100 * everything[corpus]["uar"], 1),
            "clips_same_sentences": m["n"],
            "clips": everything[corpus]["n"],
        }
        for corpus, m in shared.items()
        if m["uar"] == m["uar"]  # NaN: a corpus of one class there (no class task)
    }


def speed(labels: Path, minutes: float = 3.0) -> dict:
    """CPU s per audio minute of the emotion stage on a ~3 min signal of corpus clips and pauses."""
    items = read_many([labels])
    rng = np.random.default_rng(0)
    parts, total = [], 0
    for i in rng.permutation(len(items)):
        clip = load_audio(items[i].path)
        parts += [clip, np.zeros(int(rng.uniform(0.3, 1.5) * 16000), np.float32)]
        total += len(clip) + len(parts[-1])
        if total >= minutes * 60 * 16000:
            break
    audio = np.concatenate(parts)
    keep_large_buffers()  # as the pipeline's pass runs the stage
    t0, c0 = time.perf_counter(), cpu_seconds()
    model = default_model()
    _ = model.featurizer  # load the encoder now: loading is counted apart
    load = {"wall_s": time.perf_counter() - t0, "cpu_s": cpu_seconds() - c0}
    grid = TimeGrid.for_duration(len(audio) / 16000)
    blocks = list(iter_blocks([audio], grid.n_steps, grid.step))
    # A run's first block also pays once for the engines' first calls (their buffers, lazy
    # set-up): counted apart, as loading is, on an extractor of its own.
    c0 = cpu_seconds()
    model.extractor().extract(blocks[0])
    first_call = cpu_seconds() - c0
    extractor = model.extractor()
    t0, c0 = time.perf_counter(), cpu_seconds()
    feats: dict[str, list] = {}
    for block in blocks:
        for k, v in extractor.extract(block).items():
            feats.setdefault(k, []).append(v)
    model.predict({k: np.concatenate(v) for k, v in feats.items()}, Timeline(grid))
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    audio_min = len(audio) / 16000 / 60
    return {
        "audio_minutes": round(audio_min, 3),
        "cpu_s_per_audio_min": round(cpu / audio_min, 3),
        "wall_s_per_audio_min": round(wall / audio_min, 3),
        "load": {k: round(v, 2) for k, v in load.items()},
        # the first block's CPU beyond a warm one's
        "first_call_cpu_s": round(first_call - cpu / len(blocks), 2),
        "threads": os.cpu_count(),
    }


def _pct(m: dict, key: str) -> str:
    v = m.get(key)
    return "-" if v is None or v != v else f"{100 * v:.1f}"


def _ece(m: dict, key: str) -> str:
    v = m.get(key)
    return "-" if v is None or v != v else f"{v:.3f}"


def markdown(result: dict) -> str:
    lines = []
    if "all_corpora" in result:
        lines += [
            "All corpora, speaker-grouped folds (8):",
            "| corpus | n | accuracy % | UAR % | arousal UAR % | valence UAR % | vocal recall % "
            "| false vocal % | false voice % | ECE |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        all_c = result["all_corpora"]
        for name, m in [*all_c["datasets"].items(), ("overall", all_c["overall"])]:
            ece = _ece(m, "ece")
            lines.append(
                f"| {name} | {m['n']} | {_pct(m, 'accuracy')} | {_pct(m, 'uar')} "
                f"| {_pct(m, 'arousal_uar')} | {_pct(m, 'valence_uar')} "
                f"| {_pct(m, 'vocalization_recall_open')} | {_pct(m, 'false_vocalization_rate')} "
                f"| {_pct(m, 'false_voice_rate')} | {ece} |"
            )
        lines += [
            "",
            "The same held-out speakers on sentences read in several emotions (the words cannot "
            "tell the emotion):",
            "| corpus | emotion UAR %, those sentences | all clips | clips: those / all |",
            "|---|---|---|---|",
            *(
                f"| {name} | {m['uar_same_sentences']} | {m['uar_all']} "
                f"| {m['clips_same_sentences']} / {m['clips']} |"
                for name, m in result.get("same_sentences", {}).items()
            ),
            "",
            "Leave one corpus out (trained on all other corpora):",
            "| held-out corpus | n | UAR % | chance % | arousal UAR % | arousal AUC | arousal ECE "
            "| valence UAR % | chance % |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        uars = []
        for name, m in result["leave_one_corpus_out"].items():
            ch = result["chance"][name]
            if m.get("uar") == m.get("uar") and m.get("uar") is not None:
                uars.append(m["uar"])
            lines.append(
                f"| {name} | {m['n']} | {_pct(m, 'uar')} | {_pct(ch, 'uar')} "
                f"| {_pct(m, 'arousal_uar')} | {_ece(m, 'arousal_auc')} | {_ece(m, 'arousal_ece')} "
                f"| {_pct(m, 'valence_uar')} | {_pct(ch, 'valence_uar')} |"
            )
        lines.append(
            f"| mean UAR over the emotion corpora | | {100 * np.mean(uars):.1f} | | | | | | |"
        )
    if "speed" in result:
        s = result["speed"]
        lines += [
            "",
            f"Speed: {s['cpu_s_per_audio_min']} CPU-s per audio minute ({s['wall_s_per_audio_min']} s wall) "
            f"over {s['audio_minutes']} min on {s['threads']} cores; model load {s['load']['cpu_s']} CPU-s, "
            f"and {s['first_call_cpu_s']} CPU-s more for a run's first block.",
        ]
    return "\n".join(lines)


def named_factors(specs: Sequence[str]) -> dict[str, float]:
    """``NAME=W`` options as a mapping."""
    return {name: float(weight) for name, _, weight in (s.partition("=") for s in specs)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--labels", type=Path, action="append", help="labels CSV (repeatable; default: both shared)"
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    parser.add_argument(
        "--hidden",
        type=int,
        default=DEFAULT_HIDDEN,
        help="the head's hidden layer (0 = linear head)",
    )
    parser.add_argument("--seed", type=int, default=0, help="fold and initialisation seed")
    parser.add_argument(
        "--corpus-weight-power",
        type=float,
        default=train_module.CORPUS_WEIGHT_POWER,
        help="a corpus of n clips weighs n ** (1 - this) (0.5 shipped; 1: every corpus the same)",
    )
    parser.add_argument(
        "--corpus-weight",
        action="append",
        default=[],
        metavar="CORPUS=W",
        help="a corpus's factor on its weight (repeatable; shipped: "
        + ", ".join(f"{c}={w:g}" for c, w in train_module.CORPUS_WEIGHTS.items())
        + "), e.g. emotiontts_open_db=1",
    )
    parser.add_argument(
        "--leave-out",
        action="append",
        default=[],
        metavar="CORPUS",
        help="train and test without this corpus (repeatable), e.g. emotiontts_open_db",
    )
    parser.add_argument(
        "--equal-baselines",
        action="store_true",
        help="judge each speaker against all their clips equally (shipped: calm clips weigh 90%%)",
    )
    parser.add_argument(
        "--normalise-within",
        choices=("speaker", "corpus"),
        default="speaker",
        help="z-score each voice within its speaker (shipped) or its corpus",
    )
    parser.add_argument(
        "--class-weight",
        action="append",
        default=[],
        metavar="CLASS=W",
        help="weigh a class's clips W times in the emotion task, e.g. laughing=3",
    )
    train_module.add_recipe_options(parser)
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    labels = args.labels or DEFAULT_LABELS
    train_module.CORPUS_WEIGHT_POWER = args.corpus_weight_power
    if args.equal_baselines:
        train_module.CALM_LABELS = ()
    train_module.NORMALISE_WITHIN = args.normalise_within
    train_module.CLASS_WEIGHTS.update(named_factors(args.class_weight))
    train_module.CORPUS_WEIGHTS.update(named_factors(args.corpus_weight))
    train_module.set_recipe(args)
    result: dict = (
        {} if args.speed_only else accuracy_tables(labels, args.hidden, args.seed, args.leave_out)
    )
    if not args.no_speed:
        result["speed"] = speed(labels[0])
    print(markdown(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
