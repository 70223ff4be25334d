"""`egvs train` and `egvs compare`: cross-validated training of the multi-source model.

Torch is imported only when one of these commands runs, never by the rest of the CLI.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from egvs.atomic import write_text
from egvs.cli import options
from egvs.cli.options import positive_int
from egvs.errors import EgvsError, InputError, SetupError


def _experiment():
    """The training code, or a clear message when the ``train`` extra is not installed."""
    try:
        import torch
    except ImportError:
        raise SetupError(
            "training needs PyTorch: pip install 'egvs[train]' (the CPU build torch==2.13.0)"
        ) from None
    from egvs.models import experiment

    return torch, experiment


def _setup(args: argparse.Namespace):
    """Threads, folds, settings and architecture shared by both commands."""
    torch, experiment = _experiment()
    from egvs.datasets.splits import kfold_splits, load_splits
    from egvs.models.data import video_keys
    from egvs.models.training import TrainSettings

    torch.set_num_threads(args.threads)
    if not args.data.is_file():
        raise InputError(f"dataset not found: {args.data} (make one with 'egvs data build')")
    keys = video_keys(args.data)
    if args.splits is not None:
        splits = load_splits(args.splits)
        unknown = sorted({k for s in splits for k in s["train_keys"] + s["test_keys"]} - set(keys))
        if unknown:
            raise InputError(
                f"{args.splits} names videos not in {args.data}: {', '.join(unknown[:5])}"
            )
    elif not 2 <= args.folds <= len(keys):
        raise EgvsError(
            f"--folds must be in [2, {len(keys)}] for the {len(keys)} videos of {args.data}"
        )
    else:
        splits = kfold_splits(keys, args.folds, args.seed)
    if args.hidden % args.heads:
        raise EgvsError(f"--hidden ({args.hidden}) must be a multiple of --heads ({args.heads})")
    if not 0 <= args.val_fraction < 1:
        raise EgvsError(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
    settings = TrainSettings(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        val_fraction=args.val_fraction,
        seed=args.seed,
    )
    arch = experiment.Architecture(args.hidden, args.heads, args.fusion, args.dropout)
    return experiment, splits, settings, arch


def _fusion(text: str) -> str:
    """argparse type: a fusion the model knows (checked when given: the parser stays light)."""
    from egvs.scoring.model_config import FUSIONS

    if text not in FUSIONS:
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from {', '.join(FUSIONS)})"
        )
    return text


def cmd_train(args: argparse.Namespace) -> int:
    from egvs.scoring.model_config import parse_sources

    sources = list(parse_sources(args.sources))
    experiment, splits, settings, arch = _setup(args)
    result = experiment.run_train(args.data, sources, splits, settings, arch, args.out, args.jobs)
    print(experiment.format_folds(result))
    path = args.out / "results.json"
    write_text(path, json.dumps(result, indent=1) + "\n")
    print(f"model: {args.out} (use with: egvs summarize VIDEO --model {args.out}); results: {path}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from egvs.scoring.model_config import parse_sources

    source_sets = [list(parse_sources(c)) for c in args.configs]
    experiment, splits, settings, arch = _setup(args)
    result = experiment.run_compare(args.data, source_sets, splits, settings, arch, args.jobs)
    print(experiment.format_comparison(result))
    if args.json is not None:
        write_text(args.json, json.dumps(result, indent=1) + "\n")
    return 0


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", required=True, type=Path, metavar="FILE.h5", help="dataset from 'egvs data build'"
    )
    p.add_argument(
        "--splits",
        type=Path,
        default=None,
        metavar="FILE",
        help="split file (VASNet/MSVA JSON, DSNet YAML); default: disjoint k-fold",
    )
    p.add_argument(
        "--folds", type=positive_int, default=5, help="k of the default disjoint k-fold (default 5)"
    )
    p.add_argument("--epochs", type=positive_int, default=50, help="epochs per fold (default 50)")
    p.add_argument(
        "--seed", type=int, default=0, help="seed of folds, weights, batches and validation parts"
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.2,
        help="part of each training fold used to pick the epoch (default 0.2)",
    )
    p.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate (default 5e-4)")
    p.add_argument(
        "--batch-size", type=positive_int, default=1, help="videos per batch (default 1, as MSVA)"
    )
    p.add_argument(
        "--hidden",
        type=positive_int,
        default=128,
        help="width of every source after projection (default 128)",
    )
    p.add_argument(
        "--heads", type=positive_int, default=4, help="attention heads per source (default 4)"
    )
    p.add_argument(
        "--fusion",
        type=_fusion,
        default="sum",
        help="how sources are combined: {fusions} (default %(default)s)",
    )
    p.add_argument("--dropout", type=float, default=0.3, help="dropout (default 0.3)")
    p.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch CPU threads (default 1: per-video matrices are small, and extra threads "
        "spin when other processes share the cores; try 2 on an idle machine)",
    )
    p.add_argument(
        "--jobs",
        type=positive_int,
        default=min(2, os.cpu_count() or 1),
        help="processes for the random/human baselines (default: up to 2)",
    )


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    train = sub.add_parser(
        "train",
        parents=[common],
        formatter_class=options.HelpFormatter,
        help="train the multi-source EGVS model (k-fold) and export it for --model",
        description="Train the multi-source attention model on a dataset built by 'egvs data build': "
        "MSE on the ground-truth importance, k-fold cross-validation with the epoch picked on a "
        "validation part of each training fold, a results table beside the random and human "
        "rows, then one model trained on every video, exported to ONNX in --out.",
        epilog="example: egvs train --data tvsum.h5 --sources visual,motion,emotion --out models/tvsum",
    )
    _options(train)
    train.add_argument(
        "--sources",
        required=True,
        metavar="A,B,...",
        help="feature sources by name (visual, motion, audio, events, emotion)",
    )
    train.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="model directory (model.onnx, config.json, results.json)",
    )
    train.set_defaults(func=cmd_train)
    compare = sub.add_parser(
        "compare",
        parents=[common],
        formatter_class=options.HelpFormatter,
        help="ablation: train several source sets on the same folds",
        description="Train and evaluate several source sets on the same folds, seeds and settings, "
        "and print the ablation table beside the random and human rows (e.g. with vs without emotion).",
        epilog="example: egvs compare --data tvsum.h5 --configs visual visual+emotion visual+motion+emotion",
    )
    _options(compare)
    compare.add_argument(
        "--configs",
        required=True,
        nargs="+",
        metavar="A+B",
        help="source sets, sources joined by '+'",
    )
    compare.add_argument(
        "--json", type=Path, default=None, metavar="OUT", help="also write every number as JSON"
    )
    compare.set_defaults(func=cmd_compare)
