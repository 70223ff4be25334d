"""`egvs eval human` and `egvs eval scores`: benchmark tables printed beside honest baselines."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from egvs.atomic import write_text
from egvs.cli import options
from egvs.datasets import DATASETS
from egvs.errors import EgvsError, InputError, require
from egvs.progress import logger

if TYPE_CHECKING:  # the evaluation stack (h5py, scipy) is imported when a command runs
    import numpy as np

    from egvs.evaluation.protocol import EvalVideo

SCHEMA = "egvs.eval/1"
LABELS = {
    "f1": "F1 (dataset convention)",
    "f1_mean": "F1 mean over users",
    "f1_max": "F1 max over users",
    "tau": "Kendall tau",
    "rho": "Spearman rho",
    "top15_f1": "top-15% highlight F1",
}


def _fmt(x: float) -> str:
    return "   nan" if math.isnan(x) else f"{x:6.3f}"


def _write_json(data: dict, target: str | None) -> None:
    if target is None:
        return
    text = json.dumps(data, indent=2, allow_nan=True)
    if target == "-":
        print(text)
    else:
        write_text(target, text + "\n")


def _header(dataset: str, videos: list[EvalVideo], shots: str, args: argparse.Namespace) -> str:
    return (
        f"{dataset}: {len(videos)} videos, F1 convention '{videos[0].aggregate}' over users\n"
        f"shots: {shots}\n"
        f"random: uniform scores per 0.5 s step, mean of {args.trials} trials (seed {args.seed})"
    )


def _with_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """``--trials`` not given: the protocol's own (the parser does not import it)."""
    from egvs.evaluation.protocol import RANDOM_TRIALS

    if args.trials is None:
        args.trials = RANDOM_TRIALS
    return args


def _run_baselines(videos: list[EvalVideo], args: argparse.Namespace) -> dict:
    from egvs.evaluation import baselines

    start = time.perf_counter()
    rows = baselines(videos, args.trials, args.seed, args.jobs)
    logger.info("baselines of %d videos in %.1f s", len(videos), time.perf_counter() - start)
    return rows


def cmd_human(args: argparse.Namespace) -> int:
    from egvs.evaluation import METRICS, mean_rows
    from egvs.evaluation.videos import load_eval_videos

    args = _with_defaults(args)
    start = time.perf_counter()
    videos, shots = load_eval_videos(args.dataset, args.annotations, args.info)
    rows = _run_baselines(videos, args)
    means = {name: mean_rows(per_video.values()) for name, per_video in rows.items()}
    out = sys.stderr if args.json == "-" else sys.stdout
    print(_header(args.dataset, videos, shots, args), file=out)
    print(f"{'':24s}{'random':>8s}{'human':>8s}", file=out)
    for m in METRICS:
        print(f"{LABELS[m]:24s}  {_fmt(means['random'][m])}  {_fmt(means['human'][m])}", file=out)
    print(f"({time.perf_counter() - start:.1f} s)", file=out)
    _write_json(
        {
            "schema": SCHEMA,
            "dataset": args.dataset,
            "shots": shots,
            "random_trials": args.trials,
            "seed": args.seed,
            "rows": means,
            "videos": {
                v.key: {"name": v.name, **{n: rows[n][v.key] for n in rows}} for v in videos
            },
        },
        args.json,
    )
    return 0


def read_scores(path: Path) -> dict[str, np.ndarray]:
    """Per-video scores from an NPZ (key -> array) or HDF5 file (key -> dataset, or group/'scores')."""
    import numpy as np

    from egvs.evaluation.videos import is_h5

    path = Path(path)
    if not path.is_file():
        raise InputError(f"scores file not found: {path}")
    if is_h5(path):
        h5py = require("h5py", "research")
        with h5py.File(path, "r") as h5:
            return {
                k: np.asarray(v["scores"] if isinstance(v, h5py.Group) else v, dtype=np.float64)
                for k, v in h5.items()
            }
    if path.suffix.lower() == ".npz":
        with np.load(path) as data:
            return {k: np.asarray(data[k], dtype=np.float64) for k in data.files}
    raise InputError(f"{path}: scores must be .npz or .h5 keyed by video")


def match_scores(
    scores: Mapping[str, np.ndarray], videos: list[EvalVideo]
) -> dict[str, np.ndarray]:
    """Frame scores per video key; score files may be keyed by ``video_N`` or by video name."""
    from egvs.evaluation.videos import to_frames

    out = {}
    for v in videos:
        found = scores.get(v.key, scores.get(v.name))
        if found is not None:
            out[v.key] = to_frames(found, v)
    if not out:
        raise InputError("no score matches a video key (video_N) or name of the annotations")
    missing = [v.key for v in videos if v.key not in out]
    if missing:
        logger.warning(
            "no scores for %d videos (%s...): left out", len(missing), ", ".join(missing[:3])
        )
    return out


def cmd_scores(args: argparse.Namespace) -> int:
    from egvs.datasets.splits import kfold_splits, load_splits
    from egvs.evaluation import METRICS, evaluate_videos, mean_rows, split_summary
    from egvs.evaluation.videos import load_eval_videos

    args = _with_defaults(args)
    videos, shots = load_eval_videos(args.dataset, args.annotations, args.info)
    frames = match_scores(read_scores(args.scores), videos)
    videos = [v for v in videos if v.key in frames]
    keys = [v.key for v in videos]
    if args.splits is not None:
        splits = load_splits(args.splits, args.dataset)
        split_name = str(args.splits)
    else:
        try:
            splits = kfold_splits(keys, args.folds, args.seed)
        except ValueError as exc:
            raise EgvsError(f"--folds: {exc}") from exc
        split_name = f"disjoint {args.folds}-fold (seed {args.seed}), every video tested once"
    rows = {"method": evaluate_videos(frames, videos), **_run_baselines(videos, args)}
    per_split: dict[str, list[dict]] = {name: [] for name in rows}
    for i, split in enumerate(splits):
        test = [k for k in split["test_keys"] if k in frames]
        if not test:
            raise InputError(f"split {i} has no test video with scores")
        for name, per_video in rows.items():
            per_split[name].append(mean_rows(per_video[k] for k in test))
    summary = {name: split_summary(s) for name, s in per_split.items()}
    out = sys.stderr if args.json == "-" else sys.stdout
    print(_header(args.dataset, videos, shots, args), file=out)
    print(f"splits: {split_name}; mean [min, max] over {len(splits)} splits", file=out)
    print(f"{'':24s}  {'method':>22s}  {'random':>6s}  {'human':>6s}", file=out)
    for m in METRICS:
        s = summary["method"][m]
        method = f"{_fmt(s['mean'])} [{_fmt(s['min'])},{_fmt(s['max'])}]"
        print(
            f"{LABELS[m]:24s}  {method:>22s}  {_fmt(summary['random'][m]['mean'])}"
            f"  {_fmt(summary['human'][m]['mean'])}",
            file=out,
        )
    print("per split (method):  test videos    F1    tau    rho  top-15% F1", file=out)
    for i, (split, row) in enumerate(zip(splits, per_split["method"], strict=True)):
        n_test = sum(k in frames for k in split["test_keys"])
        print(
            f"  split {i}: {n_test:19d}  {_fmt(row['f1'])} {_fmt(row['tau'])} {_fmt(row['rho'])}"
            f"  {_fmt(row['top15_f1'])}",
            file=out,
        )
    _write_json(
        {
            "schema": SCHEMA,
            "dataset": args.dataset,
            "shots": shots,
            "splits": split_name,
            "random_trials": args.trials,
            "seed": args.seed,
            "summary": summary,
            "per_split": per_split,
            "videos": {
                v.key: {"name": v.name, **{n: rows[n][v.key] for n in rows}} for v in videos
            },
        },
        args.json,
    )
    return 0


def _common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="benchmark dataset")
    p.add_argument(
        "--annotations",
        required=True,
        type=Path,
        metavar="PATH",
        help="TVSum: ydata-tvsum50.mat or the anno TSV(.gz); SumMe: the GT directory; "
        "or an h5 built by 'egvs data build' (then its KTS shots are used)",
    )
    p.add_argument(
        "--info",
        type=Path,
        default=None,
        metavar="TSV",
        help="TVSum info TSV (video_id, nframes, length_sec): frame rates for the anno TSV",
    )
    p.add_argument(
        "--trials",
        type=options.positive_int,
        default=None,
        help="random-baseline trials (default {trials})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random baseline and folds")
    p.add_argument(
        "--jobs",
        type=options.positive_int,
        default=min(2, os.cpu_count() or 1),
        help="processes for the baselines (default: up to 2)",
    )
    p.add_argument(
        "--json", default=None, metavar="OUT", help="also write every number as JSON ('-': stdout)"
    )


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "eval",
        help="benchmark evaluation on TVSum/SumMe (F1, Kendall tau, Spearman rho, top-15%% F1)",
        description="Research-grade evaluation with the field's protocol, always beside the "
        "random and human (leave-one-out) baselines computed by the same code.",
    )
    esub = p.add_subparsers(dest="eval_command", metavar="SUBCOMMAND", required=True)
    human = esub.add_parser(
        "human",
        parents=[common],
        formatter_class=options.HelpFormatter,
        help="human and random baseline table from the annotations alone",
        description="Human leave-one-out (each annotator against the others) and random "
        "baselines, from the annotations alone (no videos needed).",
        epilog="example: egvs eval human --dataset tvsum --annotations ydata-tvsum50.mat",
    )
    _common_options(human)
    human.set_defaults(func=cmd_human)
    scores = esub.add_parser(
        "scores",
        parents=[common],
        formatter_class=options.HelpFormatter,
        help="evaluate a method's per-frame scores per split and overall",
        description="Evaluate any method's scores (NPZ or HDF5 keyed by video_N or video name; "
        "per frame, per 0.5 s step of an egvs h5, or evenly spaced) per split and over splits.",
        epilog="example: egvs eval scores --dataset summe --annotations GT --scores pred.npz",
    )
    _common_options(scores)
    scores.add_argument(
        "--scores", required=True, type=Path, metavar="FILE", help="NPZ or HDF5 of scores"
    )
    scores.add_argument(
        "--splits",
        type=Path,
        default=None,
        metavar="FILE",
        help="published split file (JSON/YAML); default: disjoint k-fold",
    )
    scores.add_argument(
        "--folds", type=options.positive_int, default=5, help="k of the default k-fold (default 5)"
    )
    scores.set_defaults(func=cmd_scores)
