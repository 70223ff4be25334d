"""Speed and memory of `egvs analyze` and `egvs summarize` against a bare FFmpeg decode.

Builds (once, cached under --work) a 10-minute 1280x720 H.264/AAC test video by looping the shared
Tears of Steel clip (or FFmpeg's test pattern and a tone when ../shared is absent), then measures,
in this one run:

  * bare decode:   ffmpeg -i FILE -f null -          (Debian's ffmpeg: apt-get install ffmpeg)
  * analyze:       egvs analyze FILE --json ... --no-cache   (features computed from scratch)
  * analyze (cached features): the same with the feature cache warm
  * summarize:     egvs summarize FILE -o ... --no-cache, with --render encode (every picture
                   through x264) and --render auto (smart rendering: the source's whole GOPs
                   copied, only the pictures next to each cut re-encoded)

and prints wall time, CPU time (user + sys) and peak RSS of each, with ratios to the bare decode,
the median startup time of `egvs --version`, and where the time goes: CPU seconds per stage of
one analysis + rendering run in a child process (the pipeline's `StageClock`, a decode-only
pass of the same file for the decoder's share of the streamed pass, and the CPU of the threads
that libraries run for themselves, sampled from /proc/self/task: CTranslate2's speech-encoder
thread and the rest, BLAS, OpenCV, swscale; what remains is the hand-offs and Python). --render-only measures just
the rendering ways against the bare decode: summarize on cached features with each --render,
the summary's SSIM against the source pictures it shows, and its size. With --long it
also builds a 60-minute file (the 10-minute one concatenated 6 times, no re-encoding) and
measures it the same way from scratch (bare decode, analyze, summarize with each --render;
--long-repeat times, once by default), with each summary's SSIM and size, and analyze's peak
RSS beside the 10-minute file's, to show memory does not grow with length.

    .venv/bin/python benchmarks/speed.py [--work DIR] [--repeat N] [--long [--long-repeat N]]
                                         [--stages-only] [--render-only]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_CLIP = ROOT.parent / "shared" / "data" / "videos" / "tears_of_steel_battle_clip_medium.webm"
EGVS = [sys.executable, "-m", "egvs.cli.main"]
RENDER_WAYS = ("encode", "auto")
BARE_DECODE = "bare decode (ffmpeg -f null)"


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """(wall s, cpu s, peak RSS MiB) of a child process, from wait4's rusage."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def build_video(path: Path, minutes: float) -> None:
    if path.exists():
        return
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("needs Debian's ffmpeg: apt-get install ffmpeg")
    seconds = str(int(minutes * 60))
    tmp = path.with_suffix(".part.mp4")
    if SHARED_CLIP.exists():
        inputs = ["-stream_loop", "-1", "-i", str(SHARED_CLIP)]
    else:
        inputs = [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=24",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
        ]
    print(
        f"building {path.name} ({minutes:g} min 720p H.264, a few minutes once)...", file=sys.stderr
    )
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            *inputs,
            "-t",
            seconds,
            "-vf",
            "scale=1280:720",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            str(tmp),
        ],
        check=True,
    )
    tmp.rename(path)


def concat(src: Path, times: int, out: Path) -> None:
    if out.exists():
        return
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{src}'\n" for _ in range(times)))
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(listing),
            "-c",
            "copy",
            str(out),
        ],
        check=True,
    )


class ThreadCpu:
    """CPU seconds of every thread of this process, sampled from /proc/self/task while a block
    runs (a thread that ends keeps its last sample: at most `every` seconds lost), and which of
    them were Python threads."""

    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self.seconds: dict[int, float] = {}
        self.names: dict[int, str] = {}
        self.python: set[int] = set()
        self._start: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="thread-cpu", daemon=True)

    @staticmethod
    def now() -> dict[int, tuple[str, float]]:
        """(name, CPU s) of each live thread."""
        tick = os.sysconf("SC_CLK_TCK")
        found = {}
        for tid in os.listdir("/proc/self/task"):
            try:
                stat = Path(f"/proc/self/task/{tid}/stat").read_text()
            except OSError:  # it ended meanwhile
                continue
            name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1]
            utime, stime = fields.split()[11:13]
            found[int(tid)] = (name, (int(utime) + int(stime)) / tick)
        return found

    def _sample(self) -> None:
        self.python |= {t.native_id for t in threading.enumerate() if t.native_id}
        for tid, (name, cpu) in self.now().items():
            self.names[tid] = name
            self.seconds[tid] = cpu - self._start.get(tid, 0.0)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def __enter__(self) -> ThreadCpu:
        self._start = {tid: cpu for tid, (_, cpu) in self.now().items()}
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.seconds.pop(self._thread.native_id or 0, None)  # the sampler's own time


def stage_breakdown(video: Path, out: Path) -> dict[str, float]:
    """CPU seconds per stage, measured in this (child) process with a cold feature cache."""
    import egvs
    from egvs.api import default_emotion_model
    from egvs.media.decode import stream_media
    from egvs.media.probe import probe
    from egvs.pipeline import StageClock
    from egvs.timeline import TimeGrid

    info = probe(video)
    # The streamed pass's remainder also holds the threads that libraries start for themselves
    # and the hand-offs between threads; the decode alone is measured on its own first.
    start = time.process_time()
    for _ in stream_media(info, TimeGrid.for_duration(info.duration)):
        pass
    decode = time.process_time() - start
    clock = StageClock()
    # CTranslate2 runs the speech encoder on threads of its own, which no stage's thread clock
    # sees: they are the threads that appear when the encoder loads.
    with clock.process("models"):
        model = default_emotion_model()
        before = set(ThreadCpu.now())
        getattr(model, "featurizer", None)  # the Whisper encoder, when it is the model in use
        encoder_threads = set(ThreadCpu.now()) - before
    with ThreadCpu() as threads:
        egvs.extract(video, clock=clock, emotion_model=model)  # every stage, timeline, emotion
    encoder = sum(threads.seconds.get(tid, 0.0) for tid in encoder_threads)
    # Threads that are neither Python's, FFmpeg's decoders ("av:...") nor the encoder's: BLAS,
    # OpenCV, swscale and onnxruntime pools.
    native = sum(
        cpu
        for tid, cpu in threads.seconds.items()
        if tid not in threads.python | encoder_threads and not threads.names[tid].startswith("av:")
    )
    remainder = clock.seconds.pop("decode")
    clock.add("decode (FFmpeg threads, frame conversion)", decode)
    clock.add("ser encoder (CTranslate2's own thread)", encoder)
    clock.add("other library threads (BLAS, OpenCV, swscale)", native)
    clock.add("rest of the pass (hand-offs, Python)", remainder - decode - encoder - native)
    # The rest through the public API on the now cached features: analyze = hash, models, cache,
    # timeline, scoring, shots, selection; summarize adds the rendering.
    start = time.process_time()
    egvs.analyze(video)
    planned = time.process_time() - start
    timeline = sum(v for k, v in clock.seconds.items() if k in ("emotion", "timeline"))
    clock.add("rest of analysis (hash, cache, shots, scoring)", planned - timeline)
    start = time.process_time()
    egvs.summarize(video, out / "stages.mp4", overwrite=True)
    clock.add("render (seek, decode, x264, AAC)", time.process_time() - start - planned)
    return clock.seconds


def print_breakdown(seconds: dict[str, float]) -> None:
    total = sum(seconds.values())
    print(f"\nwhere the time goes (CPU s of one summarize run, {os.cpu_count()} CPUs)\n")
    print(f"| {'stage':<46} | CPU s | share |")
    print(f"|{'-' * 48}|-------|-------|")
    for name, value in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"| {name:<46} | {value:5.1f} | {100 * value / total:4.0f}% |")
    print(f"| {'total':<46} | {total:5.1f} |  100% |")


def stages(video: Path, out: Path, env: dict) -> dict[str, float]:
    """`stage_breakdown` in a child process whose feature cache starts empty."""
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(env["EGVS_CACHE_DIR"]) / "models"
        os.symlink(models, Path(tmp) / "models")
        result = subprocess.run(
            [sys.executable, __file__, "--stage-child", str(video), "--work", str(out)],
            env=dict(env, EGVS_CACHE_DIR=tmp),
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(result.stdout.splitlines()[-1])


def startup_seconds(repeat: int = 5) -> float:
    """Median wall time of `egvs --version` (the installed console script)."""
    script = Path(sys.executable).with_name("egvs")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([str(script), "--version"], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare_decode(video: Path) -> list[str]:
    return ["ffmpeg", "-v", "error", "-i", str(video), "-f", "null", "-"]


def print_table(rows: dict[str, list[tuple[float, float, float]]]) -> None:
    """Median wall and CPU seconds of each command, and their ratios to the bare decode's."""
    base_wall = statistics.median(r[0] for r in rows[BARE_DECODE])
    base_cpu = statistics.median(r[1] for r in rows[BARE_DECODE])
    print(f"| {'command':<48} | wall s | x decode | CPU s | x decode | peak RSS MiB |")
    print(f"|{'-' * 50}|--------|----------|-------|----------|--------------|")
    for name, values in rows.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        rss = max(v[2] for v in values)
        print(
            f"| {name:<48} | {wall:6.1f} | {wall / base_wall:8.2f} | {cpu:5.1f} | {cpu / base_cpu:8.2f} | {rss:12.0f} |"
        )


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two grey pictures (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5)."""
    import cv2

    x, y = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda z: cv2.GaussianBlur(z, (11, 11), 1.5)  # noqa: E731
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    ssim = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(ssim.mean())


def summary_ssim(video: Path, summary: Path, segments: list[dict], every: int = 3) -> dict:
    """SSIM (luma) of every ``every``-th picture of ``summary`` against the source picture it
    shows (per segment, the source pictures from the one nearest its start, as rendered), and
    the share of pictures identical to the source's."""
    import av

    with av.open(str(video)) as src, av.open(str(summary)) as out:
        stream = src.streams.video[0]
        rate = Fraction(stream.average_rate).limit_denominator(1001)
        shown = (f.to_ndarray(format="gray") for f in out.decode(video=0))
        scores = []
        for seg in segments:
            n = max(1, round((seg["end"] - seg["start"]) * rate))
            start = seg["start"] + (src.start_time or 0) / 1_000_000
            src.seek(int((start - 1) / stream.time_base), stream=stream)
            frames = (f for f in src.decode(stream) if f.time > start - 0.5 / rate - 1e-6)
            # the first picture at or after start - half a frame is the one nearest start
            for k, frame in zip(range(n), frames, strict=False):
                picture = next(shown)
                if k % every == 0:
                    scores.append(_ssim(frame.to_ndarray(format="gray"), picture))
    values = np.array(scores)
    return {"mean": values.mean(), "min": values.min(), "identical": (values == 1.0).mean()}


def print_quality(video: Path, rendered: dict[str, tuple[Path, Path]]) -> None:
    """Per --render way: what was used, the summary's length, size, and SSIM against the source
    pictures it shows (``rendered``: way -> (summary video, its JSON report))."""
    print(
        "\n| --render | used | summary s | size MiB | SSIM mean | SSIM min | pictures identical |"
    )
    print("|---|---|---|---|---|---|---|")
    for way, (summary, report_path) in rendered.items():
        report = json.loads(report_path.read_text())["summary"]
        quality = summary_ssim(video, summary, report["segments"])
        size = summary.stat().st_size / 2**20
        print(
            f"| {way} | {report['render']['used']} | {report['duration']:.1f} | {size:.1f} | "
            f"{quality['mean']:.4f} | {quality['min']:.4f} | {100 * quality['identical']:.0f}% |"
        )


def summarize_command(video: Path, out: Path, way: str, prefix: str, cache: bool) -> list[str]:
    """`egvs summarize` of ``video`` with --render ``way``, its outputs ``out/PREFIX-WAY.*``."""
    return [
        *EGVS,
        "summarize",
        str(video),
        "-o",
        str(out / f"{prefix}-{way}.mp4"),
        "--json",
        str(out / f"{prefix}-{way}.json"),
        "--render",
        way,
        *([] if cache else ["--no-cache"]),
        "--overwrite",
        "-q",
    ]


def rendered_files(out: Path, prefix: str) -> dict[str, tuple[Path, Path]]:
    return {way: (out / f"{prefix}-{way}.mp4", out / f"{prefix}-{way}.json") for way in RENDER_WAYS}


def render_comparison(video: Path, out: Path, env: dict, repeat: int) -> None:
    """Summarize on cached features with each --render: time beside the bare decode, SSIM
    against the source, size."""
    subprocess.run(
        [*EGVS, "analyze", str(video), "--json", str(out / "a.json"), "--overwrite", "-q"],
        check=True,
        env=env,
    )
    rows: dict[str, list[tuple[float, float, float]]] = {}
    commands = {BARE_DECODE: bare_decode(video)}
    for way in RENDER_WAYS:
        commands[f"summarize, cached features, --render {way}"] = summarize_command(
            video, out, way, "r", cache=True
        )
    for _ in range(repeat):
        for name, cmd in commands.items():
            rows.setdefault(name, []).append(run_measured(cmd, env))
    print(f"\nrendering ways, median of {repeat}, {os.cpu_count()} CPUs\n")
    print_table(rows)
    print_quality(video, rendered_files(out, "r"))


def uncached_runs(video: Path, out: Path, env: dict, repeat: int, prefix: str) -> dict:
    """Bare decode, analyze and summarize (each --render) from scratch, ``repeat`` times each."""
    commands = {
        BARE_DECODE: bare_decode(video),
        "egvs analyze": [
            *EGVS,
            "analyze",
            str(video),
            "--json",
            str(out / f"{prefix}-analysis.json"),
            "--no-cache",
            "--overwrite",
            "-q",
        ],
        **{
            f"egvs summarize --render {way}": summarize_command(video, out, way, prefix, False)
            for way in RENDER_WAYS
        },
    }
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for _ in range(repeat):
        for name, cmd in commands.items():
            rows.setdefault(name, []).append(run_measured(cmd, env))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "egvs-bench")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each measurement (median reported)"
    )
    parser.add_argument(
        "--long",
        action="store_true",
        help="also the 60-minute file: the same timings, SSIM and size, and peak memory",
    )
    parser.add_argument(
        "--long-repeat", type=int, default=1, help="runs of each 60-minute measurement"
    )
    parser.add_argument(
        "--stages-only", action="store_true", help="only the per-stage breakdown (no timing table)"
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="only the rendering ways (--render encode vs auto): time, SSIM, size",
    )
    parser.add_argument(
        "--video",
        type=Path,
        default=None,
        help="measure this file instead of the built 10-minute one",
    )
    parser.add_argument("--stage-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage_child is not None:  # run by stages() below, with a fresh feature cache
        print(json.dumps(stage_breakdown(args.stage_child, args.work)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    video = args.video or args.work / "ten_minutes_720p.mp4"
    if args.video is None:
        build_video(video, 10)
    env = dict(os.environ, EGVS_CACHE_DIR=str(args.work / "cache"))
    out = args.work / "out"
    out.mkdir(exist_ok=True)
    subprocess.run(
        [*EGVS, "setup", "-q"], check=True, env=env
    )  # model conversion is not part of the timing
    if args.stages_only:
        print_breakdown(stages(video, out, env))
        return
    if args.render_only:
        render_comparison(video, out, env, args.repeat)
        return

    rows = uncached_runs(video, out, env, args.repeat, "s")
    # Warm cache: a new budget on an analysed file.
    subprocess.run(
        [*EGVS, "analyze", str(video), "--json", str(out / "a.json"), "--overwrite", "-q"],
        check=True,
        env=env,
    )
    for _ in range(args.repeat):
        rows.setdefault("egvs analyze, cached features, new budget", []).append(
            run_measured(
                [
                    *EGVS,
                    "analyze",
                    str(video),
                    "--json",
                    str(out / "a.json"),
                    "--duration",
                    "60",
                    "--overwrite",
                    "-q",
                ],
                env,
            )
        )
    print(
        f"\n{video.name} ({video.stat().st_size / 2**20:.0f} MiB), {os.cpu_count()} CPUs, median of {args.repeat}\n"
    )
    print_table(rows)
    print(f"\negvs --version: {startup_seconds():.2f} s (median of 5)")
    print_breakdown(stages(video, out, env))
    if args.long:
        long_video = args.work / "sixty_minutes_720p.mp4"
        concat(video, 6, long_video)
        long_rows = uncached_runs(long_video, out, env, args.long_repeat, "l")
        print(f"\n{long_video.name}, {os.cpu_count()} CPUs, median of {args.long_repeat}\n")
        print_table(long_rows)
        print_quality(long_video, rendered_files(out, "l"))
        ten_rss = max(v[2] for v in rows["egvs analyze"])
        long_rss = max(v[2] for v in long_rows["egvs analyze"])
        print(
            f"\nanalyze peak RSS: 60-minute {long_rss:.0f} MiB, 10-minute {ten_rss:.0f} MiB "
            f"({long_rss - ten_rss:+.0f} MiB)"
        )


if __name__ == "__main__":
    main()
