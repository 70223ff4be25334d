"""Each clip's words and face track are kept in the feature cache: a rerun reuses them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import egvs.captions
import egvs.reframe
from egvs.cache import FeatureCache
from egvs.captions import Transcript, Word
from egvs.example import make_video
from egvs.reframe import Face, FaceTrack
from egvs.shortform import make, shorts, spans


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spans") / "vlog.mp4"
    parts = [(0.0, 8.0, "calm"), (8.0, 12.0, "lively"), (12.0, 24.0, "calm")]
    return make_video(path, 24.0, parts, size=(640, 360))


def _stored(cache: FeatureCache, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` written to an .npz entry and read back, as the cache does."""
    cache.store("probe", {}, arrays)
    stored = cache.load("probe", {})
    assert stored is not None
    return stored


def test_a_transcript_survives_the_cache(tmp_path: Path) -> None:
    cache = FeatureCache("d", root=tmp_path)
    spoken = Transcript(
        "ko", [Word(1.0, 1.5, "안녕", 0.9), Word(1.6, 2.25, "Hi!", 0.5)], "안녕 Hi!", 0.5, 3.0
    )
    assert Transcript.from_arrays(_stored(cache, spoken.to_arrays())) == spoken
    silent = Transcript("en", [], "", 2.0, 4.0)
    assert Transcript.from_arrays(_stored(cache, silent.to_arrays())) == silent


def test_a_face_track_survives_the_cache(tmp_path: Path) -> None:
    cache = FeatureCache("d", root=tmp_path)
    points = tuple((float(i), float(i + 1)) for i in range(6))
    faces = [
        [
            Face((1.0, 2.0, 30.0, 40.0), 0.9, points, 0, 0.0),
            Face((50, 2, 80, 40), 0.6, points, 1, 0.3),
        ],
        [],
        [Face((2.0, 3.0, 31.0, 41.0), 0.8, points, 0, 0.25)],
    ]
    track = FaceTrack(
        10.0,
        11.0,
        np.array([10.0, 10.2, 10.4]),
        faces,
        (640, 360),
        np.array([[np.nan, np.nan], [100.0, 50.0], [np.nan, np.nan]]),
        [10.3],
    )
    back = FaceTrack.from_arrays(_stored(cache, track.to_arrays()))
    assert back.faces == faces
    assert (back.start, back.end, back.source_size, back.cuts) == (10.0, 11.0, (640, 360), [10.3])
    np.testing.assert_array_equal(back.times, track.times)
    np.testing.assert_array_equal(back.saliency, track.saliency)  # NaN where NaN
    empty = FaceTrack(0.0, 1.0, np.array([0.0]), [[]], (64, 36), np.full((1, 2), np.nan))
    assert FaceTrack.from_arrays(_stored(cache, empty.to_arrays())).faces == [[]]


def _refuse(what: str):
    def refuse(*_args, **_kwargs):
        raise AssertionError(f"{what} again")

    return refuse


def test_a_rerun_takes_words_and_faces_from_the_cache(
    source: Path, tmp_path: Path, monkeypatch
) -> None:
    # The generated video's sound is tones, where no one speaks: transcribe it all the same
    monkeypatch.setattr(make, "speaks", lambda *_args: True)
    first = shorts(source, tmp_path / "first", count=1, length=(6.0, 9.0))
    monkeypatch.setattr(egvs.captions, "transcribe", _refuse("transcribed"))
    monkeypatch.setattr(egvs.reframe, "detect_track", _refuse("tracked"))
    # Another aspect: the same clip, its words and faces from the cache, a new crop.
    again = shorts(source, tmp_path / "again", count=1, length=(6.0, 9.0), aspect="1:1")
    (a,), (b,) = first.clips, again.clips
    assert (a.clip.start, a.clip.end, a.transcript) == (b.clip.start, b.clip.end, b.transcript)
    assert a.words == b.words
    manifest = json.loads(again.manifest.read_text())
    assert manifest["options"]["aspect"] == "1:1"
    # Without the cache, and with other code behind the entries, they are made again.
    with pytest.raises(AssertionError, match="transcribed again"):
        shorts(source, tmp_path / "nocache", count=1, length=(6.0, 9.0), use_cache=False)
    monkeypatch.setattr(spans, "TRACK_CODE", (("egvs.media.cuts",), ()))
    with pytest.raises(AssertionError, match="tracked again"):
        shorts(source, tmp_path / "newcode", count=1, length=(6.0, 9.0))
