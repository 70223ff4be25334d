"""The moments benchmark's Korean-only set, on made-up label rows (no audio is decoded)."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import benchmark_module

from egvs.ser_training.labels import Item


@pytest.fixture(scope="module")
def moments():
    yield from benchmark_module("moments")


KO = ("emotiontts_k1", "emotiontts_k2")  # held out
KO_TRAIN = "emotiontts_k3"
CALM = {"emotiontts_o1": 25, "emotiontts_o2": 30, "emotiontts_o3": 5}  # speaker -> clips


def made_up_clips(moments) -> list:
    clips = []
    for speaker in (*KO, KO_TRAIN):
        for kind in ("neutral", "happy", "sad", "angry"):
            for i in range(5):
                path = Path(f"/nowhere/{speaker}/{kind}{i}.flac")
                clips.append(
                    moments.Clip(path, "emotiontts_ko", speaker, "F", kind, "", "", "", "")
                )
    for speaker, n in CALM.items():
        for i in range(n):
            path = Path(f"/nowhere/{speaker}/{i}.opus")
            clips.append(
                moments.Clip(path, "emotiontts_open_db", speaker, "M", "neutral", "", "", "", "")
            )
    return clips


def held(moments):
    return moments.HeldOut(set(), {"emotiontts_ko": list(KO)}, {}, "2", [], sorted(CALM))


def test_korean_plans_deal_strong_clips_once_to_speakers_with_calm_turns(moments) -> None:
    clips = made_up_clips(moments)
    plans = moments.korean_plans(held(moments), clips)
    assert len(plans) == moments.KOREAN_VIDEOS == 2
    dealt = []
    for plan in plans:
        assert plan.moments is not None and len(plan.moments) == len(plan.kinds) == 4
        calm_voices = [s for s in plan.speakers if s not in KO]
        assert calm_voices and all(CALM[s] >= moments.KOREAN_CALM_MIN for s in calm_voices)
        for kind, moment in zip(plan.kinds, plan.moments, strict=True):
            assert kind in ("happy", "angry")  # sad is no moment
            assert 2 <= len(moment) <= 3
            assert {c.speaker for c in moment} == {moment[0].speaker}
            assert {c.emotion for c in moment} == {kind}
            who = moment[0].speaker
            assert who in KO and who in plan.speakers and moments.calm_clips(clips, who)
            dealt += [c.path for c in moment]
    assert len(dealt) == len(set(dealt)), "an emotional clip is in two moments"
    again = moments.korean_plans(held(moments), clips)
    assert [(p.speakers, p.kinds, p.moments) for p in again] == [
        (p.speakers, p.kinds, p.moments) for p in plans
    ]


def test_korean_video_gives_each_moment_speaker_calm_turns(moments, monkeypatch) -> None:
    def fake_audio(path: Path) -> np.ndarray:
        rng = np.random.default_rng(zlib.crc32(str(path).encode()))
        return (0.1 * rng.standard_normal(int(rng.uniform(2, 5) * moments.SR))).astype(np.float32)

    monkeypatch.setattr(moments, "load_audio", fake_audio)
    clips = made_up_clips(moments)
    hold = held(moments)
    plan = moments.korean_plans(hold, clips)[0]
    audio, found, used = moments.build_multi_audio(plan, clips, hold, minutes=1.5)
    assert [m[2] for m in found] == plan.kinds
    assert [m[3] for m in found] == [m[0].speaker for m in plan.moments]
    by_path = {c.path: c for c in clips}
    calm_speakers = {by_path[p].speaker for p, _, _ in used if by_path[p].emotion == "neutral"}
    assert set(plan.speakers) <= calm_speakers
    assert all(by_path[p].emotion != "sad" for p, _, _ in used)
    starts = [s for _, s, _ in used]
    assert starts == sorted(starts) and all(e > s for _, s, e in used)
    assert used[-1][2] <= len(audio) / moments.SR
    for start, end, kind, who in found:  # a moment's time is its clips' time (and pauses)
        inside = [by_path[p] for p, s, e in used if start <= s and e <= end]
        assert inside and {c.emotion for c in inside} == {kind} and inside[0].speaker == who
    again, found_again, _ = moments.build_multi_audio(plan, clips, hold, minutes=1.5)
    assert np.array_equal(audio, again) and found == found_again


def test_training_rows_leave_out_every_korean_speaker_of_the_set(moments) -> None:
    clips = made_up_clips(moments)
    items = [Item(c.path, c.speaker, c.dataset, c.emotion) for c in clips]
    renamed = Item(clips[0].path, "someone_else", "emotiontts_ko", "neutral")
    rows = moments.training_rows([*items, renamed], held(moments), clips)
    assert {it.speaker for it in rows} == {KO_TRAIN}
    assert len(rows) == 20


def test_tuning_sets_keep_the_held_out_speakers_and_change_the_videos(moments, monkeypatch) -> None:
    """``--build-seed``: other videos, the same held-out plan (so the same heads may score them)."""
    clips = made_up_clips(moments)
    for corpus in ("emodb", "nemo", "ased"):
        for s in range(6):
            for kind in ("neutral", "angry", "happy"):
                for i in range(4):
                    path = Path(f"/nowhere/{corpus}{s}/{kind}{i}.wav")
                    gender = "F" if s % 2 else "M"
                    clips.append(
                        moments.Clip(path, corpus, f"{corpus}_{s}", gender, kind, *[""] * 4)
                    )
    for dataset in ("emogator", "donateacry"):
        for s in range(20):
            path = Path(f"/nowhere/{dataset}{s}.wav")
            clips.append(
                moments.Clip(path, dataset, f"{dataset}_{s}", "", "", "laughing", *[""] * 3)
            )
    for i in range(4):
        path = Path(f"/nowhere/urban{i}.wav")
        clips.append(moments.Clip(path, "urbansound8k", "", "", "", "other", "", "2", "dog_bark"))
    plans = {}
    for seed in (0, 1):
        monkeypatch.setattr(moments, "SEED", seed)
        hold = moments.choose_held_out({"ravdess_17"}, clips, "2")
        plans[seed] = (
            hold.describe(),
            [p.moments for p in moments.korean_plans(held(moments), clips)],
        )
    assert plans[0][0] == plans[1][0]  # the same held-out speakers
    assert plans[0][1] != plans[1][1]  # other clips in the videos


def test_errors_name_the_clips_under_a_false_segment_and_the_missed_moments(moments) -> None:
    clips = made_up_clips(moments)
    by_path = {c.path: c for c in clips}
    calm, angry = clips[0].path, clips[15].path  # k1's neutral0 and angry0
    used = [(calm, 0.0, 4.0), (angry, 5.0, 9.0), (calm, 10.0, 14.0)]
    row = {
        "moments": [(5.0, 9.0, "angry", "emotiontts_k1"), (20.0, 24.0, "happy", "emotiontts_k2")],
        "selected": [(2.0, 8.0), (11.0, 13.0), (21.5, 22.0), (30.0, 31.0)],
    }
    found = moments.errors(row, used, by_path)
    assert found == [
        "false 11.0-13.0 s: neutral0.flac (emotiontts_k1, neutral) 2.0 s",
        "false 30.0-31.0 s: a pause",
        "missed 20.0-24.0 s: happy (emotiontts_k2), 12% selected",
    ]
