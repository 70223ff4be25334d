"""End-to-end check that speech emotion guides the summary (issue 4, benchmark 8).

    .venv/bin/python benchmarks/moments.py [--labels ../shared/data/ser/labels.csv] [--work DIR] [--videos 4]

1. Holds out speakers: RAVDESS actors 17-20 and about a third of the nonverbal corpus' speakers,
   and trains a head on everything else (same code as ``egvs ser train``).
2. Builds one ~3-minute video per held-out actor: that actor's calm/neutral utterances with pauses,
   and 4 emotional moments of 2-3 consecutive clips (the actor's strong-intensity acted emotion, or
   held-out laughter, screams, crying). Every clip is trimmed to its sound and normalised to the same
   peak loudness (max momentary 400 ms RMS at -18 dBFS) and every pause, inside moments or not,
   lasts 0.6-1.6 s, so level alone gives nothing away; the picture is a looped low-motion gradient.
3. Runs ``egvs analyze VIDEO --json OUT --ratio R`` (R = the moments' share of the duration) with the
   held-out head (``EGVS_SER_HEAD``) and scores the selected time against the moments: F1 on a 0.1 s
   grid, beside a random selection (mean of 200 draws) and a loudness-only selection (top 2 s windows
   by RMS) at the same budget, and the SER signals alone (top 2 s windows by arousal/vocalization).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from egvs.ser.audio import load_audio
from egvs.ser.labels import Item, read_labels
from egvs.ser.train import clip_features, context_features, fit_head

SR = 16000
GRID = 0.1
TARGET_DB = -18.0  # peak momentary loudness of every clip (dBFS)
HELD_OUT_ACTORS = ("ravdess_17", "ravdess_18", "ravdess_19", "ravdess_20")
MOMENT_KINDS = ("angry", "laughing", "happy", "screaming", "fearful", "crying", "surprised")
DEFAULT_LABELS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ser" / "labels.csv"


def held_out(items: list[Item]) -> set[str]:
    """Held-out speakers: 4 RAVDESS actors and every third nonverbal speaker of each class."""
    out = set(HELD_OUT_ACTORS)
    for cls in ("laughing", "crying", "screaming"):
        speakers = sorted({it.speaker for it in items if it.label == cls})
        out |= set(speakers[::3])
    return out


def trim_and_level(x: np.ndarray) -> np.ndarray:
    """The clip's sounding part (frames within 35 dB of its loudest) at the same peak loudness.

    Loudness is the maximum momentary (400 ms) RMS, set to `TARGET_DB`: a calm sentence and a
    scream then peak at the same level, so level alone gives nothing away.
    """
    hop = 160
    n = len(x) // hop
    if n == 0:
        return x
    db = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    active = np.flatnonzero(db > db.max() - 35)
    x = x[max(active[0] - 5, 0) * hop : min(active[-1] + 6, n) * hop]
    win = int(0.4 * SR)
    power = (
        np.convolve(x.astype(np.float64) ** 2, np.ones(win) / win, mode="valid")
        if len(x) > win
        else [np.mean(x**2)]
    )
    peak_db = 10 * np.log10(np.max(power) + 1e-12)
    return np.clip(x * 10 ** ((TARGET_DB - peak_db) / 20), -0.99, 0.99).astype(np.float32)


def build_audio(
    actor: str,
    items: list[Item],
    hold: set[str],
    index: int,
    minutes: float,
    rng: np.random.Generator,
):
    """(audio, moments as [(start, end, kind)]) for one held-out actor."""
    mine = [it for it in items if it.speaker == actor]
    calm = [it for it in mine if it.label in ("neutral", "calm")]
    strong = {
        k: [it for it in mine if it.label == k and it.path.name.split("-")[3] == "02"]
        for k in MOMENT_KINDS
    }
    vocal = {
        k: [it for it in items if it.label == k and it.speaker in hold]
        for k in ("laughing", "crying", "screaming")
    }
    kinds = [MOMENT_KINDS[(index * 4 + j) % len(MOMENT_KINDS)] for j in range(4)]
    total = minutes * 60 * SR
    slots = sorted(
        rng.choice(np.arange(2, 12), size=len(kinds), replace=False)
    )  # moment after calm clip #slot*k
    parts: list[np.ndarray] = []
    moments = []
    pos = 0
    calm_order = list(rng.permutation(len(calm)))
    c = 0
    kind_iter = iter(zip(slots, kinds, strict=True))
    next_slot = next(kind_iter)
    while pos < total:
        x = trim_and_level(load_audio(calm[calm_order[c % len(calm)]].path))
        c += 1
        parts += [x, np.zeros(int(rng.uniform(0.6, 1.6) * SR), np.float32)]
        pos += len(x) + len(parts[-1])
        if next_slot is not None and c == next_slot[0] * 3:
            kind = next_slot[1]
            pool = vocal.get(kind) or strong[kind]
            pick = rng.choice(
                len(pool), size=min(len(pool), int(rng.integers(2, 4))), replace=False
            )
            start = pos
            for j, p in enumerate(pick):
                y = trim_and_level(load_audio(pool[p].path))
                parts.append(y)
                pos += len(y)
                if j < len(pick) - 1:
                    parts.append(np.zeros(int(rng.uniform(0.6, 1.6) * SR), np.float32))
                    pos += len(parts[-1])
            moments.append((start / SR, pos / SR, kind))
            parts.append(np.zeros(int(rng.uniform(0.6, 1.6) * SR), np.float32))
            pos += len(parts[-1])
            next_slot = next(kind_iter, None)
    return np.concatenate(parts), moments


def write_video(
    path: Path, audio: np.ndarray, fps: int = 10, size: tuple[int, int] = (320, 180)
) -> None:
    """H.264/AAC mp4: a slowly drifting gradient (low motion) over ``audio`` (16 kHz mono)."""
    w, h = size
    duration = len(audio) / SR
    yy, xx = np.mgrid[0:h, 0:w]
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "30"}
        aus = out.add_stream("aac", rate=SR)
        aus.layout = "mono"
        for i in range(int(duration * fps)):
            shift = 8 * np.sin(2 * np.pi * i / fps / 20)
            img = np.stack([(xx + shift) % 256, (yy * 1.2) % 256, np.full_like(xx, 96)], -1).astype(
                np.uint8
            )
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(vs.encode(frame))
        out.mux(vs.encode())
        for a in range(0, len(audio), 1024):
            chunk = audio[a : a + 1024]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = SR, a, Fraction(1, SR)
            out.mux(aus.encode(frame))
        out.mux(aus.encode())


def mask(spans, duration: float) -> np.ndarray:
    m = np.zeros(int(np.ceil(duration / GRID)), bool)
    for a, b, *_ in spans:
        m[int(round(a / GRID)) : int(round(b / GRID))] = True
    return m


def f1(sel: np.ndarray, truth: np.ndarray) -> float:
    tp = np.sum(sel & truth)
    if tp == 0:
        return 0.0
    p, r = tp / sel.sum(), tp / truth.sum()
    return float(2 * p * r / (p + r))


def top_windows(values: np.ndarray, per_window: int, budget_bins: int, n_bins: int) -> np.ndarray:
    """Select whole 2 s windows by descending ``values`` until the budget is filled."""
    sel = np.zeros(n_bins, bool)
    for w in np.argsort(-values, kind="stable"):
        if sel.sum() >= budget_bins:
            break
        sel[w * per_window : (w + 1) * per_window] = True
    return sel


def baselines(
    audio: np.ndarray, truth: np.ndarray, budget_bins: int, rng: np.random.Generator
) -> dict:
    per = int(2.0 / GRID)
    n_win = int(np.ceil(len(truth) / per))
    hop = int(2.0 * SR)
    rms = np.array(
        [np.sqrt(np.mean(audio[i * hop : (i + 1) * hop] ** 2) + 1e-12) for i in range(n_win)]
    )
    loud = top_windows(rms, per, budget_bins, len(truth))
    rand = [
        f1(top_windows(rng.random(n_win), per, budget_bins, len(truth)), truth) for _ in range(200)
    ]
    return {"loudness": f1(loud, truth), "random": float(np.mean(rand))}


def ser_only(doc: dict, truth: np.ndarray, budget_bins: int) -> float:
    """The SER track alone: top 2 s windows by max(arousal, vocalization) from the analysis JSON."""
    sig = doc["timeline"]["signals"]
    step = doc["timeline"]["step"]
    score = np.maximum(
        np.array(sig["arousal"]),
        sum(np.array(sig[f"vocal.{k}"]) for k in ("laughing", "crying", "screaming")),
    )
    per_step = int(round(2.0 / step))
    n_win = int(np.ceil(len(score) / per_step))
    win = np.array([score[i * per_step : (i + 1) * per_step].mean() for i in range(n_win)])
    return f1(top_windows(win, int(2.0 / GRID), budget_bins, len(truth)), truth)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--work", type=Path, default=Path("/tmp/egvs-moments"))
    parser.add_argument(
        "--videos", type=int, default=4, help="videos to build (one per held-out actor, max 4)"
    )
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    parser.add_argument(
        "--analyze-args",
        default="",
        help='extra options for egvs analyze, e.g. "--weights emotion=0.6,events=0.3,visual=0.1"',
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    items = read_labels(args.labels)
    hold = held_out(items)
    train_items = [it for it in items if it.speaker not in hold]
    head_dir = args.work / "heldout-head"
    head_dir.mkdir(exist_ok=True)
    x = clip_features(train_items)
    fit_head(x, train_items, x_context=context_features(train_items)).save(
        head_dir / "ser_head.npz"
    )
    print(
        f"held-out head: trained on {len(train_items)} clips, {len(items) - len(train_items)} held out"
    )
    rng = np.random.default_rng(0)
    rows = []
    for v, actor in enumerate(HELD_OUT_ACTORS[: args.videos]):
        audio, moments = build_audio(actor, items, hold, v, args.minutes, rng)
        video = args.work / f"moments_{actor}.mp4"
        write_video(video, audio)
        duration = len(audio) / SR
        truth = mask(moments, duration)
        ratio = float(truth.mean())
        out_json = args.work / f"moments_{actor}.json"
        env = {**os.environ, "EGVS_SER_HEAD": str(head_dir)}
        cmd = [
            sys.executable,
            "-m",
            "egvs.cli.main",
            "analyze",
            str(video),
            "--json",
            str(out_json),
            "--ratio",
            f"{ratio:.4f}",
            "-q",
            "--overwrite",
            *shlex.split(args.analyze_args),
        ]
        subprocess.run(cmd, check=True, env=env)
        doc = json.loads(out_json.read_text())
        segs = [(s["start"], s["end"]) for s in doc["summary"]["segments"]]
        sel = mask(segs, duration)
        budget_bins = int(round(ratio * len(truth)))
        row = {
            "video": video.name,
            "duration": round(duration, 1),
            "ratio": round(ratio, 3),
            "moments": [(round(a, 1), round(b, 1), k) for a, b, k in moments],
            "egvs": f1(sel, truth),
            "ser_only": ser_only(doc, truth, budget_bins),
            **baselines(audio, truth, budget_bins, rng),
        }
        rows.append(row)
        print(
            f"{video.name}: egvs F1 {row['egvs']:.3f}  SER-only {row['ser_only']:.3f}  "
            f"random {row['random']:.3f}  loudness {row['loudness']:.3f}  (R={ratio:.3f}; {', '.join(m[2] for m in moments)})"
        )
    mean = {
        k: float(np.mean([r[k] for r in rows])) for k in ("egvs", "ser_only", "random", "loudness")
    }
    print("| selection | mean F1 |\n|---|---|")
    for k, label in (
        ("egvs", "egvs analyze"),
        ("ser_only", "SER signals alone"),
        ("random", "random"),
        ("loudness", "loudness only"),
    ):
        print(f"| {label} | {mean[k]:.3f} |")
    if args.out:
        args.out.write_text(json.dumps({"videos": rows, "mean": mean}, indent=2))


if __name__ == "__main__":
    main()
