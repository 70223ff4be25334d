"""Integration on the real clips in ../shared/data/videos (skipped when the data is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import shared_path
from media_checks import stream_durations

import egvs
from egvs.errors import InputError


@pytest.mark.parametrize(
    "name", ["tears_of_steel_battle_clip_medium.webm", "auto_editor_example.mp4"]
)
def test_summary_is_valid_in_sync_and_on_budget(name: str, tmp_path: Path) -> None:
    src = shared_path("videos", name)
    out = tmp_path / "summary.mp4"
    summary = egvs.summarize(src, out, json_path=tmp_path / "a.json")
    budget = summary.analysis.budget_seconds
    durations = stream_durations(out)
    assert set(durations) == {"video", "audio"}
    assert abs(durations["video"] - budget) <= 0.1 * budget
    assert abs(durations["audio"] - durations["video"]) <= 0.05
    assert all(s.duration >= 1.0 - 1e-6 for s in summary.analysis.segments)
    assert all(s.reasons for s in summary.analysis.segments)


def test_speech_is_found_where_the_auto_editor_clip_speaks() -> None:
    """The clip has speech for 0-17 s, then ~22 s of digital silence."""
    tl = egvs.analyze(shared_path("videos", "auto_editor_example.mp4")).timeline
    t = tl.grid.times
    speech = tl.signal("event.speech")
    assert speech[(t > 1) & (t < 16)].mean() > 0.3
    assert speech[(t > 20) & (t < 38)].max() < 0.1
    assert tl.signal("loudness")[(t > 20) & (t < 38)].max() < -60


@pytest.mark.parametrize(
    "name",
    [
        "big_buck_bunny_0_30.webm",
        "ACCEDE00025.mp4",
        "his_girl_friday_mdn_friday.mp4",
        "univtg_example_charades.mp4",
    ],
)
def test_other_codecs_and_sizes_analyse(name: str) -> None:
    analysis = egvs.analyze(shared_path("videos", name))
    assert analysis.media.has_video and analysis.media.has_audio
    assert (
        abs(analysis.summary_duration - analysis.budget_seconds)
        <= 0.1 * analysis.budget_seconds + 0.1
    )


def test_music_is_heard_in_big_buck_bunny() -> None:
    tl = egvs.analyze(shared_path("videos", "big_buck_bunny_0_30.webm")).timeline
    assert tl.signal("event.music").mean() > 0.3


def test_clips_under_two_seconds_are_refused() -> None:
    with pytest.raises(InputError, match="at least 2 s"):
        egvs.analyze(shared_path("videos", "crema_d", "1001_DFA_HAP_XX.flv"))  # 1.87 s


def test_vp6_flv_with_mp3_analyses() -> None:
    """CREMA-D's angry take (2.2 s): VP6 video and MP3 audio in FLV."""
    analysis = egvs.analyze(shared_path("videos", "crema_d", "1001_DFA_ANG_XX.flv"))
    assert analysis.media.video_codec == "vp6f" and analysis.media.audio_codec.startswith("mp3")
    assert analysis.segments
