"""Does the shorts' sound check (`egvs.shortform.select.heard_again`) tell a replayed passage from
a different recording of the same speaker saying the same sentence?

    .venv/bin/python benchmarks/repeats.py [--clips 400] [--pairs 300] [--replays 50] [--seed 0]

Builds one long track from ``--clips`` shuffled 16 kHz clips of ../shared/data/ser (with the
default seed: 251 RAVDESS, 95 EmoDB, 35 Korean, 19 vocal bursts; the same speakers read the same
sentences in several emotions, so different recordings of the same words abound), with 0.2-1 s pauses and a faint noise floor, and its 10 ms
loudness envelope as the analysis computes it. Then:

- different recordings: ``--pairs`` random pairs of non-overlapping 25 s spans;
- replays: ``--replays`` random 25 s spans appended again after the track, off the envelope's
  10 ms grid (0-9 ms), 0-6 dB quieter and under white noise 20 dB below them.

and prints how many of each the check calls the same sound (want: none of the first, all of the
second).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import soundfile as sf

from egvs.features.prosody import loudness_envelope
from egvs.shortform.select import audible_level, heard_again
from egvs.timeline import ENVELOPE_HOP

SER = Path(__file__).resolve().parents[2] / "shared" / "data" / "ser"
RATE = 16000
SPAN = 25.0  # s, a short's length


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=400)
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--replays", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = sorted(SER.rglob("*.flac"))
    if not files:
        raise SystemExit(f"needs the speech corpora in {SER}")
    pick = random.Random(args.seed)
    pick.shuffle(files)
    rng = np.random.default_rng(args.seed)
    parts: list[np.ndarray] = []
    for file in files:
        if len(parts) >= 2 * args.clips:
            break
        audio, rate = sf.read(file, dtype="float32", always_2d=True)
        if rate != RATE:
            continue
        mono = audio.mean(1)
        parts += [
            0.5 * mono / (np.abs(mono).max() + 1e-9),
            np.zeros(round(RATE * pick.uniform(0.2, 1.0)), np.float32),
        ]
    track = np.concatenate(parts)
    track += 0.003 * rng.standard_normal(len(track)).astype(np.float32)
    span = round(SPAN * RATE)
    starts = rng.integers(0, len(track) - span, size=(args.pairs, 2))
    starts = starts[np.abs(starts[:, 0] - starts[:, 1]) >= span]
    env = loudness_envelope(track, RATE)
    audible = audible_level(env)
    as_span = lambda sample: (sample / RATE, sample / RATE + SPAN)  # noqa: E731
    false = sum(heard_again(env, as_span(a), as_span(b), audible) for a, b in starts)
    replays = []
    for a in rng.integers(0, len(track) - span, size=args.replays):
        piece = track[a : a + span] * 10 ** (-rng.uniform(0, 6) / 20)
        noise = rng.standard_normal(span).astype(np.float32)
        noise *= np.sqrt((piece**2).mean() / 100 / (noise**2).mean())
        lead = np.zeros(RATE + int(rng.integers(0, round(ENVELOPE_HOP * RATE))), np.float32)
        again = np.concatenate([track, lead, piece + noise])
        env = loudness_envelope(again, RATE)
        found = heard_again(env, as_span(a), as_span(len(track) + len(lead)), audible_level(env))
        replays.append(found)
    minutes = len(track) / RATE / 60
    print(f"\n{len(parts) // 2} clips, {minutes:.1f} min of speech; 25 s spans\n")
    print("| pairs | count | called the same sound |")
    print("|---|---|---|")
    print(f"| different recordings | {len(starts)} | {false} |")
    print(
        f"| replays (0-9 ms off the grid, 0-6 dB down, noise 20 dB down) | {len(replays)} | {sum(replays)} |"
    )


if __name__ == "__main__":
    main()
