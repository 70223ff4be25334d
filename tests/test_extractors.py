"""Feature extractors declare their sources and signals; the pipeline builds the timeline from them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

import egvs
from egvs.example import make_video
from egvs.features.audio_blocks import AudioBlock
from egvs.features.audio_events import AFFECTIVE_EVENTS
from egvs.features.emotion_prosody import ProsodyEmotionModel
from egvs.features.extractor import Source
from egvs.features.prosody import ProsodyExtractor
from egvs.media.probe import MediaInfo
from egvs.pipeline import StageClock, build_timeline, default_extractors
from egvs.timeline import TimeGrid, Timeline

EVENTS = [
    "laughter",
    "applause",
    "cheering",
    "screaming",
    "crying",
    "shouting",
    "music",
    "music_happy",
    "music_sad",
    "music_tender",
    "music_exciting",
    "music_angry",
    "music_scary",
    "speech",
    "explosion",
    "animal",
    "siren",
]
FACES = ["face_present", "face_happy", "face_surprise", "face_negative", "face_expressiveness"]
EMOTION = [
    "arousal",
    "valence",
    "voiced",
    "speaker",
    *(f"emotion.{c}" for c in egvs.features.emotion.EMOTION_CLASSES),
    *(f"vocal.{v}" for v in egvs.features.emotion.VOCALIZATIONS),
]
# What the pipeline wrote before each extractor declared its own part: the same names, in order.
SIGNALS = [
    "motion",
    "novelty",
    "loudness",
    "pitch",
    "pitch_std",
    *(f"event.{e}" for e in EVENTS),
    *FACES,
    *EMOTION,
]


def sources(timeline: Timeline) -> dict[str, tuple[tuple[int, ...], str]]:
    return {name: (m.shape, str(m.dtype)) for name, m in timeline.sources.items()}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "clip.mp4", 6.0)


def test_the_default_timeline_holds_the_same_sources_and_signals(clip: Path) -> None:
    _, timeline = egvs.extract(clip)
    n = 12
    assert sources(timeline) == {
        "visual": ((n, 1280), "float16"),
        "motion": ((n, 6), "float32"),
        "audio": ((n, 6), "float32"),
        "events": ((n, 521), "float16"),
        "emotion": ((n, 14), "float32"),
    }
    assert list(timeline.signals) == SIGNALS
    assert all(v.shape == (n,) and v.dtype == np.float32 for v in timeline.signals.values())
    assert timeline.envelope is not None and timeline.envelope.shape == (n * 50,)
    declared = [name for ex in default_extractors() for name in ex.signals]
    assert declared == SIGNALS[: len(declared)] and SIGNALS[len(declared) :] == EMOTION


def test_without_picture_and_sound_the_declared_stand_ins_fill_the_timeline() -> None:
    grid = TimeGrid(0.5, 8)
    info = MediaInfo(Path("nothing"), grid.duration, has_video=False, has_audio=False)
    timeline = build_timeline(info, grid, {}, ProsodyEmotionModel())
    assert sources(timeline) == {
        "visual": ((8, 1280), "float16"),
        "motion": ((8, 6), "float32"),
        "audio": ((8, 6), "float32"),
        "events": ((8, 521), "float16"),
        "emotion": ((8, 14), "float32"),
    }
    assert (timeline.sources["audio"] == [-90, -90, 0, 0, 0, 0]).all()  # silence, no pitch
    assert not timeline.sources["visual"].any() and not timeline.sources["events"].any()
    # The optional face signals are left out, not zeros: no face stage ran.
    assert list(timeline.signals) == [s for s in SIGNALS if s not in FACES]
    assert timeline.signal("loudness").tolist() == [-90.0] * 8
    assert not timeline.signal("event.laughter").any() and not timeline.signal("novelty").any()
    assert timeline.envelope is None


class LoudTagger:
    """A toy audio tagger in YAMNet's place: "laughter" wherever a step is loud."""

    name = "loud-tagger"
    sources = (Source("events", 1),)
    signals: Mapping[str, float | None] = {f"event.{e}": 0.0 for e in AFFECTIVE_EVENTS}

    def config(self) -> dict:
        return {"threshold": 0.05}

    def extract(self, block: AudioBlock) -> dict[str, np.ndarray]:
        core = block.core()[: block.n_steps * round(block.step * block.sample_rate)]
        rms = np.sqrt((core.reshape(block.n_steps, -1) ** 2).mean(axis=1))
        return {"events": (rms > 0.05).astype(np.float32)[:, None]}

    def add_to(self, timeline: Timeline, outputs: Mapping[str, np.ndarray]) -> None:
        for event in AFFECTIVE_EVENTS:
            laughter = timeline.sources["events"][:, 0]
            timeline.add_signal(f"event.{event}", laughter if event == "laughter" else 0 * laughter)


def test_an_audio_tagger_passed_to_extract_replaces_yamnet(clip: Path, monkeypatch) -> None:
    extractors = [ProsodyExtractor(), LoudTagger()]
    clock = StageClock()
    _, timeline = egvs.extract(
        clip, extractors=extractors, emotion_model=ProsodyEmotionModel(), clock=clock
    )
    assert set(timeline.sources) == {"audio", "events", "emotion"}  # no picture stage asked for
    assert timeline.sources["events"].shape == (12, 1)
    assert timeline.signal("event.laughter").any() and not timeline.signal("event.music").any()
    # (prosody's output is cached by the first test)
    assert {"models", "decode", "loud-tagger", "timeline", "emotion"} <= set(clock.seconds)

    def no_decoding(*_a, **_k):
        raise AssertionError("decoded again")

    monkeypatch.setattr("egvs.pipeline.stream_media", no_decoding)  # the tagger's output is cached
    _, again = egvs.extract(clip, extractors=extractors, emotion_model=ProsodyEmotionModel())
    np.testing.assert_array_equal(again.sources["events"], timeline.sources["events"])


def test_a_stage_adding_an_undeclared_signal_is_an_error() -> None:
    class Sloppy(LoudTagger):
        def add_to(self, timeline: Timeline, outputs: Mapping[str, np.ndarray]) -> None:
            super().add_to(timeline, outputs)
            timeline.add_signal("laughter", np.zeros(timeline.n_steps))  # not declared

    grid = TimeGrid(0.5, 4)
    info = MediaInfo(Path("x"), grid.duration, has_video=False, has_audio=True)
    outputs = {"loud-tagger": {"events": np.ones((4, 1), np.float32)}}
    with pytest.raises(
        RuntimeError, match=r"'loud-tagger' added undeclared signals \['laughter'\]"
    ):
        build_timeline(info, grid, outputs, ProsodyEmotionModel(), extractors=[Sloppy()])


def test_a_stage_whose_output_is_not_as_wide_as_declared_is_an_error() -> None:
    grid = TimeGrid(0.5, 4)
    info = MediaInfo(Path("x"), grid.duration, has_video=False, has_audio=True)
    outputs = {"loud-tagger": {"events": np.ones((4, 3), np.float32)}}
    with pytest.raises(ValueError, match="declared 1 wide"):
        build_timeline(info, grid, outputs, ProsodyEmotionModel(), extractors=[LoudTagger()])


def test_stages_run_with_one_blas_thread(clip: Path) -> None:
    """Each stage has a thread of its own; BLAS's second thread only busy-waits beside them."""
    from threadpoolctl import threadpool_info, threadpool_limits

    seen: list[int] = []

    class BlasWatcher(LoudTagger):
        name = "blas-watcher"

        def extract(self, block: AudioBlock) -> dict[str, np.ndarray]:
            seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
            return super().extract(block)

    with threadpool_limits(limits=2, user_api="blas"):  # two, as on the 2-core machines
        egvs.extract(
            clip,
            use_cache=False,
            extractors=[ProsodyExtractor(), BlasWatcher()],
            emotion_model=ProsodyEmotionModel(),
        )
    assert seen and set(seen) == {1}
