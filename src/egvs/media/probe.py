"""Probe a media file: what streams it has and how long it is, with one-line errors for bad input."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

import av

from egvs.errors import InputError, reason

MIN_DURATION = 2.0  # seconds; shorter inputs have nothing to summarize


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    duration: float
    has_video: bool
    has_audio: bool
    width: int = 0  # the picture as displayed: a rotated (phone) video's stored size turned
    height: int = 0
    fps: float = 0.0
    video_codec: str = ""
    audio_codec: str = ""
    sample_rate: int = 0
    start_time: float = 0.0  # media time of the file's first sample; EGVS times count from here
    rotation: int = 0  # counterclockwise turn (0/90/180/270) that shows the stored picture upright

    def to_dict(self) -> dict:
        out = asdict(self)
        out["path"] = str(self.path)
        out["duration"] = round(self.duration, 3)
        out["fps"] = round(self.fps, 3)
        return out


def _stream_seconds(stream: av.stream.Stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return 0.0


def picture_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    """The file's moving picture: its first video stream that is not an attached picture.

    Cover art in an mp3/m4a is a one-frame "video" stream (disposition attached_pic) and a
    stream without a decodable size is no picture either; neither makes the file a video.
    """
    for stream in container.streams.video:
        if stream.disposition & av.stream.Disposition.attached_pic:
            continue
        if stream.codec_context.width > 0:
            return stream
    return None


def display_rotation(container: av.container.InputContainer, stream: av.VideoStream) -> int:
    """The counterclockwise turn (0, 90, 180 or 270 degrees) that shows ``stream`` upright.

    Phones store portrait video as landscape pixels plus a display matrix. PyAV reads the matrix
    only from decoded frames, so this decodes the first one; a picture that does not decode (it
    fails later, with a clear error) counts as unrotated.
    """
    try:
        for packet in islice(container.demux(stream), 200):
            for frame in packet.decode():
                return round(frame.rotation / 90) % 4 * 90
    except av.error.FFmpegError:
        pass
    return 0


def probe(path: str | Path, *, min_duration: float = MIN_DURATION) -> MediaInfo:
    """Open ``path`` and describe it; raise `InputError` for anything EGVS cannot summarize
    (or, with a lower ``min_duration``, read: `egvs face predict` takes clips under 2 s)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if path.is_dir():
        raise InputError(f"input is a folder, not a media file: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"input is an empty file: {path}")
    try:
        _check_iso_boxes(path)
    except PermissionError:
        raise InputError(f"cannot read the input (permission denied): {path}") from None
    try:
        with av.open(str(path)) as container:
            video = picture_stream(container)
            audio = container.streams.audio[0] if container.streams.audio else None
            if video is None and audio is None:
                raise InputError(f"no audio or video stream in {path}")
            seconds = [_stream_seconds(s) for s in (video, audio) if s is not None]
            duration = max(seconds) if any(seconds) else 0.0
            if duration <= 0 and container.duration:
                duration = container.duration / av.time_base
            fps = 0.0
            width = height = rotation = 0
            if video is not None:
                rate = video.average_rate or video.guessed_rate or video.base_rate
                fps = float(rate) if rate else 0.0
                width, height = video.codec_context.width, video.codec_context.height
                rotation = display_rotation(container, video)
                if rotation % 180:
                    width, height = height, width
            info = MediaInfo(
                path=path,
                duration=float(duration),
                has_video=video is not None,
                has_audio=audio is not None,
                width=width,
                height=height,
                fps=fps if math.isfinite(fps) else 0.0,
                video_codec=video.codec_context.name if video is not None else "",
                audio_codec=audio.codec_context.name if audio is not None else "",
                sample_rate=audio.codec_context.sample_rate if audio is not None else 0,
                start_time=container.start_time / av.time_base if container.start_time else 0.0,
                rotation=rotation,
            )
    except InputError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not a readable media file: {path} ({reason(exc)})") from None
    if info.duration <= 0:
        raise InputError(
            f"cannot tell the duration of {path}; the file may be truncated or corrupt"
        )
    if info.duration < min_duration:
        raise InputError(
            f"input is {info.duration:.2f} s long; EGVS needs at least {min_duration:g} s: {path}"
        )
    return info


def _check_iso_boxes(path: Path) -> None:
    """Reject an MP4/MOV/M4A whose top-level boxes run past the end of the file (a cut download).

    FFmpeg may still open such a file and silently drop the streams it cannot index.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[4:8] != b"ftyp":
            return  # not ISO base media: other containers are checked while decoding
        offset = 0
        while offset < size:
            f.seek(offset)
            header = f.read(16)
            if len(header) < 8:
                break
            box = int.from_bytes(header[:4], "big")
            if box == 1 and len(header) == 16:
                box = int.from_bytes(header[8:16], "big")
            elif box == 0:
                return  # the last box extends to the end of the file
            if box < 8 or offset + box > size:
                raise InputError(
                    f"the file is truncated or corrupt ({header[4:8].decode('latin-1')!r} box at byte "
                    f"{offset} runs past the end): {path}"
                )
            offset += box
