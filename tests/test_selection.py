"""Knapsack, budget and segment selection: exact small cases."""

import numpy as np
import pytest

from egvs.segments import Segment
from egvs.selection import (
    Budget,
    bridge_gaps,
    fill_to_budget,
    improve_selection,
    knapsack,
    select_segments,
)
from egvs.selection.select import importance_mass, merge_adjacent, shrink_to_budget


def brute_force(values, weights, capacity):
    best, best_set = 0.0, []
    n = len(values)
    for mask in range(1 << n):
        idx = [i for i in range(n) if mask >> i & 1]
        if sum(weights[i] for i in idx) <= capacity:
            v = sum(values[i] for i in idx)
            if v > best + 1e-12:
                best, best_set = v, idx
    return best, best_set


def test_knapsack_textbook_case():
    assert knapsack([60, 100, 120], [10, 20, 30], 50) == [1, 2]


def test_knapsack_zero_capacity_and_oversized_items():
    assert knapsack([5, 6], [3, 4], 0) == []
    assert knapsack([5, 6], [30, 40], 10) == []
    assert knapsack([], [], 10) == []


def test_knapsack_matches_brute_force_on_random_cases():
    rng = np.random.default_rng(1)
    for _ in range(40):
        n = int(rng.integers(1, 9))
        values = rng.random(n).round(3).tolist()
        weights = rng.integers(1, 10, n).tolist()
        capacity = int(rng.integers(0, 30))
        chosen = knapsack(values, weights, capacity)
        assert sum(weights[i] for i in chosen) <= capacity
        best, _ = brute_force(values, weights, capacity)
        assert sum(values[i] for i in chosen) == pytest.approx(best)


def test_knapsack_rejects_bad_input():
    with pytest.raises(ValueError):
        knapsack([1, 2], [1], 3)
    with pytest.raises(ValueError):
        knapsack([1], [-1], 3)


def test_budget_ratio_seconds_and_overflow():
    assert Budget().seconds_for(100) == pytest.approx(15)
    assert Budget(ratio=0.3).seconds_for(10) == pytest.approx(3)
    assert Budget(ratio=0.3, seconds=60).seconds_for(600) == 60  # seconds win over ratio
    assert Budget(seconds=60).seconds_for(30) == 30
    assert Budget(seconds=60).exceeds(30)
    assert not Budget(seconds=10).exceeds(30)
    with pytest.raises(ValueError):
        Budget(ratio=0)
    with pytest.raises(ValueError):
        Budget(ratio=1.5)
    with pytest.raises(ValueError):
        Budget(seconds=-1)


def test_select_segments_prefers_important_time_and_keeps_order():
    shots = [Segment(0, 4, 0.1), Segment(4, 6, 0.9), Segment(6, 10, 0.2), Segment(10, 12, 0.8)]
    chosen = select_segments(shots, 4.0)
    assert [(s.start, s.end) for s in chosen] == [(4, 6), (10, 12)]


def test_select_segments_merges_touching_shots():
    shots = [Segment(0, 2, 0.9), Segment(2, 4, 0.9), Segment(4, 10, 0.0)]
    chosen = select_segments(shots, 4.0)
    assert [(s.start, s.end) for s in chosen] == [(0, 4)]


def test_merge_adjacent_weights_scores_by_duration():
    merged = merge_adjacent([Segment(0, 1, 1.0), Segment(1, 4, 0.0)])
    assert len(merged) == 1 and merged[0].score == pytest.approx(0.25)


def test_fill_to_budget_grows_into_important_neighbours():
    importance = np.zeros(20)
    importance[8:10] = 1.0  # steps of 0.5 s: 4.0-5.0 s is important
    segs = fill_to_budget([Segment(5.0, 6.0, 0.5)], importance, 0.5, 10.0, 2.0)
    assert len(segs) == 1
    assert segs[0].start == pytest.approx(4.0) and segs[0].end == pytest.approx(6.0)


def test_fill_to_budget_never_exceeds_budget_or_duration():
    importance = np.linspace(0, 1, 20)
    segs = fill_to_budget([Segment(1.0, 2.0), Segment(7.0, 8.0)], importance, 0.5, 10.0, 4.35)
    total = sum(s.duration for s in segs)
    assert total <= 4.35 + 1e-6 and total >= 4.25
    assert all(0 <= s.start < s.end <= 10.0 for s in segs)


def test_improve_selection_trades_a_weak_filler_for_strong_neighbours():
    importance = np.zeros(40)  # 0.5 s steps over 20 s
    importance[10:22] = 1.0  # 5-11 s matter
    chosen = [Segment(5.0, 9.0, 1.0), Segment(15.0, 17.0, 0.0)]  # a weak filler took 2 s
    better = improve_selection(chosen, importance, 0.5, 20.0, 6.0)
    assert [(s.start, s.end) for s in better] == [(5.0, 11.0)]
    assert importance_mass(better, importance, 0.5) > importance_mass(chosen, importance, 0.5)


def test_bridge_gaps_keeps_the_pause_inside_a_moment_and_pays_with_weak_edges():
    importance = np.zeros(60)  # 0.5 s steps over 30 s
    importance[20:26] = importance[28:34] = 1.0  # 10-13 s and 14-17 s: one moment, a pause between
    importance[18:20] = importance[34:36] = 0.2  # the padding the budget filled is weak
    chosen = [Segment(9.0, 13.0, 1.0), Segment(14.0, 18.0, 1.0)]
    bridged = bridge_gaps(chosen, importance, 0.5, 8.0)
    assert len(bridged) == 1
    start, end = bridged[0].start, bridged[0].end
    assert end - start == pytest.approx(8.0)  # the 1 s pause paid for with 1 s of padding
    assert 9.0 <= start <= 10.0 and 17.0 <= end <= 18.0  # the whole moment kept
    assert bridged[0].score == pytest.approx(1.0)


def test_bridge_gaps_leaves_distant_segments_and_an_unpayable_gap():
    importance = np.ones(60)
    far = [Segment(2.0, 5.0), Segment(9.5, 12.0)]  # 4.5 s apart: a cut between two moments
    assert [(s.start, s.end) for s in bridge_gaps(far, importance, 0.5, 5.5)] == [
        (2.0, 5.0),
        (9.5, 12.0),
    ]
    short_budget = [Segment(2.0, 4.0), Segment(5.0, 7.0)]  # 1 s is over a sixth of a 4 s budget
    assert len(bridge_gaps(short_budget, importance, 0.5, 4.0)) == 2
    assert len(bridge_gaps(short_budget, importance, 0.5, 6.5)) == 1
    tiny = [Segment(2.0, 2.4), Segment(3.0, 3.4)]  # joined, 1.4 s could not shrink to 0.8 s
    assert [(s.start, s.end) for s in bridge_gaps(tiny, importance, 0.5, 0.8)] == [
        (2.0, 2.4),
        (3.0, 3.4),
    ]


def test_shrink_to_budget_never_leaves_more_than_the_budget():
    importance = np.linspace(0, 1, 40)
    segs = shrink_to_budget([Segment(1.0, 6.0), Segment(8.0, 15.0)], importance, 0.5, 9.27)
    assert segs is not None
    total = sum(s.duration for s in segs)
    assert 9.17 <= total <= 9.27 + 1e-9
    assert segs[0].start > 1.0  # the least important time (early, low importance) went first
    assert shrink_to_budget([Segment(0.0, 1.0)], importance, 0.5, 0.5) is None
