"""The training-free fusion score and its reasons on hand-made timelines."""

from __future__ import annotations

import numpy as np
from timelines import silent_timeline

from egvs.scoring.explain import reasons_for
from egvs.scoring.fusion import components
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
