"""Transcription accuracy and speed of `egvs.captions.transcribe` (issue 10 targets: WER <= 20%,
CER <= 12%).

    .venv/bin/python benchmarks/captions.py [--ko-clips 40] [--out captions.json]

English: WER on the His Girl Friday clip of ../shared/data/videos against its .vtt (lower case,
punctuation removed, common contractions spelled out on both sides). Korean: CER on
``emotiontts_ko`` clips of ../shared/data/ser whose sentence is in labels.csv (every k-th clip in
path order, so all speakers and emotions are in), language detected, spaces and punctuation
removed on both sides (Korean spacing varies). English read speech: WER on RAVDESS clips (two
acted sentences, eight emotions), the same way. Error rates are corpus-level (errors / reference
length). Real-time factor: transcription wall time / audio seconds, model loading not counted.
Needs jiwer (pip install jiwer).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
import unicodedata
from pathlib import Path

import jiwer

from egvs.captions import transcribe
from egvs.captions.transcribe import load_model
from egvs.media import probe
from egvs.progress import set_verbosity

SHARED = Path(
    os.environ.get("EGVS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
CONTRACTIONS = {"n't": " not", "'ve": " have", "'re": " are", "'ll": " will", "'m": " am"}


def _no_punctuation(text: str) -> str:
    return "".join(" " if unicodedata.category(c).startswith(("P", "S")) else c for c in text)


def normalize_en(text: str) -> str:
    """Lower case, contractions spelled out, punctuation removed, single spaces."""
    text = text.lower().replace("’", "'")
    for short, long in CONTRACTIONS.items():
        text = text.replace(short, long)
    return " ".join(_no_punctuation(text).split())


def normalize_ko(text: str) -> str:
    """Characters only: no punctuation, no spaces."""
    return "".join(_no_punctuation(text).split())


def vtt_text(path: Path) -> str:
    """The cue text of a WebVTT file, cues joined by spaces."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return " ".join(
        line for line in lines[1:] if line.strip() and "-->" not in line and not line.isdigit()
    )


def _timed(path: Path) -> tuple[str, str, float, float]:
    """(language, text, seconds taken, audio seconds) of one transcription."""
    t0 = time.perf_counter()
    result = transcribe(path)
    return result.language, result.text, time.perf_counter() - t0, probe(path).duration


def english() -> dict:
    clip = SHARED / "videos" / "his_girl_friday_mdn_friday.mp4"
    language, text, took, seconds = _timed(clip)
    reference = normalize_en(vtt_text(clip.with_suffix(".vtt")))
    return {
        "clip": clip.name,
        "language": language,
        "reference": reference,
        "hypothesis": normalize_en(text),
        "wer": jiwer.wer(reference, normalize_en(text)),
        "rtf": took / seconds,
        "audio_seconds": seconds,
    }


def labelled(dataset: str, n_clips: int, normalize, metric) -> dict:
    """``metric`` (jiwer.wer or jiwer.cer) on ``n_clips`` clips of a labels.csv dataset with text."""
    with (SHARED / "ser" / "labels.csv").open(encoding="utf-8") as f:
        rows = sorted(
            (r for r in csv.DictReader(f) if r["dataset"] == dataset and r["text"]),
            key=lambda r: r["path"],
        )
    chosen = rows[:: max(1, len(rows) // n_clips)][:n_clips]
    refs, hyps, languages, took, seconds = [], [], [], 0.0, 0.0
    for row in chosen:
        language, text, dt, dur = _timed(SHARED / "ser" / row["path"])
        refs.append(normalize(row["text"]))
        hyps.append(normalize(text))
        languages.append(language == row["language"])
        took, seconds = took + dt, seconds + dur
    return {
        "dataset": dataset,
        "clips": len(chosen),
        "error_rate": metric(refs, hyps),
        "language_detected": sum(languages) / len(chosen),
        "rtf": took / seconds,
        "audio_seconds": seconds,
        "worst": sorted(
            ({"ref": r, "hyp": h, "error": metric(r, h)} for r, h in zip(refs, hyps)),
            key=lambda x: -x["error"],
        )[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ko-clips", type=int, default=40, help="emotiontts_ko clips (CER)")
    parser.add_argument("--en-clips", type=int, default=40, help="RAVDESS clips (WER)")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args()
    set_verbosity(-1)
    t0 = time.perf_counter()
    load_model()
    load = time.perf_counter() - t0
    en = english()
    ko = labelled("emotiontts_ko", args.ko_clips, normalize_ko, jiwer.cer)
    rav = labelled("ravdess", args.en_clips, normalize_en, jiwer.wer)
    print(f"model load {load:.1f} s (Whisper-base int8, beam 5, CPU threads {os.cpu_count()})")
    print(f"English  WER {en['wer']:.1%}  RTF {en['rtf']:.2f}  ({en['audio_seconds']:.1f} s)")
    print(f"  ref: {en['reference']}\n  hyp: {en['hypothesis']}")
    for name, metric, res in (("Korean", "CER", ko), ("RAVDESS", "WER", rav)):
        print(
            f"{name:8s} {metric} {res['error_rate']:.1%}  RTF {res['rtf']:.2f}  ({res['clips']} "
            f"clips, {res['audio_seconds']:.0f} s, language detected: {res['language_detected']:.0%})"
        )
        for w in res["worst"][:3]:
            print(f"  {w['error']:.0%}  ref {w['ref']}  hyp {w['hyp']}")
    if args.out:
        results = {"english": en, "korean": ko, "ravdess": rav}
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
