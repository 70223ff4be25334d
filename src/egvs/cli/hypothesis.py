"""`egvs hypothesis`: how much detected emotion falls where humans scored the video high."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from egvs.atomic import write_text
from egvs.cli.options import positive_int
from egvs.errors import InputError


def cmd_hypothesis(args: argparse.Namespace) -> int:
    from egvs.evaluation.hypothesis import load_activity, plot_video, pooled_row, video_row

    videos = load_activity(args.dataset)
    if not videos:
        raise InputError(f"{args.dataset} holds no videos")
    rows = {v.key: video_row(v) for v in videos}
    pooled = pooled_row(videos, args.permutations, args.seed)
    if args.plot is not None:
        args.plot.mkdir(parents=True, exist_ok=True)
        for v in videos:
            safe = re.sub(r"[^\w.-]+", "_", v.name)
            plot_video(v, rows[v.key], args.plot / f"{v.key}_{safe}.png")
    if not args.quiet:
        print("active steps (arousal > median or affective sound) in high vs low human-score steps")
        print(f"{'video':28s} {'high:low':>10s} {'rate high':>9s} {'rate low':>9s} {'p':>6s}")
        for v in videos:
            r = rows[v.key]
            counts = f"{r.active_high}:{r.active_low}"
            print(
                f"{v.name[:28]:28s} {counts:>10s} {r.rate_high:9.3f} {r.rate_low:9.3f} {r.p_value:6.3f}"
            )
        counts = f"{pooled.active_high}:{pooled.active_low}"
        print(
            f"{'pooled':28s} {counts:>10s} {pooled.rate_high:9.3f} {pooled.rate_low:9.3f} "
            f"{pooled.p_value:6.3f}  ({args.permutations} circular-shift permutations, seed {args.seed})"
        )
    if args.json is not None:
        data = {
            "schema": "egvs.hypothesis/1",
            "dataset": str(args.dataset),
            "permutations": args.permutations,
            "seed": args.seed,
            "pooled": pooled.to_dict(),
            "videos": {v.key: {"name": v.name, **rows[v.key].to_dict()} for v in videos},
        }
        write_text(args.json, json.dumps(data, indent=2) + "\n")
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "hypothesis",
        parents=[common],
        help="test whether detected emotion falls in the frames humans scored high",
        description="The proposal's hypothesis check, made quantitative: per video and pooled, "
        "active steps (arousal above the video's median, or laughter/applause/cheering/screaming/"
        "shouting/crying/vocal bursts) in steps whose human score is above vs below the video's "
        "mean, with a circular-shift permutation test.",
        epilog="example: egvs hypothesis --dataset egvs_tvsum.h5 --plot plots/",
    )
    p.add_argument(
        "--dataset", required=True, type=Path, metavar="FILE.h5", help="built by 'egvs data build'"
    )
    p.add_argument("--plot", type=Path, default=None, metavar="DIR", help="one PNG per video")
    p.add_argument(
        "--json", type=Path, default=None, metavar="OUT", help="write the numbers as JSON"
    )
    p.add_argument(
        "--permutations", type=positive_int, default=1000, help="pooled-test permutations"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the pooled permutations")
    p.set_defaults(func=cmd_hypothesis)
