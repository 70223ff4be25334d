"""Render selected segments into one H.264/AAC mp4, picture and sound in sync (smart rendering,
`egvs.render.smart`, keeps an HEVC source's codec).

Each segment is cut on the source's frame grid: it becomes exactly ``round(duration * fps)`` output
frames (the source frame nearest each output time) and exactly that many frames' worth of audio
samples, so drift cannot build up across cuts. Audio fades in and out over 20 ms at every cut (no
clicks). One seek per segment (a few in a file without an index, such as MPEG-TS), streamed decode
and encode: memory does not grow with length. A rotated (phone) video's pictures are turned upright.
The file is written under a temporary name and moved into place only when complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from egvs.atomic import atomic_write
from egvs.errors import InputError, OutputError, reason
from egvs.media.picture import Yuv420
from egvs.media.probe import MediaInfo, picture_stream
from egvs.progress import progress
from egvs.render.smart import CannotCopy, SpanWriter, output_record, plan
from egvs.segments import Segment

FADE_SECONDS = 0.02
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
AAC_FRAME = 1024
# superfast: a third less CPU than veryfast at the same CRF and the same picture quality (SSIM
# 0.9940 vs 0.9943 on 720p film), for ~1.5x the bytes.
DEFAULT_PRESET = "superfast"
# ultrafast: for pictures scaled up from a crop (shorts), 37% less CPU than superfast at about the
# same quality (SSIM 0.9879 vs 0.9894 on a 405x720 crop shown at 1080x1920) for 1.2x the bytes.
FAST_PRESET = "ultrafast"


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


# Makes an output picture from an upright source picture at a time (seconds of the source), both
# as YUV 4:2:0 planes: e.g. a crop that follows a face, with captions.
PictureFn = Callable[[Yuv420, float], Yuv420]


def render_segments(
    info: MediaInfo,
    segments: Sequence[Segment],
    output: Path,
    *,
    size: tuple[int, int] | None = None,
    picture: PictureFn | None = None,
    preset: str = DEFAULT_PRESET,
) -> float:
    """Write ``segments`` of ``info.path`` to ``output``; returns the summary's duration in seconds.

    By default the pictures keep the source's (upright) size; ``size`` (width, height) and
    ``picture`` make other frames, e.g. a vertical crop of each source picture. ``preset`` is
    x264's speed preset (the quality is set by CRF 20 either way).
    """
    return _written(info, output, lambda tmp: _render(info, segments, tmp, size, picture, preset))


RENDER_MODES = ("auto", "copy", "encode")
AUTO_HEVC = "x265 re-encodes the pictures next to each cut slower than x264 encodes it all"


def copy_refusal(info: MediaInfo, render: str, *, drawn: bool) -> str:
    """Why `render_summary` re-encodes every picture without trying smart rendering ("" when
    it tries it; it may still find the source cannot be copied)."""
    if render == "encode":
        return "--render encode"
    if drawn:
        return "pictures are drawn on (captions)"
    if render == "auto" and info.video_codec == "hevc":
        # x265 encoded 720p at 12 pictures/s on one core here (superfast; x264: 114/s on two):
        # re-encoding the pieces next to the cuts took 3x as long as encoding the whole summary
        # (README, "Smart rendering"). "copy" still copies HEVC.
        return AUTO_HEVC
    return ""


def render_summary(
    info: MediaInfo,
    segments: Sequence[Segment],
    output: Path,
    *,
    render: str = "auto",
    picture: PictureFn | None = None,
) -> tuple[float, str, str]:
    """Write ``segments`` of ``info.path`` to ``output`` by ``render``: "encode" (every picture
    through x264, `render_segments`), "copy" (smart rendering: the source's whole GOPs copied,
    only the pictures next to each cut re-encoded with the source's codec, H.264 or HEVC;
    `egvs.render.smart`) or "auto" (copy where the source is H.264 and allows it exactly, else
    encode). Returns the summary's duration in seconds, the way used ("copy" or "encode") and,
    when "auto" encoded, why it could not copy.

    "copy" of a source that cannot be copied exactly, or with burned-in ``picture``s, is an
    `InputError` that says why.
    """
    if render not in RENDER_MODES:
        raise ValueError(f"render must be one of {RENDER_MODES}, not {render!r}")
    why = copy_refusal(info, render, drawn=picture is not None)
    if not why:
        try:
            return _written(info, output, lambda tmp: _render_copy(info, segments, tmp)), "copy", ""
        except CannotCopy as exc:
            why = str(exc)
    if render == "copy":
        raise InputError(f"cannot stream-copy {info.path}: {why}; use --render encode")
    duration = render_segments(info, segments, output, picture=picture)
    return duration, "encode", why if render == "auto" else ""


def _written(info: MediaInfo, output: Path, render: Callable[[Path], float]) -> float:
    """``render(tmp)``'s result; the file it writes is moved to ``output`` only when complete."""
    rendered: list[float] = []
    written: list[Path] = []

    def write(tmp: Path) -> None:
        written.append(tmp)
        rendered.append(render(tmp))

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


def _frame_rate(vin: av.VideoStream) -> Fraction:
    """The output's frame rate: the source's average (a VFR source's is its mean)."""
    rate = vin.average_rate or vin.guessed_rate or Fraction(25)
    return Fraction(rate).limit_denominator(1001)


def _audio_sink(out: av.container.OutputContainer, ain: av.AudioStream) -> _AudioSink:
    """AAC at the source's rate (48 kHz for one AAC has not), stereo or mono."""
    sr = ain.codec_context.sample_rate
    sr = sr if sr in AAC_RATES else 48000
    layout = "stereo" if ain.codec_context.channels >= 2 else "mono"
    aout = out.add_stream("aac", rate=sr)
    aout.layout = layout
    aout.bit_rate = 160_000 if layout == "stereo" else 96_000
    # FFmpeg's "fast" AAC coder: 44% less CPU than its default (twoloop) here, with waveform SNR
    # within 2 dB of it on the shared clips (README, "Smart rendering"); FFmpeg made it the
    # default in 2018 for sounding better than twoloop at higher bitrates.
    aout.codec_context.options = {"aac_coder": "fast"}
    return _AudioSink(out, aout, layout)


def _render_copy(info: MediaInfo, segments: Sequence[Segment], path: Path) -> float:
    """Smart rendering (`egvs.render.smart`); the sound is cut and encoded as `_render` does."""
    with av.open(str(info.path)) as inp, av.open(str(path), "w", format=container_for(path)) as out:
        vin = picture_stream(inp) if info.has_video else None
        if vin is None:
            raise CannotCopy("the input has no video")
        ain = inp.streams.audio[0] if info.has_audio else None
        rate = _frame_rate(vin)
        smart = plan(inp, vin, info, segments, rate, DEFAULT_PRESET)
        vout = out.add_stream_from_template(vin)
        vout.codec_context.extradata = output_record(vin, smart, rate)
        sink = _audio_sink(out, ain) if ain is not None else None
        bar = progress(
            total=round(sum(s.duration for s in segments), 1), desc="rendering", unit="s"
        )
        total = 0.0
        with SpanWriter(inp, vin, out, vout, smart, rate) as writer:
            for seg, span in zip(segments, smart.spans, strict=True):
                writer.write(span)  # its pieces encode while its sound is cut below
                length = float(span.length * vin.time_base)
                if sink is not None:
                    start = info.start_time + seg.start
                    _copy_segment(
                        inp,
                        None,
                        ain,
                        None,
                        sink,
                        out,
                        start,
                        length,
                        rate,
                        {},
                        origin=info.start_time,
                        rotation=0,
                    )
                total += length
                bar.update(round(length, 1))
            writer.flush()
        bar.close()
        if sink is not None:
            sink.close()
    return total


def _render(
    info: MediaInfo,
    segments: Sequence[Segment],
    path: Path,
    size: tuple[int, int] | None,
    picture: PictureFn | None,
    preset: str,
) -> float:
    with av.open(str(info.path)) as inp, av.open(str(path), "w", format=container_for(path)) as out:
        vin = picture_stream(inp) if info.has_video else None
        ain = inp.streams.audio[0] if info.has_audio else None
        vout = sink = None
        rate = Fraction(0)
        if vin is not None:
            vin.thread_type = "AUTO"
            rate = _frame_rate(vin)
            vout = out.add_stream("libx264", rate=rate)
            width, height = size or (info.width, info.height)
            vout.width, vout.height = width // 2 * 2, height // 2 * 2
            vout.pix_fmt = "yuv420p"
            vout.options = {"preset": preset, "crf": "20"}
            # Frame threads: x264 encodes while the next pictures are decoded and made (PyAV's
            # default, slice threads, makes each encode call wait); a third less wall time for
            # 1080x1920 shorts on 2 cores. x264 stays deterministic.
            vout.codec_context.thread_type = "FRAME"
            vout.codec_context.time_base = 1 / rate
        if ain is not None:
            sink = _audio_sink(out, ain)
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
                origin=info.start_time,
                rotation=info.rotation,
                picture=picture,
            )
            total += float(length)
            bar.update(round(float(length), 1))
        bar.close()
        if vout is not None:
            out.mux(vout.encode(None))
        if sink is not None:
            sink.close()
    return total


def _decoded(
    inp: av.container.InputContainer, streams: list[av.stream.Stream]
) -> Iterator[tuple[av.stream.Stream, av.frame.Frame]]:
    """(stream, frame) for each decoded frame that has a time, from the demuxer's position on."""
    for packet in inp.demux(*streams):
        for frame in packet.decode():
            if frame.time is not None:
                yield packet.stream, frame


def _frames_from(
    inp: av.container.InputContainer,
    streams: list[av.stream.Stream],
    start: float,
    tolerance: float,
    origin: float,
) -> Iterator[tuple[av.stream.Stream, av.frame.Frame]]:
    """Decoded frames of ``streams`` from a point where the first one's frame at ``start`` decodes.

    In MP4, MKV or FLV a seek lands on a keyframe. MPEG-TS/PS have no index: FFmpeg lands on any
    packet before the target, and the decoder drops every frame up to the next keyframe, which
    may come seconds after ``start`` (a frozen segment start, or no picture at all). So seek
    further back, doubling the distance, until the first decoded frame of ``streams[0]`` is at
    or before ``start + tolerance``, or the seek reaches the file's start (``origin``). The
    frames before ``start`` are the caller's to drop.
    """
    lead = streams[0]
    # Not before the lead's first packet: FLV refuses such a seek (EPERM) when the picture
    # starts after the sound (CREMA-D's by 27 ms).
    first = max(0, lead.start_time or 0)
    back = 0.05
    while True:
        target = start - back
        inp.seek(max(first, int(target / lead.time_base)), stream=lead, backward=True)
        frames = _decoded(inp, streams)
        head = []
        for stream, frame in frames:
            head.append((stream, frame))
            if stream is lead:
                break
        covered = bool(head) and head[-1][0] is lead and head[-1][1].time <= start + tolerance
        if covered or target <= origin:
            yield from head
            yield from frames
            return
        back = max(1.0, 2 * back)


def _copy_segment(
    inp,
    vin,
    ain,
    vout,
    sink,
    out,
    start: float,
    length: float,
    rate: Fraction,
    state: dict,
    *,
    origin: float,
    rotation: int,
    picture: PictureFn | None = None,
) -> None:
    """Decode [start, start + length) of the input (file times) and encode it.

    ``origin`` is the file's start time; ``rotation`` turns the pictures upright
    (`MediaInfo.rotation`), so players need no display matrix. ``picture`` makes each output
    picture from the upright source picture and its time (seconds from ``origin``).
    """
    n_frames = round(length * rate) if vout is not None else 0
    n_samples = round(length * sink.rate) if sink is not None else 0
    streams = [s for s in (vin, ain) if s is not None]  # the picture, if any, leads the seek
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
        if picture is not None:
            made = picture(Yuv420.from_frame(frame, rotation), start - origin + emitted / rate)
            image = made.resize(vout.width, vout.height).to_frame()
        else:
            # the stored picture's size: the output's, before it is turned upright
            width, height = (
                (vout.height, vout.width) if rotation % 180 else (vout.width, vout.height)
            )
            image = frame.reformat(width=width, height=height, format="yuv420p")
            if rotation:
                image = Yuv420.from_frame(image, rotation).to_frame()
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
        assert gain is not None  # audio is only put when there is a sink
        skip = max(0, written - position)
        take = samples[:, skip : skip + n_samples - written]
        if take.shape[1]:
            sink.write(take * gain[written : written + take.shape[1]])
            written += take.shape[1]

    audio_pos: int | None = None
    for stream, frame in _frames_from(inp, streams, start, half, origin):
        t = float(frame.time)
        if stream is vin:
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
        if (emitted >= n_frames and (sink is None or written >= n_samples)) or (
            t > start + length + 2.0
        ):
            break
    while vout is not None and emitted < n_frames and previous is not None:
        emit(previous)
    if sink is not None and written < n_samples:
        put_audio(np.zeros((sink.pending.shape[0], n_samples - written), np.float32), written)
