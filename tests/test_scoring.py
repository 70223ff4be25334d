"""The training-free fusion score and its reasons on hand-made timelines."""

from __future__ import annotations

import numpy as np
import pytest
from timelines import silent_timeline

from egvs.scoring.explain import reasons_for
from egvs.scoring.fusion import FusionScorer, FusionWeights, components
from egvs.segments import Segment
from egvs.timeline import TimeGrid, Timeline


def visual_timeline(motion: np.ndarray, novelty: np.ndarray) -> Timeline:
    timeline = silent_timeline(TimeGrid.for_duration(len(motion) * 0.5))
    timeline.add_signal("motion", motion)
    timeline.add_signal("novelty", novelty)
    return timeline


def test_the_pipelines_timeline_of_nothing_has_every_signal_fusion_reads() -> None:
    """No picture, no sound: every component and reason reads its signals (none is missing)."""
    nothing = silent_timeline(TimeGrid(0.5, 40))
    for name, values in components(nothing).items():
        assert values.tolist() == [0.0] * 40, name
    assert reasons_for(Segment(0.0, 5.0), nothing) == ["above-average importance"]


def test_a_still_videos_picture_noise_is_not_stretched_into_motion_or_new_scenes() -> None:
    rng = np.random.default_rng(0)
    # a still shot: flow under 0.005, embedding drift 0.02-0.08 (as in a looped static picture)
    still = visual_timeline(rng.uniform(0, 0.004, 200), rng.uniform(0.02, 0.08, 200))
    assert components(still)["visual"].max() < 0.35
    start = float(np.argmax(still.signal("novelty"))) * 0.5
    assert not {"fast motion", "new scene"} & set(reasons_for(Segment(start, start + 2.0), still))
    # a cut to another scene and a moving shot still reach full scale and are named
    novelty = rng.uniform(0.02, 0.08, 200)
    novelty[100:104] = 0.5
    motion = rng.uniform(0, 0.004, 200)
    motion[100:104] = 0.8
    cut = visual_timeline(motion, novelty)
    assert components(cut)["visual"][100:104].min() > 0.9
    assert {"fast motion", "new scene"} <= set(reasons_for(Segment(50.0, 52.0), cut))


# --- emotion, events and faces terms, and the weights -----------------------------------------

N = 120  # steps (60 s)


def timeline(**signals: np.ndarray) -> Timeline:
    """The pipeline's silent 60 s timeline with ``signals`` set (names with dots as
    ``emotion__neutral``)."""
    tl = silent_timeline(TimeGrid.for_duration(N * 0.5))
    tl.add_signal("loudness", np.full(N, -30.0))
    for name, values in signals.items():
        tl.add_signal(name.replace("__", "."), values)
    return tl


def bump(a: int, b: int, level: float = 1.0, base: float = 0.0) -> np.ndarray:
    values = np.full(N, base, np.float32)
    values[a:b] = level
    return values


def test_emotion_term_follows_voiced_arousal_and_ignores_unvoiced_steps() -> None:
    voiced = bump(0, N)
    voiced[80:100] = 0.0  # a shout with no voice detected: no vote
    arousal = bump(40, 50, 0.9, 0.2)
    arousal[80:100] = 1.0
    neutral = bump(0, N, 0.9)
    neutral[40:50] = 0.1  # the aroused steps are also far from neutral
    tl = timeline(voiced=voiced, arousal=arousal, emotion__neutral=neutral)
    emotion = components(tl)["emotion"]
    assert emotion[40:50].min() > 0.9
    assert emotion[:40].max() < 0.25 and emotion[80:100].max() == 0
    importance = FusionScorer().score(tl)
    assert importance[43:47].min() > importance[85:95].max() + 0.2


def test_events_term_keeps_absolute_probabilities_and_counts_mood_and_loudness_half() -> None:
    quiet = timeline(event__laughter=bump(0, N, 0.05))
    assert components(quiet)["events"].max() < 0.1  # a video without laughter is not given some
    tl = timeline(
        event__laughter=bump(10, 14, 0.6),
        vocal__screaming=bump(30, 34, 0.3),
        event__music_exciting=bump(60, 70, 0.6),
    )
    tl.add_signal("loudness", bump(90, 95, -15.0, -30.0))  # 15 dB above the median
    events = components(tl)["events"]
    assert events[10:14].min() == pytest.approx(1.0)
    assert events[30:34].min() == pytest.approx(0.5)
    assert events[60:70].min() == pytest.approx(0.5) and events[90:95].min() == pytest.approx(0.5)
    assert events[40:55].max() == 0


def scene() -> Timeline:
    """Laughter at 10-14, a moving picture at 60-64, an aroused voice at 100-104."""
    voiced = bump(0, N)
    return timeline(
        voiced=voiced,
        arousal=bump(100, 104, 1.0, 0.1),
        emotion__neutral=bump(0, N, 0.9) - bump(100, 104, 0.8),
        event__laughter=bump(10, 14, 0.9),
        motion=bump(60, 64, 1.0, 0.001),
        novelty=bump(60, 61, 0.5, 0.01),
    )


@pytest.mark.parametrize(
    ("weights", "peak"),
    [
        ("emotion=1,events=0,visual=0", 102),
        ("emotion=0,events=1,visual=0", 12),
        ("emotion=0,events=0,visual=1", 62),
    ],  # fmt: skip
)
def test_weights_decide_which_term_leads(weights: str, peak: int) -> None:
    importance = FusionScorer(FusionWeights.parse(weights)).score(scene())
    assert abs(int(np.argmax(importance)) - peak) <= 2


def test_default_weights_rank_each_full_term_by_its_weight() -> None:
    """Each moment saturates one term: emotion 0.4 > events 0.35 > visual 0.25 > calm talk."""
    importance = FusionScorer().score(scene())
    laugh, voice, motion = (
        importance[11:13].mean(),
        importance[101:103].mean(),
        importance[61:63].mean(),
    )
    assert voice > laugh > motion > importance[30:50].max()


def test_weights_are_relative_and_validated() -> None:
    tl = scene()
    a = FusionScorer(FusionWeights(emotion=0.4, events=0.35, visual=0.25)).score(tl)
    b = FusionScorer(FusionWeights(emotion=0.8, events=0.7, visual=0.5)).score(tl)
    np.testing.assert_allclose(a, b, atol=1e-6)
    for bad in ("emotion=-1", "emotion=0,events=0,visual=0,faces=0", "emotion=nan", "speed=1"):
        with pytest.raises(ValueError):
            FusionWeights.parse(bad)


def faces_timeline(present: np.ndarray, happy: np.ndarray) -> Timeline:
    tl = scene()
    for name, values in (("face_present", present), ("face_happy", happy)):
        tl.add_signal(name, values)
    for name in ("face_surprise", "face_negative", "face_expressiveness"):
        tl.add_signal(name, np.zeros(N))
    return tl


def test_no_face_or_no_clear_expression_leaves_the_score_unchanged() -> None:
    without = FusionScorer().score(scene())
    for present, happy in [
        (np.zeros(N), np.zeros(N)),  # the face stage ran and saw nobody
        (np.ones(N), bump(0, N, 0.2)),  # a face throughout, never clearly smiling
    ]:
        np.testing.assert_array_equal(FusionScorer().score(faces_timeline(present, happy)), without)


def test_a_smile_lifts_its_steps_and_the_faces_weight_sets_how_much() -> None:
    tl = faces_timeline(bump(20, 40), bump(28, 32, 0.9))
    without = FusionScorer(FusionWeights(faces=0.0)).score(tl)
    np.testing.assert_array_equal(without, FusionScorer().score(scene()))
    lifts = []
    for w in (0.2, 0.5, 1.0):  # the default (0.5) among them
        importance = FusionScorer(FusionWeights(faces=w)).score(tl)
        lift = importance - without
        assert lift.min() >= 0 and lift[:24].max() == 0 and lift[36:].max() == 0
        lifts.append(float(lift[29:31].mean()))
    assert 0 < lifts[0] < lifts[1] < lifts[2]
    with pytest.raises(ValueError, match="faces only adds"):
        FusionWeights.parse("emotion=0,events=0,visual=0,faces=1")


def test_face_reasons_name_smiles_and_surprise_only_where_a_face_is_seen() -> None:
    tl = faces_timeline(bump(20, 40), bump(28, 32, 0.83))
    tl.add_signal("face_surprise", bump(36, 40, 0.71))
    tl.add_signal("face_negative", bump(20, 40, 0.9))  # never named: unreliable
    assert "smiling face 0.83" in reasons_for(Segment(14.0, 16.0), tl)
    assert "surprised face 0.71" in reasons_for(Segment(18.0, 20.0), tl)
    assert not any("face" in r for r in reasons_for(Segment(10.0, 13.0), tl))
    unseen = faces_timeline(np.zeros(N), bump(28, 32, 0.83))
    assert not any("face" in r for r in reasons_for(Segment(14.0, 16.0), unseen))
