"""KTS on synthetic feature sequences with known change points, and audio-aware refinement."""

import numpy as np
from timelines import silent_timeline

from egvs.segments import Segment
from egvs.shots import kts_segments, refine_shots, snap_edges, snap_to_keyframes, trim_dead_air
from egvs.shots.kts import cpd_nonlin
from egvs.shots.refine import LEAD_IN, TAIL_OUT, merge_short, pause_mask, snap_to_pause
from egvs.timeline import ENVELOPE_HOP, TimeGrid, Timeline


def piecewise(bounds, dim=32, noise=0.2, seed=0):
    rng = np.random.default_rng(seed)
    parts = [
        rng.normal(size=(1, dim)) + noise * rng.normal(size=(b - a, dim))
        for a, b in zip(bounds[:-1], bounds[1:])
    ]
    return np.concatenate(parts)


def test_kts_recovers_known_change_points():
    bounds = [0, 30, 45, 100, 160, 200]
    segs = kts_segments(piecewise(bounds), max_len=80)
    assert [b for _, b in segs] == bounds[1:]


def test_kts_respects_max_length():
    x = piecewise([0, 150], noise=0.01)  # one long uniform part
    segs = kts_segments(x, max_len=40)
    assert all(b - a <= 40 for a, b in segs)
    assert segs[0][0] == 0 and segs[-1][1] == 150


def test_kts_chunks_long_inputs_and_covers_everything():
    x = piecewise([0, 500, 900, 1300], seed=3)
    segs = kts_segments(x, chunk=400, max_len=120)
    assert segs[0][0] == 0 and segs[-1][1] == 1300
    assert all(a < b for a, b in segs)
    assert all(s1[1] == s2[0] for s1, s2 in zip(segs, segs[1:]))


def test_cpd_nonlin_cost_decreases_with_more_change_points():
    x = piecewise([0, 20, 40, 60])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cps, costs = cpd_nonlin(x @ x.T, 4)
    assert cps[:2] == [20, 40] or set([20, 40]) <= set(cps)
    assert all(costs[i + 1] <= costs[i] + 1e-9 for i in range(len(costs) - 1))


def test_cpd_nonlin_finds_the_least_scatter_of_every_count_within_the_length_bounds():
    """Against every segmentation of a short input (brute force): the least total scatter for
    each number of change points, segments within [lmin, lmax], inf where none fits, and change
    points that reach that least cost."""
    from itertools import combinations

    rng = np.random.default_rng(1)
    x = np.repeat(rng.normal(size=(4, 6)), 3, axis=0)[:11] + 0.3 * rng.normal(size=(11, 6))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    kernel = x @ x.T

    def scatter(a, b):
        part = kernel[a:b, a:b]
        return np.trace(part) - part.sum() / (b - a)

    n, lmin, lmax = len(kernel), 2, 5
    cps, costs = cpd_nonlin(kernel, 4, lmin, lmax)
    for m in range(5):
        fits = [
            sum(scatter(a, b) for a, b in zip((0, *c), (*c, n)))
            for c in combinations(range(1, n), m)
            if all(lmin <= b - a <= lmax for a, b in zip((0, *c), (*c, n)))
        ]
        assert np.isclose(costs[m], min(fits)) if fits else costs[m] == np.inf
    assert np.isclose(sum(scatter(a, b) for a, b in zip((0, *cps), (*cps, n))), costs[4])
    assert cpd_nonlin(kernel, 2, lmin=4, lmax=3)[1].tolist() == [np.inf] * 3  # nothing fits


def test_pauses_and_snapping():
    env = np.full(500, -20.0)  # 5 s of speech-level sound
    env[200:240] = -70.0  # a 0.4 s pause centred at 2.2 s
    env[400:405] = -70.0  # a 50 ms dip: too short to be a pause
    mask = pause_mask(env)
    assert mask[210] and not mask[402]
    assert abs(snap_to_pause(2.6, mask, 1.0) - 2.2) < 0.011
    assert snap_to_pause(4.0, mask, 0.5) == 4.0  # no pause near: stays
    assert snap_to_pause(2.1, mask, 1.0) == 2.1  # already in a pause


def test_refine_splits_long_shot_where_audio_changes_and_cuts_in_pause():
    grid = TimeGrid.for_duration(20.0)
    tl = silent_timeline(grid)
    loud = np.full(grid.n_steps, -40.0)
    loud[24:] = -10.0  # the sound changes at 12 s
    tl.add_signal("loudness", loud)
    env = np.full(grid.n_steps * round(grid.step / ENVELOPE_HOP), -20.0)
    env[1230:1270] = -80.0  # a pause at 12.3-12.7 s
    tl.envelope = env
    shots = refine_shots([(0, grid.n_steps)], tl, 20.0, max_len=15.0)
    assert len(shots) == 2
    assert abs(shots[0].end - 12.5) < 0.05  # moved into the pause centre


def test_merge_short_absorbs_tiny_shots():
    segs = merge_short([Segment(0, 3), Segment(3, 3.4), Segment(3.4, 8)], 1.0)
    assert [(s.start, s.end) for s in segs] == [(0, 3.4), (3.4, 8)]


def test_snap_edges_moves_cuts_into_nearby_pauses_only():
    grid = TimeGrid.for_duration(10.0)
    tl = Timeline(grid)
    env = np.full(1000, -20.0)
    env[290:330] = -80.0  # pause 2.9-3.3 s
    env[700:740] = -80.0  # pause 7.0-7.4 s
    tl.envelope = env
    out = snap_edges([Segment(3.2, 6.0, 0.5), Segment(6.9, 9.0)], tl, 10.0, target=4.9, radius=0.4)
    assert out[0].start == 3.2  # already in a pause
    assert out[0].end == 6.0  # no pause within 0.4 s
    assert 7.0 <= out[1].start <= 7.3  # moved into the pause, at most 0.4 s
    assert out[1].end == 9.0


def test_snap_edges_keeps_the_total_near_the_target():
    grid = TimeGrid.for_duration(10.0)
    tl = Timeline(grid)
    env = np.full(1000, -20.0)
    env[560:600] = -80.0  # pause 5.6-6.0 s, 0.3 s after the edge at 5.3 s
    tl.envelope = env
    out = snap_edges([Segment(3.0, 5.3)], tl, 10.0, target=2.3, radius=0.4)
    assert out[0].end == 5.3  # growing by 0.3-0.5 s would miss the 2.3 s target by > 5%


def test_trim_dead_air_keeps_a_breath_of_each_edge_pause():
    tl = Timeline(TimeGrid.for_duration(10.0))
    env = np.full(1000, -80.0)
    env[300:800] = -20.0  # speech 3-8 s, pauses before and after
    tl.envelope = env
    out = trim_dead_air([Segment(2.5, 8.5, 0.7, ["x"])], tl, 10.0, target=5.8)
    assert abs(out[0].start - (3.0 - LEAD_IN)) < 1e-6
    assert abs(out[0].end - (8.0 + TAIL_OUT)) < 1e-6
    assert out[0].score == 0.7 and out[0].reasons == ["x"]
    # 6 s asked for: taking both edges' silence would leave under 95% of it, so one edge keeps it
    out = trim_dead_air([Segment(2.5, 8.5)], tl, 10.0, target=6.0)
    assert abs(out[0].start - (3.0 - LEAD_IN)) < 1e-6 and out[0].end == 8.5
    # edges in speech, or a pause already as short as the breath, stay
    for seg in (Segment(3.5, 7.5), Segment(2.9, 8.2)):
        out = trim_dead_air([seg], tl, 10.0, target=seg.duration)
        assert (out[0].start, out[0].end) == (seg.start, seg.end)
    tl.envelope = None
    assert trim_dead_air([Segment(2.5, 8.5)], tl, 10.0, target=5.8)[0].start == 2.5


def _speech_with_pause(pause: tuple[int, int]) -> Timeline:
    """A 10 s timeline whose 10 ms envelope is speech everywhere but ``pause`` (indices)."""
    tl = Timeline(TimeGrid.for_duration(10.0))
    env = np.full(1000, -20.0)
    env[pause[0] : pause[1]] = -80.0
    tl.envelope = env
    return tl


def test_snap_to_keyframes_moves_edges_onto_keyframes_within_the_radius():
    tl = _speech_with_pause((0, 0))
    segs = [Segment(2.2, 4.0, 0.5, ["x"]), Segment(6.0, 8.3)]
    one = lambda start, end: True  # noqa: E731
    out = snap_to_keyframes(segs, [2.0, 3.0, 6.1, 8.25], tl, 10.0, 4.3, 0.5, one_shot=one)
    assert [(s.start, s.end) for s in out] == [(2.0, 4.0), (6.1, 8.25)]
    assert out[0].score == 0.5 and out[0].reasons == ["x"]
    far = snap_to_keyframes(segs, [1.6, 8.9], tl, 10.0, 4.3, 0.5, one_shot=one)
    assert [(s.start, s.end) for s in far] == [(2.2, 4.0), (6.0, 8.3)]


def test_snap_to_keyframes_adds_pictures_only_before_a_start_and_only_from_its_shot():
    """Adding pictures could add a flash of the neighbouring shot: a start moves earlier only
    where the pictures between show one shot, an end never moves later."""
    tl = _speech_with_pause((0, 0))
    segs = [Segment(2.2, 4.0), Segment(6.0, 8.3)]
    asked: list[tuple[float, float]] = []

    def answer(shot: bool):
        return lambda start, end: asked.append((start, end)) or shot

    for shot, first in ((False, 2.2), (True, 2.0)):
        out = snap_to_keyframes(segs, [2.0, 8.4], tl, 10.0, 4.3, 0.5, one_shot=answer(shot))
        assert [(s.start, s.end) for s in out] == [(first, 4.0), (6.0, 8.3)]
    assert asked == [(2.0, 2.2), (2.0, 2.2)]  # asked about the start only
    alone = snap_to_keyframes(segs, [2.0], tl, 10.0, 4.3, 0.5)  # nobody to ask: no earlier start
    assert alone[0].start == 2.2


def test_snap_to_keyframes_never_moves_a_cut_from_a_pause_into_speech():
    tl = _speech_with_pause((280, 330))  # pause 2.8-3.3 s
    one = lambda start, end: True  # noqa: E731
    out = snap_to_keyframes([Segment(3.0, 6.2)], [2.6, 6.0], tl, 10.0, 3.1, 0.5, one_shot=one)
    assert (out[0].start, out[0].end) == (3.0, 6.0)  # the start stays in its pause
    into_pause = snap_to_keyframes([Segment(2.5, 6.0)], [2.9], tl, 10.0, 3.2, 0.5)
    assert into_pause[0].start == 2.9


def test_snap_to_keyframes_keeps_the_total_near_the_target():
    tl = _speech_with_pause((0, 0))
    out = snap_to_keyframes([Segment(3.0, 5.0)], [3.45, 4.55], tl, 10.0, target=2.0, radius=0.5)
    assert (out[0].start, out[0].end) == (3.0, 5.0)  # either move would take 22% off 2 s
    # a 2 s summary never grows past 2 s for a keyframe, though 2.05 s is within 5%
    one = lambda start, end: True  # noqa: E731
    out = snap_to_keyframes([Segment(3.0, 5.0)], [2.95], tl, 10.0, 2.0, 0.5, one_shot=one)
    assert (out[0].start, out[0].end) == (3.0, 5.0)
    out = snap_to_keyframes([Segment(3.0, 4.9)], [2.95], tl, 10.0, 2.0, 0.5, one_shot=one)
    assert (out[0].start, out[0].end) == (2.95, 4.9)  # up to the target is fine
