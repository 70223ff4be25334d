"""Speech-emotion benchmark: speaker-grouped accuracy/UAR tables and CPU cost of the emotion stage.

    .venv/bin/python benchmarks/ser.py [--labels ../shared/data/ser/labels.csv] [--out ser.json] [--speed-only]

Tables (all on speakers the scoring model never saw; features cached by `egvs.ser.train`):
  * per corpus: a head trained on that corpus alone, speaker-grouped folds (LOSO for <= 8 speakers);
  * all corpora: the shipped configuration (one head on every corpus), speaker-grouped folds;
  * cross-corpus: a head trained on all other corpora, tested on the held-out corpus.
Speed: CPU seconds (user + sys, all threads) per minute of audio for the whole emotion stage
(VAD, log-mel, encoder, pooling, head), streamed in the pipeline's 25 s blocks over a 3-minute
signal built from corpus clips; model loading is reported separately.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import numpy as np

from egvs.features.audio_blocks import iter_blocks
from egvs.ser import default_model
from egvs.ser.audio import load_audio
from egvs.ser.evaluate import report
from egvs.ser.labels import read_labels
from egvs.ser.train import clip_features, context_features, cross_validate, fit_head, head_probs
from egvs.timeline import TimeGrid, Timeline

DEFAULT_LABELS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ser" / "labels.csv"


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def accuracy_tables(labels: Path) -> dict:
    items = read_labels(labels)
    x = clip_features(items)
    xc = context_features(items)
    datasets = sorted({it.dataset for it in items})
    out: dict = {"per_corpus": {}, "all_corpora": None, "cross_corpus": {}}
    for d in datasets:
        idx = [i for i, it in enumerate(items) if it.dataset == d]
        sub = [items[i] for i in idx]
        n_spk = len({it.speaker for it in sub})
        out["per_corpus"][d] = cross_validate(
            x[idx], sub, n_folds=min(n_spk, 8), x_context=xc[idx]
        )["datasets"][d]
    out["all_corpora"] = cross_validate(x, items, x_context=xc)
    for d in datasets:
        train = [i for i, it in enumerate(items) if it.dataset != d]
        test = [i for i, it in enumerate(items) if it.dataset == d]
        head = fit_head(x[train], [items[i] for i in train], x_context=xc[train])
        probs = head_probs(head, x[test], [items[i].speaker for i in test])
        out["cross_corpus"][d] = report([items[i].label for i in test], [d] * len(test), probs)[
            "datasets"
        ][d]
    return out


def speed(labels: Path, minutes: float = 3.0) -> dict:
    """CPU s per audio minute of the emotion stage on a ~3 min signal of corpus clips and pauses."""
    items = read_labels(labels)
    rng = np.random.default_rng(0)
    parts, total = [], 0
    for i in rng.permutation(len(items)):
        clip = load_audio(items[i].path)
        parts += [clip, np.zeros(int(rng.uniform(0.3, 1.5) * 16000), np.float32)]
        total += len(clip) + len(parts[-1])
        if total >= minutes * 60 * 16000:
            break
    audio = np.concatenate(parts)
    t0, c0 = time.perf_counter(), cpu_seconds()
    model = default_model()
    extractor = model.extractor()
    _ = model.featurizer  # load the encoder now: loading is counted apart
    load = {"wall_s": time.perf_counter() - t0, "cpu_s": cpu_seconds() - c0}
    grid = TimeGrid.for_duration(len(audio) / 16000)
    t0, c0 = time.perf_counter(), cpu_seconds()
    feats: dict[str, list] = {}
    for block in iter_blocks([audio], grid.n_steps, grid.step):
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
        "threads": os.cpu_count(),
    }


def _row(name: str, m: dict) -> str:
    def pct(key: str) -> str:
        v = m.get(key)
        return "-" if v is None else f"{100 * v:.1f}"

    return f"| {name} | {m['n']} | {pct('accuracy')} | {pct('uar')} | {pct('arousal_uar')} | {pct('vocalization_recall')} |"


def markdown(result: dict) -> str:
    head = "| corpus | n | accuracy % | UAR % | arousal UAR % | vocal recall % |\n|---|---|---|---|---|---|"
    lines = []
    if "per_corpus" in result:
        lines += ["Per corpus (trained on that corpus only, speaker-grouped folds):", head]
        lines += [_row(d, m) for d, m in result["per_corpus"].items()]
        all_c = result["all_corpora"]
        lines += [
            "",
            "All corpora together (the shipped configuration), speaker-grouped folds:",
            head,
        ]
        lines += [_row(d, m) for d, m in all_c["datasets"].items()] + [
            _row("overall", all_c["overall"])
        ]
        lines += ["", "Cross-corpus (trained on the other corpora, tested on this one):", head]
        lines += [_row(d, m) for d, m in result["cross_corpus"].items()]
    if "speed" in result:
        s = result["speed"]
        lines += [
            "",
            f"Speed: {s['cpu_s_per_audio_min']} CPU-s per audio minute ({s['wall_s_per_audio_min']} s wall) "
            f"over {s['audio_minutes']} min on {s['threads']} cores; model load {s['load']['cpu_s']} CPU-s.",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    result: dict = {} if args.speed_only else accuracy_tables(args.labels)
    if not args.no_speed:
        result["speed"] = speed(args.labels)
    print(markdown(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
