"""Generated videos with known calm and lively parts (PyAV encodes H.264/AAC in memory).

A "calm" part is a still picture with soft room tone; a "lively" part has fast-moving shapes and loud,
applause-like noise bursts with a screaming pitch sweep. The example of `egvs example` and of the
web app is one; tests and benchmarks make theirs the same way, so summaries can be checked
against where the lively parts are.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

Part = tuple[float, float, str]  # (start s, end s, "calm" | "lively")


def default_parts(duration: float) -> list[Part]:
    """Calm, with one lively stretch from 60% to 80% of the duration."""
    return [
        (0.0, 0.6 * duration, "calm"),
        (0.6 * duration, 0.8 * duration, "lively"),
        (0.8 * duration, duration, "calm"),
    ]


def example_parts(duration: float) -> list[Part]:
    """The example's layout: calm, with lively stretches at 30-40% and 75-85% of the duration."""
    edges = [0.0, 0.3, 0.4, 0.75, 0.85, 1.0]
    kinds = ["calm", "lively", "calm", "lively", "calm"]
    return [(a * duration, b * duration, k) for a, b, k in zip(edges, edges[1:], kinds)]


def write_example(path: str | Path, duration: float = 60.0) -> Path:
    """The example video (640x360); written to a temporary file and moved into place when done."""
    from egvs.atomic import atomic_write

    path = Path(path)
    atomic_write(
        path, lambda tmp: make_video(tmp, duration, example_parts(duration), size=(640, 360))
    )
    return path


def kind_at(parts: Sequence[Part], t: float) -> str:
    for start, end, kind in parts:
        if start <= t < end:
            return kind
    return parts[-1][2] if parts else "calm"


def _frame(t: float, kind: str, width: int, height: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)), np.full_like(x, 90)], -1
    )
    img = (base * 0.5 + 40).astype(np.uint8)
    if kind == "lively":
        rng = np.random.default_rng(int(t * 1000))
        for k in range(4):
            cx = int((0.5 + 0.45 * np.sin(7.0 * t + 1.7 * k)) * width)
            cy = int((0.5 + 0.45 * np.cos(5.0 * t + 2.3 * k)) * height)
            r = max(4, height // 6)
            img[max(cy - r, 0) : cy + r, max(cx - r, 0) : cx + r] = rng.integers(0, 256, 3)
    else:
        r = max(2, height // 10)
        cx, cy = width // 3, height // 2
        img[cy - r : cy + r, cx - r : cx + r] = (200, 200, 200)
    return img


def _audio(t0: float, n: int, sr: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    t = t0 + np.arange(n) / sr
    if kind == "lively":
        claps = (np.sin(2 * np.pi * 6 * t) > 0.3).astype(np.float32)
        noise = rng.standard_normal(n).astype(np.float32) * 0.35 * claps
        sweep = 0.3 * np.sin(2 * np.pi * (900 + 500 * np.sin(2 * np.pi * 1.5 * t)) * t)
        return np.clip(noise + sweep, -1, 1).astype(np.float32)
    # Room tone: soft low-passed noise, nothing a voice detector or tagger should call an event.
    noise = np.convolve(rng.standard_normal(n + 31), np.ones(32) / 32, mode="valid")[:n]
    return (0.01 * noise).astype(np.float32)


def make_video(
    path: str | Path,
    duration: float = 10.0,
    parts: Sequence[Part] | None = None,
    *,
    fps: int = 24,
    size: tuple[int, int] = (320, 180),
    video: bool = True,
    audio: bool = True,
    sample_rate: int = 48000,
    seed: int = 0,
) -> Path:
    """Write an H.264/AAC mp4 (or audio-only .m4a / video-only .mp4) made of calm and lively parts."""
    path = Path(path)
    parts = list(parts) if parts is not None else default_parts(duration)
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as out:
        vstream = astream = None
        if video:
            vstream = out.add_stream("libx264", rate=fps)
            vstream.width, vstream.height = size
            vstream.pix_fmt = "yuv420p"
            vstream.options = {"preset": "ultrafast", "crf": "28"}
        if audio:
            astream = out.add_stream("aac", rate=sample_rate)
            astream.layout = "mono"
        if vstream is not None:
            for i in range(round(duration * fps)):
                t = i / fps
                image = _frame(t, kind_at(parts, t), *size)
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = i
                frame.time_base = Fraction(1, fps)
                out.mux(vstream.encode(frame))
            out.mux(vstream.encode())
        if astream is not None:
            block = 1024
            total = round(duration * sample_rate)
            for a in range(0, total, block):
                n = min(block, total - a)
                t0 = a / sample_rate
                samples = _audio(t0, n, sample_rate, kind_at(parts, t0), rng)
                frame = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
                frame.sample_rate = sample_rate
                frame.pts = a
                frame.time_base = Fraction(1, sample_rate)
                out.mux(astream.encode(frame))
            out.mux(astream.encode())
    return path
