"""Clip choice for `egvs shorts`: continuous, non-overlapping clips around peaks, edges in pauses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from timelines import silent_timeline

from egvs.shortform.select import choose_clips
from egvs.shortform.words import fit_to_words
from egvs.timeline import ENVELOPE_HOP, TimeGrid, Timeline

STEP = 0.5


def _timeline(duration: float, peaks: list[float], seed: int = 0) -> tuple[Timeline, np.ndarray]:
    """A timeline with importance bumps at ``peaks`` and a distinct picture every 20 s."""
    grid = TimeGrid.for_duration(duration, STEP)
    t = grid.centers
    rng = np.random.default_rng(seed)
    importance = 0.1 + 0.02 * rng.random(grid.n_steps)
    for p in peaks:
        importance += 0.8 * np.exp(-0.5 * ((t - p) / 3.0) ** 2)
    timeline = silent_timeline(grid)
    visual = rng.normal(size=(grid.n_steps // 40 + 1, 64))
    timeline.add_source("visual", np.repeat(visual, 40, axis=0)[: grid.n_steps])
    timeline.add_signal("voiced", np.ones(grid.n_steps))
    return timeline, importance.astype(np.float32)


def test_clips_hold_their_peaks_and_never_overlap() -> None:
    timeline, importance = _timeline(300.0, [40.0, 150.0, 260.0])
    clips = choose_clips(timeline, importance, 300.0, count=3, length=(15.0, 30.0))
    assert len(clips) == 3
    for clip in clips:
        assert 15.0 <= clip.duration <= 30.0
        assert clip.start < clip.peak < clip.end
        assert clip.start <= clip.peak - 0.15 * 15.0  # a lead-in before the moment
    assert sorted(round(c.peak) for c in clips) == pytest.approx([40, 150, 260], abs=3)
    spans = sorted((c.start, c.end) for c in clips)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert [c.score for c in clips] == sorted((c.score for c in clips), reverse=True)


def test_a_second_peak_inside_a_clip_does_not_make_an_overlapping_clip() -> None:
    timeline, importance = _timeline(120.0, [50.0, 58.0])
    clips = choose_clips(timeline, importance, 120.0, count=3, length=(15.0, 40.0))
    spans = sorted((c.start, c.end) for c in clips)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert any(c.start < 50.0 and c.end > 58.0 for c in clips)


def test_a_repeated_picture_is_not_offered_twice() -> None:
    timeline, importance = _timeline(200.0, [30.0, 130.0])
    visual = timeline.sources["visual"]
    visual[int(120 / STEP) : int(140 / STEP)] = visual[int(20 / STEP) : int(40 / STEP)]
    clips = choose_clips(timeline, importance, 200.0, count=3, length=(15.0, 20.0))
    near_peaks = [c for c in clips if c.start < 30 < c.end or c.start < 130 < c.end]
    assert len(near_peaks) == 1


def test_edges_move_into_speech_pauses() -> None:
    timeline, importance = _timeline(120.0, [60.0])
    envelope = np.full(int(120.0 / ENVELOPE_HOP), -20.0, np.float32)
    for pause in (47.0, 71.0):  # 0.4 s pauses in otherwise continuous speech
        envelope[int(pause / ENVELOPE_HOP) : int((pause + 0.4) / ENVELOPE_HOP)] = -70.0
    timeline.envelope = envelope
    (clip,) = choose_clips(timeline, importance, 120.0, count=1, length=(15.0, 40.0))
    assert clip.start == pytest.approx(47.3, abs=0.05)  # where speech resumes, minus 0.1 s
    assert clip.end == pytest.approx(71.3, abs=0.05)  # just after speech stops


@pytest.mark.parametrize("peak", [1.0, 119.0])
def test_a_peak_at_either_end_of_the_file_gets_its_clip(peak: float) -> None:
    """Too near the file's edge for its lead-in or its follow-through, the clip starts or ends
    with the file rather than being lost."""
    timeline, importance = _timeline(120.0, [peak])
    clip = choose_clips(timeline, importance, 120.0, count=1, length=(15.0, 30.0))[0]
    assert clip.start <= peak <= clip.end and 15.0 <= clip.duration <= 30.0
    assert clip.start == 0.0 if peak < 60 else clip.end == 120.0


def test_a_short_video_is_one_whole_clip() -> None:
    timeline, importance = _timeline(10.0, [5.0])
    (clip,) = choose_clips(timeline, importance, 10.0, count=5, length=(15.0, 60.0))
    assert (clip.start, clip.end) == (0.0, 10.0)


@dataclass
class _Word:
    start: float
    end: float
    text: str


def test_edges_land_on_sentence_boundaries_not_inside_words() -> None:
    words = [
        _Word(9.0, 9.4, "Well,"),
        _Word(9.5, 9.9, "no."),
        _Word(10.4, 10.8, "Listen"),
        _Word(10.9, 11.3, "to"),
        _Word(11.4, 11.9, "me!"),
        _Word(30.0, 30.5, "Stop"),
        _Word(30.6, 31.2, "right"),
        _Word(31.3, 31.8, "there."),
        _Word(32.5, 33.0, "Okay"),
    ]
    start, end = fit_to_words(11.0, 31.0, words, (15.0, 30.0))
    assert start == pytest.approx(10.25)  # "Listen" opens the sentence the clip cut into
    assert end == pytest.approx(32.05)  # after "there."
    # No boundary in reach: the edge still leaves the word it falls in.
    start, end = fit_to_words(30.8, 50.0, words[5:8], (15.0, 30.0))
    assert not any(w.start < start < w.end or w.start < end < w.end for w in words)


def _syllables(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A speech-like 10 ms loudness envelope in dB: 0.1-0.3 s bursts between 0.05-0.4 s pauses."""
    n = round(seconds / ENVELOPE_HOP)
    values: list[float] = []
    while len(values) < n:
        values += [rng.uniform(-30, -15)] * int(rng.integers(10, 30))
        values += [-60.0] * int(rng.integers(5, 40))
    return np.array(values[:n]) + rng.normal(0, 1, n)


def test_a_replayed_sound_is_not_offered_twice() -> None:
    """A rerun looks different enough (another picture) but sounds the same: one clip of the two
    is offered; a different recording in its place is offered as well."""
    rng = np.random.default_rng(3)
    speech = _syllables(30.0, rng)
    for replayed, offered in ((True, 1), (False, 2)):
        timeline, importance = _timeline(200.0, [30.0, 130.0])
        envelope = np.full(round(200 / ENVELOPE_HOP), -70.0)
        envelope[1500:4500] = speech  # 15-45 s
        # 70 ms later, 6 dB quieter, with noise; or someone else speaking
        again = speech - 6 + rng.normal(0, 1, len(speech)) if replayed else _syllables(30, rng)
        envelope[11507:14507] = again
        timeline.envelope = envelope
        clips = choose_clips(timeline, importance, 200.0, count=3, length=(15.0, 20.0))
        near_peaks = [c for c in clips if c.start < 30 < c.end or c.start < 130 < c.end]
        assert len(near_peaks) == offered


def test_a_clip_that_says_the_same_passage_again_is_a_repeat() -> None:
    from egvs.shortform.make import repeats

    def said(text: str) -> list[_Word]:
        return [_Word(i, i + 0.5, w) for i, w in enumerate(text.split())]

    first = said("Hello. This is an example video for your convenience and pleasure.")
    again = said("and so: hello, this is an example video for your convenience! Bye")
    other = said("Don't forget a jacket, it is cold outside and the video is long")
    assert repeats(again, first)
    assert not repeats(other, first)
    assert not repeats(said("yes no"), first)  # too few words to tell


def test_a_clear_expression_in_the_first_seconds_counts_toward_the_hook() -> None:
    from egvs.shortform.select import SCORE_WEIGHTS, Clip, _scored

    timeline, importance = _timeline(120.0, [60.0])
    plain = _scored(Clip(50.0, 80.0, 60.0), timeline, importance, STEP)
    assert plain.components["faces"] == 0.0  # the face stage saw nobody: no vote
    n = timeline.n_steps
    present, happy = np.zeros(n), np.zeros(n)
    present[100:106] = 1.0  # 50-53 s: a face ...
    happy[100:106] = 0.9  # ... smiling
    timeline.add_signal("face_present", present)
    timeline.add_signal("face_happy", happy)
    smiling = _scored(Clip(50.0, 80.0, 60.0), timeline, importance, STEP)
    assert smiling.components["hook"] == pytest.approx(1.0)
    assert smiling.components["hook"] > plain.components["hook"]
    assert smiling.components["faces"] == pytest.approx(1.0)
    assert smiling.score == pytest.approx(
        plain.score + SCORE_WEIGHTS["hook"] * (1.0 - plain.components["hook"])
    )
    later = _scored(Clip(56.0, 86.0, 60.0), timeline, importance, STEP)  # smile before the clip
    assert later.components["faces"] == 0.0
