"""Speaker turns on generated conversations (egvs.ser.speaker): purity, coverage, DER, speed.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/diarization.py [--data ../shared/data/ser]
        [--conversations 10] [--strides 2] [--thresholds 0.2,0.25,...]

1. Builds conversations of 60-120 s from 2-4 speakers of different corpora (RAVDESS, EmoDB,
   emotiontts Korean, NEMO, ASED, emotiontts open DB; every emotion the speaker recorded):
   alternating turns of 1-4 clips, 0.3-1.0 s pauses between clips, each clip trimmed to its sound
   and set to the same peak loudness. Truth per 0.5 s step: the speaker whose clip covers at least
   half of the step, else none.
2. Runs the pipeline's path: `iter_blocks` (25 s blocks), silero-vad voiced share per step (as in
   egvs.ser.features), `SpeakerEncoder.embed_steps`, `assign_speakers`.
3. Two disjoint halves: the TUNING conversations (seed 0, one half of the speakers) choose the
   distance threshold (lowest mean DER over ``--thresholds``); the TEST conversations (seed 1, the
   other speakers) report the chosen threshold (and ``DISTANCE_THRESHOLD``, the shipped default,
   when it differs).

Metrics on 0.5 s steps: purity (share of predicted-speaker time that belongs to that cluster's
main true speaker), coverage (share of true-speaker time in that speaker's main cluster), DER
(missed + false-alarm + confused steps over true voiced steps, with the optimal one-to-one
speaker mapping from `scipy.optimize.linear_sum_assignment`; missed and false alarm come from the
VAD against the clip boundaries, not from the speaker model), the speaker error alone ("spkerr":
confused steps over the steps voiced in both truth and VAD, same mapping),
speakers found vs true, and CPU-seconds (``time.process_time``) of ``embed_steps`` per minute of
audio and per minute of voiced audio.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from moments import trim_and_level  # the same clip levelling as the moments benchmark
from scipy.optimize import linear_sum_assignment

from egvs.features.audio_blocks import iter_blocks
from egvs.ser.audio import load_audio
from egvs.ser.speaker import DISTANCE_THRESHOLD, SpeakerEncoder, assign_speakers
from egvs.ser.vad import SileroVad

SR = 16000
STEP = 0.5
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ser"
# Two disjoint speaker pools, each across all six corpora (RAVDESS 17-20: the moments benchmark's
# held-out actors, in the test half).
TUNE_SPEAKERS = [
    "ravdess_13",
    "ravdess_14",
    "ravdess_15",
    "ravdess_16",
    "emodb_03",
    "emodb_08",
    "emodb_09",
    "emodb_10",
    "emotiontts_nea",
    "emotiontts_neb",
    "emotiontts_nec",
    "nemo_EB0",
    "nemo_IC0",
    "nemo_KD0",
    "ased_04",
    "ased_05",
    "emotiontts_ava",
    "emotiontts_avb",
]
TEST_SPEAKERS = [
    "ravdess_17",
    "ravdess_18",
    "ravdess_19",
    "ravdess_20",
    "emodb_11",
    "emodb_12",
    "emodb_13",
    "emodb_14",
    "emotiontts_nee",
    "emotiontts_nek",
    "emotiontts_nel",
    "nemo_KS0",
    "nemo_SM0",
    "nemo_WR0",
    "ased_10",
    "ased_13",
    "emotiontts_avc",
    "emotiontts_avd",
]
DEFAULT_THRESHOLDS = ",".join(f"{t:.3f}" for t in np.arange(0.3, 0.601, 0.025))


def read_clips(data: Path) -> dict[str, list[Path]]:
    """Speech clips per speaker from labels.csv and labels_extra.csv."""
    clips: dict[str, list[Path]] = {}
    for name in ("labels.csv", "labels_extra.csv"):
        path = data / name
        if not path.exists():
            continue
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                if row.get("kind") == "speech" and row["speaker"]:
                    clips.setdefault(row["speaker"], []).append(data / row["path"])
    return {k: sorted(v) for k, v in clips.items()}


@dataclass
class Conversation:
    name: str
    speakers: list[str]
    audio: np.ndarray
    truth: np.ndarray  # per step: speaker index, -1 for none


def build(
    index: int, pool: list[str], clips: dict[str, list[Path]], rng: np.random.Generator
) -> Conversation:
    n_spk = int(rng.integers(2, 5))
    speakers = [pool[i] for i in rng.choice(len(pool), size=n_spk, replace=False)]
    duration = rng.uniform(60, 120)
    order = {s: list(rng.permutation(len(clips[s]))) for s in speakers}
    used = dict.fromkeys(speakers, 0)
    parts: list[np.ndarray] = []
    owner: list[int] = []  # speaker index per part, -1 for a pause
    total, current = 0, -1
    while total < duration * SR:
        current = int(rng.choice([k for k in range(n_spk) if k != current]))
        spk = speakers[current]
        for _ in range(int(rng.integers(1, 5))):
            clip = clips[spk][order[spk][used[spk] % len(clips[spk])]]
            used[spk] += 1
            x = trim_and_level(load_audio(clip))
            pause = np.zeros(int(rng.uniform(0.3, 1.0) * SR), np.float32)
            parts += [x, pause]
            owner += [current, -1]
            total += len(x) + len(pause)
    audio = np.concatenate(parts)
    labels = np.concatenate(
        [np.full(len(p), o, dtype=np.int8) for p, o in zip(parts, owner, strict=True)]
    )
    n_steps = int(len(audio) / SR / STEP)
    per_step = labels[: n_steps * int(STEP * SR)].reshape(n_steps, -1)
    truth = np.full(n_steps, -1, dtype=int)
    for k in range(n_spk):
        truth[(per_step == k).mean(1) >= 0.5] = k
    present = [speakers[k] for k in range(n_spk) if k in owner]  # the last ones may not get a turn
    return Conversation(f"c{index:02d}", present, audio, truth)


def voiced_share(vad: SileroVad, samples: np.ndarray, n_steps: int, context: float) -> np.ndarray:
    """Per-step voiced share as egvs.ser.features: VAD averaged over the step's central second."""
    frame = 0.02
    probs = SileroVad.resample(vad(samples), int(len(samples) / SR / frame), frame)
    centres = np.round((context + (np.arange(n_steps) + 0.5) * STEP) / frame).astype(int)
    core = round(0.5 / frame)
    c0 = np.concatenate([[0.0], np.cumsum(probs)])
    lo, hi = np.clip(centres - core, 0, len(probs)), np.clip(centres + core, 0, len(probs))
    return (c0[hi] - c0[lo]) / np.maximum(hi - lo, 1)


def embed(conv: Conversation, encoder: SpeakerEncoder, vad: SileroVad):
    """(embeddings, voiced, embedding CPU-seconds) through the pipeline's blocks."""
    n_steps = len(conv.truth)
    chunks = (conv.audio[i : i + SR] for i in range(0, len(conv.audio), SR))
    embs, voiced, cpu = [], [], 0.0
    for block in iter_blocks(chunks, n_steps, STEP):
        v = voiced_share(vad, block.samples, block.n_steps, block.context)
        t0 = time.process_time()
        embs.append(encoder.embed_steps(block, v))
        cpu += time.process_time() - t0
        voiced.append(v)
    return np.concatenate(embs), np.concatenate(voiced), cpu


def score(truth: np.ndarray, pred: np.ndarray) -> dict:
    t_ids = np.unique(truth[truth >= 0])
    p_ids = np.unique(pred[pred >= 0])
    both = (truth >= 0) & (pred >= 0)
    overlap = np.array(
        [[np.sum(both & (truth == t) & (pred == p)) for p in p_ids] for t in t_ids]
    ).reshape(len(t_ids), len(p_ids))
    n_both = max(int(both.sum()), 1)
    purity = overlap.max(0).sum() / n_both if len(p_ids) else 0.0
    coverage = overlap.max(1).sum() / n_both if len(p_ids) else 0.0
    rows, cols = linear_sum_assignment(-overlap) if overlap.size else ([], [])
    matched = overlap[rows, cols].sum() if len(rows) else 0
    n_true = max(int((truth >= 0).sum()), 1)
    missed = int(np.sum((truth >= 0) & (pred < 0)))
    false_alarm = int(np.sum((truth < 0) & (pred >= 0)))
    confused = int(both.sum()) - int(matched)
    return {
        "purity": float(purity),
        "coverage": float(coverage),
        "der": (missed + false_alarm + confused) / n_true,
        "confusion": confused / n_both,
        "found": len(p_ids),
        "true": len(t_ids),
    }


def run_half(label, convs, results, threshold, encoder_name) -> dict:
    print(f"\n{label} (threshold {threshold:.3f}, {encoder_name})")
    print(
        f"{'conv':5} {'speakers':52} {'min':>5} {'purity':>7} {'cover':>6} {'DER':>6} "
        f"{'spkerr':>6} {'found':>5} {'CPU-s/min':>9} {'/voiced min':>11}"
    )
    rows = []
    for conv, (emb, voiced, cpu) in zip(convs, results, strict=True):
        m = score(conv.truth, assign_speakers(emb, voiced, STEP, threshold=threshold))
        minutes = len(conv.audio) / SR / 60
        voiced_min = np.sum(voiced >= 0.5) * STEP / 60
        m.update(cpu_min=cpu / minutes, cpu_voiced=cpu / max(voiced_min, 1e-9))
        rows.append(m)
        print(
            f"{conv.name:5} {' '.join(conv.speakers):52} {minutes:5.2f} {m['purity']:7.3f} "
            f"{m['coverage']:6.3f} {m['der']:6.3f} {m['confusion']:6.3f} "
            f"{m['found']:>2}/{m['true']:<2} {m['cpu_min']:9.3f} {m['cpu_voiced']:11.3f}"
        )
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    exact = np.mean([r["found"] == r["true"] for r in rows])
    print(
        f"{'mean':5} {'':52} {'':5} {mean['purity']:7.3f} {mean['coverage']:6.3f} "
        f"{mean['der']:6.3f} {mean['confusion']:6.3f} {exact:5.0%} "
        f"{mean['cpu_min']:9.3f} {mean['cpu_voiced']:11.3f}"
    )
    print("(found column of the mean row: share of conversations with the exact speaker count)")
    return mean


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--conversations", type=int, default=10, help="per half")
    ap.add_argument("--strides", default="2", help="SpeakerEncoder strides to compare, e.g. 1,2,3")
    ap.add_argument("--thresholds", default=DEFAULT_THRESHOLDS)
    args = ap.parse_args()
    if os.environ.get("OMP_NUM_THREADS") != "1":
        print("note: set OMP_NUM_THREADS=1 for single-thread CPU figures")
    clips = read_clips(args.data)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    halves = {}
    for name, pool, seed in (("tune", TUNE_SPEAKERS, 0), ("test", TEST_SPEAKERS, 1)):
        pool = [s for s in pool if s in clips]
        rng = np.random.default_rng(seed)
        halves[name] = [build(i, pool, clips, rng) for i in range(args.conversations)]
    total = sum(len(c.audio) for h in halves.values() for c in h) / SR / 60
    print(f"{2 * args.conversations} conversations, {total:.1f} min of audio; data {args.data}")
    vad = SileroVad()
    for stride in (int(s) for s in args.strides.split(",")):
        encoder = SpeakerEncoder(stride=stride)
        name = f"stride {stride}"
        results = {h: [embed(c, encoder, vad) for c in convs] for h, convs in halves.items()}
        print(f"\n=== {name}: threshold sweep on the TUNING half (seed 0, tuning speakers) ===")
        print(
            f"{'threshold':>9} {'purity':>7} {'cover':>6} {'DER':>6} {'spkerr':>6} {'exact n':>7}"
        )
        best, best_der = thresholds[0], np.inf
        for th in thresholds:
            ms = [
                score(c.truth, assign_speakers(e, v, STEP, threshold=th))
                for c, (e, v, _) in zip(halves["tune"], results["tune"], strict=True)
            ]
            mean = {
                k: np.mean([m[k] for m in ms]) for k in ("purity", "coverage", "der", "confusion")
            }
            exact = np.mean([m["found"] == m["true"] for m in ms])
            print(
                f"{th:9.3f} {mean['purity']:7.3f} {mean['coverage']:6.3f} {mean['der']:6.3f} "
                f"{mean['confusion']:6.3f} {exact:7.0%}"
            )
            if mean["der"] < best_der - 1e-9:
                best, best_der = th, mean["der"]
        print(f"chosen on the tuning half: threshold {best:.3f} (mean DER {best_der:.3f})")
        run_half(
            "TUNING half (seed 0; the threshold was chosen here)",
            halves["tune"],
            results["tune"],
            best,
            name,
        )
        run_half(
            "TEST half (seed 1, other speakers; threshold from the tuning half)",
            halves["test"],
            results["test"],
            best,
            name,
        )
        if abs(best - DISTANCE_THRESHOLD) > 1e-9:
            run_half(
                "TEST half with the shipped DISTANCE_THRESHOLD",
                halves["test"],
                results["test"],
                DISTANCE_THRESHOLD,
                name,
            )


if __name__ == "__main__":
    main()
