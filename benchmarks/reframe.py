"""Reframing to 9:16 on the shared clips with faces: is the face in the crop, is the crop steady?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reframe.py [--data ../shared/data/videos]
        [--aspect 9:16] [--fps 25] [--detect-fps 5] [--max-seconds 30] [--clips NAME ...]

Per clip (the whole clip, at most ``--max-seconds``): `detect_track` at ``--detect-fps``, shot cuts from a
colour-histogram change between consecutive frames (a stand-in for the analysis' shots), then
`crop_path` at ``--fps`` output frames per second.

It is checked on frames the camera never saw: faces are detected again halfway between the
track's detections (5 fps, offset 0.1 s). On every such frame with a face:
- ``in``: a main face (at least MAIN of the largest face's width) is fully inside the crop (a fill
  frame shows everything: inside); frames whose main faces are all wider than the crop cannot
  pass and are counted apart (``wide``); with two people of a size, either one counts;
- ``big``: the largest face is fully inside (of the frames where it fits).
Steadiness: ``still`` is the median crop motion (|dx| + |dy| px between consecutive output frames)
over the output frames between two check frames where the largest face moved under 0.1 face widths
(0.5 widths/s): the subject is still. ``all`` is the same median over every frame, ``p95`` its 95th
percentile. Targets: ``in`` >= 95 %, ``still`` < 2 px.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import numpy as np

from egvs.reframe import FaceDetector, crop_path, detect_track, sample_frames
from egvs.reframe.track import DETECT_FPS

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
STILL = 0.1  # face widths between check frames
MAIN = 0.75  # faces at least this fraction of the largest face's width are main faces


def inside(face_box, crop) -> bool:
    x, y, w, h = crop
    x0, y0, x1, y1 = face_box
    return x0 >= x - 0.5 and y0 >= y - 0.5 and x1 <= x + w + 0.5 and y1 <= y + h + 0.5


def evaluate(path: Path, detector: FaceDetector, args) -> dict:
    with av.open(str(path)) as container:
        duration = container.duration / av.time_base
    end = min(duration, args.max_seconds)
    began = time.perf_counter()
    track = detect_track(str(path), 0.0, end, fps=args.detect_fps, detector=detector)
    track_s = time.perf_counter() - began
    began = time.perf_counter()
    crop = crop_path(track, aspect=args.aspect, fps=args.fps, cuts=track.cuts)
    path_s = time.perf_counter() - began
    motion = np.abs(np.diff(crop.boxes[:, :2], axis=0)).sum(axis=1)

    checked = hits = big_checked = big_hits = wide = 0
    still: list[np.ndarray] = []
    last: tuple[float, tuple[float, float], float] | None = None
    for t, rgb in sample_frames(str(path), 0.1, end, 5.0):
        faces = detector.detect(rgb)
        if not faces:
            last = None
            continue
        big = max(faces, key=lambda f: f.width)
        box, fill = crop.at(t), crop.is_fill(t)
        main = [f for f in faces if f.width >= MAIN * big.width]
        fitting = [f for f in main if f.width <= box[2] and f.height <= box[3]]
        if not fitting:
            wide += 1
        else:
            checked += 1
            hits += fill or any(inside(f.box, box) for f in fitting)
        if big in fitting:
            big_checked += 1
            big_hits += fill or inside(big.box, box)
        if last is not None and not any(last[0] < c <= t for c in track.cuts):
            moved = np.hypot(*np.subtract(big.centre, last[1])) / big.width
            if moved < STILL:
                lo, hi = crop.index(last[0]), crop.index(t)
                still.append(motion[lo:hi])
        last = (t, big.centre, big.width)
    with_face = checked + wide
    still_px = np.concatenate(still) if still else np.zeros(0)
    return {
        "clip": path.name,
        "seconds": end,
        "frames": with_face,
        "in": hits / checked if checked else float("nan"),
        "big": big_hits / big_checked if big_checked else float("nan"),
        "wide": wide,
        "still": float(np.median(still_px)) if len(still_px) else float("nan"),
        "still_n": len(still_px),
        "all": float(np.median(motion)) if len(motion) else 0.0,
        "p95": float(np.percentile(motion, 95)) if len(motion) else 0.0,
        "fill": float(crop.fill.mean()),
        "cuts": len(track.cuts),
        "keyframes": len(crop.keyframes()),
        "x_rt": (track_s + path_s) / end,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--aspect", default="9:16")
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--detect-fps", type=float, default=DETECT_FPS)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    parser.add_argument("--clips", nargs="*", help="only these file names")
    args = parser.parse_args()
    args.aspect = tuple(int(v) for v in args.aspect.split(":"))
    clips = sorted(p for p in args.data.rglob("*") if p.suffix in {".mp4", ".webm", ".flv"})
    clips = [p for p in clips if not args.clips or p.name in args.clips]
    detector = FaceDetector()
    head = (
        f"{'clip':40} {'s':>5} {'faces':>5} {'in%':>6} {'big%':>6} {'wide':>4} "
        f"{'still':>5} {'n':>5} {'all':>5} {'p95':>5} {'fill%':>5} {'cuts':>4} {'keys':>4} "
        f"{'xRT':>5}"
    )
    print(head)
    rows = []
    for clip in clips:
        r = evaluate(clip, detector, args)
        rows.append(r)
        print(
            f"{r['clip'][:40]:40} {r['seconds']:5.1f} {r['frames']:5d} {100 * r['in']:6.1f} "
            f"{100 * r['big']:6.1f} {r['wide']:4d} {r['still']:5.1f} {r['still_n']:5d} "
            f"{r['all']:5.1f} {r['p95']:5.1f} {100 * r['fill']:5.1f} {r['cuts']:4d} "
            f"{r['keyframes']:4d} {r['x_rt']:5.2f}",
            flush=True,
        )
    checked = sum(r["frames"] - r["wide"] for r in rows)
    hits = sum(r["in"] * (r["frames"] - r["wide"]) for r in rows if r["frames"] > r["wide"])
    stills = [r["still"] for r in rows if r["still_n"]]
    print(
        f"all clips: face inside the crop on {100 * hits / max(checked, 1):.1f} % of {checked} "
        f"frames with a face that fits ({sum(r['wide'] for r in rows)} wider than the crop); "
        f"median motion while still: worst clip {max(stills, default=float('nan')):.1f} px"
    )


if __name__ == "__main__":
    main()
