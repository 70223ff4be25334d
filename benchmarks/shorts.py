"""Speed and validity of `egvs shorts` on a 10-minute 720p video with speech and faces, against
the shorts' own floor.

Builds (once, cached under --work) a 1280x720 H.264/AAC video from the shared real clips (film
scenes, dialogue, acted emotions; ../shared/data/videos), each pass through them in another order,
until it is --minutes long. Then, --repeat times:

  * bare decode:     ffmpeg -i FILE -f null -
  * shorts:          egvs shorts FILE -o DIR --count 5 --length 25-35 --no-cache  (captions on)
  * analysis:        egvs analyze FILE --no-cache
  * analysis and shorts again with the features cached: the first shorts run on them (each
                     clip's words and face track made anew), then a rerun (those taken from the
                     cache too, as after a change of aspect or count)
  * floor encode:    one FFmpeg command that cuts the spans the shorts run chose, crops each to
                     its clip's crop box (its first keyframe: the camera does not move), scales
                     it to the clips' size (bilinear up, area down, as EGVS scales) and encodes
                     it as the shorts are encoded (libx264 ultrafast CRF 20 at the source's frame
                     rate, AAC 160 kb/s with the fast coder at its sample rate); no captions,
                     no face tracking, no transcription

and prints the medians of wall time, CPU time and peak RSS with the ratio to the bare decode.
A shorts run re-encodes by nature, so its floor is the analysis plus the floor encode; the
table gives each shorts run's ratio to its floor (uncached: the analysis from scratch; cached:
the analysis on cached features). Then it checks every clip: size of the aspect, length within
the range, no overlaps, audio as long as the picture (within one frame).

    .venv/bin/python benchmarks/shorts.py [--work DIR] [--minutes 10] [--count 5] [--length 25-35]
                                          [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from fractions import Fraction
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


def floor_command(video: Path, manifest: Path, folder: Path) -> list[str]:
    """One FFmpeg command that cuts, crops, scales and encodes the spans of ``manifest``'s clips
    into ``folder`` at the settings the shorts are written with (`egvs.render.video`)."""
    from egvs.render.video import AAC_RATES, FAST_PRESET
    from egvs.shortform.options import ASPECTS

    doc = json.loads(manifest.read_text())
    width, height = ASPECTS[doc["options"]["aspect"]]
    with av.open(str(video)) as c:
        stream = c.streams.video[0]
        rate = Fraction(stream.average_rate).limit_denominator(1001)
        audio = c.streams.audio[0].codec_context
        sample_rate = audio.sample_rate if audio.sample_rate in AAC_RATES else 48000
        stereo = audio.channels >= 2
    cmd = ["ffmpeg", "-v", "error", "-y"]
    for clip in doc["clips"]:
        cmd += ["-ss", f"{clip['start']:.3f}", "-t", f"{clip['duration']:.3f}", "-i", str(video)]
    for i, clip in enumerate(doc["clips"]):
        box = clip["crop"]["keyframes"][0]
        w, h, x, y = (int(box[k]) // 2 * 2 for k in ("w", "h", "x", "y"))
        flags = "area" if w >= width and h >= height else "bilinear"
        cmd += ["-map", f"{i}:v:0", "-map", f"{i}:a:0",
                "-vf", f"crop={w}:{h}:{x}:{y},scale={width}:{height}:flags={flags},format=yuv420p",
                "-r", str(rate), "-c:v", "libx264", "-preset", FAST_PRESET, "-crf", "20",
                "-c:a", "aac", "-aac_coder", "fast", "-b:a", "160k" if stereo else "96k",
                "-ar", str(sample_rate),
                "-ac", "2" if stereo else "1", str(folder / f"floor-{i + 1:02d}.mp4")]  # fmt: skip
    return cmd


def forget_spans(cache: Path) -> None:
    """Remove the clips' words and face tracks (`egvs.shortform.spans`) from the feature cache."""
    from egvs.shortform.spans import TRACK_STAGE, TRANSCRIPT_STAGE

    for kind in (TRANSCRIPT_STAGE, TRACK_STAGE):
        for entry in cache.glob(f"features/*/{kind}-*.npz"):
            entry.unlink()


def spans(manifest: Path) -> list[tuple[float, float]]:
    return [(c["start"], c["end"]) for c in json.loads(manifest.read_text())["clips"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "egvs-bench")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--length", default="25-35")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (median reported)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    video = args.work / f"shorts-{args.minutes:g}min-720p.mp4"
    build_video(video, args.minutes)
    low, high = (float(x) for x in args.length.split("-"))
    env = dict(os.environ, EGVS_CACHE_DIR=str(args.work / "cache"))
    out, floor_out = args.work / "shorts-out", args.work / "shorts-floor"
    floor_out.mkdir(exist_ok=True)
    base = [*EGVS, "shorts", "-q", str(video), "-o", str(out), "--overwrite",
            "--count", str(args.count), "--length", args.length]  # fmt: skip
    analyze = [*EGVS, "analyze", "-q", str(video), "--json", str(args.work / "a.json"),
               "--overwrite"]  # fmt: skip
    commands = {
        "bare decode (ffmpeg -f null)": ["ffmpeg", "-v", "error", "-i", str(video), "-f", "null", "-"],
        "shorts, features not cached": [*base, "--no-cache"],
        "analysis, features not cached": [*analyze, "--no-cache"],
        "shorts, cached features": base,
        "shorts again (features, words, faces cached)": base,
        "analysis, cached features": analyze,
    }  # fmt: skip
    rows: dict[str, list[tuple[float, float, float]]] = {}
    chosen = []
    for _ in range(args.repeat):
        shutil.rmtree(out, ignore_errors=True)
        for name, cmd in commands.items():
            if name == "shorts, cached features":
                run_measured(analyze, env)  # fills the feature cache
                forget_spans(args.work / "cache")
            rows.setdefault(name, []).append(run_measured(cmd, env))
            if name.startswith("shorts"):
                chosen.append(spans(out / "shorts.json"))
        floor = floor_command(video, out / "shorts.json", floor_out)
        rows.setdefault("floor encode (one ffmpeg: cut, crop, scale, x264)", []).append(
            run_measured(floor)
        )
    median = {
        name: tuple(statistics.median(v[k] for v in values) for k in range(3))
        for name, values in rows.items()
    }
    encode = median["floor encode (one ffmpeg: cut, crop, scale, x264)"]
    for kind in ("not cached", "cached"):
        analysis = median[
            f"analysis, {'features not cached' if kind == 'not cached' else 'cached features'}"
        ]
        median[f"floor, features {kind} (analysis + encode)"] = (
            analysis[0] + encode[0], analysis[1] + encode[1], max(analysis[2], encode[2])
        )  # fmt: skip
    decode = median["bare decode (ffmpeg -f null)"]
    print(
        f"\n{video.name}: {args.count} clips of {args.length} s, 9:16 with captions; "
        f"median of {args.repeat}, {os.cpu_count()} CPUs\n"
    )
    print(
        f"| {'run':<50} | wall s | CPU s | peak RSS MiB | CPU x decode | wall x floor | CPU x floor |"
    )
    print(
        f"|{'-' * 52}|--------|-------|--------------|--------------|--------------|-------------|"
    )
    for name, (wall, cpu, rss) in median.items():
        versus = ""
        if name.startswith("shorts"):
            kind = "not cached" if "not cached" in name else "cached"
            floor_row = median[f"floor, features {kind} (analysis + encode)"]
            versus = f"{wall / floor_row[0]:12.2f} | {cpu / floor_row[1]:11.2f}"
        else:
            versus = f"{'':12} | {'':11}"
        print(
            f"| {name:<50} | {wall:6.1f} | {cpu:5.1f} | {rss:12.0f} | {cpu / decode[1]:12.2f} | {versus} |"
        )
    if any(c != chosen[0] for c in chosen):
        print("\nthe runs chose different spans: the floor encodes the last run's")
    made = sorted(out.glob("*.mp4"))
    problems = check_clips(out, (low, high), (1080, 1920))
    print(f"\n{len(made)} clips; " + ("all valid" if not problems else "; ".join(problems)))


if __name__ == "__main__":
    main()
