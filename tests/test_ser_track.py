"""The emotion track as the pipeline builds it: speaker-aware normalisation, the "other" gate, reasons."""

from __future__ import annotations

import numpy as np
import pytest
from timelines import silent_timeline

from egvs.features.emotion import EMOTION_CLASSES, VOCALIZATIONS, EmotionTrack
from egvs.scoring.explain import reasons_for
from egvs.segments import Segment
from egvs.ser.classes import CLASSES
from egvs.ser.head import SerHead, Task
from egvs.ser.model import (
    HUMAN_EVENTS,
    WhisperEmotionModel,
    head_scream,
    tagger_confirmation,
    tagger_sirens,
    tagger_vocalizations,
    tagger_voice,
    to_track,
)
from egvs.timeline import TimeGrid, Timeline


def model_with(head: SerHead) -> WhisperEmotionModel:
    model = WhisperEmotionModel.__new__(WhisperEmotionModel)
    model.head, model.window = head, 3.0
    return model


def loudness_head() -> SerHead:
    """A toy head whose only feature is "how loud against the baseline": loud = angry."""
    w = np.zeros((1, len(CLASSES)))
    w[0, CLASSES.index("angry")], w[0, CLASSES.index("neutral")] = 4.0, -4.0
    return SerHead(Task(CLASSES, w, np.zeros(len(CLASSES))), np.zeros(1), np.ones(1))


def test_a_loud_speaker_is_judged_against_their_own_voice() -> None:
    # speaker 0 talks quietly (level 0), speaker 1 is naturally loud (level 4) and calm throughout,
    # 80 s each; speaker 0 then gets angry (level 2) for 5 s.
    step = 0.5
    feats = np.concatenate([np.zeros(160), np.full(160, 4.0), np.full(10, 2.0)])[:, None]
    speakers = np.concatenate([np.zeros(160), np.ones(160), np.zeros(10)]).astype(int)
    voiced = np.ones(len(feats))
    model = model_with(loudness_head())
    per_video = model.outputs(feats, voiced, np.zeros_like(speakers), step)["emotion"]
    per_speaker = model.outputs(feats, voiced, speakers, step)["emotion"]
    angry = CLASSES.index("angry")
    loud_calm, outburst = slice(160, 320), slice(320, None)
    # one baseline for the video: the loud speaker reads as angrier than the real outburst
    assert per_video[loud_calm, angry].mean() > per_video[outburst, angry].mean()
    # a baseline per speaker: the outburst stands out, the loud speaker is their usual self
    assert per_speaker[outburst, angry].mean() > 2 * per_speaker[loud_calm, angry].mean()
    assert per_speaker[loud_calm, angry].mean() < per_video[loud_calm, angry].mean() / 2


def test_a_speaker_with_little_speech_falls_back_to_the_video_baseline() -> None:
    feats = np.concatenate([np.zeros(200), np.full(40, 3.0)])[:, None]
    speakers = np.concatenate([np.zeros(200), np.ones(40)]).astype(int)  # 20 s of speaker 1
    model = model_with(loudness_head())
    out = model.outputs(feats, np.ones(240), speakers, 0.5)["emotion"]
    assert out[200:, CLASSES.index("angry")].min() > 0.5  # not normalised against itself


def test_other_sounds_lose_their_emotional_vote() -> None:
    p = np.zeros((2, len(CLASSES)))
    p[0, CLASSES.index("angry")] = 1.0
    p[1, CLASSES.index("angry")], p[1, CLASSES.index("other")] = 0.1, 0.9  # a dog, say
    track = to_track(p, CLASSES, np.ones(2), arousal=np.array([0.9, 0.9]))
    assert track.arousal[0] > 0.8 and track.arousal[1] == 0.0
    assert track.probs[1, EMOTION_CLASSES.index("neutral")] == 1.0
    assert track.voiced[1] < 0.15


def test_a_voice_the_tagger_surely_hears_votes_whatever_the_vad_and_other_say() -> None:
    p = np.zeros((4, len(CLASSES)))
    p[:, CLASSES.index("angry")] = 1.0  # steps 0-2: a shout silero-vad misses
    p[3, CLASSES.index("angry")], p[3, CLASSES.index("other")] = 0.05, 0.95  # a cry heard as other
    vad = np.array([0.05, 0.05, 0.05, 0.0])
    heard = tagger_voice_of(speech=[0.95, 0.1, 0.95, 0.0], crying=[0.0, 0.0, 0.0, 0.9])
    confirm = np.array([1.0, 1.0, 0.0, 1.0])  # step 2 under music that YAMNet does not confirm
    track = to_track(p, CLASSES, vad, arousal=np.full(4, 0.9), confirm=confirm, heard=heard)
    assert track.voiced[0] == 1.0 and track.arousal[0] > 0.8
    assert track.voiced[1] < 0.15 and track.arousal[1] == 0.0  # the tagger barely hears it
    assert track.arousal[2] == 0.0  # the music veto still applies
    assert track.voiced[3] > 0.5 and track.arousal[3] > 0.5
    without = to_track(p, CLASSES, vad, arousal=np.full(4, 0.9), confirm=confirm)
    assert (without.arousal == 0.0).all()


def test_a_vocalization_the_tagger_barely_hears_still_opens_the_vote() -> None:
    # a scream under a drill: the head calls it other, the VAD misses it, YAMNet's screaming
    # class reaches only 0.3 on one step (and 0.04 on another, where nothing screams)
    heard = tagger_voice_of(speech=[0.0] * 7, screaming=[0.0, 0.3, 0.0, 0.0, 0.0, 0.04, 0.0])
    assert heard.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]  # spread over 1.5 s
    half = tagger_voice_of(speech=[0.0], laughter=[0.125])
    assert abs(float(half[0]) - 0.5) < 1e-6  # halfway up the 0.05..0.2 ramp
    p = np.zeros((7, len(CLASSES)))
    p[:, CLASSES.index("screaming")], p[:, CLASSES.index("other")] = 0.1, 0.9
    track = to_track(p, CLASSES, np.zeros(7), arousal=np.full(7, 0.95), heard=heard)
    assert (track.arousal[:3] > 0.9).all() and (track.arousal[3:] == 0.0).all()
    # speech keeps its own, higher ramp: YAMNet's speech class at 0.3 is no voice yet
    assert tagger_voice_of(speech=[0.3]).tolist() == [0.0]


def test_without_the_tagger_it_hears_no_voice_and_vetoes_none() -> None:
    """`egvs.ser.analyze_audio` runs a model on audio alone: its timeline has no `event.*`."""
    alone = Timeline(TimeGrid(0.5, 4))
    assert tagger_voice(alone).tolist() == [0.0] * 4
    assert tagger_confirmation(alone).tolist() == [1.0] * 4


@pytest.mark.parametrize("vocal", ["crying", "screaming"])
def test_a_cry_or_scream_neither_the_vad_nor_the_tagger_hears_is_another_sound(
    vocal: str,
) -> None:
    # the head calls four loud steps a cry (or a scream): an explosion or a siren (0), cries
    # YAMNet hears within a step (1, 3) and a sobbing voice the VAD hears (2)
    p = np.zeros((4, len(CLASSES)))
    p[:, CLASSES.index(vocal)] = 0.95
    p[:, CLASSES.index("other")] = 0.05
    vad = np.array([0.0, 0.0, 0.9, 0.0])
    level = np.full(4, -15.0)
    tl = Timeline(TimeGrid(0.5, 4))
    for event in ("crying", "screaming"):
        tl.add_signal(f"event.{event}", np.array([0.0, 0.0, 0.6 * (event == vocal), 0.0]))
    vocal_heard = tagger_vocalizations(tl)
    assert vocal_heard[vocal].tolist() == [0.0, 1.0, 1.0, 1.0]
    track = to_track(p, CLASSES, vad, level, vocal_heard=vocal_heard)
    column = VOCALIZATIONS.index(vocal)
    assert track.vocalizations[0, column] == 0.0 and track.voiced[0] < 0.15
    assert (track.vocalizations[1:, column] > 0.9).all()
    ungated = to_track(p, CLASSES, vad, level)
    assert ungated.vocalizations[0, column] > 0.9  # the same step without the tagger's check


def test_a_scream_the_head_hears_under_a_bed_votes_though_the_tagger_misses_it() -> None:
    # steps 0-4: the head's scream under a music bed (YAMNet hears music, not the scream);
    # step 1 is only half as aroused, step 2 barely a scream, step 3 silent, step 4 a siren
    p = np.zeros((5, len(CLASSES)))
    p[:, CLASSES.index("screaming")], p[:, CLASSES.index("other")] = 0.45, 0.55
    p[2, CLASSES.index("screaming")], p[2, CLASSES.index("other")] = 0.1, 0.9
    arousal = np.array([0.98, 0.6, 0.98, 0.98, 0.98])
    level = np.array([-22.0, -22.0, -22.0, -70.0, -22.0])
    tl = Timeline(TimeGrid(0.5, 5))
    tl.add_signal("event.siren", np.array([0.0, 0.0, 0.0, 0.0, 0.7]))
    sirens = tagger_sirens(tl)
    assert sirens.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # spread over 1.5 s
    screamed = head_scream(p, CLASSES, level, arousal, sirens)
    assert screamed is not None and screamed.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    music = np.full(5, 0.3)  # the veto: YAMNet confirms no human sound under the music
    unheard = {"crying": np.zeros(5), "screaming": np.zeros(5)}
    kwargs = {"confirm": music, "heard": np.zeros(5), "vocal_heard": unheard}
    track = to_track(p, CLASSES, np.zeros(5), level, arousal, **kwargs, screamed=screamed)
    assert track.voiced[0] == 1.0 and track.arousal[0] > 0.9
    assert track.vocalizations[0, VOCALIZATIONS.index("screaming")] > 0.4
    assert (track.arousal[1:] == 0.0).all()
    assert (to_track(p, CLASSES, np.zeros(5), level, arousal, **kwargs).arousal == 0.0).all()
    # without its own arousal a head cannot tell
    assert head_scream(p, CLASSES, level, None, sirens) is None


def tagger_voice_of(speech: list[float], **events: list[float]) -> np.ndarray:
    tl = Timeline(TimeGrid(0.5, len(speech)))
    for event in HUMAN_EVENTS:
        tl.add_signal(f"event.{event}", np.zeros(len(speech)))
    tl.add_signal("event.speech", np.array(speech))
    for event, values in events.items():
        tl.add_signal(f"event.{event}", np.array(values))
    return tagger_voice(tl)


def timeline_with(
    angry: np.ndarray, happy: np.ndarray, vocal: np.ndarray | None = None
) -> Timeline:
    n = len(angry)
    tl = silent_timeline(TimeGrid(0.5, n))
    probs = np.zeros((n, len(EMOTION_CLASSES)))
    probs[:, EMOTION_CLASSES.index("angry")] = angry
    probs[:, EMOTION_CLASSES.index("happy")] = happy
    probs[:, EMOTION_CLASSES.index("neutral")] = 1 - angry - happy
    vocals = np.zeros((n, len(VOCALIZATIONS))) if vocal is None else vocal
    EmotionTrack(probs, np.full(n, 0.5), np.zeros(n), vocals, np.ones(n)).add_to(tl)
    return tl


def test_reasons_name_the_dominant_emotion_not_every_peak() -> None:
    angry = np.zeros(20)
    angry[5] = 0.9  # one angry step
    happy = np.full(20, 0.7)
    happy[5] = 0.0
    reasons = reasons_for(Segment(0.0, 10.0), timeline_with(angry, happy))
    voice = [r for r in reasons if "voice" in r]
    assert voice == ["happy voice 0.67"]


def test_reasons_prefer_a_vocalization_and_name_only_the_strongest() -> None:
    vocal = np.zeros((20, 3))
    vocal[3, VOCALIZATIONS.index("laughing")] = 0.8
    vocal[4, VOCALIZATIONS.index("screaming")] = 0.4
    reasons = reasons_for(Segment(0.0, 10.0), timeline_with(np.zeros(20), np.full(20, 0.7), vocal))
    assert [r for r in reasons if "voice" in r] == ["laughing voice 0.80"]


def test_speaker_signal_defaults_to_no_voice() -> None:
    tl = timeline_with(np.zeros(4), np.zeros(4))
    assert (tl.signal("speaker") == -1).all()


def test_no_high_arousal_where_there_is_none() -> None:
    # arousal is 0 but for one aroused second: a segment elsewhere is not "high arousal"
    tl = silent_timeline(TimeGrid(0.5, 40))
    arousal = np.zeros(40)
    arousal[30:32] = 0.9
    tl.add_signal("arousal", arousal)
    assert "high arousal" not in reasons_for(Segment(0.0, 5.0), tl)
    assert "high arousal" in reasons_for(Segment(14.5, 16.5), tl)
