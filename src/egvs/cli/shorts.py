"""`egvs shorts`: several vertical, captioned clips from one long video."""

from __future__ import annotations

import argparse
from pathlib import Path

from egvs.cli.eval import positive_int
from egvs.shortform.options import ASPECTS, AUTO_LANGUAGE, DEFAULTS

ASPECT_CHOICES = tuple(ASPECTS)


def _length(text: str) -> tuple[float, float]:
    from egvs.errors import EgvsError
    from egvs.shortform.options import parse_length

    try:
        return parse_length(text)
    except EgvsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_shorts(args: argparse.Namespace) -> int:
    from egvs.cli.summarize import _clock
    from egvs.progress import bars_enabled
    from egvs.shortform import ShortsOptions, shorts

    options = ShortsOptions.from_options(
        count=args.count,
        length=args.length,
        aspect=args.aspect,
        captions=args.captions,
        language=args.lang,
        fill=args.fill,
        timeline=args.timeline,
    )
    result = shorts(
        args.input,
        args.output,
        options=options,
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
                f"  {short.rank:2d}. {_clock(c.start)} - {_clock(c.end)}  score {c.score:.2f}  "
                f"{short.files['video'].name}  {', '.join(c.reasons)}"
            )
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "shorts",
        parents=[common],
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
        "--count",
        type=positive_int,
        default=DEFAULTS.count,
        help=f"how many clips (default {DEFAULTS.count})",
    )
    p.add_argument(
        "--length",
        type=_length,
        default=DEFAULTS.length,
        metavar="MIN-MAX",
        help=f"clip length range in seconds (default {DEFAULTS.length_text})",
    )
    sizes = ", ".join(f"{name} {w}x{h}" for name, (w, h) in ASPECTS.items())
    p.add_argument(
        "--aspect",
        choices=ASPECT_CHOICES,
        default=DEFAULTS.aspect,
        help=f"frame shape: {sizes} (default {DEFAULTS.aspect})",
    )
    p.add_argument(
        "--captions",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS.captions,
        help="burn in captions and write .srt/.vtt (default on)",
    )
    p.add_argument(
        "--lang",
        default=AUTO_LANGUAGE,
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
    p.add_argument(
        "--weights",
        default=None,
        metavar="emotion=W,events=W,visual=W,faces=W",
        help="fusion weights of the importance scorer",
    )
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="DIR",
        help="use a trained EGVS model (egvs train) for importance",
    )
    p.add_argument("--overwrite", action="store_true", help="replace shorts already in OUTDIR")
    p.add_argument("--no-cache", action="store_true", help="recompute features")
    p.set_defaults(func=cmd_shorts)
