"""Throughput of `egvs batch`: the local engine with 1 and 2 workers and Ray with 2 workers.

Builds (once, cached under --work) N real-looking videos of M minutes each by looping the shared
clips in ../shared/data/videos (640x360 H.264/AAC; FFmpeg's test pattern and a tone without
them), then runs, in this one run, each engine configuration on all of them from scratch
(``--no-cache``: every feature is computed) and prints:

  * videos per hour (wall clock),
  * CPU-seconds per media minute (the whole process tree: driver, workers, Ray's daemons),
  * parallel efficiency: process-tree CPU time / (wall time x this machine's cores).

    .venv/bin/python benchmarks/batch.py [--videos 8] [--minutes 3] [--configs local:1,local:2,ray:2]

The process tree's CPU time is sampled from /proc every 0.2 s (Linux), plus what wait4 reports
for the driver and the processes it reaped, whichever is larger: a process that exits between
two samples loses at most its last 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_VIDEOS = ROOT.parent / "shared" / "data" / "videos"
EGVS = [sys.executable, "-m", "egvs.cli.main"]
TICKS = os.sysconf("SC_CLK_TCK")


def clips() -> list[Path]:
    return sorted(p for p in SHARED_VIDEOS.glob("*") if p.suffix in (".mp4", ".webm"))


def has_audio(path: Path) -> bool:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries", "stream=index",
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return bool(probe.stdout.strip())


def build_video(path: Path, seconds: float, index: int) -> None:
    """``seconds`` of the index-th shared clip, looped, re-encoded to 640x360 H.264/AAC."""
    if path.exists():
        return
    sources = clips()
    if sources:
        clip = sources[index % len(sources)]
        inputs = ["-stream_loop", "-1", "-i", str(clip)]
        maps = ["-map", "0:v:0", "-map", "0:a:0"]
        if not has_audio(clip):  # soft noise, so every video has a sound track to analyse
            inputs += ["-f", "lavfi", "-i", "anoisesrc=a=0.02:r=48000"]
            maps[-1] = "1:a:0"
    else:
        inputs = ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24",
                  "-f", "lavfi", "-i", f"sine=frequency={220 * (index + 1)}:sample_rate=48000"]  # fmt: skip
        maps = ["-map", "0:v", "-map", "1:a"]
    tmp = path.with_name(f".{path.name}")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *inputs, *maps, "-t", f"{seconds:g}",
         "-vf", "scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:-1:-1,fps=24",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-ac", "1", "-ar", "48000", "-f", "mp4", str(tmp)],
        check=True,
    )  # fmt: skip
    tmp.rename(path)


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds (user + system) of ``root`` and every descendant now alive, by pid."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    tree, frontier = {root}, [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier and pid not in tree]
        tree.update(frontier)
    return {pid: cpu[pid] for pid in tree if pid in cpu}


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, process-tree CPU s) of ``cmd``, which must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    seen: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            for pid, seconds in tree_cpu(proc.pid).items():
                seen[pid] = max(seen.get(pid, 0.0), seconds)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{err[-2000:]}")
    return wall, max(sum(seen.values()), usage.ru_utime + usage.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=8, help="how many videos (default 8)")
    parser.add_argument("--minutes", type=float, default=3.0, help="length of each (default 3)")
    parser.add_argument(
        "--configs",
        default="local:1,local:2,ray:2",
        help="ENGINE:WORKERS[:CPUS_PER_WORKER],... to run (default local:1,local:2,ray:2)",
    )
    parser.add_argument("--work", type=Path, default=None, help="keep the videos here (reused)")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        raise SystemExit("needs Debian's ffmpeg: apt-get install ffmpeg")
    work = args.work or Path(tempfile.mkdtemp(prefix="egvs-batch-bench-"))
    videos = work / f"videos-{args.videos}x{args.minutes:g}min"
    videos.mkdir(parents=True, exist_ok=True)
    print(f"building {args.videos} x {args.minutes:g} min videos in {videos}...", file=sys.stderr)
    for i in range(args.videos):
        build_video(videos / f"video{i:02d}.mp4", args.minutes * 60, i)
    cores = len(os.sched_getaffinity(0))
    media_minutes = args.videos * args.minutes
    env = dict(os.environ, RAY_DISABLE_USAGE_STATS="1")
    rows = []
    for config in args.configs.split(","):
        engine, workers, *cpus = config.split(":")
        out = work / f"out-{config.replace(':', '-')}"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [*EGVS, "batch", str(videos), "-o", str(out), "--engine", engine,
               "--workers", workers, "--no-cache", "-q"]  # fmt: skip
        name = f"{engine}, {workers} workers" + (f" x {cpus[0]} CPUs" if cpus else "")
        print(f"running {name}...", file=sys.stderr)
        wall, cpu = run_measured(cmd + [f"--cpus-per-worker={c}" for c in cpus], env)
        rows.append((name, wall, cpu))
    print(
        f"\n{args.videos} videos x {args.minutes:g} min = {media_minutes:g} media minutes, "
        f"{cores} cores, no feature cache\n"
    )
    print("| engine | wall s | videos / hour | CPU s / media min | parallel efficiency |")
    print("|---|---:|---:|---:|---:|")
    for name, wall, cpu in rows:
        print(
            f"| {name} | {wall:.1f} | {args.videos / wall * 3600:.0f} | "
            f"{cpu / media_minutes:.1f} | {cpu / (wall * cores):.0%} |"
        )


if __name__ == "__main__":
    main()
