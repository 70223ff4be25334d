"""`egvs batch`: summarize or analyze many videos, locally or on a Ray cluster (egvs.batch)."""

from __future__ import annotations

import argparse
from pathlib import Path

from egvs.cli import options


def cmd_batch(args: argparse.Namespace) -> int:
    import egvs
    from egvs.progress import bars_enabled, say

    report = egvs.batch(
        args.inputs,
        output_dir=args.output_dir,
        manifest=args.manifest,
        mode=args.mode,
        engine=args.engine,
        workers=args.workers,
        cpus_per_worker=args.cpus_per_worker,
        address=args.address,
        force=args.force,
        use_cache=not args.no_cache,
        request=options.summary_request(args),
        mode_options=options.shorts_options(args) if args.mode == "shorts" else None,
    )
    if bars_enabled():
        print(report.table())
    elif report.exit_code:
        say(
            f"egvs: {report.count('failed')} of {len(report.results)} videos failed; see {report.report}"
        )
    return report.exit_code


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from egvs.batching import ENGINES, MODES

    p = sub.add_parser(
        "batch",
        parents=[common],
        formatter_class=options.HelpFormatter,
        help="summarize or analyze many videos (local processes or a Ray cluster)",
        description="Run `egvs summarize` (or analyze) on every INPUT video and every video found "
        "in INPUT folders, into OUTDIR (a folder's structure is kept). Videos already done with "
        "the same content and options are skipped; a failing video is recorded and the rest go "
        "on. Each video gets a line in OUTDIR/batch.jsonl. Exits non-zero when any video failed.",
        epilog="example: egvs batch talks/ -o summaries/ --workers 2 --duration 60",
    )
    p.add_argument("inputs", nargs="*", type=Path, metavar="INPUT", help="video files or folders")
    p.add_argument(
        "--manifest",
        type=Path,
        default=None,
        metavar="FILE.csv",
        help="CSV with a 'path' column (relative to the CSV's folder), in addition to INPUTs",
    )
    p.add_argument(
        "-o", "--output-dir", type=Path, required=True, metavar="OUTDIR", help="folder for outputs"
    )
    p.add_argument(
        "--mode",
        choices=list(MODES),
        default="summarize",
        help="summarize: video + analysis JSON per input (default); analyze: JSON only; "
        "shorts: NAME.shorts.json and the clips in NAME-shorts/ (egvs shorts' defaults)",
    )
    run = p.add_argument_group("where it runs")
    run.add_argument("--engine", choices=ENGINES, default="local", help="default: local")
    run.add_argument(
        "--workers",
        type=options.positive_int,
        default=None,
        metavar="N",
        help="videos at once (local default: half the CPUs; ray default: all of the cluster's)",
    )
    run.add_argument(
        "--cpus-per-worker",
        type=options.positive_int,
        default=1,
        metavar="C",
        help="compute threads of each worker, and its Ray CPU request (default 1)",
    )
    run.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="Ray cluster to join: 'auto' or the head's HOST:PORT (default: start a local Ray)",
    )
    run.add_argument("--force", action="store_true", help="redo videos that are already done")
    options.add_budget_options(p, per_video=True)
    options.add_scoring_options(p)
    options.add_no_cache_option(p)
    shorts = p.add_argument_group("--mode shorts (default: egvs shorts' own)")
    shorts.add_argument(
        "--count", type=options.positive_int, default=None, help="clips per video ({count})"
    )
    shorts.add_argument(
        "--length", type=options.length, default=None, metavar="MIN-MAX", help="({length})"
    )
    shorts.add_argument(
        "--aspect", type=options.aspect, default=None, metavar="W:H", help="({aspect})"
    )
    shorts.add_argument("--captions", action=argparse.BooleanOptionalAction, default=None)
    shorts.add_argument("--lang", default=None, metavar="auto|ko|en|...")
    p.set_defaults(func=cmd_batch)
