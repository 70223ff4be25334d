"""The moments benchmark's loss breakdown and its pooling over tuning sets, on made-up rows."""

from __future__ import annotations

import argparse

import pytest
from conftest import benchmark_module


@pytest.fixture(scope="module")
def sets():
    yield from benchmark_module("moments_sets")


def video(selected, moments, duration=100.0, f1=0.5) -> dict:
    return {
        "selected": selected,
        "moments": [(a, b, "happy", "x") for a, b in moments],
        "duration": duration,
        "egvs": f1,
    }


def test_loss_breakdown_tells_padding_and_edges_from_wrong_choices(sets) -> None:
    # moment 10-20 s found (9 of 10 s), with 2 s of padding before it; moment 50-60 s missed;
    # 5 s chosen far from any moment
    row = video([(8.0, 19.0), (70.0, 75.0)], [(10.0, 20.0), (50.0, 60.0)])
    b = sets.moments.loss_breakdown([row])
    assert b["in_moments"] == pytest.approx(9 / 16)
    assert b["padding"] == pytest.approx(2 / 16)
    assert b["elsewhere"] == pytest.approx(5 / 16)
    assert b["missed_in_found"] == pytest.approx(1 / 20)
    assert b["missed_moments"] == pytest.approx(10 / 20)


def test_loss_breakdown_pools_videos_by_time(sets) -> None:
    perfect = video([(10.0, 20.0)], [(10.0, 20.0)])
    wrong = video([(30.0, 60.0)], [(0.0, 10.0)])  # 30 s chosen, all of it far from the moment
    b = sets.moments.loss_breakdown([perfect, wrong])
    assert b["in_moments"] == pytest.approx(10 / 40)
    assert b["elsewhere"] == pytest.approx(30 / 40)
    assert b["padding"] == 0.0
    assert b["missed_moments"] == pytest.approx(10 / 20)


def test_build_seeds_parse_ranges_and_refuse_the_reported_set(sets) -> None:
    assert sets.parse_seeds("1-3,5") == [1, 2, 3, 5]
    assert sets.parse_seeds("4") == [4]
    for bad in ("0-2", "a", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            sets.parse_seeds(bad)


def test_pooled_table_has_a_row_per_seed_their_mean_and_the_breakdown(sets) -> None:
    def result(f1: float) -> dict:
        rows = [video([(10.0, 20.0)], [(10.0, 20.0)], f1=f1)]
        return {kind: {"videos": rows, "mean": {"egvs": f1}} for kind in sets.KINDS}

    table = sets.pooled_table({1: result(0.8), 2: result(0.6)})
    lines = table.splitlines()
    assert lines[2].startswith("| 1 | 0.800 | 0.800 | 0.800 | 0.800 |")
    assert lines[3].startswith("| 2 | 0.600 |")
    assert "| **mean** | **0.700** |" in table
    assert table.count("100% in moments") == len(sets.KINDS)
