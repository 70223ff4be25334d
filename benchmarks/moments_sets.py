"""The moments benchmark over several build seeds at once: the tuning sets, pooled.

    .venv/bin/python benchmarks/moments_sets.py [--build-seeds 1-6] [--work DIR]
        [any other benchmarks/moments.py option, e.g. --seed 1 --analyze-args "..."]

Runs ``benchmarks/moments.py --set all --build-seed N`` for each seed (one work folder, so the
held-out head is trained once and each set's videos keep their own ``*_bN.mp4`` names), then
prints one table: each set's mean F1 per kind of video, their mean, and where the pooled
selection's time went (`moments.loss_breakdown`). Four videos per kind and build seed are few:
one video flipping moves a kind's mean by 0.05, so settings are chosen on the mean of several
tuning sets, and the reported set (build seed 0) is scored once after the choice.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import moments  # noqa: E402

KINDS = {
    "single": "single",
    "multi": "multi, beds",
    "multi_clean": "multi, no beds",
    "korean": "Korean only",
}


def parse_seeds(text: str) -> list[int]:
    """``"1-6"``, ``"1,3,5"`` or ``"2"`` as a sorted list of build seeds (each > 0: seed 0 is
    the reported set, never tuned on)."""
    seeds: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-")
        try:
            lo, hi = int(first), int(last or first)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad build seeds {text!r}: use e.g. 1-6 or 1,3,5"
            ) from None
        seeds.update(range(lo, hi + 1))
    if not seeds or min(seeds) < 1:
        raise argparse.ArgumentTypeError("build seeds start at 1 (0 is the reported set)")
    return sorted(seeds)


def pooled_table(results: dict[int, dict]) -> str:
    """Markdown: a row per build seed (mean F1 per kind), their mean, and the pooled breakdown."""
    kinds = [k for k in KINDS if all(k in r for r in results.values())]
    lines = [
        "| build seed | " + " | ".join(KINDS[k] for k in kinds) + " |",
        "|---" * (len(kinds) + 1) + "|",
    ]
    for seed, result in sorted(results.items()):
        cells = " | ".join(f"{result[k]['mean']['egvs']:.3f}" for k in kinds)
        lines.append(f"| {seed} | {cells} |")
    means = [np.mean([r[k]["mean"]["egvs"] for r in results.values()]) for k in kinds]
    lines.append("| **mean** | " + " | ".join(f"**{m:.3f}**" for m in means) + " |")
    for k in kinds:
        rows = [row for r in results.values() for row in r[k]["videos"]]
        lines.append(f"\n{KINDS[k]}: " + moments.breakdown_line(moments.loss_breakdown(rows)))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--build-seeds", type=parse_seeds, default=parse_seeds("1-6"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/egvs-moments-sets"))
    args, rest = parser.parse_known_args(argv)
    results = {}
    for seed in args.build_seeds:
        out = args.work / f"moments_b{seed}.json"
        cmd = [sys.executable, str(Path(moments.__file__)), "--set", "all"]
        cmd += ["--build-seed", str(seed), "--work", str(args.work), "--out", str(out), *rest]
        print(f"moments_sets: build seed {seed}", flush=True)
        subprocess.run(cmd, check=True)
        results[seed] = json.loads(out.read_text())
    print("\n" + pooled_table(results))


if __name__ == "__main__":
    main()
