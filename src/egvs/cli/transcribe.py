"""`egvs transcribe`: speech to text with word times, as plain text, SRT, WebVTT or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from egvs.cli import options


def cmd_transcribe(args: argparse.Namespace) -> int:
    from egvs.api import check_outputs
    from egvs.atomic import write_text
    from egvs.captions import caption_cues, transcribe, write_srt, write_vtt
    from egvs.errors import EgvsError

    if args.end is not None and args.end <= args.start:  # a usage error, before any file opens
        raise EgvsError(f"--end ({args.end:g} s) must be after --start ({args.start:g} s)")
    outputs = [args.srt, args.vtt, args.json]
    check_outputs(outputs, args.input, args.overwrite)
    transcript = transcribe(
        args.input,
        start=args.start,
        end=args.end,
        language=None if args.lang == "auto" else args.lang,
    )
    cues = caption_cues(transcript.words)
    if args.srt is not None:
        write_srt(cues, args.srt)
    if args.vtt is not None:
        write_vtt(cues, args.vtt)
    if args.json is not None:
        text = json.dumps(transcript.to_json(), ensure_ascii=False, indent=1)
        write_text(args.json, text)
    if all(o is None for o in outputs):
        print(transcript.text)
    elif not args.quiet:
        written = ", ".join(str(o) for o in outputs if o is not None)
        print(
            f"{args.input.name}: {len(transcript.words)} words ({transcript.language}) -> {written}"
        )
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "transcribe",
        parents=[common],
        help="transcribe the speech of a video (text, SRT, WebVTT, JSON)",
        description="Transcribe INPUT's speech with Whisper-base (offline, CPU) and print the text, "
        "or write captions (two-line cues timed by word) and the words with their times.",
        epilog="example: egvs transcribe talk.mp4 --srt talk.srt --vtt talk.vtt --lang ko",
    )
    p.add_argument("input", type=Path, help="video or audio file (any format FFmpeg reads)")
    p.add_argument("--srt", type=Path, default=None, metavar="PATH", help="write SubRip captions")
    p.add_argument("--vtt", type=Path, default=None, metavar="PATH", help="write WebVTT captions")
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="write the words with their times (schema egvs.transcript/1)",
    )
    p.add_argument(
        "--lang",
        default="auto",
        metavar="auto|en|ko|...",
        help="spoken language as a Whisper code (default: detect it)",
    )
    p.add_argument(
        "--start", type=options.seconds, default=0.0, metavar="SECONDS", help="transcribe from here"
    )
    p.add_argument(
        "--end", type=options.seconds, default=None, metavar="SECONDS", help="transcribe up to here"
    )
    p.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    p.set_defaults(func=cmd_transcribe)


if __name__ == "__main__":
    sys.exit("use the `egvs transcribe` command")
