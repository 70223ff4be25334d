"""`egvs data build`: benchmark HDF5 files (eccv16 layout + every EGVS source) from your videos."""

from __future__ import annotations

import argparse
from pathlib import Path

from egvs.datasets import DATASETS, load_annotations


def cmd_build(args: argparse.Namespace) -> int:
    from egvs.evaluation.builder import build_dataset, default_extractor  # the whole pipeline

    videos = load_annotations(args.dataset, args.annotations, args.info)
    keys = build_dataset(
        args.dataset,
        videos,
        args.videos,
        args.out,
        extract=default_extractor(use_cache=not args.no_cache),
        overwrite=args.overwrite,
        skip_missing=args.skip_missing,
    )
    if not args.quiet:
        print(f"wrote {args.out}: {len(keys)} of {len(videos)} {args.dataset} videos")
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "data",
        help="build benchmark datasets (TVSum, SumMe) from videos you have",
        description="Benchmark datasets for training and evaluation.",
    )
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    build = dsub.add_parser(
        "build",
        parents=[common],
        help="run the EGVS feature pipeline over a dataset's videos and write an eccv16-layout h5",
        description="Runs the EGVS feature pipeline (visual, motion, audio, audio events, speech "
        "emotion) over every annotated video and writes an HDF5 file in the field's eccv16 layout "
        "(features, gtscore, user_summary, change_points, n_frame_per_seg, n_frames, picks, "
        "video_name) plus user_scores and one dataset per EGVS source. Features are cached, so "
        "a rebuild only re-reads them.",
        epilog="example: egvs data build tvsum --videos tvsum/video --annotations "
        "ydata-tvsum50.mat --out egvs_tvsum.h5",
    )
    build.add_argument("dataset", choices=sorted(DATASETS), help="which benchmark")
    build.add_argument(
        "--videos", required=True, type=Path, metavar="DIR", help="folder of the dataset's videos"
    )
    build.add_argument(
        "--annotations",
        required=True,
        type=Path,
        metavar="PATH",
        help="TVSum: ydata-tvsum50.mat or the anno TSV(.gz); SumMe: the GT directory",
    )
    build.add_argument(
        "--info", type=Path, default=None, metavar="TSV", help="TVSum info TSV (for the anno TSV)"
    )
    build.add_argument("--out", required=True, type=Path, metavar="FILE.h5", help="output HDF5")
    build.add_argument("--overwrite", action="store_true", help="replace an existing output")
    build.add_argument(
        "--skip-missing",
        action="store_true",
        help="build from the videos found; keys keep their dataset positions",
    )
    build.add_argument("--no-cache", action="store_true", help="recompute cached features")
    build.set_defaults(func=cmd_build)
