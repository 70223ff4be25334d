"""egvs.ser_training.data_check: a corpus whose angry clips sit below its sad ones is flagged, and
so is a speaker whose anger sits below their own calm clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from egvs.media.decode import SAMPLE_RATE
from egvs.ser_training.data_check import (
    SUMMARY,
    acted_prosody,
    arousal_swaps,
    calm_above_anger,
    functionals,
)
from egvs.ser_training.labels import Item

# Made-up speaker-level prosody (loudness, pitch, brightness, rate) per emotion.
ACTED = {"neutral": (0.0, 0.0, 0.0, 0.0), "angry": (2.0, 1.5, 1.8, 0.5), "sad": (-1.0, -1.2, -1.5, -0.5)}  # fmt: skip


def corpus(name: str, swapped: bool, rng: np.random.Generator) -> tuple[list[Item], np.ndarray]:
    """Two speakers with their own offsets, three clips per emotion; ``swapped``: sad and angry
    labels exchanged, as emotiontts_ko's were."""
    items, rows = [], []
    for speaker in ("a", "b"):
        offset = rng.normal(0, 3, len(SUMMARY))  # a loud or high speaker: z-scoring removes it
        for emotion, cues in ACTED.items():
            label = {"angry": "sad", "sad": "angry"}.get(emotion, emotion) if swapped else emotion
            for k in range(3):
                items.append(
                    Item(
                        Path(f"{name}/{speaker}{emotion}{k}.flac"), f"{name}_{speaker}", name, label
                    )
                )
                rows.append(offset + np.array(cues) + rng.normal(0, 0.2, len(SUMMARY)))
    return items, np.array(rows)


def test_a_swapped_corpus_is_flagged_and_a_true_one_is_not() -> None:
    rng = np.random.default_rng(0)
    true_items, true_feats = corpus("studio", False, rng)
    swap_items, swap_feats = corpus("swapped", True, rng)
    burst = Item(Path("laugh.flac"), "x", "bursts", "laughing")  # no emotion label: skipped
    items = [*true_items, *swap_items, burst]
    table = acted_prosody(items, np.vstack([true_feats, swap_feats, np.zeros((1, 4))]))
    assert set(table) == {"studio", "swapped"}
    assert table["studio"]["angry"]["pitch"] > 0 > table["studio"]["sad"]["pitch"]
    assert arousal_swaps(table) == {"swapped": ["loudness", "pitch", "brightness"]}


def test_one_cue_below_is_not_a_swap() -> None:
    """A corpus that acts anger quieter but higher and brighter than sadness (EmoDB) passes."""
    table = {
        "emodb": {
            "angry": {"loudness": -0.4, "pitch": 0.9, "brightness": 1.2, "rate": 0.0},
            "sad": {"loudness": 0.2, "pitch": -0.4, "brightness": -1.6, "rate": 0.0},
        },
        "neutral_only": {
            "neutral": {"loudness": 0.0, "pitch": 0.0, "brightness": 0.0, "rate": 0.0}
        },
    }
    assert arousal_swaps(table) == {}


def test_functionals_hear_a_louder_higher_voice() -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    calm = 0.05 * np.sin(2 * np.pi * 120 * t)
    aroused = 0.5 * (np.sin(2 * np.pi * 240 * t) + 0.5 * np.sin(2 * np.pi * 2400 * t))
    low, high = functionals(calm.astype(np.float32)), functionals(aroused.astype(np.float32))
    assert high[0] > low[0] + 10 and high[1] > low[1] + 0.5 and high[2] > low[2]


def test_a_speaker_whose_calm_sits_above_their_anger_is_named() -> None:
    rng = np.random.default_rng(1)
    items, feats = corpus("studio", False, rng)
    lively = [i for i, it in enumerate(items) if it.speaker == "studio_b" and it.label == "neutral"]
    feats[lively, :3] += 3.0  # speaker b reads neutral sentences above their anger
    burst = Item(Path("cry.flac"), "studio_c", "studio", "crying")  # no calm, no anger: skipped
    found = calm_above_anger([*items, burst], np.vstack([feats, np.zeros((1, 4))]))
    assert found == {"studio": {"studio_b": ["loudness", "pitch", "brightness"]}}
    feats[lively, 1:3] -= 3.0  # louder calm alone is one cue, not two
    assert calm_above_anger(items, feats) == {}
