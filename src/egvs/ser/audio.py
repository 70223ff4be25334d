"""Reading any audio or video file as 16 kHz mono float32 (soundfile when it can, PyAV otherwise)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from egvs.errors import InputError, reason
from egvs.media.decode import SAMPLE_RATE


def load_audio(path: Path) -> np.ndarray:
    """The whole file's audio at 16 kHz mono (corpus clips and ``egvs ser predict`` inputs)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    try:
        import soundfile as sf
    except ImportError:  # optional: PyAV reads everything soundfile does
        return _load_av(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        if sr == SAMPLE_RATE:
            return np.ascontiguousarray(data.mean(axis=1))
    except (RuntimeError, sf.LibsndfileError):
        pass
    return _load_av(path)


def _load_av(path: Path) -> np.ndarray:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise InputError(f"{path} has no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            chunks = []
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except av.error.FFmpegError as exc:
        raise InputError(f"cannot decode {path}: {reason(exc)}") from exc
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)
