"""End-to-end runs on media the tests generate: the summary keeps the lively part."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media_checks import stream_durations

import egvs
from egvs.errors import EgvsError
from egvs.example import make_video

LIVELY = (24.0, 32.0)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "calm_then_lively.mp4"
    return make_video(path, 40.0, [(0, 24, "calm"), (24, 32, "lively"), (32, 40, "calm")])


@pytest.fixture(scope="module")
def analysis(video: Path) -> egvs.Analysis:
    return egvs.analyze(video, ratio=0.15)


def overlap(segments, a: float, b: float) -> float:
    return sum(max(0.0, min(s.end, b) - max(s.start, a)) for s in segments)


def test_summary_picks_the_lively_part(analysis: egvs.Analysis) -> None:
    assert analysis.summary_duration == pytest.approx(6.0, abs=0.3)
    assert overlap(analysis.segments, *LIVELY) / analysis.summary_duration >= 0.8


def test_timeline_signals_are_aligned(analysis: egvs.Analysis) -> None:
    tl = analysis.timeline
    assert tl.n_steps == 80 and tl.grid.step == 0.5
    lively = (tl.grid.times >= LIVELY[0] + 0.5) & (tl.grid.times < LIVELY[1] - 0.5)
    calm = (tl.grid.times < LIVELY[0] - 1) | (tl.grid.times >= LIVELY[1] + 1)
    for name in ("motion", "loudness"):
        values = tl.signal(name)
        assert values[lively].min() > values[calm].max(), name
    # The importance peak lies in the lively part.
    assert LIVELY[0] - 1 <= tl.grid.times[int(np.argmax(analysis.importance))] < LIVELY[1] + 1
    for source, dim in (("visual", 1280), ("events", 521), ("emotion", 14)):
        assert tl.sources[source].shape == (80, dim)


def test_json_contract(analysis: egvs.Analysis) -> None:
    data = analysis.to_json()
    assert data["schema"] == "egvs.analysis/1"
    assert set(data["input"]) >= {
        "path",
        "duration",
        "has_audio",
        "has_video",
        "width",
        "height",
        "fps",
    }
    tl = data["timeline"]
    assert len(tl["times"]) == len(tl["importance"]) == 80
    required = {"arousal", "valence", "loudness", "motion", "speaker"} | {
        f"emotion.{c}" for c in egvs.features.emotion.EMOTION_CLASSES
    }
    required |= {
        f"event.{e}"
        for e in ("laughter", "applause", "cheering", "screaming", "crying", "shouting", "music")
    }
    assert required <= set(tl["signals"])
    assert all(len(v) == 80 for v in tl["signals"].values())
    ids = np.array(tl["signals"]["speaker"])
    assert ((ids == -1) | (ids >= 0)).all()
    assert [s["id"] for s in data["speakers"]] == sorted(set(ids[ids >= 0].astype(int)))
    assert all(s["speech_seconds"] > 0 for s in data["speakers"])
    seg = data["summary"]["segments"][0]
    assert set(seg) == {"start", "end", "score", "reasons"} and seg["reasons"]
    assert data["summary"]["budget"]["seconds"] == pytest.approx(6.0)
    assert data["request"] == {
        "ratio": 0.15,
        "duration": None,
        "weights": {"emotion": 0.4, "events": 0.35, "visual": 0.25, "faces": 0.5},
        "scorer": "fusion",
        "model": None,
    }
    shots = data["shots"]
    assert shots[0]["start"] == 0 and shots[-1]["end"] == pytest.approx(40.0)


def test_deterministic(video: Path, analysis: egvs.Analysis) -> None:
    again = egvs.analyze(video, ratio=0.15, use_cache=False)
    assert [(s.start, s.end) for s in again.segments] == [
        (s.start, s.end) for s in analysis.segments
    ]
    np.testing.assert_allclose(again.importance, analysis.importance, atol=1e-5)


def test_new_budget_and_weights_reuse_the_cache(
    video: Path, analysis: egvs.Analysis, monkeypatch
) -> None:
    def no_decoding(*_a, **_k):
        raise AssertionError("decoded again")

    monkeypatch.setattr("egvs.pipeline.stream_media", no_decoding)
    other = egvs.analyze(
        video, duration=10.0, weights={"emotion": 0.0, "events": 0.0, "visual": 1.0}
    )
    assert other.summary_duration == pytest.approx(10.0, abs=0.3)
    request = other.to_json()["request"]  # the weights are recorded, so the run can be repeated
    assert request["weights"] == {"emotion": 0.0, "events": 0.0, "visual": 1.0, "faces": 0.5}
    assert (request["ratio"], request["duration"]) == (None, 10.0)


def test_duration_wins_over_ratio(video: Path, analysis: egvs.Analysis) -> None:
    a = egvs.analyze(video, ratio=0.5, duration=4.0)
    assert a.summary_duration == pytest.approx(4.0, abs=0.2)
    with pytest.raises(EgvsError, match="either request or ratio"):
        egvs.analyze(video, ratio=0.5, request=a.request)


def test_summarize_renders_valid_mp4_in_sync(
    video: Path, analysis: egvs.Analysis, tmp_path: Path
) -> None:
    out = tmp_path / "summary.mp4"
    summary = egvs.summarize(
        video, out, json_path=tmp_path / "a.json", plot_path=tmp_path / "a.png"
    )
    durations = stream_durations(out)
    assert durations["video"] == pytest.approx(summary.duration, abs=0.05)
    assert durations["audio"] == pytest.approx(durations["video"], abs=0.05)
    assert abs(summary.duration - 6.0) <= 0.6  # within 10% of the budget
    assert (tmp_path / "a.json").stat().st_size > 0
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["a.json", "a.png", "summary.mp4"]  # no temp files left
    umask = os.umask(0)
    os.umask(umask)
    modes = {p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {0o666 & ~umask}  # the usual mode for new files, not mkstemp's 0600


def _flash_video(path: Path, duration: float = 12.0, fps: int = 25, sr: int = 48000) -> Path:
    """White frames and a beep together for 0.2 s at every whole second + 0.4 s; black and silent otherwise."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = 160, 96, "yuv420p"
        a = out.add_stream("aac", rate=sr)
        a.layout = "mono"
        for i in range(int(duration * fps)):
            t = i / fps
            on = (t % 1.0) >= 0.4 and (t % 1.0) < 0.6
            frame = av.VideoFrame.from_ndarray(
                np.full((96, 160, 3), 255 if on else 0, np.uint8), format="rgb24"
            )
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(v.encode(frame))
        out.mux(v.encode())
        t = np.arange(int(duration * sr)) / sr
        sound = (
            0.5 * np.sin(2 * np.pi * 1000 * t) * (((t % 1.0) >= 0.4) & ((t % 1.0) < 0.6))
        ).astype(np.float32)
        for k in range(0, len(sound), 1024):
            frame = av.AudioFrame.from_ndarray(
                sound[None, k : k + 1024], format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts, frame.time_base = sr, k, Fraction(1, sr)
            out.mux(a.encode(frame))
        out.mux(a.encode())
    return path


def test_picture_and_sound_stay_in_sync_across_cuts(tmp_path: Path) -> None:
    src = _flash_video(tmp_path / "flash.mp4")
    out = tmp_path / "flash-summary.mp4"
    egvs.summarize(src, out, ratio=0.5)
    with av.open(str(out)) as c:
        bright = [
            (float(f.time), f.to_ndarray(format="gray").mean() > 128) for f in c.decode(video=0)
        ]
    with av.open(str(out)) as c:
        chunks = [(float(f.time), f.to_ndarray().reshape(-1)) for f in c.decode(audio=0)]
    sr = 48000
    audio = np.concatenate([x for _, x in chunks])
    t0 = chunks[0][0]
    onsets_video = [t for (t, on), (_, prev) in zip(bright[1:], bright[:-1]) if on and not prev]
    env = np.abs(audio) > 0.1
    onsets_audio = [
        t0 + i / sr
        for i in np.flatnonzero(env[1:] & ~env[:-1])
        if not env[max(0, i - 2400) : i + 1].any()
    ]
    assert len(onsets_video) >= 3
    for tv in onsets_video:
        nearest = min(onsets_audio, key=lambda ta: abs(ta - tv))
        assert abs(nearest - tv) <= 0.045, (tv, nearest)  # about one frame at 25 fps


@pytest.mark.parametrize("kind", ["audio-only", "video-only"])
def test_single_stream_inputs(tmp_path: Path, kind: str) -> None:
    src = make_video(
        tmp_path / ("in.m4a" if kind == "audio-only" else "in.mp4"),
        12.0,
        [(0, 6, "calm"), (6, 9, "lively"), (9, 12, "calm")],
        video=kind != "audio-only",
        audio=kind != "video-only",
    )
    out = tmp_path / "out.mp4"
    summary = egvs.summarize(src, out, duration=3.0)
    assert summary.analysis.media.has_audio == (kind == "audio-only")
    assert overlap(summary.analysis.segments, 6, 9) >= 2.0
    durations = stream_durations(out)
    assert set(durations) == ({"audio"} if kind == "audio-only" else {"video"})
    assert next(iter(durations.values())) == pytest.approx(3.0, abs=0.3)
