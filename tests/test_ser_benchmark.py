"""`benchmarks/ser.py`'s same-sentence table, on made-up clips and predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import benchmark_module

from egvs.ser.classes import CLASSES
from egvs.ser.head import softmax
from egvs.ser_training.evaluate import report
from egvs.ser_training.labels import Item


@pytest.fixture(scope="module")
def ser_benchmark():
    yield from benchmark_module("ser")


def test_same_sentence_uar_scores_only_sentences_read_in_several_emotions(ser_benchmark) -> None:
    """A corpus whose scripts name the emotion (ASED's 03-07) is scored on all its clips and,
    apart, on the sentences read in several emotions, where a head that reads words fails."""

    def item(n: int, label: str, text: str) -> Item:
        return Item(Path(f"/nowhere/{n}.opus"), "a_1", "ased", label, text=text)

    items = [
        item(0, "sad", "s01"),
        item(1, "angry", "s01"),
        item(2, "sad", "s03:sad"),  # each emotion's own script
        item(3, "angry", "s03:angry"),
        Item(Path("/nowhere/laugh.opus"), "g_1", "emogator", "laughing"),  # no sentence
    ]
    said = ["angry", "angry", "sad", "angry", "laughing"]  # right on the scripts only
    logits = np.eye(len(CLASSES))[[CLASSES.index(c) for c in said]]
    everything = report(items, softmax(logits))["datasets"]  # the main table's report
    table = ser_benchmark.same_sentence_uar(items, logits, everything)
    assert list(table) == ["ased"]
    assert table["ased"] == {
        "uar_same_sentences": 50.0,  # sad read as angry, angry right
        "uar_all": 75.0,
        "clips_same_sentences": 2,
        "clips": 4,
    }
