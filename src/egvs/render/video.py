"""Render selected segments into one H.264/AAC mp4, picture and sound in sync.

Each segment is cut on the source's frame grid: it becomes exactly ``round(duration * fps)`` output
frames (the source frame nearest each output time) and exactly that many frames' worth of audio
samples, so drift cannot build up across cuts. Audio fades in and out over 20 ms at every cut (no
clicks). One seek per segment, streamed decode and encode: memory does not grow with length. The
file is written under a temporary name and moved into place only when complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from egvs.cache import atomic_write
from egvs.errors import InputError, OutputError, reason
from egvs.media.probe import MediaInfo, picture_stream
from egvs.progress import progress
from egvs.segments import Segment

FADE_SECONDS = 0.02
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
AAC_FRAME = 1024


class _AudioSink:
    """Encodes float planar audio in AAC-sized frames with running timestamps."""

    def __init__(
        self, out: av.container.OutputContainer, stream: av.audio.stream.AudioStream, layout: str
    ) -> None:
        self.out, self.stream, self.layout = out, stream, layout
        self.rate = stream.codec_context.sample_rate
        self.pending = np.zeros((stream.codec_context.channels, 0), np.float32)
        self.pts = 0

    def write(self, samples: np.ndarray) -> None:
        self.pending = np.concatenate([self.pending, samples], axis=1)
        while self.pending.shape[1] >= AAC_FRAME:
            self._encode(self.pending[:, :AAC_FRAME])
            self.pending = self.pending[:, AAC_FRAME:]

    def _encode(self, block: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(block), format="fltp", layout=self.layout
        )
        frame.sample_rate = self.rate
        frame.pts = self.pts
        frame.time_base = Fraction(1, self.rate)
        self.pts += block.shape[1]
        self.out.mux(self.stream.encode(frame))

    def close(self) -> None:
        if self.pending.shape[1]:
            self._encode(self.pending)
        self.out.mux(self.stream.encode(None))


def _fade(n: int, rate: int) -> np.ndarray:
    """Gain per sample for a segment of ``n`` samples: linear ramps at both ends."""
    gain = np.ones(n, np.float32)
    k = min(round(FADE_SECONDS * rate), n // 2)
    if k > 0:
        ramp = np.linspace(0.0, 1.0, k, endpoint=False, dtype=np.float32)
        gain[:k] = ramp
        gain[n - k :] = ramp[::-1]
    return gain


# Output extension -> FFmpeg muxer; all hold the H.264/AAC the renderer writes.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


def container_for(output: Path) -> str:
    """The muxer for ``output``'s extension; `OutputError` for one EGVS does not write."""
    muxer = CONTAINERS.get(Path(output).suffix.lower())
    if muxer is None:
        raise OutputError(
            f"cannot write a summary as {Path(output).suffix or 'a file without extension'} "
            f"({output}); use {', '.join(CONTAINERS)} (H.264 video, AAC audio)"
        )
    return muxer


def render_segments(info: MediaInfo, segments: Sequence[Segment], output: Path) -> float:
    """Write ``segments`` of ``info.path`` to ``output``; returns the summary's duration in seconds."""
    rendered: list[float] = []
    written: list[Path] = []

    def write(tmp: Path) -> None:
        written.append(tmp)
        rendered.append(_render(info, segments, tmp))

    try:
        atomic_write(Path(output), write)
    except av.error.FFmpegError as exc:
        filename = getattr(exc, "filename", None)
        if filename and written and Path(filename) == written[0]:
            # the muxer failed on the output's temporary file: a full disk, a quota...
            raise OutputError(f"cannot write {output}: {reason(exc)}") from None
        raise InputError(f"rendering failed while reading {info.path}: {reason(exc)}") from None
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {reason(exc)}") from None
    return rendered[0]


def _render(info: MediaInfo, segments: Sequence[Segment], path: Path) -> float:
    with av.open(str(info.path)) as inp, av.open(str(path), "w", format=container_for(path)) as out:
        vin = picture_stream(inp) if info.has_video else None
        ain = inp.streams.audio[0] if info.has_audio else None
        vout = sink = None
        rate = Fraction(0)
        if vin is not None:
            vin.thread_type = "AUTO"
            rate = vin.average_rate or vin.guessed_rate or Fraction(25)
            rate = Fraction(rate).limit_denominator(1001)
            vout = out.add_stream("libx264", rate=rate)
            vout.width, vout.height = info.width // 2 * 2, info.height // 2 * 2
            vout.pix_fmt = "yuv420p"
            vout.options = {"preset": "veryfast", "crf": "20"}
            vout.codec_context.time_base = 1 / rate
        if ain is not None:
            sr = ain.codec_context.sample_rate
            sr = sr if sr in AAC_RATES else 48000
            layout = "stereo" if ain.codec_context.channels >= 2 else "mono"
            aout = out.add_stream("aac", rate=sr)
            aout.layout = layout
            aout.bit_rate = 160_000 if layout == "stereo" else 96_000
            sink = _AudioSink(out, aout, layout)
        state = {"frames": 0}
        bar = progress(
            total=round(sum(s.duration for s in segments), 1), desc="rendering", unit="s"
        )
        total = 0.0
        for seg in segments:
            n_frames = max(1, round(seg.duration * rate)) if vout is not None else 0
            length = n_frames / rate if vout is not None else seg.duration
            _copy_segment(
                inp,
                vin,
                ain,
                vout,
                sink,
                out,
                info.start_time + seg.start,
                float(length),
                rate,
                state,
            )
            total += float(length)
            bar.update(round(float(length), 1))
        bar.close()
        if vout is not None:
            out.mux(vout.encode(None))
        if sink is not None:
            sink.close()
    return total


def _copy_segment(
    inp, vin, ain, vout, sink, out, start: float, length: float, rate: Fraction, state: dict
) -> None:
    """Decode [start, start + length) of the input (file times) and encode it."""
    n_frames = round(length * rate) if vout is not None else 0
    n_samples = round(length * sink.rate) if sink is not None else 0
    seek_stream = vin if vin is not None else ain
    inp.seek(max(0, int((start - 0.05) / seek_stream.time_base)), stream=seek_stream, backward=True)
    streams = [s for s in (vin, ain) if s is not None]
    half = 0.5 / float(rate) if vout is not None else 0.0
    emitted = 0
    previous = None
    resampler = (
        av.AudioResampler(format="fltp", layout=sink.layout, rate=sink.rate) if sink else None
    )
    gain = _fade(n_samples, sink.rate) if sink else None
    written = 0  # audio samples written for this segment

    def emit(frame: av.VideoFrame) -> None:
        nonlocal emitted
        image = frame.reformat(width=vout.width, height=vout.height, format="yuv420p")
        image.pts = state["frames"]
        image.time_base = vout.codec_context.time_base
        state["frames"] += 1
        emitted += 1
        out.mux(vout.encode(image))

    def put_audio(samples: np.ndarray, position: int) -> None:
        """Write samples that start at ``position`` (samples from segment start)."""
        nonlocal written
        if position > written:  # a gap in the source audio: fill with silence
            silence = np.zeros((samples.shape[0], min(position, n_samples) - written), np.float32)
            sink.write(silence)
            written += silence.shape[1]
        skip = max(0, written - position)
        take = samples[:, skip : skip + n_samples - written]
        if take.shape[1]:
            sink.write(take * gain[written : written + take.shape[1]])
            written += take.shape[1]

    audio_pos: int | None = None
    for packet in inp.demux(*streams):
        for frame in packet.decode():
            if frame.time is None:
                continue
            t = float(frame.time)
            if packet.stream is vin:
                if emitted >= n_frames:
                    continue
                while emitted < n_frames and start + emitted / rate + half < t:
                    emit(previous if previous is not None else frame)
                previous = frame
            elif resampler is not None and written < n_samples:
                for chunk in resampler.resample(frame):
                    data = chunk.to_ndarray().astype(np.float32, copy=False)
                    if audio_pos is None:
                        audio_pos = round((t - start) * sink.rate)
                    put_audio(data, audio_pos)
                    audio_pos += data.shape[1]
        video_done = emitted >= n_frames
        audio_done = sink is None or written >= n_samples
        if video_done and audio_done:
            break
        if (
            packet.pts is not None
            and packet.time_base is not None
            and float(packet.pts * packet.time_base) > start + length + 2.0
        ):
            break
    while vout is not None and emitted < n_frames and previous is not None:
        emit(previous)
    if sink is not None and written < n_samples:
        put_audio(np.zeros((sink.pending.shape[0], n_samples - written), np.float32), written)
