"""`egvs shorts`: several vertical, captioned clips from one long video."""

from __future__ import annotations

import argparse
from pathlib import Path

from egvs.cli import options


def cmd_shorts(args: argparse.Namespace) -> int:
    from egvs.progress import bars_enabled
    from egvs.shortform import shorts

    result = shorts(
        args.input,
        args.output,
        options=options.shorts_options(args, fill=args.fill, timeline=args.timeline),
        json_path=args.json,
        overwrite=args.overwrite,
        use_cache=not args.no_cache,
        weights=args.weights,  # text: analyze() validates it with the rest of the request
        model=args.model,
    )
    if bars_enabled():
        print(f"{len(result.clips)} shorts in {result.folder} (manifest {result.manifest})")
        for short in result.clips:
            c = short.clip
            print(
                f"  {short.rank:2d}. {options.clock(c.start)} - {options.clock(c.end)}  score {c.score:.2f}  "
                f"{short.files['video'].name}  {', '.join(c.reasons)}"
            )
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "shorts",
        parents=[common],
        formatter_class=options.HelpFormatter,
        help="cut several vertical, captioned clips around the emotional peaks",
        description="Cut INPUT into ranked stand-alone clips for Shorts/Reels/TikTok: each one "
        "continuous stretch around an emotional peak, starting and ending at sentence boundaries, "
        "reframed to follow the speaker's face, with burned-in captions (Whisper-base, offline).",
        epilog="example: egvs shorts vlog.mp4 -o vlog-shorts --count 3 --length 20-45",
    )
    p.add_argument("input", type=Path, help="video file (any format FFmpeg reads)")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUTDIR",
        help="folder for NN-<slug>.mp4 clips, their .srt/.vtt captions and shorts.json",
    )
    p.add_argument(
        "--count", type=options.positive_int, default=None, help="how many clips (default {count})"
    )
    p.add_argument(
        "--length",
        type=options.length,
        default=None,
        metavar="MIN-MAX",
        help="clip length range in seconds (default {length})",
    )
    p.add_argument(
        "--aspect",
        type=options.aspect,
        default=None,
        metavar="W:H",
        help="frame shape: {aspects} (default {aspect})",
    )
    p.add_argument(
        "--captions",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="burn in captions and write .srt/.vtt (default on)",
    )
    p.add_argument(
        "--lang",
        default=None,
        metavar="auto|ko|en|...",
        help="spoken language for captions (default: detected)",
    )
    p.add_argument(
        "--fill",
        action="store_true",
        help="when the people cannot fit in the crop, show the whole frame on a blurred background",
    )
    p.add_argument(
        "--timeline",
        action="store_true",
        help="also write an OTIO editor timeline per clip, with the crop window as metadata",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="write the manifest here instead of OUTDIR/shorts.json",
    )
    options.add_scoring_options(p)
    p.add_argument("--overwrite", action="store_true", help="replace shorts already in OUTDIR")
    options.add_no_cache_option(p, "the features and each clip's words and faces")
    p.set_defaults(func=cmd_shorts)
