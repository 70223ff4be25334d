"""Speed and validity of `egvs shorts` on a 10-minute 720p video with speech and faces.

Builds (once, cached under --work) a 1280x720 H.264/AAC video from the shared real clips (film
scenes, dialogue, acted emotions; ../shared/data/videos), each pass through them in another order,
until it is --minutes long. Then, in one run:

  * bare decode:     ffmpeg -i FILE -f null -
  * shorts:          egvs shorts FILE -o DIR --count 5 --length 25-35 --no-cache  (captions on)
  * shorts (cached): the same with the analysis' features cached

and prints wall time, CPU time and peak RSS with the ratio to the bare decode, then checks every
clip: size of the aspect, length within the range, no overlaps, audio as long as the picture
(within one frame).

    .venv/bin/python benchmarks/shorts.py [--work DIR] [--minutes 10] [--count 5] [--length 25-35]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import av
from speed import run_measured

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ROOT.parent / "shared" / "data" / "videos"
EGVS = [sys.executable, "-m", "egvs.cli.main"]


def build_video(path: Path, minutes: float) -> None:
    """Concatenate the shared clips, normalised to 720p30 and 48 kHz stereo, to ``minutes``."""
    if path.exists():
        return
    clips = sorted(
        p for p in VIDEOS.rglob("*") if p.suffix in {".mp4", ".webm", ".flv"} and p.is_file()
    )
    if not clips:
        raise SystemExit(f"needs the shared clips in {VIDEOS}")
    durations = {}
    for clip in clips:
        with av.open(str(clip)) as c:
            durations[clip] = c.duration / av.time_base
    order: list[Path] = []
    rng = random.Random(0)
    while sum(durations[c] for c in order) < minutes * 60:
        batch = list(clips)
        rng.shuffle(batch)
        order += batch
    print(f"building {path.name} from {len(order)} clips (a few minutes, once)...", file=sys.stderr)
    inputs: list[str] = []
    chains = []
    for i, clip in enumerate(order):
        inputs += ["-i", str(clip)]
        chains.append(
            f"[{i}:v]scale=1280:720:force_original_aspect_ratio=decrease,"
            f"pad=1280:720:(ow-iw)/2:(oh-ih)/2,fps=30,format=yuv420p,setsar=1[v{i}];"
            f"[{i}:a]aresample=48000,aformat=channel_layouts=stereo[a{i}]"
        )
    streams = "".join(f"[v{i}][a{i}]" for i in range(len(order)))
    graph = ";".join(chains) + f";{streams}concat=n={len(order)}:v=1:a=1[v][a]"
    tmp = path.with_suffix(".part.mp4")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[v]",
         "-map", "[a]", "-t", str(minutes * 60), "-c:v", "libx264", "-preset", "veryfast",
         "-crf", "23", "-c:a", "aac", "-b:a", "128k", str(tmp)],
        check=True,
    )  # fmt: skip
    tmp.rename(path)


def check_clips(folder: Path, length: tuple[float, float], size: tuple[int, int]) -> list[str]:
    """Problems found in the shorts of ``folder`` (empty when every clip is valid)."""
    doc = json.loads((folder / "shorts.json").read_text())
    problems = []
    spans = sorted((c["start"], c["end"]) for c in doc["clips"])
    problems += [f"overlap {a} {b}" for a, b in zip(spans, spans[1:]) if a[1] > b[0]]
    for clip in doc["clips"]:
        path = folder / clip["files"]["video"]
        with av.open(str(path)) as c:
            v, a = c.streams.video[0], c.streams.audio[0]
            frame = 1 / float(v.average_rate)
            video_s = sum(1 for _ in c.decode(v)) * frame
            c.seek(0)
            audio_s = sum(f.samples for f in c.decode(a)) / a.codec_context.sample_rate
            got = (v.codec_context.width, v.codec_context.height)
        if got != size:
            problems.append(f"{path.name}: {got} is not {size}")
        if not length[0] - frame <= video_s <= length[1] + frame:
            problems.append(f"{path.name}: {video_s:.2f} s outside {length}")
        if abs(audio_s - video_s) > frame:
            problems.append(f"{path.name}: audio {audio_s:.3f} s vs video {video_s:.3f} s")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "egvs-bench")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--length", default="25-35")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    video = args.work / f"shorts-{args.minutes:g}min-720p.mp4"
    build_video(video, args.minutes)
    low, high = (float(x) for x in args.length.split("-"))
    env = dict(os.environ, EGVS_CACHE_DIR=str(args.work / "cache"))
    rows = [("bare decode (ffmpeg -f null)",
             run_measured(["ffmpeg", "-v", "error", "-i", str(video), "-f", "null", "-"]))]  # fmt: skip
    out = args.work / "shorts-out"
    base = [*EGVS, "shorts", "-q", str(video), "-o", str(out), "--overwrite",
            "--count", str(args.count), "--length", args.length]  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    rows.append(("shorts, features not cached", run_measured([*base, "--no-cache"], env)))
    warm = [*EGVS, "analyze", "-q", str(video), "--json", str(args.work / "a.json"), "--overwrite"]
    run_measured(warm, env)  # fills the feature cache
    rows.append(("shorts, cached features", run_measured(base, env)))
    decode = rows[0][1][0]
    print(f"\n{video.name}: {args.count} clips of {args.length} s, 9:16 with captions\n")
    print(f"| {'run':<30} | wall s | CPU s | peak RSS MiB | x bare decode |")
    print(f"|{'-' * 32}|--------|-------|--------------|---------------|")
    for name, (wall, cpu, rss) in rows:
        print(f"| {name:<30} | {wall:6.1f} | {cpu:5.1f} | {rss:12.0f} | {wall / decode:13.2f} |")
    made = sorted(out.glob("*.mp4"))
    problems = check_clips(out, (low, high), (1080, 1920))
    print(f"\n{len(made)} clips; " + ("all valid" if not problems else "; ".join(problems)))


if __name__ == "__main__":
    main()
