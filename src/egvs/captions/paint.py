"""Burned-in captions: white text with a dark outline, centred in the bottom third of the frame.

The font is Noto Sans CJK Bold (SIL OFL 1.1) from the PyPI package ``cvttf-notosanscjk-bold``: it
covers Hangul, kana, Han and Latin, so no system font is assumed. Each cue is drawn once into a
small RGBA overlay (Pillow, FreeType) and alpha-blended onto every frame it covers.
"""

from __future__ import annotations

import bisect
import functools
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from egvs.captions.layout import Cue, caption_cues
from egvs.fonts import cjk_font_path
from egvs.media.picture import Yuv420

if TYPE_CHECKING:
    from egvs.captions.transcribe import Word

HEIGHT_FRACTION = 1 / 16  # font size: 1/16 of the frame's height (within 1/18 to 1/14)
SIDE_MARGIN = 0.05  # of the width, each side
BOTTOM_MARGIN = 0.07  # of the height, under the last line (landscape)
PORTRAIT_BOTTOM_MARGIN = 0.15  # Shorts/Reels/TikTok put their buttons over the lowest part
LINE_SPACING = 1.2  # of the font size
CACHED_OVERLAYS = 8


@functools.lru_cache(maxsize=16)
def load_font(size: int) -> ImageFont.FreeTypeFont:
    """The caption font at ``size`` pixels (cached: opening the 16 MB font costs milliseconds)."""
    return ImageFont.truetype(str(cjk_font_path()), size)


class CaptionPainter:
    """Paints cues onto frames (YUV planes) of one size; the overlay of recent cues is kept for reuse."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.font_size = max(8, round(height * HEIGHT_FRACTION))
        self._overlays: OrderedDict[tuple[str, ...], tuple[int, int, Yuv420, np.ndarray]] = (
            OrderedDict()
        )

    @property
    def max_chars(self) -> int:
        """About how many Latin cells fit on one line at the full size (``caption_cues``'s max_chars)."""
        font = load_font(self.font_size)
        cell = font.getlength("abcdefghijklmnopqrstuvwxyz ") / 27
        # 10% to spare: real words run wider than the alphabet's mean (w, m, capitals).
        return max(8, int(0.9 * self.width * (1 - 2 * SIDE_MARGIN) / cell))

    def _fitting_font(self, lines: Sequence[str]) -> ImageFont.FreeTypeFont:
        """The full-size font, or a smaller one when a line would be wider than the frame allows."""
        room = self.width * (1 - 2 * SIDE_MARGIN)
        size = self.font_size
        widest = max(load_font(size).getlength(line) for line in lines)
        while widest > room and size > 6:  # text is never cut at the frame's edges
            size = max(6, min(size - 1, int(size * room / widest)))
            widest = max(load_font(size).getlength(line) for line in lines)
        return load_font(size)

    def overlay(self, lines: Sequence[str]) -> tuple[int, int, Yuv420, np.ndarray]:
        """(x, y, picture, alpha) of the caption block for ``lines``, positioned on the frame:
        drawn once as RGBA, kept as YUV planes and an alpha plane (even sides)."""
        key = tuple(lines)
        if key in self._overlays:
            self._overlays.move_to_end(key)
            return self._overlays[key]
        font = self._fitting_font(lines)
        size = int(font.size)
        stroke = max(2, round(size / 12))
        step = round(size * LINE_SPACING)
        ascent, descent = font.getmetrics()
        block_h = step * (len(lines) - 1) + ascent + descent + 2 * stroke
        block_w = min(self.width, int(max(font.getlength(line) for line in lines)) + 2 * stroke + 2)
        block_w, block_h = -(-block_w // 2) * 2, -(-block_h // 2) * 2
        image = Image.new("RGBA", (block_w, block_h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        for i, line in enumerate(lines):
            draw.text(
                (block_w / 2, stroke + ascent + i * step),
                line,
                font=font,
                anchor="ms",
                fill=(255, 255, 255, 255),
                stroke_width=stroke,
                stroke_fill=(0, 0, 0, 255),
            )
        x = (self.width - block_w) // 2
        margin = PORTRAIT_BOTTOM_MARGIN if self.height > self.width else BOTTOM_MARGIN
        y = max(self.height - round(self.height * margin) - block_h, 0)
        rgba = np.asarray(image)
        result = (x, y, Yuv420.from_rgb(rgba[:, :, :3]), rgba[:, :, 3].astype(np.float32) / 255.0)
        self._overlays[key] = result
        if len(self._overlays) > CACHED_OVERLAYS:
            self._overlays.popitem(last=False)
        return result

    def paint(self, picture: Yuv420, cue: Cue | None) -> Yuv420:
        """``picture`` (this painter's size) with ``cue`` burned in (``None``: unchanged)."""
        if cue is None or not any(line.strip() for line in cue.lines):
            return picture
        if (picture.width, picture.height) != (self.width, self.height):
            raise ValueError(
                f"frame is {picture.width}x{picture.height}, painter is {self.width}x{self.height}"
            )
        x, y, overlay, alpha = self.overlay(cue.lines)
        return picture.blended(overlay, alpha, x, y)


def caption_picture(
    words: Sequence[Word], width: int, height: int
) -> Callable[[Yuv420, float], Yuv420]:
    """A picture function for `egvs.render.video.render_segments`: burns in, on each output frame
    of ``width`` x ``height``, the cue of ``words`` spoken at its source time."""
    painter = CaptionPainter(width, height)
    cues = caption_cues(words, max_chars=painter.max_chars)  # lines that fit this frame
    starts = [cue.start for cue in cues]

    def picture(frame: Yuv420, t: float) -> Yuv420:
        i = bisect.bisect_right(starts, t) - 1
        return painter.paint(frame, cues[i] if i >= 0 and t < cues[i].end else None)

    return picture
