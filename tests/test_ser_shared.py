"""Integration on ../shared/data/ser (skipped when absent): eval CLI and the streamed model on real speech."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ctranslate2")

from conftest import shared_path  # noqa: E402

from egvs.ser import analyze_audio, default_model  # noqa: E402
from egvs.ser.audio import load_audio  # noqa: E402

pytestmark = pytest.mark.shared


def subset(labels: Path, out: Path, per_class: int = 2) -> Path:
    """A small labelled CSV: a few clips per (dataset, label), paths made absolute."""
    rows, seen = [], {}
    with labels.open(newline="") as f:
        for row in csv.DictReader(f):
            key = (row["dataset"], row["emotion"] or row["vocalization"])
            keep = row["dataset"] != "ravdess" or row["speaker"] in ("ravdess_01", "ravdess_02")
            if keep and seen.get(key, 0) < per_class:
                seen[key] = seen.get(key, 0) + 1
                row["path"] = str(labels.parent / row["path"])
                rows.append(row)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out


def test_eval_cli_on_shared_subset(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from egvs.cli.main import main

    labels = subset(shared_path("ser", "labels.csv"), tmp_path / "labels.csv")
    js = tmp_path / "eval.json"
    assert main(["ser", "eval", "--labels", str(labels), "--json", str(js)]) == 0
    table = capsys.readouterr().out
    result = json.loads(js.read_text())
    assert {"ravdess", "emodb", "emotiontts_ko", "nonverbal_deeply"} <= set(result["datasets"]), (
        table
    )
    # the shipped head was trained on these speakers: this checks the plumbing, not generalisation
    assert result["overall"]["accuracy"] >= 0.7, table
    assert result["overall"]["arousal_uar"] >= 0.8, table
    assert result["datasets"]["nonverbal_deeply"]["vocalization_recall"] >= 0.6, table


def test_streamed_model_separates_calm_from_angry() -> None:
    root = shared_path("ser")
    calm = [
        load_audio(root / f"ravdess/Actor_03/03-01-02-01-0{s}-0{r}-03.flac")
        for s in (1, 2)
        for r in (1, 2)
    ]
    angry = [
        load_audio(root / f"ravdess/Actor_03/03-01-05-02-0{s}-0{r}-03.flac")
        for s in (1, 2)
        for r in (1, 2)
    ]
    audio = np.concatenate(calm + angry)
    n_calm = sum(len(x) for x in calm) / 16000
    step, track = analyze_audio(audio, default_model())
    t = (np.arange(len(track.arousal)) + 0.5) * step
    voiced = track.voiced > 0.5
    assert (
        track.arousal[(t > n_calm + 1) & voiced].mean()
        > track.arousal[(t < n_calm - 1) & voiced].mean() + 0.3
    )
