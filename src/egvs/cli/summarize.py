"""`egvs summarize`, `egvs analyze`, `egvs setup` and `egvs example`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from egvs.cli import options


def _add_analysis_options(p: argparse.ArgumentParser) -> None:
    """What summarize and analyze share: the budget, the scorer and the side outputs."""
    options.add_budget_options(p)
    options.add_scoring_options(p)
    out = p.add_argument_group("outputs")
    out.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="PNG",
        help="write the timeline plot (importance, arousal, events, selection)",
    )
    out.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    options.add_no_cache_option(out)


def _print_summary(analysis, output: Path | None = None) -> None:
    from egvs.progress import bars_enabled

    if not bars_enabled():
        return
    dur = analysis.media.duration
    head = f"{analysis.media.path.name}: {len(analysis.segments)} segments, {analysis.summary_duration:.1f} s of {dur:.1f} s"
    if output is not None:
        head += f" -> {output}"
    print(head)
    for seg in analysis.segments:
        print(
            f"  {options.clock(seg.start)} - {options.clock(seg.end)}  score {seg.score:.2f}  {', '.join(seg.reasons)}"
        )


def cmd_summarize(args: argparse.Namespace) -> int:
    import egvs

    summary = egvs.summarize(
        args.input,
        args.output,
        request=options.summary_request(args),
        use_cache=not args.no_cache,
        overwrite=args.overwrite,
        json_path=args.json,
        plot_path=args.plot,
        timeline_path=args.timeline,
        captions=args.captions,
        language=None if args.lang == "auto" else args.lang,
        render=args.render,
    )
    _print_summary(summary.analysis, summary.output)
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    import egvs
    from egvs.api import check_outputs, write_outputs

    request = options.summary_request(args)
    check_outputs([args.json, args.plot], args.input, args.overwrite)
    analysis = egvs.analyze(args.input, request=request, use_cache=not args.no_cache)
    write_outputs(analysis, args.json, args.plot)
    _print_summary(analysis)
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    """Build every model EGVS caches, so the first real run does not pay for it."""
    from egvs.api import default_emotion_model
    from egvs.features import audio_events, visual

    visual.model_path()
    audio_events.model_path()
    model = default_emotion_model()
    if not args.quiet:
        print(f"egvs setup: models ready (speech emotion: {model.name})")
    return 0


def cmd_example(args: argparse.Namespace) -> int:
    from egvs.api import check_output
    from egvs.example import example_parts, write_example

    out = write_example(check_output(args.output, None, args.overwrite), args.duration)
    if not args.quiet:
        lively = [
            f"{a:g}-{b:g} s" for a, b, kind in example_parts(args.duration) if kind == "lively"
        ]
        print(f"wrote {out}: {args.duration:g} s, lively parts at {' and '.join(lively)}")
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "summarize",
        parents=[common],
        formatter_class=options.HelpFormatter,
        help="make a highlight video of the emotional moments",
        description="Analyze INPUT and render its emotional highlights as an H.264/AAC video "
        "(mp4, mov or mkv, by the output's extension; an HEVC source's smart render stays HEVC).",
        epilog="example: egvs summarize talk.mp4 -o talk-short.mp4 --duration 60 --json talk.json --plot talk.png",
    )
    p.add_argument("input", type=Path, help="video or audio file (any format FFmpeg reads)")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="summary video to write: .mp4, .m4v, .mov or .mkv (H.264/AAC; HEVC/AAC for an "
        "HEVC source with --render copy)",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the analysis JSON (schema egvs.analysis/1)",
    )
    p.add_argument(
        "--timeline",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write an editor timeline: .otio, .edl, .xml (FCP7) or .fcpxml",
    )
    p.add_argument(
        "--captions",
        action="store_true",
        help="burn in captions of the speech (Whisper-base, offline; transcribes the summary only)",
    )
    p.add_argument(
        "--lang",
        default="auto",
        metavar="auto|ko|en|...",
        help="spoken language for --captions (default: detected)",
    )
    p.add_argument(
        "--render",
        choices=("auto", "copy", "encode"),
        default="auto",
        help="copy: keep the source's own frames in every whole GOP a segment holds and "
        "re-encode only those next to each cut (H.264 or HEVC in mp4/mov/mkv; fails for other "
        "sources); encode: re-encode every frame; auto (default): copy an H.264 source where "
        "it allows it, else encode (HEVC too: x265 is slower on the cuts than x264 on all)",
    )
    _add_analysis_options(p)
    p.set_defaults(func=cmd_summarize)

    p = sub.add_parser(
        "analyze",
        parents=[common],
        formatter_class=options.HelpFormatter,
        help="analyze a video and choose the summary, without rendering",
        description="Analyze INPUT (speech emotion, sound events, motion, shots) and write the "
        "analysis JSON with the chosen summary segments. Nothing is rendered.",
    )
    p.add_argument("input", type=Path, help="video or audio file (any format FFmpeg reads)")
    p.add_argument(
        "--json",
        type=Path,
        required=True,
        metavar="PATH",
        help="analysis JSON to write (schema egvs.analysis/1)",
    )
    _add_analysis_options(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser(
        "setup", parents=[common], help="prepare the models EGVS caches (run once after install)"
    )
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser(
        "example",
        parents=[common],
        help="write a generated example video to try EGVS on",
        description="Write a generated H.264/AAC example video with calm parts and two lively parts "
        "(moving shapes, applause-like bursts).",
    )
    p.add_argument("output", type=Path, help="video to write (.mp4)")
    p.add_argument(
        "--duration",
        type=options.positive_float,
        default=60.0,
        help="length in seconds (default 60)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace the file if it exists")
    p.set_defaults(func=cmd_example)


if __name__ == "__main__":
    sys.exit("use the `egvs` command")
