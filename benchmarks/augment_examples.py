"""Write augmented versions of a clip (egvs.ser_training.augment) as 16 kHz WAV files, to listen to.

    .venv/bin/python benchmarks/augment_examples.py CLIP OUT_DIR [--n 8] [--seed 0]
        [--noise FILE_OR_DIR ...] [--beds]

Writes ``OUT_DIR/original.wav``, ``OUT_DIR/aug_00.wav`` ... (variant ``i`` is
``augment(x, variant_seed(seed, i), bank)``, as `augment_many` makes them) and
``OUT_DIR/conditions.json`` with what each variant applied, printed as one line each too. With
``--noise`` the noise bank holds those recordings (a folder: its .wav/.flac/.ogg/.opus/.mp3 files,
recursively) besides the synthetic noises; without it, noise beds are synthetic. ``--beds`` also
writes one music bed per genre and one of each synthetic noise (``bed_*.wav``), alone.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from egvs.media.decode import SAMPLE_RATE
from egvs.ser.audio import load_audio
from egvs.ser_training.augment import (
    GENRES,
    SYNTHETIC_KINDS,
    NoiseBank,
    augment_with_record,
    synth_music,
    synth_noise,
    variant_seed,
)

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".opus", ".mp3"}


def _noise_paths(items: list[str]) -> list[Path]:
    paths: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            paths += sorted(q for q in p.rglob("*") if q.suffix.lower() in AUDIO_SUFFIXES)
        else:
            paths.append(p)
    return paths


def _summary(record: dict) -> str:
    parts = []
    if record.get("reverb"):
        parts.append(
            f"reverb RT60 {record['reverb']['rt60_s']:.2f}s DRR {record['reverb']['drr_db']:+.1f}dB"
        )
    if record.get("music"):
        m = record["music"]
        drums = " +drums" if m["drums"] else ""
        parts.append(f"music {m['genre']} {m['bpm']:.0f}bpm{drums} @{record['snr_db']:.0f}dB")
    if record.get("noise"):
        n = record["noise"]
        what = n.get("kind") or ",".join(n.get("names", [])[:3])
        parts.append(f"noise {n['source']}:{what} @{record['snr_db']:.0f}dB")
    if record.get("lowpass_hz"):
        hp = f" hp {record['highpass_hz']:.0f}Hz" if record.get("highpass_hz") else ""
        parts.append(f"lp {record['lowpass_hz']:.0f}Hz{hp}")
    if record.get("soft_clip_drive"):
        parts.append(f"soft clip {record['soft_clip_drive']:.2f}")
    if record.get("gain_db") is not None:
        parts.append(f"gain {record['gain_db']:+.1f}dB")
    return "; ".join(parts) or "unchanged"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", type=Path, help="audio or video file (read at 16 kHz mono)")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--n", type=int, default=8, help="number of variants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", nargs="*", default=[], help="noise recordings or folders")
    parser.add_argument("--beds", action="store_true", help="also write the beds alone")
    args = parser.parse_args()

    x = load_audio(args.clip)
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    noise = _noise_paths(args.noise)
    bank = NoiseBank.from_paths(noise) if noise else NoiseBank()
    print(
        f"{args.clip}: {len(x) / SAMPLE_RATE:.1f} s; noise bank: {len(bank)} recordings + synthetic"
    )
    sf.write(out / "original.wav", x, SAMPLE_RATE, subtype="PCM_16")
    records = []
    for i in range(args.n):
        seed = variant_seed(args.seed, i)
        y, record = augment_with_record(x, seed, bank)
        name = f"aug_{i:02d}.wav"
        sf.write(out / name, y, SAMPLE_RATE, subtype="PCM_16")
        records.append({"file": name, **record})
        print(f"{name}: {_summary(record)}")
    if args.beds:
        n = max(len(x), 8 * SAMPLE_RATE)
        for j, genre in enumerate(GENRES):
            rng = np.random.default_rng([args.seed, j])
            sf.write(out / f"bed_music_{genre}.wav", synth_music(n, rng, genre=genre), SAMPLE_RATE)
        for j, kind in enumerate(SYNTHETIC_KINDS):
            z = 0.1 * synth_noise(kind, n, np.random.default_rng([args.seed, 100 + j]))
            sf.write(out / f"bed_noise_{kind}.wav", np.clip(z, -1, 1), SAMPLE_RATE)
    (out / "conditions.json").write_text(json.dumps(records, indent=1) + "\n")
    print(f"wrote {args.n} variants to {out}")


if __name__ == "__main__":
    main()
