"""Captions: cue layout, SRT/WebVTT files, burn-in painting, span audio and transcription."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from egvs import fonts
from egvs.captions import (
    CaptionPainter,
    Cue,
    Word,
    caption_cues,
    transcribe,
    write_srt,
    write_vtt,
)
from egvs.captions.layout import join_words, text_width
from egvs.captions.paint import load_font
from egvs.captions.transcribe import load_span, model_path, spoken
from egvs.cli.main import main
from egvs.errors import SetupError
from egvs.media.picture import Yuv420
from egvs.ser.backbone import JOINED_SHA256

CLIP = ("videos", "his_girl_friday_mdn_friday.mp4")


@pytest.fixture
def clip(shared_data):
    """The His Girl Friday clip (6 s, English); skips when the shared data is absent."""
    path = shared_data.joinpath(*CLIP)
    if not path.exists():
        pytest.skip(f"needs {path}")
    return path


def _words(text: str, *, step: float = 0.3, start: float = 0.0) -> list[Word]:
    """Evenly timed words without pauses."""
    return [
        Word(start + i * step, start + i * step + step * 0.8, t, 0.9)
        for i, t in enumerate(text.split())
    ]


# ---- layout -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "so the thing about this whole story is that nobody ever really asked the editor "
        "what he wanted out of it and then the paper went to press anyway without him",
        "심폐소생술 자격증 취득을 원하시면 인터넷으로 신청해주세요 주연 배우 캐스팅이 마무리되는 "
        "대로 촬영을 시작할 거래 드라마 관계자분들은 모두 회의실로 들어와 주십시오",
    ],
)
def test_cues_respect_lines_and_width_and_keep_every_word(text: str) -> None:
    words = _words(text)
    cues = caption_cues(words, max_chars=20, max_lines=2)
    assert len(cues) > 1
    for cue in cues:
        assert 1 <= len(cue.lines) <= 2
        assert all(text_width(line) <= 20 for line in cue.lines)
    assert " ".join(" ".join(c.lines) for c in cues).split() == text.split()


def test_hangul_counts_double_width() -> None:
    assert text_width("한국어") == 6
    assert text_width("abc") == 3
    cues = caption_cues(_words("가나다라마 바사아자차 카타파하가"), max_chars=10, max_lines=2)
    assert [c.lines for c in cues] == [["가나다라마", "바사아자차"], ["카타파하가"]]


def test_cue_breaks_at_pause_and_sentence_end() -> None:
    words = [
        *_words("hello there my friend"),
        *_words("after a long pause", start=3.0),
        *_words("Done. Next sentence", start=6.0),
    ]
    cues = caption_cues(words, max_gap=0.6)
    assert [" ".join(c.lines) for c in cues] == [
        "hello there my friend",
        "after a long pause",
        "Done.",
        "Next sentence",
    ]


def test_lines_are_balanced_and_clause_breaks_are_preferred() -> None:
    cues = caption_cues(_words("one two three four five six seven eight"), max_chars=32)
    assert cues[0].lines == ["one two three four", "five six seven eight"]
    text = "well we tried everything we could, but the night was long and the story went on"
    cues = caption_cues(_words(text), max_chars=24, max_lines=2)
    assert cues[0].lines[-1].endswith("could,")
    short_clause = caption_cues(
        _words("Oh, we tried everything we could think of and more"), max_chars=16
    )
    assert short_clause[0].lines[0].startswith("Oh, we")  # a 0.24 s cue would flash by


def test_times_monotonic_non_overlapping_and_min_duration() -> None:
    words = [Word(0.0, 0.1, "Hi.", 0.9), Word(0.3, 0.4, "Yes", 0.9), Word(5.0, 5.1, "late", 0.9)]
    cues = caption_cues(words, min_duration=0.7)
    assert [c.start for c in cues] == sorted(c.start for c in cues)
    for a, b in zip(cues, cues[1:]):
        assert a.start < a.end <= b.start
    assert cues[0].end == pytest.approx(0.3)  # stretched, but not into the next cue
    assert cues[-1].end == pytest.approx(5.7)


def test_unspaced_scripts_join_without_spaces() -> None:
    assert join_words(["今日は", "いい", "天気"]) == "今日はいい天気"
    assert join_words(["오늘은", "날씨가"]) == "오늘은 날씨가"
    assert caption_cues([]) == []


def test_srt_and_vtt_apply_the_offset(tmp_path) -> None:
    cues = [Cue(9.0, 10.5, ["before the clip"]), Cue(12.25, 14.0, ["a <b> & c", "두 번째 줄"])]
    srt = write_srt(cues, tmp_path / "a.srt", offset=12.0).read_text(encoding="utf-8")
    assert srt == "1\n00:00:00,250 --> 00:00:02,000\na <b> & c\n두 번째 줄\n"
    vtt = write_vtt(cues, tmp_path / "a.vtt", offset=10.0).read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n\n")
    assert "00:00:00.000 --> 00:00:00.500\nbefore the clip" in vtt
    assert "00:00:02.250 --> 00:00:04.000\na &lt;b&gt; &amp; c\n두 번째 줄" in vtt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.srt", "a.vtt"]  # no temp files
    long = write_srt([Cue(3725.5, 3726.0, ["x"])], tmp_path / "b.srt").read_text()
    assert "01:02:05,500 --> 01:02:06,000" in long


# ---- painter ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(640, 360), (360, 640)])
def test_painting_changes_only_the_bottom_third(size: tuple[int, int]) -> None:
    width, height = size
    rgb = np.random.default_rng(0).integers(40, 200, (height, width, 3), dtype=np.uint8)
    frame = Yuv420.from_rgb(rgb)
    before = frame.to_rgb()
    painter = CaptionPainter(width, height)
    painted = painter.paint(frame, Cue(0, 1, ["안녕하세요 여러분", "Hello everyone"]))
    out = painted.to_rgb()
    assert out.shape == before.shape and out.dtype == np.uint8
    changed = np.any(out != before, axis=2)
    assert changed.sum() > 500
    rows = np.flatnonzero(changed.any(axis=1))
    assert rows.min() >= 2 * height // 3
    assert (out[changed] >= 250).all(axis=1).any()  # white fill
    assert (out[changed] < 40).all(axis=1).any()  # dark outline
    assert painter.paint(frame, None) is frame
    assert np.array_equal(frame.to_rgb(), before)  # the source picture is not painted on


def test_font_size_in_range_and_long_lines_shrink_to_fit() -> None:
    painter = CaptionPainter(1280, 720)
    assert 720 / 18 <= painter.font_size <= 720 / 14
    x, _, block, _ = painter.overlay(["W" * 60])
    assert x >= 0.04 * 1280 and block.width <= 0.92 * 1280
    portrait = CaptionPainter(1080, 1920)
    assert 8 <= portrait.max_chars < painter.max_chars
    line = "a" * 32  # the default cue width, too wide for a portrait frame at full size
    x, _, block, _ = portrait.overlay([line])
    assert x > 0 and block.width < 1080
    fitting = caption_cues(_words("word " * 40), max_chars=portrait.max_chars)
    for cue in fitting:
        _, _, block, _ = portrait.overlay(cue.lines)
        full_size = portrait.overlay(["a"] * len(cue.lines))[2]
        assert block.height == full_size.height  # drawn at the full size: nothing shrank
        assert block.width <= 0.92 * 1080


def test_hangul_glyphs_are_not_tofu() -> None:
    painter = CaptionPainter(640, 360)
    frame = Yuv420.from_rgb(np.zeros((360, 640, 3), np.uint8))
    a = painter.paint(frame, Cue(0, 1, ["가나다"]))
    b = painter.paint(frame, Cue(0, 1, ["라마바"]))
    assert not np.array_equal(a.y, b.y)
    font = load_font(48)
    notdef = np.asarray(font.getmask("\U000f0000"))  # private use: the font's .notdef box
    for char in "가한글A":
        assert not np.array_equal(np.asarray(font.getmask(char)), notdef), char


def test_missing_font_package_is_a_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "FONT_PACKAGE", "no_such_font_package")
    with pytest.raises(SetupError, match="pip install cvttf-notosanscjk-bold"):
        fonts.cjk_font_path()


def test_frame_of_another_size_is_refused() -> None:
    with pytest.raises(ValueError, match="painter is 640x360"):
        CaptionPainter(640, 360).paint(
            Yuv420.from_rgb(np.zeros((10, 10, 3), np.uint8)), Cue(0, 1, ["x"])
        )


# ---- audio span and transcription -------------------------------------------------------------


def test_load_span_returns_exactly_the_requested_samples(tmp_path) -> None:
    rate = 16000
    audio = (np.random.default_rng(1).uniform(-0.5, 0.5, rate * 5)).astype(np.float32)
    path = tmp_path / "noise.wav"
    sf.write(path, audio, rate, subtype="FLOAT")
    span = load_span(path, 1.25, 3.5)
    assert span.shape == (round(2.25 * rate),)
    np.testing.assert_allclose(span, audio[20000:56000], atol=1e-6)
    np.testing.assert_allclose(load_span(path, 0.0, 0.5), audio[:8000], atol=1e-6)


def test_caption_model_is_the_whole_pinned_whisper_base() -> None:
    folder = model_path()  # built from the PyPI parts in the test session's own cache
    with (folder / "model.bin").open("rb") as f:
        assert hashlib.file_digest(f, "sha256").hexdigest() == JOINED_SHA256
    assert {p.name for p in folder.iterdir()} == {
        "model.bin",
        "config.json",
        "vocabulary.txt",
        "tokenizer.json",
    }
    assert model_path() == folder


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hub and no network: any connection attempt fails the test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.shared
@pytest.mark.slow
def test_transcribe_real_clip_span_offline(clip, offline) -> None:
    # The language is given: Whisper-base's detection on these 6 s of a 1940 film is a near tie
    # (English 0.41, Italian 0.37) that the BLAS thread count can tip (egvs.blas); detection is
    # tested on clearer speech below.
    whole = transcribe(clip, language="en")
    assert whole.language == "en"
    text = whole.text.lower()
    for expected in ("tell me", "lord", "bad humor", "stolen the crown"):
        assert expected in text
    span = transcribe(clip, start=3.0, end=6.2, language="en")
    assert span.words and all(3.0 <= w.start <= w.end <= 6.2 for w in span.words)
    assert [w.start for w in span.words] == sorted(w.start for w in span.words)
    assert "crown" in span.text.lower() and "lord" not in span.text.lower()
    cues = caption_cues(span.words)
    assert cues and cues[0].start >= 3.0 and cues[-1].end <= 6.2 + 0.7


@pytest.mark.shared
@pytest.mark.slow
def test_cli_transcribe_writes_captions_and_json(clip, tmp_path, offline, capsys) -> None:
    srt, vtt, out = tmp_path / "c.srt", tmp_path / "c.vtt", tmp_path / "c.json"
    args = ["transcribe", str(clip), "--srt", str(srt), "--vtt", str(vtt), "--json", str(out)]
    assert main([*args, "--lang", "en", "-q"]) == 0
    assert vtt.read_text().startswith("WEBVTT\n\n") and "-->" in srt.read_text()
    doc = json.loads(out.read_text())
    assert doc["schema"] == "egvs.transcript/1" and doc["language"] == "en"
    assert "crown" in doc["text"].lower() and doc["words"]
    assert main([*args, "-q"]) == 3  # outputs exist, no --overwrite
    assert main(["transcribe", str(clip), "--lang", "xx", "-q"]) == 1
    assert "unknown language" in capsys.readouterr().err


def test_cli_transcribe_bad_input_exits_2(tmp_path, capsys) -> None:
    bad = tmp_path / "not-media.mp4"
    bad.write_bytes(b"hello" * 100)
    assert main(["transcribe", str(bad), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("egvs: error:")


@pytest.fixture
def talk(shared_data) -> Path:
    """The auto-editor example: 42 s, one English speaker, pauses between sentences."""
    path = shared_data / "videos" / "auto_editor_example.mp4"
    if not path.exists():
        pytest.skip(f"needs {path}")
    return path


@pytest.mark.shared
@pytest.mark.slow
def test_a_short_span_gets_the_language_of_the_speech_around_it(
    talk, offline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whisper guesses poorly from a few seconds: 20-23 s of this talk alone (a pause) reads
    English at only 0.33, Welsh 0.25, and 2-5 s of an English film clip read Italian. A short
    span's language is detected on the 20 s around it."""
    from faster_whisper import WhisperModel

    detections: list[tuple[int, str, float]] = []
    real = WhisperModel.detect_language

    def spied(self, audio=None, features=None, **kwargs):
        language, probability, ranked = real(self, audio, features, **kwargs)
        detections.append((0 if audio is None else len(audio), language, probability))
        return language, probability, ranked

    monkeypatch.setattr(WhisperModel, "detect_language", spied)
    assert transcribe(talk, start=20.0, end=23.0).language == "en"
    samples, language, probability = detections[0]
    assert samples == 20 * 16000 and language == "en" and probability > 0.8


@pytest.mark.shared
@pytest.mark.slow
def test_the_first_window_is_encoded_once_when_its_language_is_detected(
    talk, offline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """faster-whisper encodes a 20 s+ span's first window to detect its language; transcribing
    reuses that encoding (a later window, where decoding moves on to one, is new input). A short
    span's language comes from a window of its own, whose encoding must not be taken for the
    span's."""
    from faster_whisper import WhisperModel

    encoded: list[bytes] = []
    real = WhisperModel.encode

    def counted(self, features):
        encoded.append(hashlib.sha1(np.ascontiguousarray(features).tobytes()).digest())
        return real(self, features)

    monkeypatch.setattr(WhisperModel, "encode", counted)
    spoken = transcribe(talk, start=0.0, end=24.0)
    assert spoken.language == "en" and "say banana" in spoken.text.lower()
    assert encoded and len(set(encoded)) == len(encoded)  # no window encoded twice
    encoded.clear()
    short = transcribe(talk, start=0.0, end=5.0)
    assert len(encoded) >= 2 and len(set(encoded)) == len(encoded)  # language's window, span's
    assert short.words and all(w.end <= 5.0 for w in short.words)
    assert "example video" in short.text.lower() and "banana" not in short.text.lower()


def test_punctuation_alone_is_not_a_spoken_word() -> None:
    # Whisper's hallucinations on sound without speech: no caption of dots or dashes.
    assert not any(spoken(t) for t in (".", " . ", "...", "-", "?!", "。", "、", "", "  "))
    assert all(spoken(t) for t in ("me.", "Oh!", "안녕", "¿Qué?", "42", "♪"))
