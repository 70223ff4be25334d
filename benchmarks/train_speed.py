"""Training speed on a TVSum-sized dataset (issue 5 target: 5 folds x 50 epochs in under 10 min on
2 CPU cores).

    .venv/bin/python benchmarks/train_speed.py [--videos 50] [--epochs 50] [--folds 5] [--threads 2]

`--threads 1` is what `egvs train` uses by default; on cores shared with other processes two torch
threads are several times slower (see docs/training.md).

Generates a synthetic eccv16-layout file of TVSum's size (50 videos of 250-350 steps of 0.5 s, every
pipeline source: visual 1280 + motion 6 + audio 6 + events 521 + emotion 14 = 1827 dimensions),
then times what ``egvs train`` does per fold (training with per-epoch validation, then the test
evaluation with the shared evaluation code) and, separately, the random/human baselines. On a
shared machine other processes slow the wall time down, so the process CPU time is printed too,
with the load average at start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from egvs.datasets.splits import kfold_splits
from egvs.models.data import video_keys
from egvs.models.experiment import Architecture, baselines_per_fold, cross_validate
from egvs.models.synthetic import EMOTION_DIM, write_synthetic_h5
from egvs.models.training import TrainSettings
from egvs.progress import set_verbosity

DIMS = {"visual": 1280, "motion": 6, "audio": 6, "events": 521, "emotion": EMOTION_DIM}
TARGET_SECONDS = 600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=50)
    parser.add_argument("--min-steps", type=int, default=250)
    parser.add_argument("--max-steps", type=int, default=350)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args()
    set_verbosity(-1 if args.quiet else 0)
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        h5 = Path(tmp) / "tvsum_sized.h5"
        start = time.perf_counter()
        write_synthetic_h5(h5, args.videos, (args.min_steps, args.max_steps), DIMS, n_users=20)
        generate = time.perf_counter() - start
        splits = kfold_splits(video_keys(h5), args.folds, seed=0)
        start, cpu_start = time.perf_counter(), time.process_time()
        run = cross_validate(
            h5, list(DIMS), splits, TrainSettings(epochs=args.epochs), Architecture()
        )
        train, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        start = time.perf_counter()
        baselines_per_fold(h5, splits, jobs=args.threads)
        baseline = time.perf_counter() - start
    load_end = os.getloadavg()
    figures = {
        "videos": args.videos,
        "steps": [args.min_steps, args.max_steps],
        "dims": sum(DIMS.values()),
        "folds": args.folds,
        "epochs": args.epochs,
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "generate_s": round(generate, 1),
        "cross_validation_s": round(train, 1),
        "cross_validation_cpu_s": round(cpu, 1),
        "fold_s": [f["seconds"] for f in run["folds"]],
        "baselines_s": round(baseline, 1),
        "target_s": TARGET_SECONDS,
        "meets_target": train < TARGET_SECONDS,
        "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in load_end],
        "mean_f1": round(run["summary"]["f1"]["mean"], 4),
        "mean_tau": round(run["summary"]["tau"]["mean"], 4),
    }
    print(
        f"{args.folds} folds x {args.epochs} epochs, {args.videos} videos x {args.min_steps}-"
        f"{args.max_steps} steps x {figures['dims']} dims, {args.threads} torch threads: "
        f"{train:.0f} s (target < {TARGET_SECONDS:.0f} s: {'met' if figures['meets_target'] else 'NOT met'})"
    )
    print(f"CPU time of the cross-validation: {cpu:.0f} s (all threads of this process)")
    print(
        f"per fold: {figures['fold_s']} s; random/human baselines: {baseline:.0f} s; data: {generate:.0f} s"
    )
    print(
        f"load average at start {figures['loadavg_start']}, at end {figures['loadavg_end']} ({os.cpu_count()} CPUs)"
    )
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
