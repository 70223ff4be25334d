"""Voice activity with silero-vad's sequence ONNX model (from the ``silero-vad`` package) in onnxruntime.

The sequence export runs a whole block of 32 ms frames in one call (the LSTM state is carried
inside the graph), so VAD costs a few milliseconds per minute of audio instead of a Python loop
per frame. Only the ONNX file is used; silero-vad's torch code is never imported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from egvs.model_files import packaged

FRAME = 512  # samples per VAD frame at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous frame the model sees
FRAME_SECONDS = FRAME / 16000


def model_path() -> Path:
    # Found without importing the package: its __init__ imports torch (seconds, and memory).
    return packaged("silero-vad")


class SileroVad:
    """Per-frame speech probability (one value per 32 ms) for 16 kHz mono audio."""

    def __init__(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(model_path()), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        audio = np.asarray(audio, dtype=np.float32)
        n = (len(audio) + FRAME - 1) // FRAME
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        frames = np.zeros((n, FRAME), dtype=np.float32)
        frames.reshape(-1)[: len(audio)] = audio
        context = np.zeros((n, CONTEXT), dtype=np.float32)
        context[1:] = frames[:-1, -CONTEXT:]
        state = np.zeros((1, 1, 128), dtype=np.float32)
        (probs,) = self.session.run(
            ["speech_probs"],
            {"input": np.concatenate([context, frames], axis=1), "h": state, "c": state},
        )
        return probs.astype(np.float32)

    @staticmethod
    def resample(probs: np.ndarray, n: int, frame_seconds: float) -> np.ndarray:
        """VAD probabilities at the centres of ``n`` frames of ``frame_seconds`` (nearest VAD frame)."""
        if len(probs) == 0:
            return np.zeros(n, dtype=np.float32)
        idx = ((np.arange(n) + 0.5) * frame_seconds / FRAME_SECONDS).astype(int)
        return probs[np.minimum(idx, len(probs) - 1)]
