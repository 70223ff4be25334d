"""Stream a media file once: sampled video frames on the timeline grid and 16 kHz mono audio.

Frames are decoded in FFmpeg's threads; only the frames that land on a timeline step are converted
to pixels (a small RGB image for the CNN and a small grey image for optical flow), so memory stays
bounded by one frame whatever the video's length. Frames come out upright: a rotated (phone) video's
picture is turned as its display matrix says. In ``fast`` mode the decoder skips non-reference
frames and the loop filter: sampling at 2 fps does not need them, and decode is the stage's floor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from egvs.errors import InputError, reason
from egvs.media.probe import MediaInfo, picture_stream
from egvs.timeline import TimeGrid

logger = logging.getLogger("egvs")

SAMPLE_RATE = 16000  # the analysis audio: mono float32 at this rate, for every audio stage

IMAGE_SIZE = 224  # CNN input (square; the whole picture is kept, not cropped)
MOTION_WIDTH = 160  # grey frames for optical flow


@dataclass
class VideoSample:
    """The frame shown at the start of timeline step ``step``, and the frame decoded right after it."""

    step: int
    time: float
    image: np.ndarray  # (IMAGE_SIZE, IMAGE_SIZE, 3) uint8 RGB
    gray: np.ndarray  # (h, MOTION_WIDTH) uint8
    next_gray: np.ndarray | None = None
    next_dt: float = 0.0


@dataclass
class AudioChunk:
    samples: np.ndarray  # float32 mono at SAMPLE_RATE, contiguous with the previous chunk


def _motion_size(width: int, height: int) -> tuple[int, int]:
    h = max(2, round(MOTION_WIDTH * height / max(width, 1) / 2) * 2)
    return MOTION_WIDTH, h


def stream_media(
    info: MediaInfo,
    grid: TimeGrid,
    *,
    video: bool = True,
    audio: bool = True,
    fast: bool = True,
) -> Iterator[VideoSample | AudioChunk | float]:
    """Yield `VideoSample`s (one per grid step, in order), `AudioChunk`s and progress times (float s).

    Audio starts at the file's start time (leading gaps are filled with silence), so sample ``k``
    is at ``k / SAMPLE_RATE`` seconds on the timeline. Raises `InputError` when the file turns out
    to be truncated or corrupt.
    """
    video = video and info.has_video
    audio = audio and info.has_audio
    if not (video or audio):
        return
    origin = info.start_time
    motion_size = _motion_size(info.width, info.height)
    last_time = 0.0
    try:
        container = av.open(str(info.path))
    except av.error.FFmpegError as exc:
        raise InputError(f"cannot open {info.path}: {reason(exc)}") from None
    with container:
        streams = []
        vstream = astream = None
        if video:
            vstream = picture_stream(container)
            if vstream is None:
                raise InputError(f"no video stream in {info.path}")
            vstream.thread_type = "AUTO"
            if fast:
                vstream.codec_context.skip_frame = "NONREF"
                vstream.codec_context.options = {"skip_loop_filter": "all"}
            streams.append(vstream)
        if audio:
            astream = container.streams.audio[0]
            streams.append(astream)
        resampler = (
            av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE) if audio else None
        )
        # One reformatter per output size for the whole pass: each keeps its scaler between frames
        # (5-20x faster than a fresh one per frame, as ``frame.to_ndarray(width=...)`` makes).
        reformatter = VideoReformatter()
        rgb_reformatter = VideoReformatter()
        next_step = 0
        pending: VideoSample | None = None
        audio_samples_out = 0
        try:
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    if frame.time is None:
                        continue
                    t = float(frame.time) - origin
                    if packet.stream is vstream:
                        if pending is not None:
                            pending.next_gray = _gray(
                                reformatter, frame, motion_size, info.rotation
                            )
                            pending.next_dt = max(t - pending.time, 1e-3)
                            yield pending
                            pending = None
                        if next_step < grid.n_steps and t >= next_step * grid.step - 1e-3:
                            image = upright(
                                rgb_reformatter.reformat(
                                    frame, IMAGE_SIZE, IMAGE_SIZE, "rgb24"
                                ).to_ndarray(),
                                info.rotation,
                            )
                            gray = _gray(reformatter, frame, motion_size, info.rotation)
                            # A frame may stand for several steps when the video has gaps.
                            last = min(grid.index(t), grid.n_steps - 1)
                            for s in range(next_step, last):
                                yield VideoSample(s, t, image, gray, gray, grid.step)
                            pending = VideoSample(last, t, image, gray)
                            next_step = last + 1
                    else:
                        assert resampler is not None  # audio frames only come when audio=True
                        for out in resampler.resample(frame):
                            samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                            if audio_samples_out == 0 and t > 0.01:
                                silence = np.zeros(round(t * SAMPLE_RATE), dtype=np.float32)
                                audio_samples_out += len(silence)
                                yield AudioChunk(silence)
                            audio_samples_out += len(samples)
                            yield AudioChunk(samples)
                    if t > last_time:
                        last_time = t
                        yield t
            if resampler is not None:
                for out in resampler.resample(None):
                    yield AudioChunk(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
        except av.error.FFmpegError as exc:
            if last_time < 0.9 * info.duration:
                raise InputError(
                    f"decoding failed at {last_time:.1f} s of {info.duration:.1f} s; the file is "
                    f"truncated or corrupt: {info.path} ({exc})"
                ) from None
            logger.warning(
                "decoding stopped at %.1f s of %.1f s: %s", last_time, info.duration, exc
            )
        if pending is not None:
            yield pending
    if last_time < 0.8 * info.duration - 2.0:
        raise InputError(
            f"the file ends at {last_time:.1f} s but says it lasts {info.duration:.1f} s; "
            f"it is truncated or corrupt: {info.path}"
        )


_CV2_TURNS = {
    90: cv2.ROTATE_90_COUNTERCLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_CLOCKWISE,
}


def upright(array: np.ndarray, rotation: int) -> np.ndarray:
    """A decoded picture (rows, columns[, channels]) as displayed.

    Turned ``rotation`` degrees counterclockwise (`MediaInfo.rotation`); OpenCV turns a 1080p
    plane ten times faster than numpy, which matters when the renderer turns every frame.
    """
    if rotation == 0:
        return array
    return cv2.rotate(array, _CV2_TURNS[rotation])


def _gray(
    reformatter: VideoReformatter, frame: av.VideoFrame, size: tuple[int, int], rotation: int
) -> np.ndarray:
    """The small upright grey picture for optical flow; ``size`` is its displayed (width, height)."""
    width, height = size[::-1] if rotation % 180 else size
    gray = reformatter.reformat(frame, width, height, "gray", interpolation="AREA").to_ndarray()
    return upright(gray, rotation)
