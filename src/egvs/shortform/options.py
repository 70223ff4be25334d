"""What the user asked of `egvs shorts`, resolved and validated once: how many clips, how long,
which frame shape, captions and their language, fill, editor timelines.

The CLI, the web app and `egvs batch` all build a `ShortsOptions` with `from_options`, so the
defaults (5 clips of 15-60 s, 9:16, captions on) and the error messages live here only, and
``shorts.json`` records it (``"options"``). Light on purpose: ``egvs --help`` reads the defaults.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from egvs.errors import EgvsError

ASPECTS = {"9:16": (1080, 1920), "1:1": (1080, 1080), "4:5": (1080, 1350), "16:9": (1920, 1080)}
DEFAULT_LENGTH = (15.0, 60.0)
AUTO_LANGUAGE = "auto"  # the CLI's and the manifest's word for "detect the language"


def parse_aspect(text: str) -> tuple[int, int]:
    """The output frame size for ``9:16``, ``1:1``, ``4:5`` or ``16:9``."""
    if text not in ASPECTS:
        raise EgvsError(f"unknown aspect {text!r}; use one of {', '.join(ASPECTS)}")
    return ASPECTS[text]


def parse_length(text: str) -> tuple[float, float]:
    """``15-60`` (seconds) as ``(15.0, 60.0)``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*", text)
    if not match:
        raise EgvsError(f"length must look like MIN-MAX in seconds, e.g. 15-60 (got {text!r})")
    return _checked_length(float(match[1]), float(match[2]), text)


def _checked_length(low: float, high: float, given: object) -> tuple[float, float]:
    if not (1.0 <= low <= high and math.isfinite(high)):
        raise EgvsError(f"length needs 1 <= MIN <= MAX seconds (got {given!r})")
    return low, high


def _checked_count(count: object) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise EgvsError(f"count must be a whole number >= 1 (got {count!r})")
    return count


@dataclass(frozen=True)
class ShortsOptions:
    """A validated shorts request. ``language`` None: detected from the speech."""

    count: int = 5
    length: tuple[float, float] = DEFAULT_LENGTH
    aspect: str = "9:16"
    captions: bool = True
    language: str | None = None
    fill: bool = False
    timeline: bool = False

    def __post_init__(self) -> None:
        _checked_count(self.count)
        _checked_length(*self.length, given=self.length)
        parse_aspect(self.aspect)

    @classmethod
    def from_options(
        cls,
        *,
        count: float | None = None,
        length: str | Sequence[float] | None = None,
        aspect: str | None = None,
        captions: bool | None = None,
        language: str | None = None,
        fill: bool | None = None,
        timeline: bool | None = None,
    ) -> ShortsOptions:
        """Resolve the user's options; `EgvsError` (exit code 1) names the first bad one.

        None keeps the default. ``count`` may be a whole float (a slider's value), ``length``
        the CLI's ``"MIN-MAX"`` text or a pair of seconds, ``language`` ``"auto"`` (detect).
        """
        default = DEFAULTS
        if isinstance(count, float) and count.is_integer():
            count = int(count)
        if length is None:
            pair = default.length
        elif isinstance(length, str):
            pair = parse_length(length)
        else:
            try:
                low, high = (float(x) for x in length)
            except (TypeError, ValueError):
                raise EgvsError(f"length must be (MIN, MAX) seconds (got {length!r})") from None
            pair = _checked_length(low, high, length)
        if language is not None:
            language = language.strip()
        return cls(
            count=default.count if count is None else _checked_count(count),
            length=pair,
            aspect=default.aspect if aspect is None else aspect,
            captions=default.captions if captions is None else bool(captions),
            language=None if language in (None, "", AUTO_LANGUAGE) else language,
            fill=default.fill if fill is None else bool(fill),
            timeline=default.timeline if timeline is None else bool(timeline),
        )

    @property
    def size(self) -> tuple[int, int]:
        """The clips' frame size in pixels (width, height)."""
        return ASPECTS[self.aspect]

    @property
    def length_text(self) -> str:
        """The length range as the CLI writes it, e.g. ``15-60``."""
        return f"{self.length[0]:g}-{self.length[1]:g}"

    def to_json(self) -> dict:
        """The ``"options"`` field of ``shorts.json``."""
        return {
            "count": self.count,
            "length": list(self.length),
            "aspect": self.aspect,
            "captions": self.captions,
            "language": self.language or AUTO_LANGUAGE,
            "fill": self.fill,
            "timeline": self.timeline,
        }


DEFAULTS = ShortsOptions()  # the one source of the defaults the CLI and the web app show
