"""`egvs batch`: summarize or analyze many videos, locally or on a Ray cluster (egvs.batch)."""

from __future__ import annotations

import argparse
from pathlib import Path

from egvs.cli.eval import positive_int
from egvs.cli.shorts import ASPECT_CHOICES, _length
from egvs.cli.summarize import _positive, _ratio, _request


def _shorts_options(args: argparse.Namespace) -> dict:
    """The shorts options given on the command line (the others keep `egvs shorts`' defaults)."""
    given = {
        "count": args.count,
        "length": args.length,
        "aspect": args.aspect,
        "captions": args.captions,
        "language": None if args.lang in (None, "auto") else args.lang,
    }
    return {k: v for k, v in given.items() if v is not None}


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
        request=_request(args),
        mode_options=_shorts_options(args) if args.mode == "shorts" else None,
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
        type=positive_int,
        default=None,
        metavar="N",
        help="videos at once (local default: half the CPUs; ray default: all of the cluster's)",
    )
    run.add_argument(
        "--cpus-per-worker",
        type=positive_int,
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
    opts = p.add_argument_group("per-video options (as in egvs summarize)")
    opts.add_argument("--ratio", type=_ratio, default=None, help="fraction of each input (0.15)")
    opts.add_argument(
        "--duration", type=_positive, default=None, metavar="SECONDS", help="wins over --ratio"
    )
    opts.add_argument(
        "--weights",
        default=None,
        metavar="emotion=W,events=W,visual=W,faces=W",
        help="fusion weights",
    )
    opts.add_argument(
        "--model", type=Path, default=None, metavar="DIR", help="a trained EGVS model"
    )
    opts.add_argument(
        "--no-cache", action="store_true", help="recompute features instead of using the cache"
    )
    shorts = p.add_argument_group("--mode shorts (default: egvs shorts' own)")
    shorts.add_argument("--count", type=positive_int, default=None, help="clips per video")
    shorts.add_argument("--length", type=_length, default=None, metavar="MIN-MAX")
    shorts.add_argument("--aspect", choices=ASPECT_CHOICES, default=None)
    shorts.add_argument("--captions", action=argparse.BooleanOptionalAction, default=None)
    shorts.add_argument("--lang", default=None, metavar="auto|ko|en|...")
    p.set_defaults(func=cmd_batch)
